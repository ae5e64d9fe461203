"""RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR, TRANSPOSE_CONV and BATCH_MATMUL beyond their zoo models (which the
bit-exact tests already run on every kernel set): the generator's index tables against TFLite's rules on
known cases, and one crafted model (tests/crafted_layers.Builder, no TensorFlow) whose layers hold what a
converted random-weight model leaves out -- the resize flags the converter writes for neither option, rounding
ties of the bilinear interpolation, a transposed convolution whose stride exceeds its kernel (outputs no tap
reaches), no bias, zero points -128 and 127, outputs saturating at both ends, and matrix products with adj_x,
broadcast batch dimensions on both sides, a depth with a tail (11) and an odd column count -- bit-identical to
the TFLite Micro interpreter on the host (reference and Arm DSP kernel sets) and in QEMU on the nucleo-f746's
stand-in with the DSP kernels."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require_tool
from tests.crafted_layers import Builder
from tests.test_codegen_bitexact import KERNEL_SETS, kernel_set_board, random_inputs, tflm_outputs
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.codegen import generate, host
from tinyc.model.graph import load
from tinyc.operators.resize import bilinear_axis, nearest_index


def test_nearest_indices_follow_tflites_float32_rule():
    assert nearest_index(7, 3, align=True, half=False) == [0, 0, 1, 1, 1, 2, 2]  # round(v * 2/6), ties away
    assert nearest_index(6, 3, align=False, half=True) == [0, 0, 1, 1, 2, 2]  # floor((v + 0.5) / 2)
    assert nearest_index(3, 7, align=False, half=False) == [0, 2, 4]  # floor(v * 7/3)
    assert nearest_index(1, 5, align=True, half=False) == [0]  # one output: the plain scale


def test_bilinear_weights_follow_tflites_integer_rule():
    # align_corners 3 -> 5: scale 512, every other output a midpoint (weight 512: a rounding tie)
    assert bilinear_axis(5, 3, align=True, half=False) == [(0, 0, 0), (0, 1, 512), (1, 1, 0), (1, 2, 512), (2, 2, 0)]
    # half_pixel_centers 2 -> 4: the first output lies before input 0 (weight -256 on a collapsed pair)
    assert bilinear_axis(4, 2, align=False, half=True) == [(0, 0, -256), (0, 1, 256), (0, 1, 768), (1, 1, 256)]


def crafted_model(seed: int = 11, big: bool = False) -> bytes:
    """Inputs x1 [1,7,5,3] (zero point 127), x2 [1,3,4,6] (-128), a [2,1,6,5] (127), b [1,3,6,7] (0),
    c [1,4,11] (-3), d [1,5,11] (9); outputs: x1 resized nearest to 3x4 and bilinear to 14x10 (neither flag:
    a 2x upscale's odd positions are ties), x2 through a TRANSPOSE_CONV 2x3 stride 3x2 SAME without bias
    (rows 3k+2 get no tap), a^T b with adj_x (batches 2x1 against 1x3), c d^T with adj_y (depth 11, 5 columns).
    ``big``: only the TRANSPOSE_CONV and the adj_y product, at sizes where the MACs dominate (speed)."""
    rng = np.random.default_rng(seed)
    b = Builder()
    s = b.s
    outs, ins = [], []

    def w8(*shape):
        return rng.integers(-127, 128, size=shape).astype(np.int8)

    if not big:
        x1 = b.tensor("x1", [1, 7, 5, 3], 0.05, 127)
        ins.append(x1)
        for name, op, opts, hw in (("nearest", "RESIZE_NEAREST_NEIGHBOR", "ResizeNearestNeighborOptions", (3, 4)),
                                   ("bilinear", "RESIZE_BILINEAR", "ResizeBilinearOptions", (14, 10))):
            size = b.tensor(name + "_size", [2], 1.0, 0, np.array(hw), dtype="int32")
            out = b.tensor(name, [1, *hw, 3], 0.05, 127)
            b.op(op, [x1, size], [out], opts, alignCorners=False, halfPixelCenters=False)
            outs.append(out)

    ih, iw, ic, oc = (8, 8, 16, 16) if big else (3, 4, 6, 5)
    x2 = b.tensor("x2", [1, ih, iw, ic], 0.1, -128)
    fs = rng.uniform(0.002, 0.01, size=oc)
    kh, kw, sh, sw = (3, 3, 2, 2) if big else (2, 3, 3, 2)
    t_w = b.tensor("tc_w", [oc, kh, kw, ic], fs, 0, w8(oc, kh, kw, ic))
    oh, ow = ih * sh, iw * sw
    shape = b.tensor("tc_shape", [4], 1.0, 0, np.array([1, oh, ow, oc]), dtype="int32")
    y2 = b.tensor("tc", [1, oh, ow, oc], 0.1 * float(np.mean(fs)) * 127 * 6, 3)  # saturates at both ends
    b.op("TRANSPOSE_CONV", [shape, t_w, x2], [y2], "TransposeConvOptions", padding=s.Padding.SAME, strideW=sw,
         strideH=sh, fusedActivationFunction=s.ActivationFunctionType.NONE)
    ins.append(x2)
    outs.append(y2)

    if not big:
        a = b.tensor("a", [2, 1, 6, 5], 0.02, 127)
        bb = b.tensor("b", [1, 3, 6, 7], 0.03, 0)
        ab = b.tensor("ab", [2, 3, 5, 7], 0.02 * 0.03 * 150, -5)
        b.op("BATCH_MATMUL", [a, bb], [ab], "BatchMatMulOptions", adjX=True, adjY=False)
        ins += [a, bb]
        outs.append(ab)
    m, k, n = (16, 64, 24) if big else (4, 11, 5)
    c = b.tensor("c", [1, m, k], 0.02, -3)
    d = b.tensor("d", [1, n, k], 0.03, 9)
    cd = b.tensor("cd", [1, m, n], 0.02 * 0.03 * 74 * 74 * np.sqrt(k) / 150, 7)
    b.op("BATCH_MATMUL", [c, d], [cd], "BatchMatMulOptions", adjX=False, adjY=True)
    ins += [c, d]
    outs.append(cd)
    return b.finish(ins, outs)


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    path = tmp_path_factory.mktemp("spatial") / "spatial_edges.tflite"
    path.write_bytes(crafted_model())
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kernels", ["reference", "arm_dsp"])
def test_crafted_edges_bit_exact_on_the_host(crafted, kernels, tmp_path):
    graph = load(crafted)
    gen = generate(graph, plan_improved(graph), kernel_set_board(KERNEL_SETS[kernels]), tmp_path / "gen")
    assert gen.variant == kernels
    if kernels == "arm_dsp":  # the DSP variants take the transposed conv and the adj_y product, not adj_x
        assert {"TINYC_DSP_TRANSPOSE_CONV_S8", "TINYC_DSP_BATCH_MATMUL_S8", "TINYC_BATCH_MATMUL_S8"} <= set(gen.kernels)
    exe = host.build_runner(gen, tmp_path / "build", sanitize=True)
    batches = random_inputs(graph, 40, seed=5)
    outs = [graph.tensor(i) for i in graph.outputs]
    mine = host.run(exe, batches, [(np.dtype(t.dtype), t.shape) for t in outs])
    ref = tflm_outputs(crafted, graph, batches)
    for r, (got, want) in enumerate(zip(mine, ref)):
        for j, (g_, w_) in enumerate(zip(got, want)):
            assert np.array_equal(g_, w_), f"input set {r}, output {outs[j].name}: {np.count_nonzero(g_ != w_)} differ"
    tc, ab, cd = (np.stack([rec[j] for rec in ref]) for j in (2, 3, 4))
    for out in (tc, ab, cd):  # saturation at both ends is exercised
        assert out.min() == -128 and out.max() == 127
    assert (tc.reshape(len(ref), 9, 8, 5)[:, 2::3] == 3).all()  # rows no tap reaches: the zero point


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
def test_crafted_edges_bit_exact_in_qemu_with_the_dsp_kernels(crafted, tmp_path):
    from tests.test_kernels_dsp import assert_bit_exact_in_qemu

    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    graph = load(crafted)
    board = get_board("nucleo-f746")
    gen = generate(graph, plan_improved(graph), board, tmp_path / "model")
    assert gen.variant == "arm_dsp" and "TINYC_DSP_TRANSPOSE_CONV_S8" in gen.kernels
    assert_bit_exact_in_qemu(gen, graph, crafted, board, 6, tmp_path, "spatial edges on nucleo-f746")
