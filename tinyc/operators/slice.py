"""SLICE: tf.slice(x, begin, size) (size -1: to the end), one strided-copy call."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import row_strides

from tinyc.operators._movement import STRIDED_COPY, strided_copy

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def _window(x, b, s) -> tuple[list[int], list[int]]:
    begin = [int(v) for v in np.asarray(b.data).reshape(-1)]
    size = [int(v) for v in np.asarray(s.data).reshape(-1)]
    return begin, [n - a if z == -1 else z for n, a, z in zip(x.shape, begin, size)]


def lower(ctx: "Lowering", op: Operator) -> None:
    x, b, s = ctx.g.op_inputs(op)[:3]
    begin, size = _window(x, b, s)
    st = row_strides(x.shape)
    strided_copy(ctx, op, x, ctx.g.op_outputs(op)[0], sum(a * t for a, t in zip(begin, st)), size, st)


def verify(c: "Checker", op: Operator) -> None:
    (x, b, s), (y,) = c.io(op, (3, 3), 3)
    c.dtype(y, "output", x.dtype)
    c.rank(x, "input", range(1, 6))
    for t, role in ((b, "begin"), (s, "size")):
        c.constant(t, role)
        c.dtype(t, role, ("int32", "int64"))
        if t.size != len(x.shape):
            c.fail(f"{role} {tname(t)} holds {t.size} values for the rank-{len(x.shape)} input {tname(x)}")
    begin, size = _window(x, b, s)
    for a, (n, lo, z) in enumerate(zip(x.shape, begin, size)):
        if lo < 0 or z < 1 or lo + z > n:
            c.fail(f"slices [{lo}, {lo + z}) of axis {a} of input {tname(x)} {shp(x.shape)}, outside it")
    if tuple(y.shape) != tuple(size):
        c.fail(f"output {tname(y)} is {shp(y.shape)} but the slice is {shp(size)}")


# --- test models ---

def _tf_slice(k, x):
    """tf.slice of a Conv2D output: a window in every axis (size -1 to the end)"""
    import tensorflow as tf

    y = k.layers.Conv2D(5, 2)(x)
    return tf.slice(y, [0, 1, 2, 1], [1, 3, -1, 3])


EXAMPLES = (
    Example("slice_window", ((6, 7, 2),), _tf_slice, ops=("CONV_2D", "SLICE")),
)


OP = OpDecl("SLICE", 2, lower, verify, code_size=CodeSize(184), kernels=(STRIDED_COPY,), layers=("tf.slice",),
            examples=EXAMPLES)
