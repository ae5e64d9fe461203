"""PAD: constant padding with the output's zero point (up to 4 dimensions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import shape4

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def lower(ctx: "Lowering", op: Operator) -> None:
    ins = ctx.g.op_inputs(op)
    x, pads = ins[0], ins[1]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    if pads is None or not pads.is_constant:
        raise NotImplementedYet(f"{ctx.where(op)}: PAD with non-constant paddings")
    pv = np.asarray(pads.data).reshape(-1, 2)
    rank = len(x.shape)
    if rank > 4:
        raise NotImplementedYet(f"{ctx.where(op)}: PAD of a rank-{rank} tensor")
    before = [0] * (4 - rank) + [int(v) for v in pv[:, 0]]
    after = [0] * (4 - rank) + [int(v) for v in pv[:, 1]]
    value = ctx.zp(y)
    if len(ins) > 2 and ins[2] is not None:
        if not ins[2].is_constant:
            raise NotImplementedYet(f"{ctx.where(op)}: PADV2 with a non-constant pad value")
        value = int(np.asarray(ins[2].data).reshape(-1)[0])
    p = dict(dims=list(shape4(x.shape)), before=before, after=after, pad_value=value)
    ctx.add(op, K.PAD, p, input=ctx.ptr(x), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    (x, p), (y,) = c.io(op, (2, 2), 2)
    c.dtype(x, "input", "int8")
    c.dtype(y, "output", "int8")
    c.rank(x, "input", range(0, 5))
    c.rank(y, "output", len(x.shape))
    c.constant(p, "paddings")
    c.dtype(p, "paddings", "int32")
    if tuple(p.shape) != (len(x.shape), 2):
        c.fail(f"paddings {tname(p)} {shp(p.shape)} must be [{len(x.shape)}, 2] for a rank-{len(x.shape)} "
               "input")
    pv = np.asarray(p.data, dtype=np.int64).reshape(-1, 2)
    if (pv < 0).any():
        c.fail(f"paddings {tname(p)} hold {int(pv.min())}; paddings must not be negative")
    want = tuple(int(d + a + b) for d, (a, b) in zip(x.shape, pv))
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but input {shp(x.shape)} padded by "
               f"{pv.tolist()} is {shp(want)}")
    c.same_quant(x, y, "PAD copies its input's values")


# --- test models (the zoo's single-op set) ---

def _pad(k, x):
    """asymmetric zero padding"""
    return k.layers.ZeroPadding2D(((1, 2), (0, 3)))(x)


EXAMPLES = (
    Example("pad", ((5, 7, 3),), _pad),
)


OP = OpDecl("PAD", 2, lower, verify, code_size=CodeSize(174), kernels=(K.PAD,),
            layers=("ZeroPadding2D", "ZeroPadding1D"), examples=EXAMPLES)
