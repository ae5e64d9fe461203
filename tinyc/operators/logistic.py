"""LOGISTIC: the int8 sigmoid (output scale 1/256, zero point -128), TFLite's fixed-point formula."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import fixed_point as FX
from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import tname
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

# The table: 256 bytes of flash for about 4 instructions an element instead of some 400 (gemmlowp's exp and
# reciprocal): worth it from this many elements on (the table's 4 bytes an element at most).
LUT_FROM = 64
LOGISTIC_LUT = K.declare("TINYC_LOGISTIC_LUT_S8", "LOGISTIC", "logistic.c", "tinyc_logistic_params_t",
                         (Role.INPUT, Role.WEIGHTS, Role.OUTPUT))


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    if ctx.zp(y) != -128 or np.float32(ctx.scale(y)) != np.float32(1.0 / 256):
        raise NotImplementedYet(f"{ctx.where(op)}: int8 LOGISTIC needs output scale 1/256, zero point -128")
    mult, left, radius = Q.logistic_params(ctx.scale(x))
    if x.size >= LUT_FROM:
        lut = ctx.const(f"tinyc_op{op.index}_logistic", "int8_t", FX.logistic_table(ctx.zp(x), radius, mult, left))
        ctx.add(op, LOGISTIC_LUT, dict(size=x.size), input=ctx.ptr(x), weights=K.Const(lut), output=ctx.ptr(y))
        return
    p = dict(size=x.size, in_zero_point=ctx.zp(x), input_range_radius=radius, input_multiplier=mult,
             input_left_shift=left)
    ctx.add(op, K.LOGISTIC, p, input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op)
    sx, _ = c.per_tensor(x, "input")
    sy, zy = c.per_tensor(y, "output")
    if zy != -128 or sy != float(np.float32(1.0 / 256)):
        c.fail(f"output {tname(y)} has scale {sy:.6g} and zero point {zy}; int8 LOGISTIC outputs have scale "
               "1/256 and zero point -128")
    shift = math.frexp(sx * (1 << 27))[1]
    if not 0 <= shift <= 30:
        c.fail(f"input {tname(x)} has scale {sx:.6g}, outside the 2^-28 to 8 int8 LOGISTIC computes with")


# --- test models (the zoo's single-op set) ---

def _logistic(k, x):
    """sigmoid"""
    return k.layers.Activation("sigmoid")(x)


def _logistic_lut(k, x):
    """sigmoid of 2x over 96 values (the table kernel), input scale from the doubled range"""
    return k.layers.Activation("sigmoid")(k.layers.Rescaling(2.0)(x))


EXAMPLES = (
    Example("logistic", ((33,),), _logistic),
    Example("logistic_lut", ((96,),), _logistic_lut, ops=("MUL", "LOGISTIC")),
)


OP = OpDecl("LOGISTIC", 2, lower, verify, code_size=CodeSize(276), kernels=(K.LOGISTIC, LOGISTIC_LUT),
            layers=("Activation('sigmoid')", "Dense(activation='sigmoid')"), examples=EXAMPLES)
