"""DEPTHWISE_CONV_2D: depthwise convolution with any depth multiplier; dense, packed or in place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinyc.codegen import kernels as K
from tinyc.model import inplace
from tinyc.model.graph import Graph, Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl, option
from tinyc.operators._geometry import window

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker


def macs(g: Graph, op: Operator) -> int:
    w = g.tensor(op.inputs[1]).shape  # [1, kh, kw, cout]
    return g.tensor(op.outputs[0]).size * w[1] * w[2]


def lower(ctx: "Lowering", op: Operator) -> None:
    x, w, b = (ctx.g.op_inputs(op) + [None])[:3]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, w, y)
    n, ih, iw, ic = x.shape
    _, kh, kw, oc = w.shape
    _, oh, ow, _ = y.shape
    lo, hi = ctx.act(op, y)
    p = dict(batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, depth_multiplier=oc // ic, k_h=kh,
             k_w=kw, **window(op, (ih, iw), (oh, ow), (kh, kw)), in_offset=-ctx.zp(x), out_offset=ctx.zp(y),
             act_min=lo, act_max=hi)
    m, s = ctx.channel_requant(op, x, w, y, oc)
    # Blob channels along the output channel axis (3) even for a per-tensor filter: the kernel
    # decodes one channel's k_h*k_w weights at a time.
    blob = ctx.packed_filter(op, w, 3, kh * kw)
    ctx.add(op, K.DEPTHWISE_CONV2D_PACKED if blob else K.DEPTHWISE_CONV2D, p,
            **ctx.filter_operands(x, w, b, m, s, y, blob))


def verify(c: "Checker", op: Operator) -> None:
    kinds = ("DepthwiseConv2DOptions",)
    (x, w, b), (y,) = c.padded(c.io(op, (2, 3), 2), 3)
    if b is None:  # DepthwiseConvPrepare frees the missing bias tensor: a segfault in TFLite Micro
        c.fail("has no bias; TFLite Micro (the reference tinyc is checked against) crashes on a "
               "DEPTHWISE_CONV_2D without one, and the converter always writes one")
    for t, role in ((x, "input"), (w, "weights"), (y, "output")):
        c.rank(t, role, 4)
    c.constant(w, "weights")
    ic = x.shape[3]
    one, kh, kw, oc = w.shape
    if one != 1:
        c.fail(f"weights {tname(w)} {shp(w.shape)} must be [1, kh, kw, channels]")
    if oc % ic:
        c.fail(f"weights {tname(w)} {shp(w.shape)} have {oc} channels, not a multiple of the input's {ic}")
    dm = c.option(op, "depth_multiplier", oc // ic, kinds)
    if dm != oc // ic:
        c.fail(f"option depth_multiplier is {dm!r} but weights {tname(w)} {shp(w.shape)} on {ic} input "
               f"channels make it {oc // ic}")
    c.window(op, x, y, kh, kw, oc, kinds)
    c.activation(op, kinds, y)
    c.filter(op, x, w, b, y, 3, oc)


# --- test models (the zoo's single-op set) ---

def _dwconv_mult2_s2(k, x):
    """3x3 depthwise, depth multiplier 2, SAME stride 2"""
    return k.layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same")(x)


def _dwconv_valid_dilated(k, x):
    """3x3 depthwise VALID dilation 2, fused ReLU"""
    return k.layers.DepthwiseConv2D(3, dilation_rate=2, padding="valid", activation="relu")(x)


def _dwconv_5x5_relu6(k, x):
    """5x5 depthwise SAME, ReLU6"""
    y = k.layers.DepthwiseConv2D(5, padding="same")(x)
    return k.layers.ReLU(max_value=6.0)(y)


EXAMPLES = (
    Example("dwconv_mult2_s2", ((11, 9, 3),), _dwconv_mult2_s2),
    Example("dwconv_valid_dilated", ((14, 13, 5),), _dwconv_valid_dilated),
    Example("dwconv_5x5_relu6", ((10, 10, 16),), _dwconv_5x5_relu6),
)


OP = OpDecl("DEPTHWISE_CONV_2D", 3, lower, verify, macs, inplace=inplace.depthwise_conv2d,
            code_size=CodeSize(444, 1348),
            kernels=(K.DEPTHWISE_CONV2D, K.DEPTHWISE_CONV2D_PACKED, K.DEPTHWISE_CONV2D_INPLACE),
            layers=("DepthwiseConv2D", "SeparableConv2D (its depthwise half)"), examples=EXAMPLES,
            note="v3: dilation; int8 per-channel")
