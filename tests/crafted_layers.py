"""Tiny int8 .tflite models with crafted quantization, written with the TFLite schema's object API (no
TensorFlow): the layers a trained model can contain that a converted random-weight model rarely has.

``trained_quant_model()`` is one graph whose layers hold, between them: a channel with multiplier 0
(filter scale 1e-20: TFLite flushes it), a shift of -31, an all-zero filter channel, a channel whose |acc|
reaches 2^30 (only its constant output is provable), a left shift (+2) and no shift (0) in one layer, a right
shift of 26 with output zero point -100 (zp * 2^26 overflows 32 bits) on an accumulator that straddles a
rounding boundary, zero points -128 and 127, per-tensor CONV_2D and FULLY_CONNECTED, a DEPTHWISE_CONV_2D with
one input channel and depth multiplier 8, odd channel counts (7 and 14, depth multiplier 2), a same-shape
and a broadcast ADD (the latter with output shift -26 into zero point -100), and an AVERAGE_POOL_2D over 14
channels."""

from __future__ import annotations

import numpy as np

from tinyc.model.graph import schema


class Builder:
    def __init__(self):
        self.s = schema()
        self.tensors, self.buffers, self.ops, self.codes = [], [self.s.BufferT()], [], []

    def tensor(self, name, shape, scale, zp, data=None, dtype="int8", axis=0) -> int:
        s = self.s
        t = s.TensorT()
        t.name, t.shape = name, list(shape)
        t.type = s.TensorType.INT8 if dtype == "int8" else s.TensorType.INT32
        q = s.QuantizationParametersT()
        scales = list(np.atleast_1d(scale).astype(float))
        zps = list(np.atleast_1d(zp).astype(int))
        q.scale, q.zeroPoint, q.quantizedDimension = scales, [int(z) for z in zps] * (len(scales) // len(zps)), axis
        t.quantization = q
        if data is not None:
            b = s.BufferT()
            b.data = np.asarray(data, dtype=np.int8 if dtype == "int8" else np.int32).reshape(-1).tobytes()
            b.data = list(b.data)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        else:
            t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, name: str, inputs, outputs, options_name: str | None, **options):
        s = self.s
        code = getattr(s.BuiltinOperator, name)
        if code not in self.codes:
            self.codes.append(code)
        o = s.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = self.codes.index(code), list(inputs), list(outputs)
        if options_name:
            opt = getattr(s, options_name + "T")()
            for k, v in options.items():
                setattr(opt, k, v)
            o.builtinOptionsType, o.builtinOptions = getattr(s.BuiltinOptions, options_name), opt
        self.ops.append(o)

    def finish(self, inputs, outputs) -> bytes:
        import flatbuffers

        s = self.s
        g = s.SubGraphT()
        g.tensors, g.inputs, g.outputs, g.operators = self.tensors, list(inputs), list(outputs), self.ops
        g.name = "main"
        m = s.ModelT()
        m.version, m.subgraphs, m.buffers, m.description = 3, [g], self.buffers, "tinyc crafted layers"
        codes = []
        for c in self.codes:
            oc = s.OperatorCodeT()
            oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = c, min(c, 127), 1
            codes.append(oc)
        m.operatorCodes = codes
        b = flatbuffers.Builder(4096)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def _shift_scale(eff: float, in_scale: float, out_scale: float) -> float:
    """The filter scale that gives the effective multiplier in * filter / out = eff."""
    return eff * out_scale / in_scale


def trained_quant_model(seed: int = 5) -> bytes:
    rng = np.random.default_rng(seed)
    b = Builder()
    s = b.s
    act = s.ActivationFunctionType
    SAME = s.Padding.SAME

    def w8(*shape, lo=-127, hi=128):
        return rng.integers(lo, hi, size=shape).astype(np.int8)

    def bias(n, lo=-3000, hi=3000):
        return rng.integers(lo, hi, size=n).astype(np.int32)

    # inputs: an image with zero point 127, and a per-channel vector to broadcast
    x = b.tensor("x", [1, 9, 9, 1], 0.05, 127)
    y = b.tensor("y", [1, 1, 1, 14], 0.1, 0)

    # op 0: DEPTHWISE_CONV_2D, 1 input channel, depth multiplier 8 (a convolution with 8 outputs)
    sx, sa = 0.05, 0.02
    fs = [1e-20,                                   # multiplier 0 (flushed below 2^-31)
          _shift_scale(1.5 * 2.0 ** -32, sx, sa),  # shift -31
          0.002,                                   # all-zero weights
          _shift_scale(3.0, sx, sa),               # shift +2
          _shift_scale(0.7, sx, sa),               # shift 0
          0.002, 0.003, 0.004]
    w0 = w8(1, 3, 3, 8)
    w0[..., 2] = 0
    w0[..., 3:5] = rng.integers(-2, 3, size=(1, 3, 3, 2))
    t_w0 = b.tensor("w0", [1, 3, 3, 8], fs, 0, w0, axis=3)
    t_b0 = b.tensor("b0", [8], [sx * f for f in fs], 0, bias(8), dtype="int32")
    a = b.tensor("a", [1, 9, 9, 8], sa, -128)
    b.op("DEPTHWISE_CONV_2D", [x, t_w0, t_b0], [a], "DepthwiseConv2DOptions", padding=SAME, strideW=1, strideH=1,
         depthMultiplier=8, fusedActivationFunction=act.NONE, dilationWFactor=1, dilationHFactor=1)

    # op 1: CONV_2D 3x3 stride 2, 8 -> 7, per-tensor filter, output zero point 127, one channel's bias so
    # large that its output is constant
    sb = 0.05
    b1 = bias(7)
    b1[3] = -(1 << 30) - 5_000_000  # |acc| >= 2^30: only its constant output is provable
    t_w1 = b.tensor("w1", [7, 3, 3, 8], 0.01, 0, w8(7, 3, 3, 8))
    t_b1 = b.tensor("b1", [7], sa * 0.01, 0, b1, dtype="int32")
    t_b = b.tensor("b", [1, 5, 5, 7], sb, 127)
    b.op("CONV_2D", [a, t_w1, t_b1], [t_b], "Conv2DOptions", padding=SAME, strideW=2, strideH=2,
         fusedActivationFunction=act.NONE, dilationWFactor=1, dilationHFactor=1)

    # op 2: DEPTHWISE_CONV_2D over 7 channels; channel 0 shifts right by 26 into zero point -100, its bias
    # on a rounding boundary of the output
    sc, zc = 0.03, -100
    eff0 = 1.3 * 2.0 ** -27
    fs2 = [_shift_scale(eff0, sb, sc)] + [0.004, 0.005, 0.003, 0.006, 0.002, 0.004]
    b2 = bias(7)
    b2[0] = int(1.5 / eff0)
    t_w2 = b.tensor("w2", [1, 3, 3, 7], fs2, 0, w8(1, 3, 3, 7), axis=3)
    t_b2 = b.tensor("b2", [7], [sb * f for f in fs2], 0, b2, dtype="int32")
    c = b.tensor("c", [1, 5, 5, 7], sc, zc)
    b.op("DEPTHWISE_CONV_2D", [t_b, t_w2, t_b2], [c], "DepthwiseConv2DOptions", padding=SAME, strideW=1, strideH=1,
         depthMultiplier=1, fusedActivationFunction=act.RELU, dilationWFactor=1, dilationHFactor=1)

    # ops 3, 4: DEPTHWISE_CONV_2D with depth multiplier 2 (7 -> 14), two sets of weights
    outs = []
    for i, (so, zo) in enumerate(((0.04, -3), (0.05, 10))):
        fs3 = list(rng.uniform(0.002, 0.006, size=14))
        t_w = b.tensor(f"w{3 + i}", [1, 3, 3, 14], fs3, 0, w8(1, 3, 3, 14), axis=3)
        t_bb = b.tensor(f"b{3 + i}", [14], [sc * f for f in fs3], 0, bias(14), dtype="int32")
        d = b.tensor(f"d{i}", [1, 5, 5, 14], so, zo)
        b.op("DEPTHWISE_CONV_2D", [c, t_w, t_bb], [d], "DepthwiseConv2DOptions", padding=SAME,
             strideW=1, strideH=1, depthMultiplier=2, fusedActivationFunction=act.NONE, dilationWFactor=1,
             dilationHFactor=1)
        outs.append(d)

    # op 5: ADD of the two (same shape)
    e_t = b.tensor("e", [1, 5, 5, 14], 0.06, -128)
    b.op("ADD", [outs[0], outs[1]], [e_t], "AddOptions", fusedActivationFunction=act.RELU)

    # op 6: ADD with the broadcast input y, an output scale so large that the output shift is -26 (2 * max(0.06,
    # 0.1) / (2^20 * scale) = 1.2 * 2^-27) into zero point -100: zp * 2^26 overflows
    f_t = b.tensor("f", [1, 5, 5, 14], 0.2 / ((1 << 20) * 1.2 * 2.0 ** -27), -100)
    b.op("ADD", [e_t, y], [f_t], "AddOptions", fusedActivationFunction=act.NONE)

    # op 7: AVERAGE_POOL_2D over 14 channels
    h = b.tensor("h", [1, 3, 3, 14], 0.06, -128)
    b.op("AVERAGE_POOL_2D", [e_t], [h], "Pool2DOptions", padding=SAME, strideW=2, strideH=2, filterWidth=2,
         filterHeight=2, fusedActivationFunction=act.NONE)

    # op 8: FULLY_CONNECTED, per-tensor, effective multiplier 2 (shift +2), output zero point -128
    sg = 0.06 * 0.02 / 2.0
    t_w8 = b.tensor("w8", [5, 126], 0.02, 0, w8(5, 126, lo=-8, hi=9))
    t_b8 = b.tensor("b8", [5], 0.06 * 0.02, 0, bias(5, -200, 200), dtype="int32")
    g = b.tensor("g", [1, 5], sg, -128)
    b.op("FULLY_CONNECTED", [h, t_w8, t_b8], [g], "FullyConnectedOptions", fusedActivationFunction=act.NONE)

    return b.finish([x, y], [f_t, g])
