"""The Helium (MVE) kernels on the emulated Cortex-M55 (QEMU mps3-an547, real VMLADAVA/VRMULH, -O2):
zoo models are generated for the board with both memory plans (the default one, with in-place layers,
and the one without), run in QEMU on pseudo-random int8 inputs, and every output byte must equal the
TFLite Micro interpreter's. The generated firmware's constants and static scratch must be what
`tinyc check` predicts for the board.

Also: the generator picks the MVE chain for the M55 only, and its weight packing (host-only, fast)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tests.conftest import require_tool
from tests.test_kernels_dsp import assert_bit_exact_in_qemu
from tinyc import zoo
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.codegen import footprint
from tinyc.codegen.generate import generate, plan_layout, variant_for
from tinyc.codegen.lower import lower
from tinyc.codegen.kernels import Role
from tinyc.codegen.specialize import specialize
from tinyc.codegen.specialize_mve import (MVE_ADD, MVE_ADD_INPLACE, MVE_CONV, MVE_CONV_PW_INPLACE,
                                          MVE_CONV_ROWS_INPLACE, MVE_DW_PLANE_INPLACE, MVE_DW_ROWS_INPLACE,
                                          MVE_DWCONV, MVE_FC,
                                          MVE_KERNELS, pack_mve_weights, q4_table)
from tinyc.model.graph import load

BOARD = "mps3-an547"
MLPERF = ("kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder")
RUNS = {"kws_dscnn": 8, "vww_mobilenet": 3, "ic_resnet8": 4, "ad_autoencoder": 16}

# (model, default plan?): the MLPerf models with both plans; the single-op convolutions with both (the
# default plan runs them in place through the row ring); the other single-op models cover odd channel
# counts and K tails (fc_odd: 37 -> 13, conv_same_s1: 3 -> 7), per-tensor FULLY_CONNECTED, stride 2,
# dilation, asymmetric SAME padding, a 5x5 depthwise, ADD (add_two; ResNet-8's default plan runs one in
# place), a depth multiplier of 2 (branchy) and dilation with 5 channels (dwconv_valid_dilated), which the
# MVE depthwise kernel's general loop takes.
CASES = [(n, dp) for n in MLPERF for dp in (True, False)] \
    + [(n, dp) for n in ("conv_same_s1", "conv_valid_s2_relu", "conv_dilated_relu6", "conv_same_s2_even")
       for dp in (True, False)] \
    + [(n, False) for n in ("dwconv_5x5_relu6", "fc_odd", "fc_relu_3d", "branchy", "dwconv_valid_dilated", "add_two")]


def _plan(graph, default: bool):
    return plan_improved(graph) if default else plan_improved(graph, inplace=False)


def _rodata_bytes(obj) -> int:
    out = subprocess.run(["arm-none-eabi-size", "-A", "-d", str(obj)], check=True, capture_output=True,
                         text=True).stdout
    return sum(int(p[1]) for p in (line.split() for line in out.splitlines())
               if len(p) >= 2 and p[0].startswith(".rodata"))


def _scratch_bytes(elf) -> int:
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], check=True, capture_output=True, text=True).stdout
    return sum(int(p[1], 16) for p in (line.split() for line in out.splitlines())
               if len(p) == 4 and p[3] in ("tinyc_mve_scratch", "tinyc_dsp_scratch"))


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
@pytest.mark.parametrize("name,default_plan", CASES, ids=[f"{n}-{'default' if d else 'noinplace'}" for n, d in CASES])
def test_mve_kernels_bit_exact_in_qemu(name, default_plan, tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    runs = RUNS.get(name, 24)
    path = zoo.build(name)
    graph = load(path)
    board = get_board(BOARD)
    plan = _plan(graph, default_plan)
    gen = generate(graph, plan, board, tmp_path / "model")
    assert gen.variant == "arm_mve"
    assert any(k in MVE_KERNELS for k in gen.kernels), f"{name}: no MVE kernel in {gen.kernels}"

    fw = assert_bit_exact_in_qemu(gen, graph, path, board, runs, tmp_path, name)

    # tinyc check's accounting for the board is the firmware's: constants and static kernel scratch
    low = footprint.lowering(graph, plan, board)
    assert low.variant == "arm_mve" and low.lowered.weights_bytes == gen.weights_bytes
    objs = list(fw.elf.parent.rglob("tinyc_model_data.o"))
    assert len(objs) == 1 and _rodata_bytes(objs[0]) == gen.weights_bytes
    assert _scratch_bytes(fw.elf) == low.scratch_bytes


# --- host-only checks of the generator's side -----------------------------------------------------------

def test_generator_picks_mve_for_the_m55_only():
    variant, defines = variant_for(get_board(BOARD))
    assert variant == "arm_mve" and defines == ("TINYC_KERNELS_ARM_MVE", "TINYC_KERNELS_ARM_DSP")
    for board_id in ("mps2-an386", "mps2-an500", "nucleo-f746"):  # Cortex-M4 / M7: DSP, no Helium
        assert variant_for(get_board(board_id)) == ("arm_dsp", ("TINYC_KERNELS_ARM_DSP",)), board_id
    assert variant_for(get_board("mps2-an385"))[0] == "arm_scalar"  # Cortex-M3: no DSP, no Helium


def test_mve_weight_packing_groups_four_rows_by_16_byte_chunk():
    w = np.arange(5 * 20, dtype=np.int64).reshape(5, 20).astype(np.int8)  # 5 rows, K = 20 -> K16 = 32
    packed, k16 = pack_mve_weights(w)
    assert k16 == 32 and packed.size == 8 * 32  # rows padded to 8
    chunk = packed.reshape(2, 2, 4, 16)  # [group][chunk][row][16]
    assert chunk[0, 0, 1].tolist() == w[1, :16].tolist()
    assert chunk[0, 1, 2].tolist() == w[2, 16:].tolist() + [0] * 12
    assert chunk[1, 0, 0].tolist() == w[4, :16].tolist()
    assert not chunk[1, :, 1:].any()  # padding rows are zero
    assert q4_table([(7, 8, 9), (1, 2, 3)]) == [7, 1, 0, 0, 8, 2, 0, 0, -9, -3, 0, 0]


def _mve_share(name: str, default_plan: bool):
    graph = load(zoo.build(name))
    lowered = lower(graph, *plan_layout(graph, _plan(graph, default_plan)))
    return lowered, specialize(lowered, "arm_mve")


@pytest.mark.slow
def test_every_mlperf_matmul_depthwise_and_add_runs_on_mve_without_inplace():
    for name in MLPERF:
        lowered, spec = _mve_share(name, False)
        want = sum(c.macro in ("TINYC_CONV2D_S8", "TINYC_FULLY_CONNECTED_S8", "TINYC_DEPTHWISE_CONV2D_S8",
                                "TINYC_ADD_S8") for c in lowered.calls)
        got = [c.macro for c in spec.lowered.calls if c.macro in (MVE_CONV, MVE_FC, MVE_DWCONV, MVE_ADD)]
        assert len(got) == want, f"{name}: {want - len(got)} matmul/depthwise/ADD calls are not on MVE"
        assert spec.scratch_bytes % 4 == 0 and spec.flash_delta == spec.lowered.weights_bytes - lowered.weights_bytes


@pytest.mark.slow
def test_default_plan_inplace_convolutions_run_on_mve():
    seen = set()
    for name in MLPERF:
        lowered, spec = _mve_share(name, True)
        for ref, fast in (("TINYC_CONV2D_POINTWISE_INPLACE_S8", MVE_CONV_PW_INPLACE),
                          ("TINYC_CONV2D_INPLACE_S8", MVE_CONV_ROWS_INPLACE),
                          ("TINYC_DEPTHWISE_CONV2D_INPLACE_S8", MVE_DW_ROWS_INPLACE),
                          ("TINYC_DEPTHWISE_CONV2D_INPLACE_S8", MVE_DW_PLANE_INPLACE),
                          ("TINYC_ADD_INPLACE_S8", MVE_ADD_INPLACE)):
            # a depthwise call's ring row count says its scheme: "0" is the plane scheme (KWS), else rows (VWW)
            before = sum(c.macro == ref and (fast != MVE_DW_ROWS_INPLACE or c[Role.RING_ROWS].value != 0)
                         and (fast != MVE_DW_PLANE_INPLACE or c[Role.RING_ROWS].value == 0) for c in lowered.calls)
            after = sum(c.macro == fast for c in spec.lowered.calls)
            assert after == before, f"{name}: {before - after} {ref} calls are not on {fast}"
            if after:
                seen.add(fast)
        # whatever the MVE set leaves goes on to the DSP specialization, never silently to nothing
        dsp = specialize(lowered, "arm_dsp").lowered.calls
        for a, d in zip(spec.lowered.calls, dsp):
            if a.macro not in MVE_KERNELS:
                assert a.macro == d.macro, (name, a.index, a.macro, d.macro)
    assert seen == {MVE_CONV_PW_INPLACE, MVE_CONV_ROWS_INPLACE, MVE_DW_ROWS_INPLACE, MVE_DW_PLANE_INPLACE,
                    MVE_ADD_INPLACE}
