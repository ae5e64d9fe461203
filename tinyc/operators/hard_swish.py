"""HARD_SWISH: the int8 hard swish, x * relu6(x + 3) / 6, in TFLite Micro's int16 fixed point (the converter
fuses the Keras expression into one operator)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Field, Role
from tinyc.model.graph import Operator
from tinyc.model.verify import tname
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

HARD_SWISH = K.declare("TINYC_HARD_SWISH_S8", "HARD_SWISH", "hard_swish.c",
                       "tinyc_hard_swish_params_t", (Role.INPUT, Role.OUTPUT),
                       fields=(Field("size"), Field("in_zero_point"), Field("out_zero_point"),
                               Field("output_multiplier"), Field("output_exponent"), Field("reluish_multiplier"),
                               Field("reluish_exponent")))


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier (round the Q0.31 to Q0.15, saturating)."""
    m, e = Q.quantize_multiplier(real)
    return (32767 if m >= (1 << 31) - 1 - (1 << 15) else (m + (1 << 15)) >> 16), e


def params(sx: float, sy: float) -> tuple[int, int, int, int]:
    """TFLM's Prepare: the scale ratios in float32 (hires input scale = input scale / 128), widened to double."""
    hires = np.float32(np.float32(1.0 / 128.0) * np.float32(sx))
    om, oe = _int16_multiplier(float(np.float32(hires / np.float32(sy))))
    rm, re = _int16_multiplier(float(np.float32(hires / np.float32(3.0 / 32768.0))))
    return om, oe, rm, re


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    om, oe, rm, re = params(ctx.scale(x), ctx.scale(y))
    ctx.add(op, HARD_SWISH, dict(size=x.size, in_zero_point=ctx.zp(x), out_zero_point=ctx.zp(y),
                                 output_multiplier=om, output_exponent=oe, reluish_multiplier=rm,
                                 reluish_exponent=re), input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op)
    sx, _ = c.per_tensor(x, "input")
    sy, _ = c.per_tensor(y, "output")
    _, oe, _, re = params(sx, sy)
    if oe > 0:
        c.fail(f"output {tname(y)} has scale {sy:.6g}, below input scale / 128 ({sx / 128:.6g}): TFLite Micro's "
               "int8 HARD_SWISH needs an output multiplier below one")
    if not -15 <= re <= 15:
        c.fail(f"input {tname(x)} has scale {sx:.6g}, outside what int8 HARD_SWISH's 16-bit arithmetic shifts")


def hard_swish(k, x):
    """x * relu6(x + 3) / 6 as Keras users write it (MobileNetV3's hard-swish), which converts to HARD_SWISH."""
    import tensorflow as tf

    return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


def _mobilenet_v3_block(k, x):
    """MobileNetV3-small block: 1x1 expand + hard-swish, 3x3 depthwise + hard-swish, squeeze-excite (global
    average pool, 1x1 ReLU, 1x1 hard-sigmoid, multiply), 1x1 project, residual add"""
    import tensorflow as tf

    L = k.layers
    y = hard_swish(k, L.Conv2D(16, 1)(x))
    y = hard_swish(k, L.DepthwiseConv2D(3, padding="same")(y))
    s = L.GlobalAveragePooling2D(keepdims=True)(y)
    s = L.Conv2D(4, 1, activation="relu")(s)
    s = tf.nn.relu6(L.Conv2D(16, 1)(s) + 3.0) * (1.0 / 6.0)
    y = L.Conv2D(8, 1)(L.Multiply()([y, s]))
    return L.Add()([y, x])


EXAMPLES = (
    Example("mobilenet_v3_block", ((6, 6, 8),), _mobilenet_v3_block,
            ops=("CONV_2D", "HARD_SWISH", "DEPTHWISE_CONV_2D", "MEAN", "ADD", "MUL")),
)

OP = OpDecl("HARD_SWISH", 1, lower, verify, code_size=CodeSize(372), kernels=(HARD_SWISH,),
            layers=("x * relu6(x + 3) / 6", "Activation('hard_swish')"), examples=EXAMPLES)
