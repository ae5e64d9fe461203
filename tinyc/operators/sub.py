"""SUB: elementwise int8 subtraction with broadcasting (up to 6 dimensions), TFLite's ADD arithmetic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Field, Role
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

BROADCAST_FIELDS = (Field("flat"), Field("size"), Field("out_dims", 6), Field("in1_strides", 6),
                    Field("in2_strides", 6))
SUB = K.declare("TINYC_SUB_S8", "SUB", "sub.c", "tinyc_sub_params_t",
                (Role.INPUT, Role.INPUT2, Role.OUTPUT),
                fields=(*BROADCAST_FIELDS, Field("left_shift"), Field("in1_offset"), Field("in1_multiplier"),
                        Field("in1_shift"), Field("in2_offset"), Field("in2_multiplier"), Field("in2_shift"),
                        Field("out_offset"), Field("out_multiplier"), Field("out_shift"), Field("act_min"),
                        Field("act_max")))


def lower(ctx: "Lowering", op: Operator) -> None:
    a, b = ctx.g.op_inputs(op)[:2]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, a, b, y)
    (m1, s1), (m2, s2), (mo, so) = Q.add_params(ctx.scale(a), ctx.scale(b), ctx.scale(y))  # TFLM's sub Prepare
    lo, hi = ctx.act(op, y)
    p = ctx.broadcast(a, b, y) | dict(
        left_shift=20, in1_offset=-ctx.zp(a), in1_multiplier=m1, in1_shift=s1,
        in2_offset=-ctx.zp(b), in2_multiplier=m2, in2_shift=s2, out_offset=ctx.zp(y),
        out_multiplier=mo, out_shift=so, act_min=lo, act_max=hi)
    ctx.add(op, SUB, p, input=ctx.ptr(a), input2=ctx.ptr(b), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    s1, s2, so = c.binary(op, ("SubOptions",))
    real = 2.0 * max(s1, s2) / ((1 << 20) * so)
    if not real < 1.0:
        c.fail(f"output scale {so:.6g} is too small for inputs of scales {s1:.6g} and {s2:.6g} (TFLite's SUB "
               "needs its output multiplier below one)")


def _sub_broadcast(k, x, y):
    """tf.math.subtract with broadcasting, then a fused ReLU"""
    import tensorflow as tf

    return tf.nn.relu(tf.math.subtract(x, y))


EXAMPLES = (
    Example("sub_broadcast", ((6, 5, 4), (1, 5, 1)), _sub_broadcast),
)

OP = OpDecl("SUB", 3, lower, verify, code_size=CodeSize(528), kernels=(SUB,),
            layers=("Subtract", "a - b", "tf.math.subtract"), examples=EXAMPLES)
