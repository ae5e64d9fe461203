"""LEAKY_RELU: the int8 leaky ReLU, two requantizations (identity and alpha) chosen by the input's sign."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Field, Role
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl, option

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

LEAKY_RELU = K.declare("TINYC_LEAKY_RELU_S8", "LEAKY_RELU", "leaky_relu.c",
                       "tinyc_leaky_relu_params_t", (Role.INPUT, Role.OUTPUT),
                       fields=(Field("size"), Field("in_zero_point"), Field("out_zero_point"),
                               Field("identity_multiplier"), Field("identity_shift"), Field("alpha_multiplier"),
                               Field("alpha_shift")))


def multipliers(sx: float, alpha: float, sy: float) -> tuple[float, float]:
    """TFLM's Prepare takes both ratios in float32 (scale * alpha / scale), then widens them to double."""
    sx, sy, a = np.float32(sx), np.float32(sy), np.float32(alpha)
    return float(np.float32(sx / sy)), float(np.float32(np.float32(sx * a) / sy))


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    ident, alpha = multipliers(ctx.scale(x), option(op, "alpha", 0.0), ctx.scale(y))
    (mi, si), (ma, sa) = Q.quantize_multiplier(ident), Q.quantize_multiplier(alpha)
    ctx.add(op, LEAKY_RELU, dict(size=x.size, in_zero_point=ctx.zp(x), out_zero_point=ctx.zp(y),
                                 identity_multiplier=mi, identity_shift=si, alpha_multiplier=ma, alpha_shift=sa),
            input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op)
    sx, _ = c.per_tensor(x, "input")
    sy, _ = c.per_tensor(y, "output")
    alpha = c.option(op, "alpha", 0.0, ("LeakyReluOptions",))
    if not (isinstance(alpha, (int, float)) and math.isfinite(alpha)):
        c.fail(f"option alpha is {alpha!r}; it must be a finite number")
    ident, a = multipliers(sx, alpha, sy)
    c.multiplier(ident, "the requantization multiplier (input scale / output scale)")
    c.multiplier(abs(a), "the alpha multiplier (alpha x input scale / output scale)")


def _leaky_negative(k, x):
    """LeakyReLU with a negative alpha (-0.7): the alpha multiplier is negative"""
    return k.layers.LeakyReLU(-0.7)(x)


EXAMPLES = (
    Example("leaky_relu_negative", ((5, 3),), _leaky_negative),
)

OP = OpDecl("LEAKY_RELU", 2, lower, verify, code_size=CodeSize(308), kernels=(LEAKY_RELU,),
            layers=("LeakyReLU", "tf.nn.leaky_relu"), examples=EXAMPLES)
