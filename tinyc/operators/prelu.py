"""PRELU: the int8 parametric ReLU, a constant alpha broadcast against the input (Keras PReLU, shared axes too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Field, Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import MAX_RANK, shp, tname
from tinyc.operators import CodeSize, Example, OpDecl, elementwise_macs

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

PRELU = K.declare("TINYC_PRELU_S8", "PRELU", "prelu.c", "tinyc_prelu_params_t",
                  (Role.INPUT, Role.WEIGHTS, Role.OUTPUT),
                  fields=(Field("flat"), Field("size"), Field("out_dims", 6), Field("in1_strides", 6),
                          Field("in2_strides", 6), Field("input_offset"), Field("alpha_offset"),
                          Field("output_offset"), Field("multiplier_1"), Field("shift_1"), Field("multiplier_2"),
                          Field("shift_2")))


def lower(ctx: "Lowering", op: Operator) -> None:
    x, alpha = ctx.g.op_inputs(op)[:2]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, alpha, y)
    if len(y.shape) > 4:
        raise NotImplementedYet(f"{ctx.where(op)}: PRELU of rank {len(y.shape)} (TFLite Micro's takes up to 4)")
    sx, sa, sy = (float(np.float32(ctx.scale(t))) for t in (x, alpha, y))
    m1, s1 = Q.quantize_multiplier(sx / sy)  # TFLM: double(in) / double(out), double(in) * double(alpha) / out
    m2, s2 = Q.quantize_multiplier(sx * sa / sy)
    p = ctx.broadcast(x, alpha, y) | dict(input_offset=-ctx.zp(x), alpha_offset=-ctx.zp(alpha),
                                          output_offset=ctx.zp(y), multiplier_1=m1, shift_1=s1,
                                          multiplier_2=m2, shift_2=s2)
    ctx.add(op, PRELU, p, input=ctx.ptr(x), weights=ctx.ptr(alpha), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    (x, a), (y,) = c.io(op, (2, 2), 2)
    for t, role in ((x, "input"), (a, "alpha"), (y, "output")):
        c.dtype(t, role, "int8")
        c.rank(t, role, range(0, MAX_RANK + 1))
    sx, _ = c.per_tensor(x, "input")
    sa, _ = c.per_tensor(a, "alpha")
    sy, _ = c.per_tensor(y, "output")
    rank = max(len(x.shape), len(a.shape))
    sxs = (1,) * (rank - len(x.shape)) + tuple(x.shape)
    sas = (1,) * (rank - len(a.shape)) + tuple(a.shape)
    if any(da != dx and da != 1 and dx != 1 for dx, da in zip(sxs, sas)):
        c.fail(f"alpha {tname(a)} {shp(a.shape)} does not broadcast against input {tname(x)} {shp(x.shape)}")
    want = tuple(max(dx, da) for dx, da in zip(sxs, sas))
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but input {shp(x.shape)} and alpha {shp(a.shape)} broadcast "
               f"to {shp(want)}")
    c.multiplier(sx / sy, "the requantization multiplier (input scale / output scale)")
    c.multiplier(sx * sa / sy, "the alpha multiplier (input scale x alpha scale / output scale)")


def _prelu_full(k, x):
    """PReLU with an alpha per element"""
    return k.layers.PReLU(alpha_initializer=k.initializers.RandomUniform(-1.0, 1.0, seed=4))(x)


EXAMPLES = (
    Example("prelu_full", ((5, 7),), _prelu_full),
)

OP = OpDecl("PRELU", 1, lower, verify, elementwise_macs, code_size=CodeSize(312), kernels=(PRELU,), layers=("PReLU",),
            examples=EXAMPLES)
