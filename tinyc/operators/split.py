"""SPLIT: the input cut into num_splits equal parts along a constant axis; one call writes every part."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl

from tinyc.operators._movement import SPLIT, split

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def axis_of(t, x) -> int:
    """A constant axis tensor's value, made positive for ``x``."""
    return int(np.asarray(t.data).reshape(-1)[0]) % len(x.shape)


def check_parts(c: "Checker", x, outs, axis: int, sizes) -> None:
    """Each output is the input with ``sizes[i]`` along ``axis``; the sizes add up to the input's."""
    if sum(sizes) != x.shape[axis]:
        c.fail(f"parts of {sizes} along axis {axis} do not add up to input {tname(x)} {shp(x.shape)}")
    for y, n in zip(outs, sizes):
        c.dtype(y, "output", x.dtype)
        want = (*x.shape[:axis], n, *x.shape[axis + 1:])
        if tuple(y.shape) != want:
            c.fail(f"output {tname(y)} is {shp(y.shape)} but its part of {shp(x.shape)} is {shp(want)}")


def check_axis(c: "Checker", a, x) -> int:
    c.constant(a, "axis")
    c.dtype(a, "axis", "int32")
    v = np.asarray(a.data).reshape(-1)
    rank = len(x.shape)
    if v.size != 1 or not -rank <= int(v[0]) < rank:
        c.fail(f"axis {tname(a)} is {v.tolist()}, not one axis of the rank-{rank} input {tname(x)}")
    return int(v[0]) % rank


def lower(ctx: "Lowering", op: Operator) -> None:
    a, x = ctx.g.op_inputs(op)[:2]
    split(ctx, op, x, ctx.g.op_outputs(op), axis_of(a, x))


def verify(c: "Checker", op: Operator) -> None:
    n = c.option(op, "num_splits", 0, ("SplitOptions",))
    if not isinstance(n, int) or n < 1:
        c.fail(f"option num_splits is {n!r}; it must be a positive integer")
    (a, x), outs = c.io(op, (2, 2), 2, n_out=n)
    axis = check_axis(c, a, x)
    if x.shape[axis] % n:
        c.fail(f"input {tname(x)} {shp(x.shape)} does not split into {n} equal parts along axis {axis}")
    check_parts(c, x, outs, axis, [x.shape[axis] // n] * n)


# --- test models ---

def _split_reorder(k, x):
    """tf.split into 3 along the channels after a Dense, each part scaled by its own Dense, concatenated back"""
    import tensorflow as tf

    parts = tf.split(k.layers.Dense(6)(x), 3, axis=-1)
    return k.layers.Concatenate()([parts[2], parts[0], parts[1]])


EXAMPLES = (
    Example("split_reorder", ((4,),), _split_reorder, ops=("FULLY_CONNECTED", "SPLIT", "CONCATENATION")),
)


OP = OpDecl("SPLIT", 2, lower, verify, code_size=CodeSize(68), kernels=(SPLIT,), layers=("tf.split",),
            examples=EXAMPLES)
