"""L2_NORMALIZATION: int8 x / ||x|| along the last axis (output scale 1/128, zero point 0), TFLite's fixed-point
inverse square root."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Field, Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import tname
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

L2_NORMALIZATION = K.declare("TINYC_L2_NORMALIZATION_S8", "L2_NORMALIZATION",
                             "l2_normalization.c", "tinyc_l2_normalization_params_t",
                             (Role.INPUT, Role.OUTPUT), fields=(Field("outer"), Field("depth"), Field("in_zero_point")))


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    if ctx.zp(y) != 0 or np.float32(ctx.scale(y)) != np.float32(1.0 / 128):
        raise NotImplementedYet(f"{ctx.where(op)}: int8 L2_NORMALIZATION needs output scale 1/128, zero point 0")
    depth = x.shape[-1]
    ctx.add(op, L2_NORMALIZATION, dict(outer=x.size // depth, depth=depth, in_zero_point=ctx.zp(x)),
            input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op)
    c.per_tensor(x, "input")
    sy, zy = c.per_tensor(y, "output")
    if not x.shape:
        c.fail(f"input {tname(x)} is a scalar; L2_NORMALIZATION normalizes along the last axis")
    if len(x.shape) > 4:
        c.fail(f"input {tname(x)} has rank {len(x.shape)}; TFLite Micro's L2_NORMALIZATION takes up to 4")
    if zy != 0 or sy != 1.0 / 128:
        c.fail(f"output {tname(y)} has scale {sy:.6g} and zero point {zy}; int8 L2_NORMALIZATION outputs have "
               "scale 1/128 and zero point 0")
    if x.shape[-1] > 1 << 15:
        c.fail(f"input {tname(x)} has {x.shape[-1]} values per row; the int32 sum of squares holds 2^15")


def _l2(k, x):
    """Dense, then tf.math.l2_normalize along the last axis (an embedding head)"""
    import tensorflow as tf

    return tf.math.l2_normalize(k.layers.Dense(16)(x), axis=-1)


EXAMPLES = (
    Example("l2_normalization_dense", ((10,),), _l2, ops=("FULLY_CONNECTED", "L2_NORMALIZATION")),
)

OP = OpDecl("L2_NORMALIZATION", 2, lower, verify, code_size=CodeSize(736), kernels=(L2_NORMALIZATION,),
            layers=("tf.math.l2_normalize(axis=-1)", "UnitNormalization"), examples=EXAMPLES)
