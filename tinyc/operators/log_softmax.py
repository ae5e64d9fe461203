"""LOG_SOFTMAX: int8 log-softmax over the last axis (output scale 16/256, zero point 127), TFLite Micro's
fixed-point exp, sum and log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Field, Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import tname
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

LOG_SOFTMAX = K.declare("TINYC_LOG_SOFTMAX_S8", "LOG_SOFTMAX", "log_softmax.c",
                        "tinyc_log_softmax_params_t", (Role.INPUT, Role.OUTPUT),
                        fields=(Field("outer"), Field("depth"), Field("input_multiplier"), Field("input_left_shift"),
                                Field("reverse_scaling_divisor"), Field("reverse_scaling_right_shift"),
                                Field("diff_min")))


def params(sx: float) -> tuple[int, int, int, int, int]:
    """PreprocessLogSoftmaxScalingExp (beta 1, 5 integer bits) and CalculateInputRadius, as TFLM's Prepare."""
    mult, left, diff_min = Q.softmax_params(1.0, sx)
    rdiv, rshift = Q.quantize_multiplier((1 << (31 - left)) / float(mult))  # the smaller-than-one form: shift <= 0
    return mult, left, rdiv, -rshift, diff_min


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    if ctx.zp(y) != 127 or np.float32(ctx.scale(y)) != np.float32(16.0 / 256):
        raise NotImplementedYet(f"{ctx.where(op)}: int8 LOG_SOFTMAX needs output scale 16/256, zero point 127")
    mult, left, rdiv, rshift, diff_min = params(ctx.scale(x))
    depth = x.shape[-1]
    ctx.add(op, LOG_SOFTMAX, dict(outer=x.size // depth, depth=depth, input_multiplier=mult, input_left_shift=left,
                                  reverse_scaling_divisor=rdiv, reverse_scaling_right_shift=rshift,
                                  diff_min=diff_min), input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op)
    sx, _ = c.per_tensor(x, "input")
    sy, zy = c.per_tensor(y, "output")
    if not x.shape:
        c.fail(f"input {tname(x)} is a scalar; LOG_SOFTMAX needs at least one dimension")
    if zy != 127 or sy != 16.0 / 256:
        c.fail(f"output {tname(y)} has scale {sy:.6g} and zero point {zy}; int8 LOG_SOFTMAX outputs have scale "
               "16/256 and zero point 127")
    try:
        _, left, _, rshift, _ = params(sx)
    except ValueError:
        left = rshift = -1
    if not (1 <= left <= 30 and 0 <= rshift <= 31):
        c.fail(f"input {tname(x)} has scale {sx:.6g}, outside what TFLite's int8 LOG_SOFTMAX computes with")


def _log_softmax_rows(k, x):
    """tf.nn.log_softmax over the last axis of a 2-D input (several rows)"""
    import tensorflow as tf

    return tf.nn.log_softmax(x * 4.0)


EXAMPLES = (
    Example("log_softmax_rows", ((5, 7),), _log_softmax_rows, ops=("MUL", "LOG_SOFTMAX")),
)

OP = OpDecl("LOG_SOFTMAX", 2, lower, verify, code_size=CodeSize(1656), kernels=(LOG_SOFTMAX,),
            layers=("tf.nn.log_softmax",), examples=EXAMPLES)
