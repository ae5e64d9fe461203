"""MEAN: the int8 mean over constant axes (TFLite's reduce kernel, its rounding and requantization)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Graph, Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import shape4

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def tflm_scratch(g: Graph, op: Operator) -> list[int]:
    """TFLM's reduce kernel: an int32 accumulator per output element (int8/int16), then an int per input
    dimension (temp index) and an int per reduced axis (resolved axes). Matches the recorded arena head."""
    t = g.tensor(op.inputs[0])
    axis = g.tensor(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
    out = []
    if t.dtype in ("int8", "int16"):
        out.append(g.tensor(op.outputs[0]).size * 4 if op.outputs else 0)
    out.append(4 * len(t.shape))
    out.append(4 * (axis.size if axis is not None else 1))
    return out


def lower(ctx: "Lowering", op: Operator) -> None:
    x, axis_t = ctx.g.op_inputs(op)[:2]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    if axis_t is None or not axis_t.is_constant:
        raise NotImplementedYet(f"{ctx.where(op)}: MEAN with non-constant axes")
    rank = len(x.shape)
    dims = shape4(x.shape)
    reduce = [0, 0, 0, 0]
    for a in np.asarray(axis_t.data).reshape(-1):
        a = int(a) + rank if int(a) < 0 else int(a)
        reduce[a + 4 - rank] = 1
    count = int(np.prod([d for d, r in zip(dims, reduce) if r], dtype=np.int64))
    mult, shift = Q.mean_multiplier(ctx.scale(x), ctx.scale(y), count)
    p = dict(in_dims=list(dims), reduce=reduce, num_reduced=count, in_zero_point=ctx.zp(x),
             out_zero_point=ctx.zp(y), multiplier=mult, shift=shift)
    ctx.add(op, K.MEAN, p, input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    (x, a), (y,) = c.io(op, (2, 2), 2)
    c.dtype(x, "input", "int8")
    c.dtype(y, "output", "int8")
    c.constant(a, "axes")
    c.dtype(a, "axes", "int32")
    rank = len(x.shape)
    if rank == 0:
        c.fail(f"input {tname(x)} is a scalar; MEAN reduces along dimensions")
    axes = [int(v) for v in np.asarray(a.data).reshape(-1)]
    if len(axes) > 4:  # TFLite Micro keeps at most four axes (MeanParams.axis[4])
        c.fail(f"axes {tname(a)} list {len(axes)} axes; MEAN takes at most 4")
    bad = [v for v in axes if not -rank <= v < rank]
    if bad:
        c.fail(f"axes {tname(a)} hold {bad[0]}, outside the rank-{rank} input {tname(x)}")
    red = sorted({v % rank for v in axes})
    keep = c.option(op, "keep_dims", False, ("ReducerOptions",))
    want = tuple(1 if k in red else d for k, d in enumerate(x.shape)) if keep else \
        tuple(d for k, d in enumerate(x.shape) if k not in red)
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but the mean of {shp(x.shape)} over axes {red} "
               f"{'keeping' if keep else 'dropping'} them is {shp(want)}")
    c.multiplier(c.per_tensor(x, "input")[0] / c.per_tensor(y, "output")[0],
                    "the requantization multiplier (input scale / output scale)")


# --- test models (the zoo's single-op set) ---

def _mean_hw(k, x):
    """global average pool (MEAN over H, W)"""
    return k.layers.GlobalAveragePooling2D()(x)


def _mean_keepdims_c(k, x):
    """MEAN over the channel axis, keep_dims"""
    import tensorflow as tf

    return tf.reduce_mean(x, axis=-1, keepdims=True)


EXAMPLES = (
    Example("mean_hw", ((7, 9, 12),), _mean_hw),
    Example("mean_keepdims_c", ((6, 5, 8),), _mean_keepdims_c),
)


OP = OpDecl("MEAN", 2, lower, verify, scratch=tflm_scratch, code_size=CodeSize(516), kernels=(K.MEAN,),
            layers=("GlobalAveragePooling2D", "GlobalAveragePooling1D", "tf.reduce_mean"), examples=EXAMPLES)
