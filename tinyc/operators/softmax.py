"""SOFTMAX: int8 softmax over the last axis (output scale 1/256, zero point -128, TFLite's exp table)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import tname
from tinyc.operators import CodeSize, Example, OpDecl, option

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    if ctx.zp(y) != -128 or np.float32(ctx.scale(y)) != np.float32(1.0 / 256):
        raise NotImplementedYet(f"{ctx.where(op)}: int8 SOFTMAX needs output scale 1/256, zero point -128")
    mult, left, diff_min = Q.softmax_params(option(op, "beta", 1.0), ctx.scale(x))
    depth = x.shape[-1]
    p = dict(outer=x.size // depth, depth=depth, input_multiplier=mult, input_left_shift=left,
             diff_min=diff_min)
    ctx.add(op, K.SOFTMAX, p, input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    x, y = c.unary(op)
    if not x.shape:
        c.fail(f"input {tname(x)} is a scalar; SOFTMAX needs at least one dimension")
    sx, _ = c.per_tensor(x, "input")
    sy, zy = c.per_tensor(y, "output")
    if not op.options_type:
        c.fail("has no SoftmaxOptions (its beta would be 0)")
    beta = c.option(op, "beta", 0.0, ("SoftmaxOptions",))
    if not (isinstance(beta, (int, float)) and math.isfinite(beta) and beta > 0):
        c.fail(f"option beta is {beta!r}; it must be finite and positive")
    if not float(np.float32(beta)) * sx * (1 << 26) > 1.0:
        c.fail(f"beta x input scale ({beta:.6g} x {sx:.6g}) is below 2^-26, the smallest TFLite's int8 SOFTMAX "
               "computes with")
    if zy != -128 or abs(sy - 1.0 / 256) > 0.001 / 256:
        c.fail(f"output {tname(y)} has scale {sy:.6g} and zero point {zy}; int8 SOFTMAX outputs have scale "
               "1/256 and zero point -128")


# --- test models (the zoo's single-op set) ---

def _softmax(k, x):
    """softmax over 10 values"""
    return k.layers.Softmax()(x)


EXAMPLES = (
    Example("softmax", ((10,),), _softmax),
)


OP = OpDecl("SOFTMAX", 2, lower, verify, code_size=CodeSize(488), kernels=(K.SOFTMAX,),
            layers=("Softmax", "Activation('softmax')"), examples=EXAMPLES)
