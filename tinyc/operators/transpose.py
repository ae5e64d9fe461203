"""TRANSPOSE: the axes permuted, one strided-copy call (Permute, tf.transpose)."""

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


def _perm(x, p) -> list[int]:
    return [int(v) % len(x.shape) for v in np.asarray(p.data).reshape(-1)]


def lower(ctx: "Lowering", op: Operator) -> None:
    x, p = ctx.g.op_inputs(op)[:2]
    perm = _perm(x, p)
    st = row_strides(x.shape)
    strided_copy(ctx, op, x, ctx.g.op_outputs(op)[0], 0, [x.shape[a] for a in perm], [st[a] for a in perm])


def verify(c: "Checker", op: Operator) -> None:
    (x, p), (y,) = c.io(op, (2, 2), 2)
    c.dtype(y, "output", x.dtype)
    c.rank(x, "input", range(1, 7))
    c.constant(p, "permutation")
    c.dtype(p, "permutation", ("int32", "int64"))
    raw = [int(v) for v in np.asarray(p.data).reshape(-1)]
    rank = len(x.shape)
    if len(raw) != rank or any(not -rank <= v < rank for v in raw) or sorted(v % rank for v in raw) != list(range(rank)):
        c.fail(f"permutation {tname(p)} is {raw}, not a permutation of the rank-{rank} input's axes")
    want = tuple(x.shape[a] for a in _perm(x, p))
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but input {shp(x.shape)} permuted by {raw} is {shp(want)}")


# --- test models ---

def _permute(k, x):
    """Keras Permute((3, 1, 2)) of an odd 3x5x7 input (channels first), then a Dense on the last axis"""
    return k.layers.Dense(3)(k.layers.Permute((3, 1, 2))(x))


EXAMPLES = (
    Example("transpose_permute", ((3, 5, 7),), _permute, ops=("TRANSPOSE", "FULLY_CONNECTED")),
)


OP = OpDecl("TRANSPOSE", 6, lower, verify, code_size=CodeSize(184), kernels=(STRIDED_COPY,),
            layers=("Permute", "tf.transpose"), examples=EXAMPLES)
