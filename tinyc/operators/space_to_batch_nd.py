"""SPACE_TO_BATCH_ND: the padded spatial grid dealt out into block_h x block_w batches (how the converter
writes a dilated Conv1D/Conv2D of a dynamic-batch model), one call; padding takes the value TFLite Micro's
kernel writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Field, Role
from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl

from tinyc.operators._space_batch import block_and_pads, check, dynamic_batch, hw

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

FIELDS = ("in_b", "in_h", "in_w", "out_b", "out_h", "out_w", "depth", "block_h", "block_w", "pad_top", "pad_left",
          "pad_value")
SPACE_TO_BATCH = K.declare("TINYC_SPACE_TO_BATCH_S8", "SPACE_TO_BATCH_ND", "space_to_batch_nd.c",
                           "tinyc_space_to_batch_params_t", (Role.INPUT, Role.OUTPUT),
                           fields=tuple(Field(f) for f in FIELDS))
# TFLite Micro's kernel pads with SpaceToBatchParams.output_offset, which its Prepare never sets: a persistent
# buffer from the arena's tail, 0 in an arena that starts zeroed (a device's .bss), whatever the zero point; in
# the Python interpreter's malloc'ed arena it can be anything. tinyc pads with 0; the test models pad nothing.
PAD_VALUE = 0


def lower(ctx: "Lowering", op: Operator) -> None:
    x, b, p = ctx.g.op_inputs(op)[:3]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    (bh, bw), (top, _, left, _) = block_and_pads(x, b, p)
    n, h, w, c = hw(x.shape)
    on, oh, ow, _ = hw(y.shape)
    ctx.add(op, SPACE_TO_BATCH, dict(in_b=n, in_h=h, in_w=w, out_b=on, out_h=oh, out_w=ow, depth=c, block_h=bh,
                                     block_w=bw, pad_top=top, pad_left=left, pad_value=PAD_VALUE),
            input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    (x, b, p), (y,) = c.io(op, (3, 3), 3)
    (bh, bw), (top, bottom, left, right) = check(c, op, x, b, p, y, "paddings")
    n, h, w, ch = hw(x.shape)
    if (h + top + bottom) % bh or (w + left + right) % bw:
        c.fail(f"input {tname(x)} {shp(x.shape)} padded by {[top, bottom, left, right]} is not a whole number of "
               f"{bh}x{bw} blocks")
    dynamic_batch(c, y, n * bh * bw)
    want = (n * bh * bw, (h + top + bottom) // bh, (w + left + right) // bw, ch)
    want = want if len(x.shape) == 4 else (want[0], want[1], want[3])
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but space-to-batch of {shp(x.shape)} is {shp(want)}")


# --- test models: space-to-batch written out at batch 1 (the converter fuses it into a dilated CONV_2D
# when a convolution sits between; a dynamic-batch dilated convolution is refused, see verify) ---

def _blocks_dense(k, x):
    """tf.space_to_batch of a 20-step sequence into 2 phases, a Dense on each, tf.batch_to_space back (cropped 1
    and 2)"""
    import tensorflow as tf

    y = k.layers.Dense(4)(tf.space_to_batch(x, [2], [[0, 0]]))
    return tf.batch_to_space(y, [2], [[1, 2]])


def _blocks_2d(k, x):
    """tf.space_to_batch of a 6x8 image into 2x2 phases, max pooled, tf.batch_to_space (cropped)"""
    import tensorflow as tf

    y = k.layers.MaxPooling2D((2, 1), strides=1)(tf.space_to_batch(x, [2, 2], [[0, 0], [0, 0]]))
    return tf.batch_to_space(y, [2, 2], [[0, 1], [1, 0]])


EXAMPLES = (
    Example("space_to_batch_1d", ((20, 3),), _blocks_dense,
            ops=("SPACE_TO_BATCH_ND", "FULLY_CONNECTED", "BATCH_TO_SPACE_ND")),
    Example("space_to_batch_2d", ((6, 8, 2),), _blocks_2d, ops=("SPACE_TO_BATCH_ND", "MAX_POOL_2D", "BATCH_TO_SPACE_ND")),
)


OP = OpDecl("SPACE_TO_BATCH_ND", 3, lower, verify, code_size=CodeSize(166), kernels=(SPACE_TO_BATCH,),
            layers=("Conv1D/Conv2D with dilation_rate (dynamic batch)",), examples=EXAMPLES)
