"""RELU: a standalone ReLU, as a requantization clamped at the output's zero; in place where the plan allows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.model import inplace
from tinyc.model.graph import Operator
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    lo = max(-128, ctx.zp(y) + Q.round_half_away_f32(np.float32(0.0) / np.float32(ctx.scale(y))))
    ctx.requant(op, x, y, lo, 127)


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op)
    c.multiplier(c.per_tensor(x, "input")[0] / c.per_tensor(y, "output")[0],
                    "the requantization multiplier (input scale / output scale)")


# --- test models (the zoo's single-op set) ---

def _relu(k, x):
    """standalone ReLU"""
    return k.layers.ReLU()(x)


EXAMPLES = (
    Example("relu", ((6, 7, 3),), _relu),
)


OP = OpDecl("RELU", 2, lower, verify, inplace=inplace.unary, code_size=CodeSize(34),
            kernels=(K.REQUANT, K.REQUANT_INPLACE), layers=("ReLU", "Activation('relu') not fused"),
            examples=EXAMPLES)
