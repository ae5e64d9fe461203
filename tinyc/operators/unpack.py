"""UNPACK: tf.unstack, the input's slices along an axis as separate outputs (that axis dropped); one call
writes every output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl

from tinyc.operators._movement import SPLIT, split

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

KINDS = ("UnpackOptions",)


def lower(ctx: "Lowering", op: Operator) -> None:
    x = ctx.g.op_inputs(op)[0]
    split(ctx, op, x, ctx.g.op_outputs(op), int(op.options.get("axis") or 0) % len(x.shape))


def verify(c: "Checker", op: Operator) -> None:
    n = c.option(op, "num", 0, KINDS)
    if not isinstance(n, int) or n < 1:
        c.fail(f"option num is {n!r}; it must be a positive integer")
    (x,), outs = c.io(op, (1, 1), 1, n_out=n)
    rank = len(x.shape)
    axis = c.option(op, "axis", 0, KINDS)
    if rank == 0 or not isinstance(axis, int) or not -rank <= axis < rank:
        c.fail(f"option axis is {axis!r}, outside the rank-{rank} input {tname(x)}")
    axis %= rank
    if x.shape[axis] != n:
        c.fail(f"input {tname(x)} {shp(x.shape)} has {x.shape[axis]} slices along axis {axis}, not num = {n}")
    want = (*x.shape[:axis], *x.shape[axis + 1:])
    for y in outs:
        c.dtype(y, "output", x.dtype)
        if tuple(y.shape) != want:
            c.fail(f"output {tname(y)} is {shp(y.shape)} but a slice of {shp(x.shape)} along axis {axis} is "
                   f"{shp(want)}")


# --- test models ---

def _unstack_stack(k, x):
    """tf.unstack along time, the steps restacked in reverse along a new last axis (UNPACK then PACK)"""
    import tensorflow as tf

    return tf.stack(tf.unstack(x, axis=1)[::-1], axis=2)


EXAMPLES = (
    Example("unstack_stack", ((3, 5),), _unstack_stack, ops=("UNPACK", "PACK")),
)


OP = OpDecl("UNPACK", 2, lower, verify, code_size=CodeSize(68), kernels=(SPLIT,), layers=("tf.unstack",),
            examples=EXAMPLES)
