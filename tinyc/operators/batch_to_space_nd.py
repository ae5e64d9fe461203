"""BATCH_TO_SPACE_ND: block_h x block_w batches interleaved back into one spatial grid, cropped (the inverse of
SPACE_TO_BATCH_ND around a dilated convolution of a dynamic-batch model), one call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Field, Role
from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, OpDecl

from tinyc.operators._space_batch import block_and_pads, check, dynamic_batch, hw

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

FIELDS = ("in_b", "in_h", "in_w", "out_b", "out_h", "out_w", "depth", "block_h", "block_w", "crop_top", "crop_left")
BATCH_TO_SPACE = K.declare("TINYC_BATCH_TO_SPACE_S8", "BATCH_TO_SPACE_ND", "batch_to_space_nd.c",
                           "tinyc_batch_to_space_params_t", (Role.INPUT, Role.OUTPUT),
                           fields=tuple(Field(f) for f in FIELDS))


def lower(ctx: "Lowering", op: Operator) -> None:
    x, b, p = ctx.g.op_inputs(op)[:3]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    (bh, bw), (top, _, left, _) = block_and_pads(x, b, p)
    n, h, w, c = hw(x.shape)
    on, oh, ow, _ = hw(y.shape)
    ctx.add(op, BATCH_TO_SPACE, dict(in_b=n, in_h=h, in_w=w, out_b=on, out_h=oh, out_w=ow, depth=c, block_h=bh,
                                     block_w=bw, crop_top=top, crop_left=left),
            input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    (x, b, p), (y,) = c.io(op, (3, 3), 3)
    (bh, bw), (top, bottom, left, right) = check(c, op, x, b, p, y, "crops")
    n, h, w, ch = hw(x.shape)
    dynamic_batch(c, x, bh * bw * y.shape[0])
    if n % (bh * bw):
        c.fail(f"input {tname(x)} {shp(x.shape)} has {n} batches, not a multiple of the {bh}x{bw} block")
    want = (n // (bh * bw), h * bh - top - bottom, w * bw - left - right, ch)
    if min(want[1:3]) < 1:
        c.fail(f"crops {[top, bottom, left, right]} leave nothing of input {tname(x)} {shp(x.shape)}")
    want = want if len(x.shape) == 4 else (want[0], want[1], want[3])
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but batch-to-space of {shp(x.shape)} is {shp(want)}")


# its test models are SPACE_TO_BATCH_ND's (the converter writes the two around a dilated convolution)
OP = OpDecl("BATCH_TO_SPACE_ND", 3, lower, verify, code_size=CodeSize(160), kernels=(BATCH_TO_SPACE,),
            layers=("Conv1D/Conv2D with dilation_rate (dynamic batch)",))
