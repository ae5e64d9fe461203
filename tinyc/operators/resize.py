"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (UpSampling2D, Resizing, tf.image.resize): int8 images resized
to the constant size of input 1, the output keeping the input's quantization. TFLite Micro picks source pixels
with float32 arithmetic (nearest) or with 10-bit fixed-point weights (bilinear); both depend only on the
shapes and flags, so the generator computes the per-row and per-column tables once and the kernels only
copy or interpolate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import ArgType, Const, CType, Field, Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl, option

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

_SHAPE = (Field("batches"), Field("in_h"), Field("in_w"), Field("channels"), Field("out_h"), Field("out_w"))
_TABLE = {Role.TABLE1: ArgType(CType.I32, const=True)}  # the generator's int32 row/column table

RESIZE_NEAREST = K.declare("TINYC_RESIZE_NEAREST_S8", "RESIZE_NEAREST_NEIGHBOR", "resize_nearest_neighbor.c",
                           "tinyc_resize_nearest_params_t", (Role.INPUT, Role.TABLE1, Role.OUTPUT), fields=_SHAPE,
                           arg_types=_TABLE)
RESIZE_BILINEAR = K.declare("TINYC_RESIZE_BILINEAR_S8", "RESIZE_BILINEAR", "resize_bilinear.c",
                            "tinyc_resize_bilinear_params_t", (Role.INPUT, Role.TABLE1, Role.OUTPUT), fields=_SHAPE,
                            arg_types=_TABLE)


def nearest_index(out_size: int, in_size: int, align: bool, half: bool) -> list[int]:
    """TFLite's GetNearestNeighbor for every output position, in float32 as the kernel computes it."""
    f = np.float32
    scale = f(in_size - 1) / f(out_size - 1) if align and out_size > 1 else f(in_size) / f(out_size)
    offset = f(0.5) if half else f(0.0)
    out = []
    for v in range(out_size):
        s = (f(v) + offset) * scale
        i = min(Q.round_half_away_f32(s) if align else int(np.floor(s)), in_size - 1)
        out.append(max(i, 0) if half else i)
    return out


def bilinear_axis(out_size: int, in_size: int, align: bool, half: bool) -> list[tuple[int, int, int]]:
    """(lower index, upper index, weight of the upper one in 1/1024) per output position: TFLite's
    ResizeBilinearInteger scale and ComputeInterpolationValuesInteger (C division truncates toward zero)."""
    def cdiv(a: int, b: int) -> int:
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b > 0) else -q

    scale = cdiv(1024 * in_size + out_size // 2, out_size)
    if align and out_size > 1:
        scale = cdiv(1024 * (in_size - 1) + (out_size - 1) // 2, out_size - 1)
    out = []
    for v in range(out_size):
        scaled = v * scale + cdiv(scale, 2) - 512 if half else v * scale
        lo = max(cdiv(scaled, 1024), 0)
        hi = min(cdiv(scaled + 1023, 1024), in_size - 1)
        out.append((lo, hi, scaled - 1024 * lo))
    return out


def _flags(op: Operator) -> tuple[bool, bool]:
    return bool(option(op, "align_corners", False)), bool(option(op, "half_pixel_centers", False))


def _shape(ctx: "Lowering", op: Operator):
    x, y = ctx.g.op_inputs(op)[0], ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, y)
    n, ih, iw, c = x.shape
    _, oh, ow, _ = y.shape
    return x, y, dict(batches=n, in_h=ih, in_w=iw, channels=c, out_h=oh, out_w=ow)


def lower_nearest(ctx: "Lowering", op: Operator) -> None:
    x, y, p = _shape(ctx, op)
    align, half = _flags(op)
    table = nearest_index(p["out_h"], p["in_h"], align, half) + nearest_index(p["out_w"], p["in_w"], align, half)
    name = ctx.const(f"tinyc_op{op.index}_resize", "int32_t", table)
    ctx.add(op, RESIZE_NEAREST, p, input=ctx.ptr(x), table1=Const(name), output=ctx.ptr(y))


def lower_bilinear(ctx: "Lowering", op: Operator) -> None:
    x, y, p = _shape(ctx, op)
    align, half = _flags(op)
    rows = bilinear_axis(p["out_h"], p["in_h"], align, half)
    cols = bilinear_axis(p["out_w"], p["in_w"], align, half)
    # the kernel sums the four products in int32 (TFLite in int64): |value| * sum |weights| must fit
    span = max(abs(1024 - w) + abs(w) for _, _, w in rows) * max(abs(1024 - w) + abs(w) for _, _, w in cols)
    if 128 * span + (1 << 19) >= 1 << 31:
        raise NotImplementedYet(f"{ctx.where(op)}: RESIZE_BILINEAR weights beyond the int32 kernel's range")
    table = [v for r in rows + cols for v in r]
    name = ctx.const(f"tinyc_op{op.index}_resize", "int32_t", table)
    ctx.add(op, RESIZE_BILINEAR, p, input=ctx.ptr(x), table1=Const(name), output=ctx.ptr(y))


def verify(c: "Checker", op: Operator) -> None:
    kinds = ("ResizeNearestNeighborOptions",) if op.op == "RESIZE_NEAREST_NEIGHBOR" else ("ResizeBilinearOptions",)
    (x, size), (y,) = c.io(op, (2, 2), 2)
    c.rank(x, "input", 4)
    c.rank(y, "output", 4)
    c.dtype(x, "input", "int8")
    c.dtype(y, "output", "int8")
    c.constant(size, "size")
    c.dtype(size, "size", "int32")
    hw = [int(v) for v in np.asarray(size.data).reshape(-1)]
    if len(hw) != 2 or min(hw) < 1:
        c.fail(f"size {tname(size)} holds {hw}; {op.op} takes two positive values (height, width)")
    want = (x.shape[0], hw[0], hw[1], x.shape[3])
    if tuple(y.shape) != want:
        c.fail(f"output {tname(y)} is {shp(y.shape)} but input {shp(x.shape)} resized to {hw} is {shp(want)}")
    align = c.option(op, "align_corners", False, kinds)
    half = c.option(op, "half_pixel_centers", False, kinds)
    if align and half:
        c.fail("sets both align_corners and half_pixel_centers; TFLite allows one of them")
    c.same_quant(x, y, f"int8 {op.op} copies or interpolates the input's values")


# --- test models ---

def _upsample_nearest(k, x):
    """UpSampling2D 2x3 nearest (half_pixel_centers)"""
    return k.layers.UpSampling2D((2, 3))(x)


def _nearest_align(k, x):
    """tf.compat.v1 nearest resize 3x5 -> 7x9 with align_corners (rounded float32 indices)"""
    import tensorflow as tf

    return tf.compat.v1.image.resize_nearest_neighbor(x, (7, 9), align_corners=True)


def _bilinear_align_ties(k, x):
    """bilinear 3x3 -> 5x5 with align_corners: midpoints, so every other value is a rounding tie"""
    import tensorflow as tf

    return tf.compat.v1.image.resize(x, (5, 5), method="bilinear", align_corners=True)


def _bilinear_resizing(k, x):
    """Resizing 7x5 -> 4x3 bilinear (half_pixel_centers, downscaling by odd factors)"""
    return k.layers.Resizing(4, 3)(x)


NEAREST_EXAMPLES = (
    Example("resize_nearest_up", ((4, 5, 3),), _upsample_nearest),
    Example("resize_nearest_align", ((3, 5, 4),), _nearest_align),
)
BILINEAR_EXAMPLES = (
    Example("resize_bilinear_align_ties", ((3, 3, 4),), _bilinear_align_ties),
    Example("resize_bilinear_resizing", ((7, 5, 2),), _bilinear_resizing),
)

OPS = (
    OpDecl("RESIZE_NEAREST_NEIGHBOR", 3, lower_nearest, verify, code_size=CodeSize(182), kernels=(RESIZE_NEAREST,),
           layers=("UpSampling2D", "Resizing(interpolation='nearest')", "tf.image.resize (nearest)"),
           examples=NEAREST_EXAMPLES, note="align_corners and half_pixel_centers"),
    OpDecl("RESIZE_BILINEAR", 3, lower_bilinear, verify, code_size=CodeSize(308), kernels=(RESIZE_BILINEAR,),
           layers=("UpSampling2D(interpolation='bilinear')", "Resizing", "tf.image.resize (bilinear)"),
           examples=BILINEAR_EXAMPLES, note="align_corners and half_pixel_centers"),
)
