"""SPACE_TO_DEPTH: each block x block patch becomes one pixel's channels, one strided-copy call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl

from tinyc.operators._movement import STRIDED_COPY, strided_copy

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    n, h, w, c = x.shape
    b = op.options["block_size"]
    # output walked as [n, oh, ow, dy, dx, c]: input pixel (oh * b + dy, ow * b + dx)
    strided_copy(ctx, op, x, y, 0, [n, h // b, w // b, b, b, c], [h * w * c, b * w * c, b * c, w * c, c, 1])


def verify(c: "Checker", op: Operator) -> None:
    (x,), (y,) = c.io(op, (1, 1), 1)
    c.dtype(y, "output", x.dtype)
    c.rank(x, "input", 4)
    (b,) = c.positive(op, ("block_size",), ("SpaceToDepthOptions",))
    n, h, w, ch = x.shape
    if h % b or w % b:
        c.fail(f"input {tname(x)} {shp(x.shape)} is not a whole number of {b}x{b} blocks")
    want = (n, h // b, w // b, ch * b * b)
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but space-to-depth of {shp(x.shape)} by {b} is {shp(want)}")


# --- test models ---

def _space_to_depth(k, x):
    """tf.nn.space_to_depth by 2 of a 6x4x3 input, then a 1x1 Conv2D"""
    import tensorflow as tf

    return k.layers.Conv2D(5, 1)(tf.nn.space_to_depth(x, 2))


EXAMPLES = (
    Example("space_to_depth_conv", ((6, 4, 3),), _space_to_depth, ops=("SPACE_TO_DEPTH", "CONV_2D")),
)


OP = OpDecl("SPACE_TO_DEPTH", 2, lower, verify, code_size=CodeSize(184), kernels=(STRIDED_COPY,),
            layers=("tf.nn.space_to_depth",), examples=EXAMPLES)
