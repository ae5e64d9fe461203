"""GATHER: slices of the input picked along an axis by constant indices (tf.gather), one call."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Const, Field, Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import prod

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

GATHER = K.declare("TINYC_GATHER_S8", "GATHER", "gather.c", "tinyc_gather_params_t",
                   (Role.INPUT, Role.INDICES, Role.OUTPUT),
                   fields=(Field("outer"), Field("axis_size"), Field("count"), Field("inner")))
KINDS = ("GatherOptions",)


def lower(ctx: "Lowering", op: Operator) -> None:
    x, i = ctx.g.op_inputs(op)[:2]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    if int(op.options.get("batch_dims") or 0):
        raise NotImplementedYet(f"{ctx.where(op)}: GATHER with batch_dims")
    axis = int(op.options.get("axis") or 0) % len(x.shape)
    idx = ctx.const(f"tinyc_op{op.index}_indices", "int32_t", np.asarray(i.data).reshape(-1))
    p = dict(outer=prod(x.shape[:axis]), axis_size=x.shape[axis], count=i.size, inner=prod(x.shape[axis + 1:]))
    ctx.add(op, GATHER, p, input=ctx.ptr(x), indices=Const(idx), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    (x, i), (y,) = c.io(op, (2, 2), 2)
    c.dtype(y, "output", x.dtype)
    c.constant(i, "indices")
    c.dtype(i, "indices", ("int32", "int64"))
    rank = len(x.shape)
    axis = c.option(op, "axis", 0, KINDS)
    if rank == 0 or not isinstance(axis, int) or not -rank <= axis < rank:
        c.fail(f"option axis is {axis!r}, outside the rank-{rank} input {tname(x)}")
    axis %= rank
    idx = np.asarray(i.data).reshape(-1)
    bad = idx[(idx < 0) | (idx >= x.shape[axis])]
    if bad.size:
        c.fail(f"indices {tname(i)} hold {int(bad[0])}, outside axis {axis} of input {tname(x)} {shp(x.shape)}")
    want = (*x.shape[:axis], *i.shape, *x.shape[axis + 1:])
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but gathering {shp(i.shape)} indices along axis {axis} of "
               f"{shp(x.shape)} gives {shp(want)}")


# --- test models ---

def _gather_channels(k, x):
    """tf.gather of channels [2, 0, 1, 1, 4] (reordered, repeated) after a Conv2D"""
    import tensorflow as tf

    return tf.gather(k.layers.Conv2D(5, 2)(x), [2, 0, 1, 1, 4], axis=-1)


def _gather_steps(k, x):
    """tf.gather of time steps [[3, 0], [1, 1]] (2-D indices) of a sequence"""
    import tensorflow as tf

    return tf.gather(x, [[3, 0], [1, 1]], axis=1)


EXAMPLES = (
    Example("gather_channels", ((4, 3, 2),), _gather_channels, ops=("CONV_2D", "GATHER")),
    Example("gather_steps", ((5, 3),), _gather_steps),
)


OP = OpDecl("GATHER", 2, lower, verify, code_size=CodeSize(68), kernels=(GATHER,), layers=("tf.gather",),
            examples=EXAMPLES)
