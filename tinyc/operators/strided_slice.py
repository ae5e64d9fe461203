"""STRIDED_SLICE: x[b0:e0:s0, ...] with TFLite Micro's masks and clamping (negative strides, shrunk axes), one
strided-copy call. A SHAPE result sliced for a dynamic batch is folded before this runs (tinyc.model.fold)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import prod, row_strides, slice_axes

from tinyc.operators._movement import STRIDED_COPY, strided_copy

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

KINDS = ("StridedSliceOptions",)


def _axes(op: Operator, x, b, e, s):
    o = op.options
    return slice_axes(x.shape, *(np.asarray(t.data).reshape(-1) for t in (b, e, s)), int(o.get("begin_mask") or 0),
                      int(o.get("end_mask") or 0), int(o.get("shrink_axis_mask") or 0))


def lower(ctx: "Lowering", op: Operator) -> None:
    x, b, e, s = ctx.g.op_inputs(op)[:4]
    y = ctx.g.op_outputs(op)[0]
    axes, _ = _axes(op, x, b, e, s)
    st = row_strides(x.shape)
    strided_copy(ctx, op, x, y, sum(a * t for (a, _, _), t in zip(axes, st)), [c for _, _, c in axes],
                 [step * t for (_, step, _), t in zip(axes, st)])


def verify(c: "Checker", op: Operator) -> None:
    (x, b, e, s), (y,) = c.io(op, (4, 4), 4)
    c.dtype(y, "output", x.dtype)
    c.rank(x, "input", range(1, 6))
    for t, role in ((b, "begin"), (e, "end"), (s, "strides")):
        c.constant(t, role)  # TFLite Micro's kernel takes constant indices only
        c.dtype(t, role, "int32")
        if t.size != len(x.shape):
            c.fail(f"{role} {tname(t)} holds {t.size} values for the rank-{len(x.shape)} input {tname(x)}")
    for key in ("ellipsis_mask", "new_axis_mask"):
        if c.option(op, key, 0, KINDS):
            c.fail(f"has option {key}; TFLite Micro's STRIDED_SLICE ignores it (convert without it)")
    if c.option(op, "offset", False, KINDS):
        c.fail("has option offset; TFLite Micro's STRIDED_SLICE ignores it")
    if np.any(np.asarray(s.data) == 0):
        c.fail(f"strides {tname(s)} hold a 0")
    axes, want = _axes(op, x, b, e, s)
    if tuple(y.shape) != tuple(want) or prod(n for _, _, n in axes) != y.size:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but the slice of {shp(x.shape)} is {shp(want)}")


# --- test models: slicing as Keras users write it ---

def _slice_steps(k, x):
    """x[:, 1:5] beside x[:, ::-2, 1:] (a negative stride) and x[:, 2] (a shrunk axis), after a Dense"""
    y = k.layers.Dense(6)(x)
    return [y[:, 1:5], y[:, ::-2, 1:], y[:, 2]]


def _reshape_dynamic(k, x):
    """Reshape of a dynamic-batch model: SHAPE -> STRIDED_SLICE -> PACK folded into RESHAPE's constant shape"""
    return k.layers.Reshape((6, 4))(x)


EXAMPLES = (
    Example("strided_slice_steps", ((7, 5),), _slice_steps, ops=("FULLY_CONNECTED", "STRIDED_SLICE")),
    Example("shape_folded_reshape", ((4, 6),), _reshape_dynamic, ops=("RESHAPE",), batch=None),
)


OP = OpDecl("STRIDED_SLICE", 4, lower, verify, code_size=CodeSize(184), kernels=(STRIDED_COPY,),
            layers=("x[a:b]", "tf.strided_slice"), examples=EXAMPLES)
