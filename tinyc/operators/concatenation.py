"""CONCATENATION: inputs of one quantization joined along an axis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Const, PointerTable
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import CONCAT_MAX_INPUTS, shp, tname
from tinyc.operators import CodeSize, Example, OpDecl, option

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    ins = ctx.g.op_inputs(op)
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, y, *ins)
    for t in ins:
        if ctx.scale(t) != ctx.scale(y) or ctx.zp(t) != ctx.zp(y):
            raise NotImplementedYet(f"{ctx.where(op)}: CONCATENATION of inputs with different quantization")
    if option(op, "fused_activation_function", "NONE") != "NONE":
        raise NotImplementedYet(f"{ctx.where(op)}: CONCATENATION with a fused activation")
    axis = option(op, "axis", 0)
    if axis < 0:
        axis += len(y.shape)
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    strides = [int(np.prod(t.shape[axis:], dtype=np.int64)) for t in ins]
    p = dict(outer=outer, out_stride=int(np.prod(y.shape[axis:], dtype=np.int64)), num_inputs=len(ins))
    table = f"tinyc_op{op.index}_inputs"
    st = ctx.const(f"tinyc_op{op.index}_strides", "int32_t", strides)
    ctx.add(op, K.CONCAT, p, inputs=PointerTable(table, tuple(ctx.ptr(t, "const int8_t") for t in ins)),
             strides=Const(st), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    kinds = ("ConcatenationOptions",)
    ins, (y,) = c.io(op, (1, CONCAT_MAX_INPUTS), len(op.inputs))
    rank = len(y.shape)
    c.dtype(y, "output", "int8")
    c.rank(y, "output", range(1, 5))
    axis = c.option(op, "axis", 0, kinds)
    if not isinstance(axis, int) or not -rank <= axis < rank:
        c.fail(f"option axis is {axis!r}, outside a rank-{rank} output")
    axis %= rank
    total = 0
    for t in ins:
        c.dtype(t, "input", "int8")
        if len(t.shape) != rank or any(a != b for k, (a, b) in enumerate(zip(t.shape, y.shape)) if k != axis):
            c.fail(f"input {tname(t)} {shp(t.shape)} does not match output {tname(y)} {shp(y.shape)} "
                   f"outside axis {axis}")
        total += t.shape[axis]
    if total != y.shape[axis]:
        c.fail(f"output {tname(y)} {shp(y.shape)} has {y.shape[axis]} along axis {axis} but its inputs add up "
               f"to {total}")
    if c.activation(op, kinds) != "NONE":
        c.fail("has a fused activation; TFLite Micro's CONCATENATION takes none")
    for t in (*ins, y):
        c.per_tensor(t, "input" if t is not y else "output")


# --- test models (the zoo's single-op set) ---

def _concat(k, x, y):
    """channel concatenation of two inputs"""
    return k.layers.Concatenate(axis=-1)([x, y])


EXAMPLES = (
    Example("concat", ((4, 5, 3), (4, 5, 6)), _concat),
)


OP = OpDecl("CONCATENATION", 2, lower, verify, code_size=CodeSize(74), kernels=(K.CONCAT,),
            layers=("Concatenate",), examples=EXAMPLES)
