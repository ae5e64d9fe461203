"""DEPTH_TO_SPACE: each pixel's channels spread over a block x block patch (pixel shuffle), one strided-copy call."""

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
    b, oc = op.options["block_size"], y.shape[3]
    # output walked as [n, h, dy, w, dx, oc]: input channel (dy * b + dx) * oc + oc_i of pixel (h, w)
    strided_copy(ctx, op, x, y, 0, [n, h, b, w, b, oc], [h * w * c, w * c, b * oc, c, oc, 1])


def verify(c: "Checker", op: Operator) -> None:
    (x,), (y,) = c.io(op, (1, 1), 1)
    c.dtype(y, "output", x.dtype)
    c.rank(x, "input", 4)
    (b,) = c.positive(op, ("block_size",), ("DepthToSpaceOptions",))
    n, h, w, ch = x.shape
    if ch % (b * b):
        c.fail(f"input {tname(x)} {shp(x.shape)} has {ch} channels, not a multiple of block_size^2 = {b * b}")
    want = (n, h * b, w * b, ch // (b * b))
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but depth-to-space of {shp(x.shape)} by {b} is {shp(want)}")


# --- test models ---

def _pixel_shuffle(k, x):
    """sub-pixel upsampling: Conv2D to 12 channels, tf.nn.depth_to_space by 2 (pixel shuffle)"""
    import tensorflow as tf

    return tf.nn.depth_to_space(k.layers.Conv2D(12, 3, padding="same")(x), 2)


EXAMPLES = (
    Example("depth_to_space_shuffle", ((5, 3, 2),), _pixel_shuffle, ops=("CONV_2D", "DEPTH_TO_SPACE")),
)


OP = OpDecl("DEPTH_TO_SPACE", 2, lower, verify, code_size=CodeSize(184), kernels=(STRIDED_COPY,),
            layers=("tf.nn.depth_to_space",), examples=EXAMPLES)
