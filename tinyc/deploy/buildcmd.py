"""`tinyc build`: optimize (Keras models) -> check -> generate -> build -> run -> bench, with a step
display and a final summary. The steps themselves live in their own modules."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tinyc.errors import TinycError
from tinyc.outputs import OutputDir
from tinyc.ui import Output, fmt_bytes


class _Steps:
    """One line per pipeline step on stderr, with its wall time."""

    def __init__(self, out: Output, names: list[str]):
        self.out, self.names, self.current, self.t0 = out, names, None, 0.0
        self.times: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        self.done()
        self.current, self.t0 = name, time.monotonic()
        self.out.info(f"[{self.names.index(name) + 1}/{len(self.names)}] {name} ...")

    def done(self) -> None:
        if self.current:
            self.times[self.current] = time.monotonic() - self.t0
            self.out.debug(f"    {self.current} took {self.times[self.current]:.1f} s")
        self.current = None


def _optimize(model: Path, out: Path, prune, cluster, data, calibration_data, test_data, output: Output,
              task=None, max_drop: float = 1.0, no_finetune: bool = False):
    from tinyc.optimize.pipeline import Options, optimize

    report = optimize(model, out, Options(prune=prune, cluster=cluster, task=task, max_drop=max_drop,
                                          finetune=not no_finetune), data=data,
                      calibration_data=calibration_data, test_data=test_data, warn=output.warn)
    from tinyc.optimize.report import render

    if not output.json:
        output.print(render(report)[0])  # the per-step table: what optimizing did to size and accuracy
    return out, report


def _float_tflite(src: Path) -> bool:
    """A .tflite whose input is float: `tinyc build` quantizes it (tinyc optimize's float .tflite path)."""
    if src.suffix != ".tflite" or not src.is_file():
        return False
    from tinyc.model.graph import load

    try:
        g = load(src)
    except TinycError:
        return False  # check reports what is wrong with it
    return bool(g.inputs) and g.tensor(g.inputs[0]).dtype == "float32"


def _validation_inputs(report, source: Path | None, tflite: Path, test_data: str):
    """Per output in the int8 model's order: the tasks optimize decided, and the float model's outputs."""
    from tinyc.deploy.validate import float_reference, load_test_data
    from tinyc.optimize import tasks as T
    from tinyc.optimize.measure import output_order

    tasks = positions = None
    keras = source is not None and not (isinstance(source, Path) and source.suffix == ".tflite")
    if report is not None and report.tasks:
        keras_order = [T.OutputTask(**t) for t in report.tasks]
        order = output_order(tflite.read_bytes(), [t.name for t in keras_order]) if keras \
            else list(range(len(keras_order)))
        tasks, positions = [None] * len(keras_order), [0] * len(keras_order)
        for k, pos in enumerate(order):
            tasks[pos], positions[pos] = keras_order[k], k
    floats = float_reference(source, tflite, load_test_data(Path(test_data)).x)[0] if source is not None else None
    return tasks, floats, positions


def _note_dense_storage(out: Output, budget, weights: str) -> None:
    """Pruned or clustered weights shrink flash only where they are stored packed: say so when the
    weight decision keeps them dense."""
    wp = budget.weights
    if wp is None:
        return
    idle = [o for o in wp.options if o.ops[0] not in wp.packed and o.saved > 0]
    if idle:
        why = "the model fits dense, so the faster dense kernels run them" if weights == "auto" else "--weights dense"
        out.warn(f"{len(idle)} pruned/clustered filters are stored dense on {budget.board} ({why}); packing them "
                 f"would save {sum(o.saved for o in idle):,} B of flash at "
                 f"{sum(o.extra for o in idle):+,.0f} instructions per inference (--weights packed), or at none "
                 f"for about {sum(o.dense_bytes for o in idle):,} B of SRAM holding them decoded "
                 "(--weights packed-ram, where the board's SRAM holds them)")


def run_build(out: Output, model: "str | Any", board_id: str, *, out_dir: str | None, emulate: bool, force: bool,
              force_build: bool, runs: int, no_run: bool, prune=None, cluster=None, data=None,
              calibration_data=None, test_data=None, port: str | None = None, weights: str = "auto",
              task: str | None = None, max_drop: float = 1.0, no_finetune: bool = False, per_layer: bool = False,
              write_report: bool = True, fit_result: Any = None) -> dict[str, Any]:
    from tinyc.deploy import pipeline
    from tinyc.deploy.targets import target_for

    in_memory = not isinstance(model, (str, Path))  # a Keras model object (Python API): optimized first
    src = Path(f"{getattr(model, 'name', None) or 'model'}.keras") if in_memory else Path(model)
    given = model if in_memory else src
    target = target_for(board_id, emulate=emulate, port=port)
    board, run_board = target.board, target.run_board
    will_run = not no_run
    if will_run:
        target.require_link()  # a real board without --port: one line before any work
    dest_path = Path(out_dir) if out_dir else Path("tinyc-build") / f"{src.stem}-{board.id}"
    # Keras models and float .tflite files are quantized first; --prune/--cluster on an int8 .tflite go
    # through optimize too (post-training, with --no-finetune; optimize says what else is possible)
    needs_opt = in_memory or src.suffix != ".tflite" or bool(prune or cluster) or _float_tflite(src)
    if test_data:
        from tinyc.deploy.validate import load_test_data

        load_test_data(Path(test_data))  # a data mistake (no labels, NaN) is one line before any work
    validating = bool(test_data) and will_run
    profiling = per_layer and will_run
    names = (["optimize"] if needs_opt else []) + ["check", "generate", "build"] + (["run + bench"] if will_run else []) \
        + (["validate"] if validating else []) + (["per-layer profile"] if profiling else [])
    steps = _Steps(out, names)
    t_start = time.monotonic()
    kept = f"{src.stem}.int8.tflite"  # a Keras model's int8 form, kept with the build it made
    inputs = ([] if in_memory else [src]) + [p for p in (data, calibration_data, test_data) if p and Path(p).exists()]
    with OutputDir(dest_path, force=force, inputs=inputs,
                   planned=pipeline.BUILD_ENTRIES + ((kept,) if needs_opt else ())) as dest:
        if needs_opt:
            steps("optimize")
            tflite, report = _optimize(given, dest.stage / kept, prune, cluster, data, calibration_data, test_data, out,
                                       task, max_drop, no_finetune)
        else:
            tflite, report = src, None
        built = target.build(tflite, into=dest, skip_check=force_build, step=steps,
                             model_recorded=dest.final(kept) if needs_opt else None,
                             source=src if needs_opt else None, weights=weights)
        if (prune or cluster) and built.budget is not None:
            _note_dense_storage(out, built.budget, weights)
        dest.commit()
        measurement = validation = profile = report_files = None
        if validating:
            v_tasks, v_float, v_positions = _validation_inputs(report, given if needs_opt else None, built.model,
                                                               test_data)
        if will_run:  # still holding the folder: nobody replaces the firmware while it runs
            from tinyc.deploy.bench import bench_link

            steps("run + bench")
            with target:
                target.flash(built.elf, say=out.info)
                link = target.open_link(built.elf)
                measurement = bench_link(link, built.model, runs=runs)
                if validating:
                    from tinyc.deploy.validate import validate_link

                    steps("validate")
                    validation = validate_link(link, built.model, Path(test_data), tasks=v_tasks, task=task,
                                               float_outputs=v_float, positions=v_positions,
                                               float_model=str(src) if needs_opt else None)
                if profiling:  # a second firmware, built with per-layer timing (tinyc's build cache)
                    from tinyc.deploy.profile import profile_link

                    steps("per-layer profile")
                    prof_fw = target.build(built.model, profile=True, weights=weights)
                    target.flash(prof_fw.elf, say=out.info)
                    profile = profile_link(target.open_link(prof_fw.elf), built.model, whole_runs=runs)
        if write_report:  # report.html + report.json in <out>/report/ (its own folder of tinyc's: see tinyc.report)
            from tinyc.report import build_report, write_report_dir

            report_files = write_report_dir(
                build_report("build", built=built, measurement=measurement, profile=profile, validation=validation,
                             optimize=report, fit=fit_result, weights=weights,
                             extra={"source": str(src), "output": str(dest_path)}),
                dest_path / "report")
    dest = dest_path
    steps.done()

    from tinyc.deploy.report import render_measurement, render_memory

    total = time.monotonic() - t_start
    if out.verbosity >= 0 and not out.json:
        render_memory(out, built)
        if measurement:
            render_measurement(out, measurement)
        if validation:
            from tinyc.deploy.report import render_validation

            render_validation(out, validation)
        out.print(f"[bold]built[/bold] {built.model.name} for {board.id}"
                  + (f" (run on {run_board.id})" if run_board is not board else "")
                  + f" in {total:.1f} s: flash {fmt_bytes(built.memory.flash)}, RAM {fmt_bytes(built.memory.ram)}"
                  + (f", {measurement.describe()}" if measurement else "") + f"; project in {dest}")
        if profile is not None:
            from tinyc.deploy.report import render_layer_profile

            render_layer_profile(out, profile, choices=built.choices)
        if report_files:
            out.print(f"report: {report_files['report.html']}")
    if measurement and (measurement.outputs_match is False or not measurement.checksums_identical):
        raise TinycError("the target's outputs are wrong: "
                         + ("; ".join(measurement.mismatches) or "checksums differ between runs"))
    if validation is not None and validation.identical != validation.samples:
        raise TinycError(f"{validation.samples - validation.identical} of {validation.samples} outputs differ from "
                         "TFLite Micro on the host")
    return {"build": built.to_json(), "bench": measurement.to_json() if measurement else None,
            "optimize": report.to_json() if report is not None else None,
            "validation": validation.to_json() if validation is not None else None,
            "per_layer": profile.to_json() if profile is not None else None,
            "report": {k: str(v) for k, v in report_files.items()} if report_files else None,
            "steps": steps.times, "seconds": total}
