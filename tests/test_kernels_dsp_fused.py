"""The DSP kernels' fused row pairs, one-batch FULLY_CONNECTED kernel and natural-order columns (issue 14):
tinyc/codegen/specialize.py (pack_matmul_fused, pack_fc_vec, fused_segment, natural layouts 1 and 2) and
firmware/runtime/kernels/arm_dsp (tinyc_dsp_matmul.h, fully_connected_arm_dsp.c).

Host-only: the packings against a numpy model of the instructions (SXTB16, SMLAD on int16 lanes, 32-bit
wrap-around, the (m - a) >> 8 extraction), on random and worst-case inputs. Then a crafted model of
independent branches, one per geometry (FC with K % 4 != 0 and every out_c % 4, K = 4000 in segments,
input read raw and widened, K = 1, the general requantization form, a clamp, weights that do not fuse;
depthwise 1 -> 8 as a convolution on even rows, in_c 1 with odd rows, dilation, in_c 3 packed rows, a
layer whose |acc| reaches 2^23 so it keeps the plain layout, an odd out_c; depthwise on the common loop's
widened doubled weights with the offset folded, 3x3 stride 2 with a clamp and 5x5 dilation 2, beside the
int8 layout for 6 channels and the general form), on the host models of the instructions under ASan/UBSan
and in QEMU (Cortex-M7 and M4, both memory plans) against TFLite Micro."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_tool
from tests.crafted_layers import Builder
from tests.test_kernels_dsp import assert_bit_exact_in_qemu, tflm_outputs
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.codegen.generate import generate, plan_layout
from tinyc.codegen.lower import lower
from tinyc.codegen.specialize import (COVERED, DSP_CONV, DSP_FC, FUSED_BOUND, fused_segment, pack_fc_vec,
                                      pack_matmul_fused, specialize)
from tinyc.model.graph import load


# --- a numpy model of the instructions ------------------------------------------------------------------

def _lanes(words: np.ndarray) -> np.ndarray:
    """uint32 words -> their two int16 halfwords [..., 2] (lane 0 the low one)."""
    w = words.astype(np.uint32)
    return np.stack([(w & 0xFFFF).astype(np.uint16).view(np.int16), (w >> 16).astype(np.uint16).view(np.int16)],
                    axis=-1).astype(np.int64)


def _sxtb16(words: np.ndarray) -> np.ndarray:
    w = words.astype(np.uint32)
    return np.stack([(w & 0xFF).astype(np.uint8).view(np.int8), ((w >> 16) & 0xFF).astype(np.uint8).view(np.int8)],
                    axis=-1).astype(np.int64)


def _wrap(v):
    return ((np.asarray(v, dtype=np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def _col_pairs(x: np.ndarray) -> np.ndarray:
    """An int8 column [K4] -> per chunk the SXTB16 pairs (x0, x2), (x1, x3): [chunks, 2, 2]."""
    c = x.reshape(-1, 4).astype(np.int64)
    return np.stack([c[:, [0, 2]], c[:, [1, 3]]], axis=1)


def _run_fused_pairs(packed: np.ndarray, rows: int, k4: int, x: np.ndarray) -> np.ndarray:
    """mac_2x2m / mac_2x1m on one column: per pair a = sum SMLAD(SXTB16(word), X), m = sum SMLAD(word, X),
    row 1 = (m - a) >> 8 (wrapped to 32 bits like the registers), the odd row plain."""
    words = packed.view(np.uint32)
    chunks, pairs = k4 // 4, rows // 2
    xp = _col_pairs(x)
    out = []
    for p in range(pairs):
        w = words[p * chunks * 2:(p + 1) * chunks * 2].reshape(chunks, 2)  # [chunk][E, O]
        a = _wrap((_sxtb16(w) * xp).sum())
        m = _wrap((_lanes(w) * xp).sum())
        out += [int(a), int(_wrap(m - a)) >> 8]
    if rows % 2:
        last = packed[pairs * chunks * 8:].astype(np.int64)
        out.append(int((last * x).sum()))
    return np.array(out)


def test_fused_pairs_are_exact_dot_products():
    rng = np.random.default_rng(1)
    for rows, k in ((2, 4), (7, 13), (16, 72), (5, 300)):
        w = rng.integers(-127, 128, size=(rows, k))
        w[0, :3] = (127, -127, 0)
        packed, k4 = pack_matmul_fused(w)
        assert packed.size == rows * k4  # the same bytes as the plain layout
        for x in (rng.integers(-128, 128, size=k), np.full(k, -128), np.full(k, 127),
                  np.where(w[1] > 0, 127, -128) if rows > 1 else np.zeros(k, dtype=np.int64)):
            xs = np.zeros(k4, dtype=np.int64)
            xs[:k] = x
            assert np.array_equal(_run_fused_pairs(packed, rows, k4, xs), w @ x), (rows, k)


def test_fused_pairs_refuse_a_minus_128_beside_a_negative_weight():
    w = np.array([[-1, 5, 0, 0], [-128, 3, 0, 0]])
    assert pack_matmul_fused(w) is None
    assert pack_matmul_fused(np.array([[1, 5, 0, 0], [-128, 3, 0, 0]])) is not None  # 256 * -128 + 1 fits
    assert pack_fc_vec(w) is None


def _run_fc_vec(packed: np.ndarray, rows: int, k4: int, seg: int, x: np.ndarray) -> np.ndarray:
    """fully_connected_arm_dsp.c on one input: blocks of 4 rows [chunk][A: E, O][B: E, O], K in segments of
    `seg` chunks (row 1's sum extracted after each), then a pair [chunk][E, O] and a plain row."""
    chunks = k4 // 4
    seg = seg or chunks
    xp = _col_pairs(x)
    words = packed[:(rows // 2) * chunks * 8].view(np.uint32)
    out, at = [], 0
    quads = rows // 4
    for _ in range(quads):
        w = words[at:at + chunks * 4].reshape(chunks, 2, 2)  # [chunk][pair][E, O]
        at += chunks * 4
        for p in range(2):
            a, r1 = 0, 0
            for s in range(0, chunks, seg):
                ws, xs = w[s:s + seg, p], xp[s:s + seg]
                da = _wrap((_sxtb16(ws) * xs).sum())
                dm = _wrap((_lanes(ws) * xs).sum() + a)  # m starts at a
                a = _wrap(a + da)
                r1 += int(_wrap(dm - a)) >> 8
            out += [int(a), r1]
    if rows % 4 >= 2:
        w = words[at:at + chunks * 2].reshape(chunks, 2)
        a, r1 = 0, 0
        for s in range(0, chunks, seg):
            ws, xs = w[s:s + seg], xp[s:s + seg]
            da = _wrap((_sxtb16(ws) * xs).sum())
            dm = _wrap((_lanes(ws) * xs).sum() + a)
            a = _wrap(a + da)
            r1 += int(_wrap(dm - a)) >> 8
        out += [int(a), r1]
    if rows % 2:
        out.append(int((packed[-k4:].astype(np.int64) * x).sum()))
    return np.array(out)


def test_fc_vec_blocks_and_segments_are_exact():
    rng = np.random.default_rng(2)
    for rows, k, big in ((16, 1, False), (7, 13, False), (6, 4000, True), (12, 128, False), (3, 640, True),
                         (1, 16, False), (2, 9, False)):
        w = rng.integers(-127, 128, size=(rows, k))
        if big:  # row-1 sums of raw inputs past 2^23: K must be cut into segments
            w = np.where(rng.random((rows, k)) < 0.5, 127, -127)
        packed, k4, seg = pack_fc_vec(w)
        assert packed.size == rows * k4
        if big and rows > 1:
            assert 0 < seg < k4 // 4 and 128 * 127 * 4 * seg < FUSED_BOUND
        for x in (rng.integers(-128, 128, size=k), np.where(w[min(1, rows - 1)] > 0, 127, -128),
                  np.where(w[min(1, rows - 1)] > 0, -128, 127)):
            xs = np.zeros(k4, dtype=np.int64)
            xs[:k] = x
            assert np.array_equal(_run_fc_vec(packed, rows, k4, seg, xs), w @ x), (rows, k)


def test_fused_segment_limits():
    assert fused_segment(np.full((2, 516), 127), 516) == 0  # 128 * 127 * 516 < 2^23: one segment
    seg = fused_segment(np.full((1, 520), 127), 520)
    assert seg == 129  # 128 * 127 * 4 * 129 < 2^23 <= 128 * 127 * 4 * 130
    assert fused_segment(np.zeros((0, 8)), 8) == 0


# --- the crafted model ----------------------------------------------------------------------------------

def fused_layers_model(seed: int = 11) -> bytes:
    """Independent branches, each an input -> one or more layers -> an output (see the module's text)."""
    rng = np.random.default_rng(seed)
    b = Builder()
    s = b.s
    act = s.ActivationFunctionType
    SAME, VALID = s.Padding.SAME, s.Padding.VALID
    ins, outs = [], []

    def w8(*shape, lo=-127, hi=128):
        return rng.integers(lo, hi, size=shape).astype(np.int8)

    def bias(n, lo=-2000, hi=2000):
        return rng.integers(lo, hi, size=n).astype(np.int32)

    def fc(name, x, xs, k, n, ws, ys, yz, w=None, fa=act.NONE):
        w = w8(n, k) if w is None else w
        tw = b.tensor(f"{name}_w", [n, k], ws, 0, w)
        tb = b.tensor(f"{name}_b", [n], xs * ws, 0, bias(n), dtype="int32")
        y = b.tensor(name, [1, n], ys, yz)
        b.op("FULLY_CONNECTED", [x, tw, tb], [y], "FullyConnectedOptions", fusedActivationFunction=fa)
        return y

    def conv(name, x, xs, shape_in, cout, kh, kw, stride, pad, ys, yz, dil=1, w=None, fa=act.NONE):
        cin = shape_in[3]
        w = w8(cout, kh, kw, cin) if w is None else w
        fs = list(rng.uniform(0.002, 0.004, size=cout))
        tw = b.tensor(f"{name}_w", [cout, kh, kw, cin], fs, 0, w, axis=0)
        tb = b.tensor(f"{name}_b", [cout], [xs * f for f in fs], 0, bias(cout), dtype="int32")
        eff = lambda n: (n - 1) * dil + 1  # noqa: E731
        if pad == SAME:
            oh, ow = -(-shape_in[1] // stride), -(-shape_in[2] // stride)
        else:
            oh, ow = (shape_in[1] - eff(kh)) // stride + 1, (shape_in[2] - eff(kw)) // stride + 1
        y = b.tensor(name, [1, oh, ow, cout], ys, yz)
        b.op("CONV_2D", [x, tw, tb], [y], "Conv2DOptions", padding=pad, strideW=stride, strideH=stride,
             fusedActivationFunction=fa, dilationWFactor=dil, dilationHFactor=dil)
        return y

    # FC, K = 13 (widened, zero-padded last chunk), out 7 = a block, a pair and a row; ReLU6-like clamp
    x = b.tensor("xa", [1, 13], 0.05, 5)
    ins.append(x)
    outs.append(fc("fc13", x, 0.05, 13, 7, 0.01, 0.03, -128, fa=act.RELU6))
    # FC, K = 4000 at +-127 (segments of row-1 sums), 6 rows (one block: the input read raw)
    x = b.tensor("xb", [1, 4000], 0.02, -128)
    ins.append(x)
    wb = np.where(rng.random((6, 4000)) < 0.5, 127, -127).astype(np.int8)
    outs.append(fc("fc4000", x, 0.02, 4000, 6, 0.001, 0.02 * 0.001 * 6000, 3, w=wb))
    # FC chain K = 1 -> 16 -> 12 (three blocks: widened input) -> 1, the middle one with a left shift
    x = b.tensor("xc", [1, 1], 0.03, -10)
    ins.append(x)
    h = fc("fc1", x, 0.03, 1, 16, 0.02, 0.004, -20, fa=act.RELU)
    h = fc("fc16", h, 0.004, 16, 12, 0.02, 0.004 * 0.02 / 1.5, 0)  # multiplier 1.5: shift +1, general form
    outs.append(fc("fc12", h, 0.004 * 0.02 / 1.5, 12, 1, 0.01, 0.002, 7))
    # FC whose weights do not fuse (-128 beside a negative weight): the matmul (DSP_CONV)
    x = b.tensor("xd", [1, 20], 0.05, 0)
    ins.append(x)
    wd = w8(4, 20)
    wd[0, 3], wd[1, 3] = -5, -128
    outs.append(fc("fcnofuse", x, 0.05, 20, 4, 0.01, 0.05, 0, w=wd))

    # DEPTHWISE 1 -> 8, 3x3 stride 2 SAME on rows of 12 outputs (natural 2, pixel pairs in each row)
    x = b.tensor("xe", [1, 23, 24, 1], 0.01, -1)
    ins.append(x)
    fs = list(rng.uniform(0.002, 0.02, size=8))
    tw = b.tensor("dw8_w", [1, 3, 3, 8], fs, 0, w8(1, 3, 3, 8), axis=3)
    tb = b.tensor("dw8_b", [8], [0.01 * f for f in fs], 0, bias(8), dtype="int32")
    y = b.tensor("dw8", [1, 12, 12, 8], 0.02, -128)
    b.op("DEPTHWISE_CONV_2D", [x, tw, tb], [y], "DepthwiseConv2DOptions", padding=SAME, strideW=2, strideH=2,
         depthMultiplier=8, fusedActivationFunction=act.RELU, dilationWFactor=1, dilationHFactor=1)
    outs.append(y)
    # CONV in_c 1, 10x4 stride 2 SAME, odd rows (5 outputs: pixel by pixel), 7 outputs (a plain last row)
    x = b.tensor("xf", [1, 20, 9, 1], 0.05, 20)
    ins.append(x)
    outs.append(conv("c10x4", x, 0.05, [1, 20, 9, 1], 7, 10, 4, 2, SAME, 0.4, -5))
    # CONV in_c 1, 3x3 dilation 2 VALID (columns gathered through the padding path)
    x = b.tensor("xg", [1, 11, 12, 1], 0.05, -50)
    ins.append(x)
    outs.append(conv("cdil", x, 0.05, [1, 11, 12, 1], 4, 3, 3, 1, VALID, 0.2, 0, dil=2))
    # CONV in_c 3, 3x3 stride 1 SAME, 16 outputs (rows packed back to back: natural 1), then stride 2
    x = b.tensor("xh", [1, 10, 10, 3], 0.03, -128)
    ins.append(x)
    h = conv("c3", x, 0.03, [1, 10, 10, 3], 16, 3, 3, 1, SAME, 0.2, -128, fa=act.RELU)
    outs.append(conv("c3s2", x, 0.03, [1, 10, 10, 3], 6, 3, 3, 2, SAME, 0.25, 4))
    # ... and a 1x1 over those 16 channels with an odd count of outputs (fused pairs and a plain row)
    outs.append(conv("c1x1", h, 0.2, [1, 10, 10, 16], 5, 1, 1, 1, VALID, 0.5, 9))
    # CONV in_c 32 3x3 with |acc| past 2^23 (same-sign weights, inputs at offset 128): the plain layout
    x = b.tensor("xi", [1, 5, 5, 32], 0.02, -128)
    ins.append(x)
    wi = np.where(rng.random((6, 3, 3, 32)) < 0.9, 127, 100).astype(np.int8)
    wi[1::2] *= -1
    outs.append(conv("cbig", x, 0.02, [1, 5, 5, 32], 6, 3, 3, 1, SAME, 60.0, 0, w=wi))

    def dw(name, x, xs, shape_in, k, stride, pad, ys, yz, dil=1, fa=act.NONE, eff=None):
        c = shape_in[3]
        fs = list(rng.uniform(0.002, 0.02, size=c)) if eff is None else [eff * ys / xs] * c
        tw = b.tensor(f"{name}_w", [1, k, k, c], fs, 0, w8(1, k, k, c), axis=3)
        tb = b.tensor(f"{name}_b", [c], [xs * f for f in fs], 0, bias(c), dtype="int32")
        span = (k - 1) * dil + 1
        oh, ow = ((-(-shape_in[1] // stride), -(-shape_in[2] // stride)) if pad == SAME else
                  ((shape_in[1] - span) // stride + 1, (shape_in[2] - span) // stride + 1))
        y = b.tensor(name, [1, oh, ow, c], ys, yz)
        b.op("DEPTHWISE_CONV_2D", [x, tw, tb], [y], "DepthwiseConv2DOptions", padding=pad, strideW=stride,
             strideH=stride, depthMultiplier=1, fusedActivationFunction=fa, dilationWFactor=dil, dilationHFactor=dil)
        return y

    # DEPTHWISE, the common loop (widened doubled weights, offset folded): 3x3 stride 2 with a clamp, 5x5
    # dilation 2 (the generic tap loop); then the int8 layout: 6 channels, and 8 in the general form
    x = b.tensor("xj", [1, 9, 10, 12], 0.04, 60)
    ins.append(x)
    outs.append(dw("dw3s2", x, 0.04, [1, 9, 10, 12], 3, 2, SAME, 0.05, -128, fa=act.RELU6))
    x = b.tensor("xk", [1, 12, 11, 8], 0.04, -7)
    ins.append(x)
    outs.append(dw("dw5d2", x, 0.04, [1, 12, 11, 8], 5, 1, SAME, 0.3, 2, dil=2))
    x = b.tensor("xl", [1, 7, 7, 6], 0.04, 0)
    ins.append(x)
    outs.append(dw("dw6", x, 0.04, [1, 7, 7, 6], 3, 1, SAME, 0.2, -1))
    x = b.tensor("xm", [1, 6, 6, 8], 0.04, 100)
    ins.append(x)
    outs.append(dw("dwgen", x, 0.04, [1, 6, 6, 8], 3, 1, VALID, 0.04, 0, eff=1.25))  # shift +1: general
    return b.finish(ins, outs)


@pytest.fixture(scope="module")
def crafted(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("fused") / "fused_layers.tflite"
    p.write_bytes(fused_layers_model())
    return p


def _spec(path, default: bool):
    graph = load(path)
    plan = plan_improved(graph) if default else plan_improved(graph, inplace=False)
    return specialize(lower(graph, *plan_layout(graph, plan), weights="dense"), "arm_dsp")


@pytest.mark.parametrize("default", (True, False), ids=("default-plan", "no-inplace"))
def test_crafted_layers_take_the_paths_they_were_made_for(crafted, default):
    s = _spec(crafted, default)
    assert not any(c.macro in COVERED for c in s.lowered.calls), [c.macro for c in s.lowered.calls]
    graph = load(crafted)
    name = {op.index: graph.tensor(op.outputs[0]).name for op in graph.operators}
    p = {name[c.index]: dict(c.params) for c in s.lowered.calls}
    k = {name[c.index]: c.macro for c in s.lowered.calls}
    assert k["fc13"] == k["fc4000"] == k["fc1"] == k["fc16"] == k["fc12"] == DSP_FC
    assert p["fc13"]["vec"] == 2 and p["fc4000"]["vec"] == 1 and p["fc16"]["vec"] == 2
    assert p["fc4000"]["seg"] > 0 and "seg" not in p["fc13"]
    assert p["fc16"].get("general") == 1 and p["fc13"]["act_max"] < 127
    assert k["fcnofuse"] == DSP_CONV and "fused" not in p["fcnofuse"]  # the matmul, plain layout
    assert p["dw8"]["natural"] == 2 and p["dw8"]["fused"] == 1 and p["dw8"]["col_len4"] == 12
    assert p["c10x4"]["natural"] == 2 and p["c10x4"]["out_w"] % 2 == 1
    assert p["c3"]["natural"] == 1 and p["c3"]["col_len4"] == 28
    assert p["c1x1"]["fused"] == 1 and p["c1x1"]["out_c"] % 2 == 1
    assert "fused" not in p["cbig"]  # |acc| reaches 2^23
    ctype = {c.name: c.ctype for c in s.lowered.consts}
    wide = {name[c.index] for c in s.lowered.calls for n in c.consts() if ctype.get(n) == "int16_t"}
    assert wide == {"dw3s2", "dw5d2"}, wide  # the common depthwise loop's widened weights
    assert p["dw3s2"]["act_max"] < 127 and p["dwgen"].get("general") == 1 and p["dw6"]["channels"] == 6


def test_depthwise_wide_packing():
    from tinyc.codegen.specialize import pack_depthwise_wide

    w = np.arange(-18, 18).reshape(9, 4)  # [taps, C]
    g = pack_depthwise_wide(w)
    assert g.dtype == np.int16 and g.size == 36
    assert g[:8].tolist() == [2 * v for v in (w[0, 0], w[0, 2], w[0, 1], w[0, 3], w[1, 0], w[1, 2], w[1, 1], w[1, 3])]


@pytest.mark.slow
def test_crafted_layers_on_the_host_models_of_the_instructions(crafted, tmp_path):
    """ASan/UBSan (and the runner's tensor guard), -Werror, 40 random inputs, both plans."""
    from tests.test_codegen_bitexact import random_inputs
    from tinyc.codegen import host

    graph = load(crafted)
    batches = random_inputs(graph, 40, seed=3)
    ref = tflm_outputs(crafted, graph, batches)
    outs = [graph.tensor(i) for i in graph.outputs]
    for default in (True, False):
        plan = plan_improved(graph) if default else plan_improved(graph, inplace=False)
        gen = generate(graph, plan, get_board("mps2-an386"), tmp_path / f"gen{int(default)}", weights="dense")
        exe = host.build_runner(gen, tmp_path / f"build{int(default)}", sanitize=True)
        mine = host.run(exe, batches, [(np.dtype(t.dtype), t.shape) for t in outs])
        differing = sum(int(np.count_nonzero(m != r)) for mr, rr in zip(mine, ref) for m, r in zip(mr, rr))
        assert differing == 0, f"plan default={default}: {differing} outputs differ from TFLite Micro"


QEMU = [("mps2-an500", True), ("mps2-an500", False), ("mps2-an386", True)]


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
@pytest.mark.parametrize("board_id,default", QEMU, ids=[f"{b}-{'default' if d else 'noinplace'}" for b, d in QEMU])
def test_crafted_layers_bit_exact_in_qemu(crafted, board_id, default, tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    graph = load(crafted)
    board = get_board(board_id)
    plan = plan_improved(graph) if default else plan_improved(graph, inplace=False)
    gen = generate(graph, plan, board, tmp_path / "model", weights="dense")
    assert gen.variant == "arm_dsp" and not set(gen.kernels) & set(COVERED), gen.kernels
    assert_bit_exact_in_qemu(gen, graph, crafted, board, 8, tmp_path, f"fused layers on {board_id}")
