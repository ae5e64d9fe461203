"""CONV_2D: 2-D convolution (grouped too), int8 with per-channel weights; dense, packed or in place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.model import inplace
from tinyc.model.graph import Graph, Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl
from tinyc.operators._geometry import prod, window

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def macs(g: Graph, op: Operator) -> int:
    w = g.tensor(op.inputs[1]).shape  # [cout, kh, kw, cin]
    return g.tensor(op.outputs[0]).size * prod(w[1:])


def lower(ctx: "Lowering", op: Operator) -> None:
    x, w, b = (ctx.g.op_inputs(op) + [None])[:3]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, w, y)
    n, ih, iw, ic = x.shape
    oc, kh, kw, fic = w.shape
    _, oh, ow, _ = y.shape
    lo, hi = ctx.act(op, y)
    p = dict(batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw, filter_in_c=fic,
             **window(op, (ih, iw), (oh, ow), (kh, kw)), in_offset=-ctx.zp(x), out_offset=ctx.zp(y), act_min=lo,
             act_max=hi)
    m, s = ctx.channel_requant(op, x, w, y, oc)
    axis = ctx.filter_axis(w)
    blob = ctx.packed_filter(op, w, axis, kh * kw * fic) if axis in (0, None) else None
    ctx.add(op, K.CONV2D_PACKED if blob else K.CONV2D, p,
            **ctx.filter_operands(x, w, b, m, s, y, blob))


def verify(c: "Checker", op: Operator) -> None:
    kinds = ("Conv2DOptions",)
    (x, w, b), (y,) = c.padded(c.io(op, (2, 3), 2), 3)
    for t, role in ((x, "input"), (w, "weights"), (y, "output")):
        c.rank(t, role, 4)
    c.constant(w, "weights")
    n, _, _, ic = x.shape
    oc, kh, kw, fic = w.shape
    if ic % fic:
        c.fail(f"input {tname(x)} has {ic} channels, not a multiple of the weights' depth {fic} "
               f"({tname(w)} {shp(w.shape)})")
    groups = ic // fic
    if oc % groups:
        c.fail(f"weights {tname(w)} {shp(w.shape)} have {oc} filters, not a multiple of the {groups} groups "
               f"the input's {ic} channels make")
    c.window(op, x, y, kh, kw, oc, kinds)
    c.activation(op, kinds, y)
    c.bias_type(op, kinds)
    c.filter(op, x, w, b, y, 0, oc)


# --- test models (the zoo's single-op set) ---

def _conv_same_s1(k, x):
    """3x3 SAME stride 1, 7 filters, odd sizes"""
    return k.layers.Conv2D(7, 3, padding="same")(x)


def _conv_valid_s2_relu(k, x):
    """3x5 VALID stride 2x1, 5 filters, fused ReLU"""
    return k.layers.Conv2D(5, (3, 5), strides=(2, 1), padding="valid", activation="relu")(x)


def _conv_dilated_relu6(k, x):
    """3x3 dilation 2 SAME, fused ReLU6"""
    y = k.layers.Conv2D(6, 3, dilation_rate=2, padding="same")(x)
    return k.layers.ReLU(max_value=6.0)(y)


def _conv_same_s2_even(k, x):
    """4x4 SAME stride 2 (asymmetric padding), 16 filters"""
    return k.layers.Conv2D(16, 4, strides=2, padding="same")(x)


EXAMPLES = (
    Example("conv_same_s1", ((9, 11, 3),), _conv_same_s1),
    Example("conv_valid_s2_relu", ((13, 10, 4),), _conv_valid_s2_relu),
    Example("conv_dilated_relu6", ((12, 13, 2),), _conv_dilated_relu6),
    Example("conv_same_s2_even", ((16, 15, 8),), _conv_same_s2_even),
)


OP = OpDecl("CONV_2D", 3, lower, verify, macs, inplace=inplace.conv2d, code_size=CodeSize(508, 1396),
            kernels=(K.CONV2D, K.CONV2D_PACKED, K.CONV2D_INPLACE, K.CONV2D_POINTWISE_INPLACE),
            layers=("Conv2D", "Conv1D (between EXPAND_DIMS and SQUEEZE)", "SeparableConv2D (its pointwise half)"),
            examples=EXAMPLES, note="v3: dilation; int8 per-channel")
