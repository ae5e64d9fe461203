"""SUM and REDUCE_MAX: int8 reductions over constant axes (TFLite Micro's reduce kernel). SUM is MEAN's kernel
with the in/out rescale alone (no 1/count folded in); REDUCE_MAX keeps its input's quantization and takes the
largest raw value."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import Field, Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Graph, Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import shape4
from tinyc.operators.mean import tflm_scratch as mean_scratch

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

REDUCE_MAX = K.declare("TINYC_REDUCE_MAX_S8", "REDUCE_MAX", "reduce_max.c",
                       "tinyc_reduce_max_params_t", (Role.INPUT, Role.OUTPUT),
                       fields=(Field("in_dims", 4), Field("reduce", 4)))


def max_scratch(g: Graph, op: Operator) -> list[int]:
    """TFLM's PrepareMaxHelper: an int per input dimension (temp index), an int per axis (resolved axes)."""
    t = g.tensor(op.inputs[0])
    axis = g.tensor(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
    return [4 * len(t.shape), 4 * (axis.size if axis is not None else 1)]


def _axes(ctx: "Lowering", op: Operator):
    """(input, output, 4-D input dims, the reduced flags, count of reduced elements)."""
    x, axis_t = ctx.g.op_inputs(op)[:2]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    if axis_t is None or not axis_t.is_constant:
        raise NotImplementedYet(f"{ctx.where(op)}: {op.op} with non-constant axes")
    if len(x.shape) > 4:
        raise NotImplementedYet(f"{ctx.where(op)}: {op.op} of a rank-{len(x.shape)} tensor (at most 4)")
    rank = len(x.shape)
    dims = shape4(x.shape)
    reduce = [0, 0, 0, 0]
    for a in np.asarray(axis_t.data).reshape(-1):
        reduce[int(a) % rank + 4 - rank] = 1
    count = int(np.prod([d for d, r in zip(dims, reduce) if r], dtype=np.int64))
    return x, y, list(dims), reduce, count


def lower_sum(ctx: "Lowering", op: Operator) -> None:
    x, y, dims, reduce, count = _axes(ctx, op)
    mult, shift = Q.quantize_multiplier(float(np.float32(ctx.scale(x))) / float(np.float32(ctx.scale(y))))
    p = dict(in_dims=dims, reduce=reduce, num_reduced=count, in_zero_point=ctx.zp(x), out_zero_point=ctx.zp(y),
             multiplier=mult, shift=shift)
    ctx.add(op, K.MEAN, p, input=ctx.ptr(x), output=ctx.ptr(y))


def lower_max(ctx: "Lowering", op: Operator) -> None:
    x, y, dims, reduce, _ = _axes(ctx, op)
    ctx.add(op, REDUCE_MAX, dict(in_dims=dims, reduce=reduce), input=ctx.ptr(x), output=ctx.ptr(y))


def _reduction(c: "Checker", op: Operator):
    (x, a), (y,) = c.io(op, (2, 2), 2)
    c.dtype(x, "input", "int8")
    c.dtype(y, "output", "int8")
    c.constant(a, "axes")
    c.dtype(a, "axes", "int32")
    rank = len(x.shape)
    if rank == 0:
        c.fail(f"input {tname(x)} is a scalar; {op.op} reduces along dimensions")
    axes = [int(v) for v in np.asarray(a.data).reshape(-1)]
    bad = [v for v in axes if not -rank <= v < rank]
    if bad:
        c.fail(f"axes {tname(a)} hold {bad[0]}, outside the rank-{rank} input {tname(x)}")
    red = sorted({v % rank for v in axes})
    keep = c.option(op, "keep_dims", False, ("ReducerOptions",))
    want = tuple(1 if k in red else d for k, d in enumerate(x.shape)) if keep else \
        tuple(d for k, d in enumerate(x.shape) if k not in red)
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but {op.op} of {shp(x.shape)} over axes {red} "
               f"{'keeping' if keep else 'dropping'} them is {shp(want)}")
    return x, y


def verify_sum(c: "Checker", op: Operator) -> None:
    x, y = _reduction(c, op)
    c.multiplier(c.per_tensor(x, "input")[0] / c.per_tensor(y, "output")[0],
                 "the requantization multiplier (input scale / output scale)")


def verify_max(c: "Checker", op: Operator) -> None:
    x, y = _reduction(c, op)
    c.same_quant(x, y, "TFLite Micro's int8 REDUCE_MAX keeps its input's quantization")


def _sum_hw(k, x):
    """tf.reduce_sum over H and W of a Conv2D output"""
    import tensorflow as tf

    return tf.reduce_sum(k.layers.Conv2D(5, 3)(x), axis=[1, 2])


def _max_hw(k, x):
    """GlobalMaxPooling2D (REDUCE_MAX over H and W)"""
    return k.layers.GlobalMaxPooling2D()(x)


OPS = (
    OpDecl("SUM", 2, lower_sum, verify_sum, scratch=mean_scratch, code_size=CodeSize(516), kernels=(K.MEAN,),
           layers=("tf.reduce_sum",),
           examples=(Example("sum_hw", ((7, 6, 2),), _sum_hw, ops=("CONV_2D", "SUM")),)),
    OpDecl("REDUCE_MAX", 2, lower_max, verify_max, scratch=max_scratch, code_size=CodeSize(330), kernels=(REDUCE_MAX,),
           layers=("GlobalMaxPooling2D", "GlobalMaxPooling1D", "tf.reduce_max"),
           examples=(Example("reduce_max_hw", ((3, 2, 5),), _max_hw),)),
)
