"""RSQRT: the int8 reciprocal square root, TFLite's fixed-point inverse square root and two requantizations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Field, Role
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

RSQRT = K.declare("TINYC_RSQRT_S8", "RSQRT", "rsqrt.c", "tinyc_rsqrt_params_t",
                  (Role.INPUT, Role.OUTPUT),
                  fields=(Field("size"), Field("in_zero_point"), Field("out_zero_point"), Field("multiplier"),
                          Field("shift")))


def multiplier(sx: float, sy: float) -> float:
    """TFLM's SetRsqrtOutputMultiplier: 1 / double(sqrtf(in scale) * out scale), the product in float32."""
    return 1.0 / float(np.float32(np.sqrt(np.float32(sx), dtype=np.float32) * np.float32(sy)))


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    m, s = Q.quantize_multiplier(multiplier(ctx.scale(x), ctx.scale(y)))
    ctx.add(op, RSQRT, dict(size=x.size, in_zero_point=ctx.zp(x), out_zero_point=ctx.zp(y), multiplier=m, shift=s),
            input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op)
    sx, _ = c.per_tensor(x, "input")
    sy, _ = c.per_tensor(y, "output")
    c.multiplier(multiplier(sx, sy), "the output multiplier (1 / (sqrt(input scale) x output scale))")


def _rsqrt(k, x):
    """tf.math.rsqrt of a positive value (x^2 + 0.3: TFLite Micro refuses inputs below the zero point)"""
    import tensorflow as tf

    d = k.layers.Dense(11)(x)
    return tf.math.rsqrt(d * d + 0.3)


EXAMPLES = (
    Example("rsqrt_dense", ((6,),), _rsqrt, ops=("FULLY_CONNECTED", "MUL", "ADD", "RSQRT")),
)

OP = OpDecl("RSQRT", 2, lower, verify, code_size=CodeSize(772), kernels=(RSQRT,), layers=("tf.math.rsqrt",),
            examples=EXAMPLES)
