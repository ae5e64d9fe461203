"""TRANSPOSE_CONV (Conv2DTranspose): int8 with per-channel weights, bias optional. TFLite Micro scatters every
input pixel into an int32 buffer of the whole output (its scratch, which the TFLM-equivalent plan reserves),
then adds the bias and requantizes; tinyc's kernel gathers each output pixel's taps instead, the same int32
sums in another order (exact: the verifier bounds every accumulator), so it needs no scratch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import ArgType, Const, CType, Field, Role, Static
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Graph, Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl, option
from tinyc.operators._geometry import padding

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

ROLES = (Role.INPUT, Role.WEIGHTS, Role.BIAS, Role.MULTIPLIERS, Role.SHIFTS, Role.OUTPUT)
FIELDS = tuple(Field(n) for n in ("batches", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "k_h", "k_w",
                                  "stride_h", "stride_w", "pad_h", "pad_w", "in_offset", "out_offset", "act_min",
                                  "act_max"))
TRANSPOSE_CONV = K.declare("TINYC_TRANSPOSE_CONV_S8", "TRANSPOSE_CONV", "transpose_conv.c",
                           "tinyc_transpose_conv_params_t", ROLES, fields=FIELDS)


def _pads(op: Operator, out_hw, k_hw) -> tuple[int, int]:
    """TFLite Micro's padding: that of a convolution from the transposed conv's output back to its input
    (ComputePaddingHeightWidth on the output size, dilation 1)."""
    mode = option(op, "padding", "SAME")
    out = []
    for n, k, s in zip(out_hw, k_hw, (option(op, "stride_h", 1), option(op, "stride_w", 1))):
        conv_out = (n + s - 1) // s if mode == "SAME" else (n + s - k) // s
        out.append(padding(mode, n, k, s, 1, conv_out))
    return out[0], out[1]


def _taps(out_size: int, in_size: int, k: int, s: int, pad: int) -> int:
    """Kernel taps that land inside the input, summed over the output positions of one axis."""
    return sum(1 for o in range(out_size) for t in range(k) if (o + pad - t) % s == 0 and 0 <= (o + pad - t) // s < in_size)


def macs(g: Graph, op: Operator) -> int:
    w, x, y = g.tensor(op.inputs[1]), g.tensor(op.inputs[2]), g.tensor(op.outputs[0])
    oc, kh, kw, ic = w.shape
    ph, pw = _pads(op, y.shape[1:3], (kh, kw))
    return y.shape[0] * _taps(y.shape[1], x.shape[1], kh, option(op, "stride_h", 1), ph) \
        * _taps(y.shape[2], x.shape[2], kw, option(op, "stride_w", 1), pw) * ic * oc


def tflm_scratch(g: Graph, op: Operator) -> list[int]:
    """TFLite Micro's int8 kernel: one int32 accumulator per output element."""
    return [4 * g.tensor(op.outputs[0]).size]


def params(ctx: "Lowering", op: Operator):
    """(x, w, b, y, the kernel's parameters) of a TRANSPOSE_CONV."""
    _, w, x, b = (ctx.g.op_inputs(op) + [None])[:4]
    y = ctx.g.op_outputs(op)[0]
    ctx.require_int8(op, x, w, y)
    if option(op, "fused_activation_function", "NONE") != "NONE":
        raise NotImplementedYet(f"{ctx.where(op)}: TRANSPOSE_CONV with a fused activation (TFLite Micro's int8 "
                                "kernel ignores it)")
    n, ih, iw, ic = x.shape
    oc, kh, kw, _ = w.shape
    _, oh, ow, _ = y.shape
    ph, pw = _pads(op, (oh, ow), (kh, kw))
    p = dict(batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw,
             stride_h=option(op, "stride_h", 1), stride_w=option(op, "stride_w", 1), pad_h=ph, pad_w=pw,
             in_offset=-ctx.zp(x), out_offset=ctx.zp(y), act_min=-128, act_max=127)
    return x, w, b, y, p


def lower(ctx: "Lowering", op: Operator) -> None:
    x, w, b, y, p = params(ctx, op)
    m, s = ctx.channel_requant(op, x, w, y, p["out_c"])
    ctx.add(op, TRANSPOSE_CONV, p, **ctx.filter_operands(x, w, b, m, s, y, None))


def verify(c: "Checker", op: Operator) -> None:
    kinds = ("TransposeConvOptions",)
    (shape, w, x, b), (y,) = c.padded(c.io(op, (3, 4), 3), 4)
    for t, role in ((x, "input"), (w, "weights"), (y, "output")):
        c.rank(t, role, 4)
    c.constant(shape, "output shape")
    c.constant(w, "weights")
    c.dtype(shape, "output shape", "int32")
    want = [int(v) for v in np.asarray(shape.data).reshape(-1)]
    if want != list(y.shape):
        c.fail(f"output {tname(y)} is {shp(y.shape)} but the output shape {tname(shape)} holds {want}")
    oc, kh, kw, ic = w.shape
    if x.shape[3] != ic or y.shape[3] != oc or x.shape[0] != y.shape[0]:
        c.fail(f"input {tname(x)} {shp(x.shape)}, weights {tname(w)} {shp(w.shape)} and output {shp(y.shape)} "
               "disagree (input channels = weights' last dimension, output channels = weights' first, one batch)")
    c.positive(op, ("stride_h", "stride_w"), kinds)
    c.padding(op, kinds)
    c.activation(op, kinds, y)
    c.bias_type(op, kinds)
    c.filter(op, x, w, b, y, 0, oc)


# --- the Arm DSP variant (firmware/runtime/kernels/arm_dsp/transpose_conv_arm_dsp.c) ---

def pack_phases(w: np.ndarray, sh: int, sw: int) -> tuple[np.ndarray, list[int]]:
    """Weights [oc, kh, kw, ic] per output phase (ry, rx): each channel's taps ky = ry (mod sh), kx = rx (mod
    sw), input channels innermost, zero-padded to a multiple of 4 bytes; and (byte offset, length) per phase."""
    oc, kh, kw, ic = w.shape
    parts, table, at = [], [], 0
    for ry in range(sh):
        for rx in range(sw):
            taps = [w[:, ky, kx, :] for ky in range(ry, kh, sh) for kx in range(rx, kw, sw)]
            n = len(taps) * ic
            rows = np.zeros((oc, (n + 3) // 4 * 4), dtype=np.int64)
            if taps:
                rows[:, :n] = np.concatenate(taps, axis=1)
            table += [at, rows.shape[1]]
            at += rows.size
            parts.append(rows.reshape(-1))
    return np.concatenate(parts), table


def specialize_dsp(specializer, call):
    """Every TRANSPOSE_CONV whose weights are a plain constant array: re-packed per phase; the column scratch
    (3 bytes per byte of its longest phase) joins the set's static scratch."""
    from tinyc.codegen.specialize import SCRATCH

    p = dict(call.params)
    wv = specializer.values(call[Role.WEIGHTS])
    if wv is None:
        return "weights are not a plain constant array"
    w = wv.reshape(p["out_c"], p["k_h"], p["k_w"], p["in_c"])
    packed, table = pack_phases(w, p["stride_h"], p["stride_w"])
    n = call.index
    wn = specializer.add_const(f"tinyc_op{n}_dsp_w", "int8_t", packed)
    tn = specializer.add_const(f"tinyc_op{n}_dsp_phases", "int32_t", table)
    specializer.scratch = max(specializer.scratch, 3 * max(table[1::2]) + 4)
    return call.to(TRANSPOSE_CONV_DSP, p, weights=Const(wn), table1=Const(tn), scratch=Static(SCRATCH))


TRANSPOSE_CONV_DSP = K.declare(
    "TINYC_DSP_TRANSPOSE_CONV_S8", "TRANSPOSE_CONV", "transpose_conv.c", TRANSPOSE_CONV.params,
    (*ROLES[:-1], Role.TABLE1, Role.SCRATCH, Role.OUTPUT), kernel_set=K.KernelSet.ARM_DSP,
    replaces=(TRANSPOSE_CONV.macro,), fields=FIELDS,
    arg_types={Role.TABLE1: ArgType(CType.I32, const=True), Role.SCRATCH: ArgType(CType.I32)},
    specialize=specialize_dsp)


# --- test models ---

def _tconv_same_s2(k, x):
    """Conv2DTranspose 3x3 stride 2 SAME, 5 filters, bias"""
    return k.layers.Conv2DTranspose(5, 3, strides=2, padding="same")(x)


def _tconv_valid_nobias(k, x):
    """Conv2DTranspose 3x2 stride 2x1 VALID, 4 filters, no bias"""
    return k.layers.Conv2DTranspose(4, (3, 2), strides=(2, 1), padding="valid", use_bias=False)(x)


def _unet(k, x):
    """U-Net-like: Conv2D, MaxPooling2D, a Conv2DTranspose and an UpSampling2D path, Concatenate skips"""
    c1 = k.layers.Conv2D(6, 3, padding="same", activation="relu")(x)
    p1 = k.layers.MaxPooling2D(2)(c1)
    c2 = k.layers.Conv2D(8, 3, padding="same", activation="relu")(p1)
    p2 = k.layers.MaxPooling2D(2)(c2)
    c3 = k.layers.Conv2D(8, 3, padding="same", activation="relu")(p2)
    u2 = k.layers.Conv2DTranspose(8, 2, strides=2, padding="same")(c3)
    m2 = k.layers.Conv2D(8, 3, padding="same", activation="relu")(k.layers.Concatenate()([u2, c2]))
    u1 = k.layers.UpSampling2D(2)(m2)
    m1 = k.layers.Conv2D(6, 3, padding="same", activation="relu")(k.layers.Concatenate()([u1, c1]))
    return k.layers.Conv2D(2, 1)(m1)


EXAMPLES = (
    Example("transpose_conv_same_s2", ((4, 5, 3),), _tconv_same_s2),
    Example("transpose_conv_valid_nobias", ((5, 4, 6),), _tconv_valid_nobias),
    Example("unet_small", ((12, 12, 3),), _unet, ops=("CONV_2D", "MAX_POOL_2D", "TRANSPOSE_CONV",
                                                       "CONCATENATION", "RESIZE_NEAREST_NEIGHBOR")),
)


OP = OpDecl("TRANSPOSE_CONV", 3, lower, verify, macs, scratch=tflm_scratch, code_size=CodeSize(420, 868),
            kernels=(TRANSPOSE_CONV,), layers=("Conv2DTranspose",), examples=EXAMPLES,
            note="int8 per-channel, bias optional; no fused activation")
