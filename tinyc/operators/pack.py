"""PACK: tf.stack, inputs of one shape joined along a new axis: CONCATENATION's kernel (each input's row of
the outer axes is copied in turn)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Const, PointerTable
from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import prod

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

KINDS = ("PackOptions",)


def lower(ctx: "Lowering", op: Operator) -> None:
    ins, y = ctx.g.op_inputs(op), ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, y, *ins)
    axis = int(op.options.get("axis") or 0) % len(y.shape)
    inner = prod(ins[0].shape[axis:])
    st = ctx.const(f"tinyc_op{op.index}_strides", "int32_t", [inner] * len(ins))
    p = dict(outer=prod(y.shape[:axis]), out_stride=inner * len(ins), num_inputs=len(ins))
    ctx.add(op, K.CONCAT, p, inputs=PointerTable(f"tinyc_op{op.index}_inputs",
                                                 tuple(ctx.ptr(t, "const int8_t") for t in ins)),
            strides=Const(st), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    n = c.option(op, "values_count", 0, KINDS)
    if not isinstance(n, int) or n < 1:
        c.fail(f"option values_count is {n!r}; it must be a positive integer")
    ins, (y,) = c.io(op, (n, n), n)
    x = ins[0]
    rank = len(x.shape) + 1
    axis = c.option(op, "axis", 0, KINDS)
    if not isinstance(axis, int) or not -rank <= axis < rank:
        c.fail(f"option axis is {axis!r}, outside the rank-{rank} output")
    axis %= rank
    for t in ins:
        c.dtype(t, "input", x.dtype)
        if tuple(t.shape) != tuple(x.shape):
            c.fail(f"input {tname(t)} {shp(t.shape)} differs from input {tname(x)} {shp(x.shape)}")
    c.dtype(y, "output", x.dtype)
    want = (*x.shape[:axis], n, *x.shape[axis:])
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but {n} inputs {shp(x.shape)} stacked at axis {axis} are "
               f"{shp(want)}")


# --- test models ---

def _stack_three(k, x, y, z):
    """tf.stack of three inputs along the middle axis"""
    import tensorflow as tf

    return tf.stack([x, y, z], axis=1)


EXAMPLES = (
    Example("pack_three", ((2, 4), (2, 4), (2, 4)), _stack_three),
)


OP = OpDecl("PACK", 2, lower, verify, code_size=CodeSize(74), kernels=(K.CONCAT,), layers=("tf.stack",),
            examples=EXAMPLES)
