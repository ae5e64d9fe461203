"""Call the in-place kernels for the layers the memory plan runs in place.

The plan (``tinyc.analyze.memory.plan_improved``) puts an op's output at its input's offset when the
op-rule table gives the op an in-place form (``tinyc.model.inplace``) and the input dies there; it
then reserves the form's scratch as a scratch buffer with role "inplace". Lowering first emits the
normal kernel call; ``rewrite`` swaps it for the in-place kernel (distinct TINYC_*_INPLACE_* macros,
so an optimized kernel set never replaces an in-place layer with a kernel that is not safe in place)
and points it at that scratch. Layers the plan does not overlap keep their normal kernels.
"""

from __future__ import annotations

from typing import Mapping

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Arena, Int
from tinyc.errors import TinycError
from tinyc.model import ops as opsmod
from tinyc.model.graph import Graph, Operator

# normal kernel -> in-place kernel, for the elementwise ops whose reference kernel is safe in place
ELEMENTWISE = K.ELEMENTWISE_INPLACE
CONV = K.CONV2D_INPLACE
CONV_PIXEL = K.CONV2D_POINTWISE_INPLACE
DWCONV = K.DEPTHWISE_CONV2D_INPLACE


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
            out.append(call.to(ELEMENTWISE[call.kernel]))
            continue
        if call.kernel not in (K.CONV2D, K.DEPTHWISE_CONV2D):
            raise TinycError(f"{where}: operator {op.index} ({op.op}) runs in place in the memory plan, but "
                             f"its kernel {call.macro} has no in-place version; plan with in-place kernels "
                             f"off (plan_improved(graph, inplace=False))")
        bufs = [b for b in scratch.get(op.index, []) if b[2] == "inplace"]
        if not bufs or bufs[0][1] < form.scratch:
            raise TinycError(f"{where}: operator {op.index} ({op.op}) runs in place in the memory plan, which "
                             f"reserves no {form.scratch}-byte scratch for it; generate from the same "
                             f"MemoryPlan (tinyc.analyze.memory.plan_improved)")
        off, nbytes = bufs[0][0], bufs[0][1]
        if off < 0 or off + nbytes > arena_size:
            raise TinycError(f"{where}: the in-place scratch of operator {op.index} lies outside the arena")
        io, ring = call[K.Role.OUTPUT], Arena(off, "int8_t")
        if call.kernel is K.CONV2D:
            if form.scheme == "pixel":
                new = call.to(CONV_PIXEL, io=io, ring=ring)
            else:
                new = call.to(CONV, ring_rows=Int(form.ring_rows), io=io, ring=ring)
        else:
            rows = form.ring_rows if form.scheme == "rows" else 0  # 0: the plane scheme
            new = call.to(DWCONV, ring_rows=Int(rows), io=io, ring=ring)
        out.append(new)
    return out
