"""ADD: elementwise addition with broadcasting (up to 6 dimensions), in place where the plan allows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.model import inplace
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    a, b = ctx.g.op_inputs(op)[:2]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, a, b, y)
    (m1, s1), (m2, s2), (mo, so) = Q.add_params(ctx.scale(a), ctx.scale(b), ctx.scale(y))
    lo, hi = ctx.act(op, y)
    p = ctx.broadcast(a, b, y) | dict(
        left_shift=20, in1_offset=-ctx.zp(a), in1_multiplier=m1, in1_shift=s1,
        in2_offset=-ctx.zp(b), in2_multiplier=m2, in2_shift=s2, out_offset=ctx.zp(y),
        out_multiplier=mo, out_shift=so, act_min=lo, act_max=hi)
    ctx.add(op, K.ADD, p, input=ctx.ptr(a), input2=ctx.ptr(b), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    s1, s2, so = c.binary(op, ("AddOptions",))
    real = 2.0 * max(s1, s2) / ((1 << 20) * so)
    if not real < 1.0:
        c.fail(f"output scale {so:.6g} is too small for inputs of scales {s1:.6g} and {s2:.6g} (TFLite's ADD "
               "needs its output multiplier below one)")


# --- test models (the zoo's single-op set) ---

def _add_two(k, x, y):
    """elementwise ADD of two inputs"""
    return k.layers.Add()([x, y])


def _add_broadcast(k, x, y):
    """ADD with broadcasting"""
    return x + y


EXAMPLES = (
    Example("add_two", ((7, 5, 3), (7, 5, 3)), _add_two),
    Example("add_broadcast", ((6, 5, 4), (1, 1, 4)), _add_broadcast),
)


OP = OpDecl("ADD", 2, lower, verify, inplace=inplace.binary, code_size=CodeSize(522),
            kernels=(K.ADD, K.ADD_INPLACE), layers=("Add", "a + b"), examples=EXAMPLES)
