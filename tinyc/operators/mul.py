"""MUL: elementwise multiplication with broadcasting (up to 6 dimensions), in place where the plan allows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.model import inplace
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl, elementwise_macs

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    a, b = ctx.g.op_inputs(op)[:2]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, a, b, y)
    mo, so = Q.mul_multiplier(ctx.scale(a), ctx.scale(b), ctx.scale(y))
    lo, hi = ctx.act(op, y)
    p = ctx.broadcast(a, b, y) | dict(
        left_shift=0, in1_offset=-ctx.zp(a), in1_multiplier=0, in1_shift=0,
        in2_offset=-ctx.zp(b), in2_multiplier=0, in2_shift=0, out_offset=ctx.zp(y),
        out_multiplier=mo, out_shift=so, act_min=lo, act_max=hi)
    ctx.add(op, K.MUL, p, input=ctx.ptr(a), input2=ctx.ptr(b), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    s1, s2, so = c.binary(op, ("MulOptions",))
    c.multiplier(s1 * s2 / so, "the output multiplier (scale 1 x scale 2 / output scale)")


# --- test models (the zoo's single-op set) ---

def _mul_two(k, x, y):
    """elementwise MUL of two inputs"""
    return k.layers.Multiply()([x, y])


EXAMPLES = (
    Example("mul_two", ((9, 3), (9, 3)), _mul_two),
)


OP = OpDecl("MUL", 2, lower, verify, elementwise_macs, inplace=inplace.binary, code_size=CodeSize(298),
            kernels=(K.MUL, K.MUL_INPLACE), layers=("Multiply", "a * b"), examples=EXAMPLES)
