"""Call the in-place kernels for the layers the memory plan runs in place.

The plan (``tinyc.analyze.memory.plan_improved``) puts an op's output at its input's offset when the
op-rule table gives the op an in-place form (``tinyc.model.inplace``) and the input dies there; it
then reserves the form's scratch as a scratch buffer with role "inplace". Lowering first emits the
normal kernel call; ``rewrite`` swaps it for the in-place kernel (distinct TINYC_*_INPLACE_* macros,
so an optimized kernel set never replaces an in-place layer with a kernel that is not safe in place)
and points it at that scratch. Layers the plan does not overlap keep their normal kernels.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from tinyc.errors import TinycError
from tinyc.model import ops as opsmod
from tinyc.model.graph import Graph, Operator

# normal kernel -> in-place kernel, for the elementwise ops whose reference kernel is safe in place
ELEMENTWISE = {
    "TINYC_ADD_S8": "TINYC_ADD_INPLACE_S8",
    "TINYC_MUL_S8": "TINYC_MUL_INPLACE_S8",
    "TINYC_REQUANT_S8": "TINYC_REQUANT_INPLACE_S8",
    "TINYC_CLAMP_S8": "TINYC_CLAMP_INPLACE_S8",
}
CONV = "TINYC_CONV2D_INPLACE_S8"
CONV_PIXEL = "TINYC_CONV2D_POINTWISE_INPLACE_S8"
DWCONV = "TINYC_DEPTHWISE_CONV2D_INPLACE_S8"
# The Arm DSP set's in-place kernels (tinyc/codegen/specialize.py rewrites the calls above to them).
DSP_KERNELS = ("TINYC_DSP_CONV_POINTWISE_INPLACE_S8", "TINYC_DSP_CONV_ROWS_INPLACE_S8",
               "TINYC_DSP_DEPTHWISE_ROWS_INPLACE_S8", "TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8",
               "TINYC_DSP_ADD_INPLACE_S8")
# The Helium set's (tinyc/codegen/specialize_mve.py, Cortex-M55).
MVE_KERNELS = ("TINYC_MVE_CONV_POINTWISE_INPLACE_S8", "TINYC_MVE_CONV_ROWS_INPLACE_S8",
               "TINYC_MVE_DEPTHWISE_ROWS_INPLACE_S8", "TINYC_MVE_DEPTHWISE_PLANE_INPLACE_S8",
               "TINYC_MVE_ADD_INPLACE_S8")
KERNELS = (CONV, CONV_PIXEL, DWCONV, *ELEMENTWISE.values(), *DSP_KERNELS, *MVE_KERNELS)  # every kernel safe in place


class PlanOffsets(dict):
    """A plan's tensor offsets (tensor index -> arena offset) that also carry its scratch buffers:
    ``scratch`` maps an op index to [(offset, bytes, role)] (MemoryPlan.scratch_offsets)."""

    def __init__(self, offsets: Mapping[int, int], scratch: Mapping[int, list] | None = None):
        super().__init__(offsets)
        self.scratch = dict(scratch or {})


def inplace_input(graph: Graph, op: Operator, offsets: Mapping[int, int]) -> int | None:
    """The input position whose bytes the plan gives to ``op``'s output, or None (not in place)."""
    if not op.outputs or op.outputs[0] not in offsets:
        return None
    form = opsmod.inplace_form(graph, op)
    for pos in (form.inputs if form is not None else ()):
        t = op.inputs[pos] if pos < len(op.inputs) else -1
        if t >= 0 and not graph.tensor(t).is_constant and offsets.get(t) == offsets[op.outputs[0]]:
            return pos
    return None


def rewrite(graph: Graph, calls: list, offsets: Mapping[int, int], scratch: Mapping[int, list],
            arena_size: int) -> list:
    """``calls`` with every in-place layer calling its in-place kernel."""
    where = graph.path or graph.name
    out = []
    for call in calls:
        op = graph.operators[call.index]
        pos = inplace_input(graph, op, offsets)
        if pos is None:
            out.append(call)
            continue
        form = opsmod.inplace_form(graph, op)
        if call.kernel in ELEMENTWISE:
            out.append(dataclasses.replace(call, kernel=ELEMENTWISE[call.kernel]))
            continue
        if call.kernel not in ("TINYC_CONV2D_S8", "TINYC_DEPTHWISE_CONV2D_S8"):
            raise TinycError(f"{where}: operator {op.index} ({op.op}) runs in place in the memory plan, but "
                             f"its kernel {call.kernel} has no in-place version; plan with in-place kernels "
                             f"off (plan_improved(graph, inplace=False))")
        bufs = [b for b in scratch.get(op.index, []) if b[2] == "inplace"]
        if not bufs or bufs[0][1] < form.scratch:
            raise TinycError(f"{where}: operator {op.index} ({op.op}) runs in place in the memory plan, which "
                             f"reserves no {form.scratch}-byte scratch for it; generate from the same "
                             f"MemoryPlan (tinyc.analyze.memory.plan_improved)")
        off, nbytes = bufs[0][0], bufs[0][1]
        if off < 0 or off + nbytes > arena_size:
            raise TinycError(f"{where}: the in-place scratch of operator {op.index} lies outside the arena")
        scr = f"((int8_t *)(tinyc_arena + {off}u))"
        x, w, b, m, s, y = call.args
        if call.kernel == "TINYC_CONV2D_S8":
            if form.scheme == "pixel":
                new = dataclasses.replace(call, kernel=CONV_PIXEL, args=(y, w, b, m, s, scr))
            else:
                new = dataclasses.replace(call, kernel=CONV, args=(str(form.ring_rows), y, w, b, m, s, scr))
        else:
            rows = form.ring_rows if form.scheme == "rows" else 0
            new = dataclasses.replace(call, kernel=DWCONV, args=(str(rows), y, w, b, m, s, scr))
        out.append(new)
    return out
