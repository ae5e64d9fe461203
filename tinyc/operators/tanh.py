"""TANH: the int8 hyperbolic tangent (output scale 1/128, zero point 0), TFLite Micro's fixed-point formula."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Field, Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import tname
from tinyc.operators import CodeSize, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

TANH = K.declare("TINYC_TANH_S8", "TANH", "tanh.c", "tinyc_tanh_params_t",
                 (Role.INPUT, Role.OUTPUT),
                 fields=(Field("size"), Field("in_zero_point"), Field("input_range_radius"),
                         Field("input_multiplier"), Field("input_left_shift")))


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    if ctx.zp(y) != 0 or np.float32(ctx.scale(y)) != np.float32(1.0 / 128):
        raise NotImplementedYet(f"{ctx.where(op)}: int8 TANH needs output scale 1/128, zero point 0")
    mult, left, radius = Q.logistic_params(ctx.scale(x))  # TFLM's tanh Prepare: the same 4 integer bits
    ctx.add(op, TANH, dict(size=x.size, in_zero_point=ctx.zp(x), input_range_radius=radius,
                           input_multiplier=mult, input_left_shift=left), input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op)
    sx, _ = c.per_tensor(x, "input")
    sy, zy = c.per_tensor(y, "output")
    if zy != 0 or sy != float(np.float32(1.0 / 128)):
        c.fail(f"output {tname(y)} has scale {sy:.6g} and zero point {zy}; int8 TANH outputs have scale 1/128 "
               "and zero point 0")
    shift = math.frexp(sx * (1 << 27))[1]
    if not 0 <= shift <= 30:
        c.fail(f"input {tname(x)} has scale {sx:.6g}, outside the 2^-28 to 8 int8 TANH computes with")



OP = OpDecl("TANH", 2, lower, verify, code_size=CodeSize(572), kernels=(TANH,),
            layers=("Activation('tanh')", "Dense(activation='tanh')", "tf.tanh"))  # tested in activations_cnn (elu.py)
