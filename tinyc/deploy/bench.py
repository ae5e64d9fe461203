"""On-target cost of one inference and a check of its outputs against the host interpreter.

Emulated figures are instructions (QEMU -icount shift=0: one instruction is one nanosecond of
virtual time, so instructions = ticks * 1e9 / tick_hz, to within one tick), never cycles or
milliseconds. On hardware the port counts core cycles, and milliseconds follow from its clock.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from tinyc.deploy.link import Link, TargetInfo, output_checksum
from tinyc.errors import TinycError


@dataclass(frozen=True)
class Measurement:
    board: str  # as the firmware announced itself
    model_hash: str
    model_name: str
    emulated: bool
    unit: str  # "instructions" (emulated) or "cycles" (hardware)
    per_tick: float  # units per timer tick: the resolution of each figure
    tick_hz: int
    clock_hz: int
    runs: int
    ticks: tuple[int, ...]
    checksums: tuple[int, ...]
    min: int
    median: int
    max: int
    ms_median: float | None  # hardware only
    checksums_identical: bool
    outputs_match: bool | None  # bit-identical to the TFLM interpreter (None: no model to compare with)
    mismatches: tuple[str, ...] = ()
    init: int = 0  # tinyc_model_init() once at boot, in ``unit`` (the filters --weights packed-ram decodes)

    def to_json(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["ticks"], d["checksums"] = list(self.ticks), [f"{c:08x}" for c in self.checksums]
        d["mismatches"] = list(self.mismatches)
        return d

    def describe(self) -> str:
        init = f"; once at start-up, decoding filters into RAM: {self.init:,} {self.unit}" if self.init else ""
        if self.emulated:
            return (f"{self.median:,} instructions per inference (emulated: QEMU instruction count, not cycles; "
                    f"min {self.min:,}, max {self.max:,} over {self.runs} runs{init})")
        return (f"{self.median:,} cycles = {self.ms_median:.3f} ms at {self.tick_hz / 1e6:g} MHz "
                f"(min {self.min:,}, max {self.max:,} over {self.runs} runs{init})")


def to_units(ticks: int, info: TargetInfo) -> int:
    """Ticks -> instructions (emulated, rounded to the nearest) or cycles (hardware: the counter counts them)."""
    if not info.emulated:
        return ticks
    return round(Fraction(ticks * 10**9, info.tick_hz))


def bench_inputs(info: TargetInfo, seed: int = 0) -> list[np.ndarray]:
    """Deterministic inputs over each input's full integer range (or [-1, 1] for float inputs)."""
    rng = np.random.default_rng(seed)
    out = []
    for t in info.inputs:
        dt = t.np_dtype
        if np.issubdtype(dt, np.integer):
            ii = np.iinfo(dt)
            out.append(rng.integers(ii.min, ii.max + 1, t.shape, dtype=dt))
        else:
            out.append(rng.uniform(-1, 1, t.shape).astype(dt))
    return out


def check_model(info: TargetInfo, model: Path | None, where: str) -> None:
    if model is None:
        return
    from tinyc.deploy.pipeline import model_hash

    want = model_hash(model)
    if info.model_hash != want:
        raise TinycError(f"{where}: the firmware runs model {info.model_hash} ({info.model_name}), not {model} "
                         f"({want}); build and flash this model first")


def bench_link(link: Link, model: Path | None, runs: int = 10, seed: int = 0, timeout: float = 60.0) -> Measurement:
    link.reply_timeout = timeout  # every wait honours --timeout
    if model is not None:
        from tinyc.model import reference

        reference.prestart()  # the TFLite Micro worker starts while the target runs
    info = link.sync()
    check_model(info, model, link.name)
    inputs = bench_inputs(info, seed)
    for i, x in enumerate(inputs):
        link.set_input(i, x)
    r = link.run(runs, timeout=timeout)
    outputs = link.read_outputs(r.checksums[-1])  # as the last run left them, checked against its checksum
    match: bool | None = None
    mismatches: list[str] = []
    if model is not None:
        from tinyc.model import reference

        ref = reference.run(model, inputs)  # in its own process: a crash there is one line, not tinyc's end
        for i, (got, want, t) in enumerate(zip(outputs, ref, info.outputs)):
            g = np.frombuffer(got, t.np_dtype)
            w = np.ascontiguousarray(want).reshape(-1).astype(t.np_dtype)
            if not np.array_equal(g, w):
                diff = np.abs(g.astype(np.int64) - w.astype(np.int64)) if np.issubdtype(t.np_dtype, np.integer) else None
                n = int(np.count_nonzero(g != w))
                mismatches.append(f"output {i}: {n} of {g.size} values differ"
                                  + (f" (max {int(diff.max())} LSB)" if diff is not None else ""))
        match = not mismatches
    units = [to_units(t, info) for t in (r.min, r.median, r.max)]
    return Measurement(
        board=info.board, model_hash=info.model_hash, model_name=info.model_name, emulated=info.emulated,
        unit="instructions" if info.emulated else "cycles",
        per_tick=1e9 / info.tick_hz if info.emulated else 1.0, tick_hz=info.tick_hz, clock_hz=info.clock_hz,
        runs=runs, ticks=r.ticks, checksums=r.checksums, min=units[0], median=units[1], max=units[2],
        ms_median=None if info.emulated else r.median * 1000.0 / info.tick_hz,
        checksums_identical=len(set(r.checksums)) == 1 and r.checksums[0] == output_checksum(outputs),
        outputs_match=match, mismatches=tuple(mismatches), init=to_units(info.init_ticks, info))


@contextlib.contextmanager
def open_target(elf: Path | None, run_board, port: str | None = None, baud: int = 115200,
                timing: bool = True, timeout: float = 60.0) -> Iterator[Link]:
    """A link to the firmware: QEMU running ``elf`` on ``run_board``, else the serial ``port`` of a board
    already running it (``tinyc.deploy.targets``); ``timeout`` (--timeout) bounds every wait for the target."""
    from tinyc.deploy.targets import QemuTarget, serial_target

    target = serial_target(port, run_board, timeout) if port else QemuTarget(run_board, run_board, timeout=timeout)
    with target:
        yield target.open_link(elf, timing=timing)
