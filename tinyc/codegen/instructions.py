"""Predicted instructions of the kernel calls the generator emits, priced from per-kernel costs measured
once in QEMU (tinyc/codegen/kernel_costs.py, written by scripts/measure_kernel_costs.py).

A call costs ``a*MACs + b*outputs + c*weights + d`` instructions, with (a, b, c, d) fitted per kernel set
and per kernel (a packed kernel per packing mode: decoding a LUT channel costs other than a SIGN one).
The figures are instructions, never cycles; they rank layers (what packing a filter costs) and show
where an inference spends its time, they do not replace a measurement (`tinyc bench --per-layer`).
"""

from __future__ import annotations

from typing import Mapping

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import KernelCall
from tinyc.codegen.lower import LoweredModel
from tinyc.model.graph import Graph

FEATURES = ("macs", "outputs", "weights", "call")
WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
ARMV6M = ("cortex-m0", "cortex-m0plus", "cortex-m1")


def cost_set(board, variant: str) -> str:
    """Which measured table prices ``board``'s calls: its kernel set; the portable and the scalar Arm kernels
    on an ARMv6-M core (no SMULL, no DSP) have their own tables when they were measured."""
    from tinyc.codegen.kernel_costs import COSTS

    if variant in ("reference", "arm_scalar") and board is not None and board.core in ARMV6M \
            and f"{variant}-v6m" in COSTS:
        return f"{variant}-v6m"
    return variant


def packed_modes(lowered: LoweredModel, graph: Graph) -> dict[int, str]:
    """op index -> packing mode of the filter its call decodes (the calls that take a packed blob, at start-up
    included)."""
    by_name = {t.name: t.index for t in graph.tensors}
    blobs = {f"tinyc_t{by_name[p.tensor]}_packed": p.mode for p in lowered.packed if p.tensor in by_name}
    out = {}
    for call in lowered.all_calls:
        for name in call.consts():
            if name in blobs:
                out[call.index] = blobs[name]
    return out


def features(graph: Graph, call: KernelCall) -> tuple[int, int, int, int]:
    op = graph.operators[call.index]
    outputs = sum(graph.tensor(i).size for i in op.outputs if i >= 0)
    weights = 0
    if op.op in WEIGHT_OPS and len(op.inputs) > 1 and op.inputs[1] >= 0:
        weights = graph.tensor(op.inputs[1]).size
    return int(call.macs), int(outputs), int(weights), 1


def kernel_key(call: KernelCall, modes: Mapping[int, str]) -> str:
    return call.macro + (f"/{modes[call.index]}" if call.index in modes and call.kernel.packed else "")


def _coefficients(table: dict, key: str) -> tuple[tuple[float, ...] | None, str]:
    """(a, b, c, d) for ``key`` and the key they were measured for: the kernel itself, else a measured
    kernel of the same operator (same source file) and the same kind (packed, in place, optimized or not)."""
    if key in table:
        return tuple(table[key]), key
    macro, _, mode = key.partition("/")
    known = {k.macro: k for k in K.all_kernels()}
    src = known[macro].source if macro in known else None

    def kind(m: str) -> tuple:
        k = known.get(m)
        return (k.packed, k.inplace, k.kernel_set is not K.KernelSet.REFERENCE) if k else (None,)

    related = sorted(k for k in table if k.partition("/")[0] in known and known[k.partition("/")[0]].source == src
                     and kind(k.partition("/")[0]) == kind(macro) and (not mode or k.endswith("/" + mode)))
    if not related and mode:  # a packing mode never measured: the same kernel's slowest mode
        related = sorted((k for k in table if k.startswith(macro + "/")), key=lambda k: -sum(table[k]))
    return (tuple(table[related[0]]), related[0]) if related else (None, "")


def predict(set_name: str, key: str, feats: tuple[int, int, int, int]) -> tuple[float | None, bool]:
    """(instructions, measured): ``measured`` is False when the kernel itself was never measured and a
    related kernel's figures stand in; None when nothing related was measured either."""
    from tinyc.codegen.kernel_costs import COSTS

    coef, used = _coefficients(COSTS.get(set_name, {}), key)
    if coef is None:
        return None, False
    return float(sum(c * f for c, f in zip(coef, feats))), used == key


def call_instructions(set_name: str, graph: Graph, lowered: LoweredModel) -> dict[int, tuple[float | None, bool]]:
    """op index -> (predicted instructions, measured) for every call of ``lowered``."""
    modes = packed_modes(lowered, graph)
    out: dict[int, tuple[float | None, bool]] = {}
    for call in lowered.calls:
        v, ok = predict(set_name, kernel_key(call, modes), features(graph, call))
        prev = out.get(call.index)
        out[call.index] = (v, ok) if prev is None else \
            (None if v is None or prev[0] is None else prev[0] + v, ok and prev[1])
    return out
