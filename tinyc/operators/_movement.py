"""What the data-movement operators share: one strided-copy kernel (STRIDED_SLICE, SLICE, TRANSPOSE,
DEPTH_TO_SPACE, SPACE_TO_DEPTH are each a row-major walk of the output reading the input at affine offsets)
and one split kernel (SPLIT, SPLIT_V, UNPACK write all their outputs in one call)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Field, PointerTable, Role
from tinyc.errors import NotImplementedYet

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.graph import Operator, Tensor

MAX_DIMS = 6  # the strided-copy kernel's loops

STRIDED_COPY = K.declare(
    "TINYC_STRIDED_COPY_S8", ("STRIDED_SLICE", "SLICE", "TRANSPOSE", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH"),
    "strided_copy.c", "tinyc_strided_copy_params_t", (Role.INPUT, Role.OUTPUT),
    fields=(Field("start"), Field("dims", MAX_DIMS), Field("strides", MAX_DIMS)))

SPLIT = K.declare("TINYC_SPLIT_S8", ("SPLIT", "SPLIT_V", "UNPACK"), "split.c", "tinyc_split_params_t",
                  (Role.INPUT, Role.STRIDES, Role.OUTPUTS), fields=(Field("outer"), Field("num_outputs")))


def walk(start: int, dims: Sequence[int], strides: Sequence[int]) -> dict:
    """The strided-copy parameters of an output walked row-major over ``dims``, reading the input at
    ``start + sum(i_k * strides_k)``: axes of 1 dropped, axes that continue each other merged (so a plain copy
    is one memcpy), padded in front to the kernel's six loops."""
    axes = [(int(d), int(s)) for d, s in zip(dims, strides) if int(d) != 1]
    merged: list[list[int]] = []
    for d, s in axes:
        if merged and merged[-1][1] == s * d:  # the outer axis steps over exactly this one
            merged[-1] = [merged[-1][0] * d, s]
        else:
            merged.append([d, s])
    if len(merged) > MAX_DIMS:
        raise NotImplementedYet(f"a data movement over {len(merged)} independent axes (the kernel walks "
                                f"{MAX_DIMS})")
    pad = [[1, 0]] * (MAX_DIMS - len(merged))
    full = pad + merged
    return dict(start=int(start), dims=[d for d, _ in full], strides=[s for _, s in full])


def strided_copy(ctx: "Lowering", op: "Operator", x: "Tensor", y: "Tensor", start: int, dims, strides) -> None:
    """One TINYC_STRIDED_COPY_S8 call writing ``y`` (its elements in row-major order of ``dims``) from ``x``."""
    ctx.require_int8(op, x, y)
    ctx.add(op, STRIDED_COPY, walk(start, dims, strides), input=ctx.ptr(x), output=ctx.ptr(y))


def split(ctx: "Lowering", op: "Operator", x: "Tensor", outs: Sequence["Tensor"], axis: int) -> None:
    """One TINYC_SPLIT_S8 call: ``x`` cut along ``axis`` into ``outs`` (each row of the outer axes is the
    outputs' rows one after another)."""
    ctx.require_int8(op, x, *outs)
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    sizes = [o.size // outer for o in outs]
    st = ctx.const(f"tinyc_op{op.index}_sizes", "int32_t", sizes)
    ctx.add(op, SPLIT, dict(outer=outer, num_outputs=len(outs)), input=ctx.ptr(x), strides=K.Const(st),
            outputs=PointerTable(f"tinyc_op{op.index}_outputs", tuple(ctx.ptr(o) for o in outs)))
