"""SPLIT_V: the input cut into parts of the given sizes (one may be -1: the rest) along a constant axis; one
call writes every part."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.model.graph import Operator
from tinyc.model.verify import tname
from tinyc.operators import CodeSize, Example, OpDecl

from tinyc.operators._movement import SPLIT, split
from tinyc.operators.split import check_axis, check_parts

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    x, _, a = ctx.g.op_inputs(op)[:3]
    split(ctx, op, x, ctx.g.op_outputs(op), int(np.asarray(a.data).reshape(-1)[0]) % len(x.shape))


def verify(c: "Checker", op: Operator) -> None:
    n = c.option(op, "num_splits", 0, ("SplitVOptions",))
    if not isinstance(n, int) or n < 1:
        c.fail(f"option num_splits is {n!r}; it must be a positive integer")
    (x, s, a), outs = c.io(op, (3, 3), 3, n_out=n)
    axis = check_axis(c, a, x)
    c.constant(s, "size_splits")
    c.dtype(s, "size_splits", ("int32", "int64"))
    sizes = [int(v) for v in np.asarray(s.data).reshape(-1)]
    if len(sizes) != n or sizes.count(-1) > 1 or any(v < -1 or v == 0 for v in sizes):
        c.fail(f"size_splits {tname(s)} is {sizes}: {n} positive sizes are needed, one of them may be -1")
    if -1 in sizes:
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
    check_parts(c, x, outs, axis, sizes)


# --- test models ---

def _split_sizes(k, x):
    """tf.split of a sequence into parts of 2, the rest (-1) and 1 along time, reassembled in another order"""
    import tensorflow as tf

    a, b, c = tf.split(k.layers.Dense(3)(x), [2, -1, 1], axis=1)
    return k.layers.Concatenate(axis=1)([c, a, b])


EXAMPLES = (
    Example("split_v_sizes", ((7, 2),), _split_sizes, ops=("FULLY_CONNECTED", "SPLIT_V", "CONCATENATION")),
)


OP = OpDecl("SPLIT_V", 2, lower, verify, code_size=CodeSize(68), kernels=(SPLIT,), layers=("tf.split (sizes)",),
            examples=EXAMPLES)
