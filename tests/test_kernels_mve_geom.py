"""The Helium kernels' geometries beyond the MLPerf models, on the emulated Cortex-M55 (QEMU mps3-an547)
against the TFLite Micro interpreter: one crafted chain (tests/crafted_layers.Builder, no TensorFlow) whose
layers take the paths of tinyc_mve_matmul.h and depthwise_conv2d_arm_mve.c that the zoo models leave out or
take only once -- windows gathered by 8-bit and 16-bit offset tables (dilation 2 among them), k_w * in_c
rows copied with a tail, odd pixel counts (a pair spanning two output rows, a last pixel alone), output
channels not a multiple of 4, and the channel-at-a-time depthwise kernel with stride 1 and 2, VALID padding
and 20 channels -- with the default memory plan (in-place layers) and without it. The generator's choices
are asserted, so the test fails when a layer stops taking the path it is here for."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require_tool
from tests.crafted_layers import Builder
from tests.test_kernels_dsp import assert_bit_exact_in_qemu
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.codegen.generate import generate, plan_layout
from tinyc.codegen.lower import lower
from tinyc.codegen.specialize import specialize
from tinyc.codegen.specialize_mve import MVE_CONV, MVE_DWCONV, MVE_DW_ROWS_INPLACE, gather_mode
from tinyc.model.graph import load

BOARD = "mps3-an547"


def geometry_model(seed: int = 3) -> bytes:
    """Input 14x50x3 (zero point 5) through: 0 CONV 3x3 SAME 3 -> 8 (16-bit offset table), 1 DEPTHWISE 3x3
    SAME stride 1 over 50 columns, 2 DEPTHWISE 3x3 SAME stride 2 (50 -> 25 columns, 7 rows), 3 CONV 1x1
    8 -> 20, 4 DEPTHWISE 3x3 VALID over 20 channels (5x23), 5 CONV 3x3 SAME dilation 2, 20 -> 10 (16-bit
    table), 6 CONV 3x3 SAME 10 -> 6 (rows of 30 bytes copied, a 14-byte tail), 7 CONV 2x3 stride 2 VALID,
    6 -> 13 (an 8-bit table, two output rows of 11: pairs span them)."""
    rng = np.random.default_rng(seed)
    b = Builder()
    s = b.s
    act = s.ActivationFunctionType
    SAME, VALID = s.Padding.SAME, s.Padding.VALID

    def out_scale(in_scale, w_scale, taps):  # about 40 LSB per standard deviation of the accumulator
        return in_scale * float(np.mean(w_scale)) * 74.0 * 74.0 * np.sqrt(taps) / 40.0

    cur, cur_scale, cur_shape = b.tensor("x", [1, 14, 50, 3], 0.05, 5), 0.05, [14, 50, 3]
    x = cur

    def conv(name, oc, kh, kw, stride=1, dil=1, padding=SAME, relu=True):
        nonlocal cur, cur_scale, cur_shape
        h, w, ic = cur_shape
        fs = rng.uniform(0.002, 0.01, size=oc)
        t_w = b.tensor(name + "_w", [oc, kh, kw, ic], fs, 0, rng.integers(-127, 128, size=(oc, kh, kw, ic)))
        t_b = b.tensor(name + "_b", [oc], [cur_scale * f for f in fs], 0, rng.integers(-3000, 3000, size=oc),
                       dtype="int32")
        eh, ew = (kh - 1) * dil + 1, (kw - 1) * dil + 1
        oh, ow = (-(-h // stride), -(-w // stride)) if padding == SAME else ((h - eh) // stride + 1,
                                                                           (w - ew) // stride + 1)
        so = out_scale(cur_scale, fs, kh * kw * ic)
        out = b.tensor(name, [1, oh, ow, oc], so, int(rng.integers(-20, 20)))
        b.op("CONV_2D", [cur, t_w, t_b], [out], "Conv2DOptions", padding=padding, strideW=stride, strideH=stride,
             fusedActivationFunction=act.RELU if relu else act.NONE, dilationWFactor=dil, dilationHFactor=dil)
        cur, cur_scale, cur_shape = out, so, [oh, ow, oc]

    def dw(name, stride=1, padding=SAME):
        nonlocal cur, cur_scale, cur_shape
        h, w, c = cur_shape
        fs = rng.uniform(0.004, 0.02, size=c)
        t_w = b.tensor(name + "_w", [1, 3, 3, c], fs, 0, rng.integers(-127, 128, size=(1, 3, 3, c)), axis=3)
        t_b = b.tensor(name + "_b", [c], [cur_scale * f for f in fs], 0, rng.integers(-2000, 2000, size=c),
                       dtype="int32")
        oh, ow = (-(-h // stride), -(-w // stride)) if padding == SAME else ((h - 3) // stride + 1,
                                                                           (w - 3) // stride + 1)
        so = out_scale(cur_scale, fs, 9)
        out = b.tensor(name, [1, oh, ow, c], so, int(rng.integers(-128, -100)))
        b.op("DEPTHWISE_CONV_2D", [cur, t_w, t_b], [out], "DepthwiseConv2DOptions", padding=padding,
             strideW=stride, strideH=stride, depthMultiplier=1, fusedActivationFunction=act.RELU6,
             dilationWFactor=1, dilationHFactor=1)
        cur, cur_scale, cur_shape = out, so, [oh, ow, c]

    conv("c0", 8, 3, 3)
    dw("d1")
    dw("d2", stride=2)
    conv("c3", 20, 1, 1)
    dw("d4", padding=VALID)
    conv("c5", 10, 3, 3, dil=2)
    conv("c6", 6, 3, 3, relu=False)
    conv("c7", 13, 2, 3, stride=2, padding=VALID)
    return b.finish([x], [cur])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    p = tmp_path_factory.mktemp("mve_geom") / "mve_geometries.tflite"
    p.write_bytes(geometry_model())
    return p


def _plan(graph, default: bool):
    return plan_improved(graph) if default else plan_improved(graph, inplace=False)


def test_the_chain_takes_the_paths_it_is_for(model):
    graph = load(model)
    calls = specialize(lower(graph, *plan_layout(graph, _plan(graph, False)), weights="dense"), "arm_mve").lowered.calls
    by_op = {c.index: (c.macro, dict(c.params)) for c in calls}
    assert by_op[0][0] == MVE_CONV and by_op[0][1]["gather_mode"] == 2
    assert by_op[5][0] == MVE_CONV and by_op[5][1]["gather_mode"] == 2 and by_op[5][1]["dil_w"] == 2
    assert by_op[6][0] == MVE_CONV and "gather_mode" not in by_op[6][1]  # rows copied
    assert by_op[7][0] == MVE_CONV and by_op[7][1]["gather_mode"] == 1 and by_op[7][1]["out_c"] == 13
    for op, stride in ((1, 1), (2, 2), (4, 1)):
        kernel, p = by_op[op]
        assert kernel in (MVE_DWCONV, MVE_DW_ROWS_INPLACE) and p.get("band") == 1 and p["stride_w"] == stride, op
    assert by_op[4][1]["channels"] == 20
    # the mode rule: the 8-bit table where the window's bytes span < 256, the rows where copies are cheaper
    base = dict(in_c=16, k_h=3, k_w=3, dil_h=1, dil_w=1, in_w=32)
    assert gather_mode(base, 144) == 0 and gather_mode(dict(base, in_c=1), 16) == 1


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
@pytest.mark.parametrize("default_plan", [True, False], ids=["default", "noinplace"])
def test_mve_geometries_bit_exact_in_qemu(model, default_plan, tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    graph = load(model)
    gen = generate(graph, _plan(graph, default_plan), get_board(BOARD), tmp_path / "model")
    assert gen.variant == "arm_mve"
    assert_bit_exact_in_qemu(gen, graph, model, get_board(BOARD), 6, tmp_path, "mve geometries")
