"""SQUARED_DIFFERENCE: elementwise int8 (a - b)^2 with broadcasting (tf.math.squared_difference)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Field, Role
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl, elementwise_macs

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

LEFT_SHIFT = 7  # TFLM: 255^2 * 2^(2*7) stays below 2^31

SQUARED_DIFFERENCE = K.declare(
    "TINYC_SQUARED_DIFFERENCE_S8", "SQUARED_DIFFERENCE", "squared_difference.c",
    "tinyc_squared_difference_params_t", (Role.INPUT, Role.INPUT2, Role.OUTPUT),
    fields=(Field("flat"), Field("size"), Field("out_dims", 6), Field("in1_strides", 6), Field("in2_strides", 6),
            Field("left_shift"), Field("in1_offset"), Field("in1_multiplier"), Field("in1_shift"),
            Field("in2_offset"), Field("in2_multiplier"), Field("in2_shift"), Field("out_offset"),
            Field("out_multiplier"), Field("out_shift")))


def multipliers(s1: float, s2: float, so: float):
    """TFLM's Prepare: inputs over twice the larger input scale (double), output (2 max)^2 / (2^14 x out scale),
    the 2^14 x out scale product taken in float32."""
    s1, s2, so = np.float32(s1), np.float32(s2), np.float32(so)
    twice = 2.0 * float(max(s1, s2))
    return (Q.quantize_multiplier(float(s1) / twice), Q.quantize_multiplier(float(s2) / twice),
            Q.quantize_multiplier(twice * twice / float(np.float32(np.float32(1 << (2 * LEFT_SHIFT)) * so))))


def lower(ctx: "Lowering", op: Operator) -> None:
    a, b = ctx.g.op_inputs(op)[:2]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, a, b, y)
    (m1, s1), (m2, s2), (mo, so) = multipliers(ctx.scale(a), ctx.scale(b), ctx.scale(y))
    p = ctx.broadcast(a, b, y) | dict(
        left_shift=LEFT_SHIFT, in1_offset=-ctx.zp(a), in1_multiplier=m1, in1_shift=s1, in2_offset=-ctx.zp(b),
        in2_multiplier=m2, in2_shift=s2, out_offset=ctx.zp(y), out_multiplier=mo, out_shift=so)
    ctx.add(op, SQUARED_DIFFERENCE, p, input=ctx.ptr(a), input2=ctx.ptr(b), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    s1, s2, so = c.binary(op, ("SquaredDifferenceOptions",))
    twice = 2.0 * max(s1, s2)
    c.multiplier(twice * twice / ((1 << 14) * so), "the output multiplier ((2 x input scale)^2 / 2^14 / output scale)")


def _sqdiff_mean(k, x):
    """(x - mean(x))^2 with broadcasting, as a variance or a LayerNorm computes it"""
    import tensorflow as tf

    return tf.math.squared_difference(x, tf.reduce_mean(x, axis=-1, keepdims=True))


EXAMPLES = (
    Example("squared_difference_mean", ((7, 9),), _sqdiff_mean, ops=("MEAN", "SQUARED_DIFFERENCE")),
)

OP = OpDecl("SQUARED_DIFFERENCE", 2, lower, verify, elementwise_macs, code_size=CodeSize(520),
            kernels=(SQUARED_DIFFERENCE,), layers=("tf.math.squared_difference",), examples=EXAMPLES)
