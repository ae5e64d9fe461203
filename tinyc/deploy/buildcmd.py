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


def _optimize(model: Path, out: Path, prune, cluster, data, calibration_data, test_data, output: Output) -> Path:
    from tinyc.optimize.pipeline import Options, optimize

    report = optimize(model, out, Options(prune=prune, cluster=cluster), data=data,
                      calibration_data=calibration_data, test_data=test_data, warn=output.warn)
    from tinyc.optimize.report import render

    output.print(render(report)[0])  # the per-step table: what optimizing did to size and accuracy
    return out


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
                 f"{sum(o.extra for o in idle):+,.0f} instructions per inference (--weights packed)")


def _upload(out: Output, board, elf: Path, port: str) -> None:
    """Put the firmware on the attached board; ``port`` is its serial console (and, for bossac, the
    port the boot loader answers on). The ST-LINK probe and the Pico's boot drive are found by themselves."""
    from tinyc.deploy import upload

    device = upload.detect(board, port=port if board.upload.protocol == "bossac" else None)
    plan = upload.plan_upload(board, elf, device=device)
    out.info(f"uploading to {board.id} ({plan.device}): {plan.shell}")
    upload.upload(board, plan, elf)


def run_build(out: Output, model: str, board_id: str, *, out_dir: str | None, emulate: bool, force: bool,
              force_build: bool, runs: int, no_run: bool, prune=None, cluster=None, data=None,
              calibration_data=None, test_data=None, port: str | None = None, weights: str = "auto") -> dict[str, Any]:
    from tinyc.deploy import pipeline

    src = Path(model)
    board, run_board = pipeline.resolve_boards(board_id, emulate)
    will_run = not no_run
    on_hardware = run_board.kind != "emulated"
    if will_run and on_hardware and not port:
        pipeline.require_runnable(board, run_board)
    dest_path = Path(out_dir) if out_dir else Path("tinyc-build") / f"{src.stem}-{board.id}"
    needs_opt = src.suffix != ".tflite"
    if not needs_opt and (prune or cluster):
        raise TinycError(f"{src}: --prune/--cluster need the Keras model; a .tflite is already converted")
    names = (["optimize"] if needs_opt else []) + ["check", "generate", "build"] + (["run + bench"] if will_run else [])
    steps = _Steps(out, names)
    t_start = time.monotonic()
    kept = f"{src.stem}.int8.tflite"  # a Keras model's int8 form, kept with the build it made
    inputs = [src] + [p for p in (data, calibration_data, test_data) if p and Path(p).exists()]
    with OutputDir(dest_path, force=force, inputs=inputs,
                   planned=pipeline.BUILD_ENTRIES + ((kept,) if needs_opt else ())) as dest:
        if needs_opt:
            steps("optimize")
            tflite = _optimize(src, dest.stage / kept, prune, cluster, data, calibration_data, test_data, out)
        else:
            tflite = src
        built = pipeline.build_into(tflite, board_id, dest, emulate=emulate, skip_check=force_build, step=steps,
                                    model_recorded=dest.final(kept) if needs_opt else None,
                                    source=src if needs_opt else None, weights=weights)
        if (prune or cluster) and built.budget is not None:
            _note_dense_storage(out, built.budget, weights)
        dest.commit()
        measurement = None
        if will_run:  # still holding the folder: nobody replaces the firmware while it runs
            from tinyc.deploy.bench import bench_link, open_target

            steps("run + bench")
            if on_hardware:
                _upload(out, board, built.elf, port)
            with open_target(None if on_hardware else built.elf, built.run_board,
                             port if on_hardware else None) as link:
                measurement = bench_link(link, built.model, runs=runs)
    dest = dest_path
    steps.done()

    from tinyc.deploy.report import render_measurement, render_memory

    total = time.monotonic() - t_start
    if out.verbosity >= 0 and not out.json:
        render_memory(out, built)
        if measurement:
            render_measurement(out, measurement)
        out.print(f"[bold]built[/bold] {built.model.name} for {board.id}"
                  + (f" (run on {run_board.id})" if run_board is not board else "")
                  + f" in {total:.1f} s: flash {fmt_bytes(built.memory.flash)}, RAM {fmt_bytes(built.memory.ram)}"
                  + (f", {measurement.describe()}" if measurement else "") + f"; project in {dest}")
    if measurement and (measurement.outputs_match is False or not measurement.checksums_identical):
        raise TinycError("the target's outputs are wrong: "
                         + ("; ".join(measurement.mismatches) or "checksums differ between runs"))
    return {"build": built.to_json(), "bench": measurement.to_json() if measurement else None,
            "steps": steps.times, "seconds": total}
