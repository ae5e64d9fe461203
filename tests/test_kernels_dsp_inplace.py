"""DSP kernels for the layers the default memory plan runs in place (tinyc/codegen/specialize.py,
tinyc_arm_dsp_pointwise_inplace_s8): the default plan's firmware, on the host models of the
instructions (ASan/UBSan) and in QEMU (mps2-an500 Cortex-M7, mps2-an386 Cortex-M4), bit-identical
to the TFLite Micro interpreter."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require_tool
from tests.test_kernels_dsp import assert_bit_exact_in_qemu, tflm_outputs
from tinyc import zoo
from tinyc.analyze import memory
from tinyc.boards import get_board
from tinyc.codegen.generate import generate, plan_layout
from tinyc.codegen.lower import lower
from tinyc.codegen.specialize import (DSP_CONV_PW_INPLACE, DSP_CONV_ROWS_INPLACE, DSP_DW_PLANE_INPLACE,
                                      DSP_DW_ROWS_INPLACE, specialize)
from tinyc.model.graph import load

MLPERF = ("kws_dscnn", "vww_mobilenet", "ic_resnet8")


def _inplace(graph, plan, ref: str, fast: tuple[str, ...]) -> tuple[int, int]:
    """(in-place calls of kernel ``ref`` before specializing, how many of them the DSP set took)."""
    lowered = lower(graph, *plan_layout(graph, plan))
    before = sum(c.macro == ref for c in lowered.calls)
    after = specialize(lowered, "arm_dsp").lowered
    return before, sum(c.macro in fast for c in after.calls)


def _pointwise_inplace(graph, plan) -> tuple[int, int]:
    return _inplace(graph, plan, "TINYC_CONV2D_POINTWISE_INPLACE_S8", (DSP_CONV_PW_INPLACE,))


@pytest.mark.slow
def test_default_plan_ring_conv_inplace_layers_get_the_dsp_kernel():
    seen = 0
    for name in MLPERF:  # VWW's first conv (in_c 3: natural-order columns), ResNet-8's 3x3 block convs
        graph = load(zoo.build(name))
        before, fast = _inplace(graph, memory.plan_improved(graph), "TINYC_CONV2D_INPLACE_S8",
                                (DSP_CONV_ROWS_INPLACE,))
        assert fast == before, f"{name}: {before - fast} in-place ring convs kept the reference kernel"
        seen += fast
    assert seen >= 2


@pytest.mark.slow
def test_default_plan_depthwise_inplace_layers_get_a_dsp_kernel():
    kinds = set()
    for name in MLPERF:
        graph = load(zoo.build(name))
        plan = memory.plan_improved(graph)
        before, fast = _inplace(graph, plan, "TINYC_DEPTHWISE_CONV2D_INPLACE_S8",
                                (DSP_DW_ROWS_INPLACE, DSP_DW_PLANE_INPLACE))
        assert fast == before, f"{name}: {before - fast} in-place depthwise convs kept the reference kernel"
        body = specialize(lower(graph, *plan_layout(graph, plan)), "arm_dsp").lowered.calls
        kinds |= {c.macro for c in body}
    assert {DSP_DW_ROWS_INPLACE, DSP_DW_PLANE_INPLACE} <= kinds  # VWW (rows) and KWS (planes)


@pytest.mark.slow
def test_default_plan_pointwise_inplace_layers_get_the_dsp_kernel():
    seen = 0
    for name in MLPERF:
        graph = load(zoo.build(name))
        before, fast = _pointwise_inplace(graph, memory.plan_improved(graph))
        assert fast == before, f"{name}: {before - fast} in-place 1x1 convs kept the reference kernel"
        seen += fast
    assert seen, "no MLPerf model runs a 1x1 CONV_2D in place in the default plan"


# Zoo models whose default plan runs layers in place: every DSP in-place kernel and path (pointwise
# forwards and backwards, ring conv with natural and SXTB16 columns, strides, dilation, even SAME
# padding, depthwise rows, 3x3 planes with padded borders, 5x5 planes through the generic loop, ADD).
HOST_MODELS = (*MLPERF, "conv_same_s1", "conv_valid_s2_relu", "conv_dilated_relu6", "conv_same_s2_even",
               "dwconv_5x5_relu6", "add_two")


@pytest.mark.slow
@pytest.mark.parametrize("name", HOST_MODELS)
def test_default_plan_dsp_on_the_host_models_of_the_instructions(name, tmp_path):
    from tests.test_codegen_bitexact import random_inputs
    from tinyc.codegen import host

    path = zoo.build(name)
    graph = load(path)
    plan = memory.plan_improved(graph)
    assert memory.inplace_ops(graph, plan), f"{name}: no layer runs in place"
    gen = generate(graph, plan, get_board("mps2-an386"), tmp_path / "gen")
    assert "_INPLACE_S8" in (gen.out_dir / "tinyc_model.c").read_text()
    exe = host.build_runner(gen, tmp_path / "build", sanitize=True)
    batches = random_inputs(graph, 30, seed=11)
    outs = [graph.tensor(i) for i in graph.outputs]
    mine = host.run(exe, batches, [(np.dtype(t.dtype), t.shape) for t in outs])
    ref = tflm_outputs(path, graph, batches)
    differing = sum(int(np.count_nonzero(m != r)) for mr, rr in zip(mine, ref) for m, r in zip(mr, rr))
    assert differing == 0, f"{name}: {differing} outputs differ from TFLite Micro"


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
@pytest.mark.parametrize("name,board_id", [("kws_dscnn", "mps2-an500"), ("vww_mobilenet", "mps2-an500"),
                                           ("ic_resnet8", "mps2-an386")])
def test_default_plan_dsp_bit_exact_in_qemu(name, board_id, tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    runs = 3
    path = zoo.build(name)
    graph = load(path)
    board = get_board(board_id)
    gen = generate(graph, memory.plan_improved(graph), board, tmp_path / "model")
    assert gen.variant == "arm_dsp"
    assert_bit_exact_in_qemu(gen, graph, path, board, runs, tmp_path, f"{name} on {board_id}")
