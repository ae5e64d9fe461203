"""SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND share their view of a tensor: NHWC, or NHC read as NH1C (a dilated
Conv1D), with a constant block shape and paddings / crops."""

from __future__ import annotations

import numpy as np

from tinyc.model.verify import shp, tname


def hw(shape) -> tuple[int, int, int, int]:
    """(N, H, W, C) of a rank-3 or rank-4 tensor."""
    return (shape[0], shape[1], 1, shape[2]) if len(shape) == 3 else tuple(shape)


def block_and_pads(x, b, p) -> tuple[list[int], list[int]]:
    """(block_h, block_w) and (top, bottom, left, right): rank 3 has one spatial axis (block_w 1, no width pads)."""
    block = [int(v) for v in np.asarray(b.data).reshape(-1)]
    pads = [int(v) for v in np.asarray(p.data).reshape(-1)]
    if len(x.shape) == 3:
        return [block[0], 1], [pads[0], pads[1], 0, 0]
    return block, pads


def check(c, op, x, b, p, y, what: str) -> tuple[list[int], list[int]]:
    """The checks both operators share: ranks, constant int32 block shape and paddings/crops of the right size."""
    c.dtype(y, "output", x.dtype)
    c.rank(x, "input", (3, 4))
    c.rank(y, "output", len(x.shape))
    spatial = len(x.shape) - 2
    for t, role, n in ((b, "block_shape", spatial), (p, what, 2 * spatial)):
        c.constant(t, role)
        c.dtype(t, role, "int32")
        if t.size != n:
            c.fail(f"{role} {tname(t)} {shp(t.shape)} holds {t.size} values; the rank-{len(x.shape)} input "
                   f"{tname(x)} needs {n}")
    block, pads = block_and_pads(x, b, p)
    if min(block) < 1 or min(pads) < 0:
        c.fail(f"block_shape {block} or {what} {pads} is not positive")
    return block, pads


def dynamic_batch(c, t, batches: int) -> None:
    """A tensor written with the dynamic batch's placeholder 1 where the space-to-batch layout has ``batches``:
    the converter's shapes for a dilated convolution of a model with a dynamic batch. TFLite Micro takes shapes
    from the file, so it computes a fraction of the layer (the rest of its output is never written): refused,
    with the fix."""
    sig = t.shape_signature
    if sig and sig[0] == -1 and t.shape[0] != batches:
        c.fail(f"{tname(t)} {shp(t.shape)} keeps the dynamic batch's placeholder 1 where space-to-batch makes "
               f"{batches} batches, so TFLite Micro computes part of this layer only; give the model a fixed batch "
               "size of 1 (keras.Input(shape, batch_size=1)): a dilated Conv1D/Conv2D then converts to one dilated "
               "CONV_2D")
