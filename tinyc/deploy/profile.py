"""Per-layer cost of one inference on the target (``tinyc bench --per-layer``), like an inspector report:
instructions (emulated) or cycles (hardware) per layer, its MACs, and instructions or cycles per MAC.

The firmware's model is generated with profiling on (``generate(..., profile=True)``): it reads the
port's tick counter between layers and sums each layer's ticks over the runs of one PROFILE command.
Under QEMU -icount one timer tick is several instructions (40 on the mps2 machines), more than a small
layer's error budget, so run k starts 3 * (1 + k % period) instructions after the timer restarts, where
``period`` is the tick length in instructions (the numerator of 1e9 / tick_hz): over a multiple of
``period`` runs the start phases cover every instruction of a tick equally often, and each layer's
summed ticks times the tick length over the runs is its exact instruction count. Consecutive layers
share their boundary reading, so the layers add up to the span from the first reading to the last; the
whole-inference figure (RUN, as ``tinyc bench``) adds the call into the model and the two outer
readings, and is itself exact only to one tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from tinyc.deploy.bench import bench_inputs, check_model, to_units
from tinyc.deploy.link import Link, LinkError
from tinyc.errors import TinycError


@dataclass(frozen=True)
class LayerCost:
    layer: int  # position in the run order
    op_index: int  # operator index in the .tflite
    op: str  # TFLite builtin name ("?" without the model)
    kernel: str  # runtime kernel macro the layer calls
    ticks: int  # summed over the profiled runs
    cost: float  # instructions (emulated) or cycles (hardware) per inference
    macs: int | None
    share: float  # of the per-layer sum

    @property
    def per_mac(self) -> float | None:
        return self.cost / self.macs if self.macs else None

    def to_json(self) -> dict[str, Any]:
        d = dict(vars(self))
        d["per_mac"] = None if self.per_mac is None else round(self.per_mac, 3)
        return d


@dataclass(frozen=True)
class LayerProfile:
    board: str
    model_hash: str
    model_name: str
    emulated: bool
    unit: str  # "instructions" or "cycles"
    tick_hz: int
    per_tick: float  # units per tick
    runs: int  # profiled inferences
    period: int  # start phases the runs step through (1 on hardware)
    layers: tuple[LayerCost, ...]
    layer_sum: float  # per inference
    whole: int  # RUN median, per inference, same firmware
    whole_runs: int
    macs: int | None

    @property
    def exact(self) -> bool:
        """Every start phase of a tick equally often: the per-layer figures are exact."""
        return self.runs % self.period == 0

    @property
    def difference(self) -> float:
        return self.whole - self.layer_sum

    def to_json(self) -> dict[str, Any]:
        d = {k: v for k, v in vars(self).items() if k != "layers"}
        d["layers"] = [x.to_json() for x in self.layers]
        d.update(exact=self.exact, difference=self.difference)
        return d


def _period(tick_hz: int, emulated: bool) -> tuple[int, Fraction]:
    if not emulated:
        return 1, Fraction(1)
    per_tick = Fraction(10**9, tick_hz)
    return per_tick.numerator, per_tick


def profile_link(link: Link, model: Path | None, runs: int | None = None, timeout: float = 60.0,
                 whole_runs: int = 5, seed: int = 0) -> LayerProfile:
    """Profile the layers over ``runs`` inferences (default: one per start phase of a tick when emulated,
    10 on hardware) and time ``whole_runs`` whole inferences for comparison."""
    link.reply_timeout = timeout  # every wait for the target honours --timeout
    info = link.sync()
    check_model(info, model, link.name)
    if not info.layers:
        raise TinycError(f"{link.name}: the firmware was built without per-layer profiling; let tinyc bench "
                         f"--per-layer build it (or flash a real board with tinyc flash --per-layer)")
    period, per_tick = _period(info.tick_hz, info.emulated)
    if runs is None:
        runs = period if info.emulated else 10
    if runs < 1:
        raise TinycError(f"--runs must be at least 1, got {runs}")
    inputs = bench_inputs(info, seed)
    for i, x in enumerate(inputs):
        link.set_input(i, x)
    if info.refills_itself:
        layers = link.profile(runs, 0, period, timeout=timeout)
    else:  # no input copy on the target: resend the input before every run and add up
        layers = None
        for k in range(runs):
            if k:
                for i, x in enumerate(inputs):
                    link.set_input(i, x)
            one = link.profile(1, k, period, timeout=timeout)
            layers = one if layers is None else [(a[0], a[1], a[2] + b[2], a[3]) for a, b in zip(layers, one)]
    for i, x in enumerate(inputs):
        link.set_input(i, x)
    whole_runs = max(1, min(whole_runs, info.runs_max))
    r = link.run(whole_runs if info.refills_itself else 1, timeout=timeout)

    graph = None
    if model is not None:
        from tinyc.model.graph import load

        graph = load(model)
    from tinyc.model import ops

    costs = [float(Fraction(t) * per_tick / runs) for _, _, t, _ in layers]
    total = sum(costs)
    rows = []
    for (i, oi, t, kernel), cost in zip(layers, costs):
        op = graph.operators[oi] if graph is not None and oi < len(graph.operators) else None
        if graph is not None and op is None:
            raise LinkError(f"{link.name}: the firmware reports operator {oi}, which {model} does not have")
        rows.append(LayerCost(i, oi, op.op if op else "?", kernel, t, cost,
                              ops.macs(graph, op) if op else None, cost / total if total else 0.0))
    return LayerProfile(
        board=info.board, model_hash=info.model_hash, model_name=info.model_name, emulated=info.emulated,
        unit="instructions" if info.emulated else "cycles", tick_hz=info.tick_hz, per_tick=float(per_tick),
        runs=runs, period=period, layers=tuple(rows), layer_sum=total, whole=to_units(r.median, info),
        whole_runs=len(r.ticks), macs=sum(x.macs for x in rows) if graph is not None else None)
