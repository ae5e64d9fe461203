"""Per-layer counts of a model measured on the target: the model generated with per-layer profiling on (the
harness's PROFILE path: tinyc_model_invoke() adds each layer's ticks of tinyc_profile_clock() to
tinyc_layer_ticks[]) and firmware/apps/fit_profile/main.c, which runs one inference and prints them, run to
exit in QEMU (-icount: instructions).

The model is generated exactly as `tinyc build` generates it (tinyc's memory plan, packed weights where
smaller, the board's kernel variant), so the measured layers are the ones the firmware will run. The
profile firmware links into the stand-in's memory so calibration models larger than the board still run.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from pathlib import Path

from tinyc import paths
from tinyc.errors import TinycError

def profile_layers(tflite: bytes, board, run_board, timeout: float = 300.0, inplace: bool = True,
                   weights="auto") -> dict[int, int]:
    """op index -> measured units (instructions when emulated) of one inference, per layer; ``inplace``:
    the plan tinyc build uses (False: the plan without in-place layers); ``weights``: the filters' storage
    (tinyc.codegen.generate.generate's; calibration forces "packed" to measure the packed kernels)."""
    from tinyc.analyze.memory import plan_improved
    from tinyc.codegen.generate import generate
    from tinyc.deploy import emulator, platformio
    from tinyc.deploy.project import render_project
    from tinyc.model.graph import parse

    from tinyc.deploy.targets import target_for

    if not target_for(run_board, flashed=True).emulated:
        from tinyc.errors import NotImplementedYet

        raise NotImplementedYet("tinyc fit calibrates latency in emulation only for now; profiling layers on a "
                                "connected board (cycles) is not implemented yet")
    g = parse(tflite)
    regions = run_board.emulation.qemu_memory or run_board.regions
    roomy = dataclasses.replace(board, regions=tuple(regions)) if run_board is not board else board
    scratch = paths.cache_dir() / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fit-profile-", dir=scratch) as tmp:
        tmp = Path(tmp)
        gm = generate(g, plan_improved(g, inplace=inplace), board, tmp / "model", weights=weights, profile=True)
        main_c = paths.firmware_dir() / "apps" / "fit_profile" / "main.c"
        proj = render_project(tmp / "fw", roomy, [main_c, *gm.sources], emulate=run_board is not board,
                              include_dirs=[gm.out_dir])
        fw = platformio.build(proj)
        run = emulator.run_to_exit(proj.run_board, fw.elf, timeout=timeout)
        if run.timed_out or "FIT-PROFILE-END" not in run.output:
            raise TinycError(f"tinyc fit: the latency profile of {g.name} did not finish in "
                             f"{run_board.emulation.qemu_machine} (exit {run.exit_code}): {run.output[-300:]!r}")
        per_tick = 10**9 / proj.run_board.emulation.tick_hz
        out: dict[int, int] = {}
        for i, _kernel, t in re.findall(r"^OP (\d+) (\w+) (\d+)$", run.output, re.M):
            out[int(i)] = out.get(int(i), 0) + int(round(int(t) * per_tick))
        return out
