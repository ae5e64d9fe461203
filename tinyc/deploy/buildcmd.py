"""`tinyc build`: optimize (Keras models) -> check -> generate -> build -> run -> bench, with a step
display and a final summary. The steps themselves live in their own modules."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tinyc.errors import TinycError
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


def _optimize(model: Path, out_dir: Path, prune, cluster, data, calibration_data, test_data,
              out: Output) -> Path:
    from tinyc.optimize.pipeline import Options, optimize

    tflite = out_dir.with_name(f".{out_dir.name}.optimized.tflite")
    report = optimize(model, tflite, Options(prune=prune, cluster=cluster), data=data,
                      calibration_data=calibration_data, test_data=test_data, force=True, warn=out.warn)
    from tinyc.optimize.report import render

    out.print(render(report)[0])  # the per-step table: what optimizing did to size and accuracy
    return tflite


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
              calibration_data=None, test_data=None, port: str | None = None) -> dict[str, Any]:
    from tinyc.deploy import pipeline

    src = Path(model)
    board, run_board = pipeline.resolve_boards(board_id, emulate)
    will_run = not no_run
    on_hardware = run_board.kind != "emulated"
    if will_run and on_hardware and not port:
        pipeline.require_runnable(board, run_board)
    dest = Path(out_dir) if out_dir else Path("tinyc-build") / f"{src.stem}-{board.id}"
    needs_opt = src.suffix != ".tflite"
    if not needs_opt and (prune or cluster):
        raise TinycError(f"{src}: --prune/--cluster need the Keras model; a .tflite is already converted")
    names = (["optimize"] if needs_opt else []) + ["check", "generate", "build"] + (["run + bench"] if will_run else [])
    steps = _Steps(out, names)
    t_start = time.monotonic()
    if needs_opt:
        steps("optimize")
        if dest.exists() and any(dest.iterdir()) and not force:
            raise TinycError(f"{dest}: exists and is not empty; pass --force to replace it or choose another -o")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tflite = _optimize(src, dest, prune, cluster, data, calibration_data, test_data, out)
    else:
        tflite = src
    built = pipeline.build_model_firmware(tflite, board_id, dest, emulate=emulate, force=force,
                                          skip_check=force_build, step=steps)
    if needs_opt:  # keep the optimized model with the build it made
        kept = dest / f"{src.stem}.int8.tflite"
        tflite.replace(kept)
        built = type(built)(**{**built.__dict__, "model": kept.resolve()})
        import json

        (dest / pipeline.BUILD_FILE).write_text(json.dumps(built.to_json(), indent=2))
    measurement = None
    if will_run:
        from tinyc.deploy.bench import bench_link, open_target

        steps("run + bench")
        if on_hardware:
            _upload(out, board, built.elf, port)
        with open_target(None if on_hardware else built.elf, built.run_board, port if on_hardware else None) as link:
            measurement = bench_link(link, built.model, runs=runs)
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
