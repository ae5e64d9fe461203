"""Packed CONV_2D / FULLY_CONNECTED filters on the Arm DSP and Helium sets (TINYC_DSP_CONV_PACKED_S8,
TINYC_MVE_CONV_PACKED_S8, issue 18): the blob is decoded once per call into the set's matmul layout (DSP: plain
or fused row pairs, natural-order rows, an odd last row; Helium: groups of 4 rows by 16-byte chunk, the last
group padded) and the dense matmul runs on it. Zoo models whose filters are rewritten to clustered / sparse /
binary values, every filter packed: for a Cortex-M4 board compiled for the host (ASan/UBSan, the DSP
instructions' C models), for the Cortex-M55 run in QEMU (mps3-an547); outputs bit-identical to TFLite Micro,
and every packed CONV_2D / FULLY_CONNECTED call on the set's packed kernel."""

from __future__ import annotations

import re

import pytest

from tinyc.analyze.memory import plan_tflm
from tinyc.analyze.weights import WeightPlan
from tinyc.boards import get_board
from tinyc.codegen import generate
from tinyc.model.graph import load
from tests.conftest import require_tool
from tests.test_codegen_bitexact import random_inputs
from tests.test_kernels_dsp import assert_bit_exact_in_qemu
from tests.test_codegen_packed_models import (WEIGHT_OPS, assert_bit_exact, call_kernels, packed_weights_are_not_dense,
                                              rewritten_model)

# the filters rewritten to 4 levels (2-bit indices), 16 levels (4-bit indices: the vector decoders of the Helium
# kernel and the DSP one's nibble loop), 50% zeros among 4 or 16 levels, +-23; 16 levels packs only where a
# filter is big enough
MODES = (("lut", "lut"), ("lut16", "lut"), ("sparse", "sparse-lut"), ("sparse16", "sparse-lut"), ("sign", "sign"))
SMALL = ("conv_dilated_relu6", "conv_same_s1")  # filters too small for 4-bit indices to pay


def cases(*names):
    return [(n, k, m) for n in names for k, m in MODES if not (k in ("lut16", "sparse16") and n in SMALL)]


@pytest.mark.parametrize("name, kind, mode", cases("kws_dscnn", "conv_dilated_relu6", "fc_odd", "ic_resnet8"))
def test_dsp_packed_kernel_is_bit_exact(name, kind, mode, tmp_path):
    path = rewritten_model(name, kind, tmp_path / f"{name}_{kind}.tflite")
    graph = load(path)
    gen = generate(graph, plan_tflm(graph), get_board("mps2-an386"), tmp_path / "gen", weights="all")
    kernels = call_kernels(gen)
    packed = {p.op_index: p for p in gen.packed_layers}
    assert mode in {p.mode for p in packed.values()}
    on_dsp = [i for i, p in packed.items() if p.op in ("CONV_2D", "FULLY_CONNECTED")]
    assert on_dsp and all(kernels[i] == "TINYC_DSP_CONV_PACKED_S8" for i in on_dsp), kernels
    assert len(packed) == sum(op.op in WEIGHT_OPS for op in graph.operators)
    packed_weights_are_not_dense(gen, graph)
    assert_bit_exact(path, gen, graph, random_inputs(graph, 40, seed=7), tmp_path, f"{name}/{kind}")


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
@pytest.mark.parametrize("name, kind, mode", cases("fc_odd", "conv_same_s1", "ic_resnet8"))
def test_mve_packed_kernel_is_bit_exact_in_qemu(name, kind, mode, tmp_path):
    """fc_odd: 37 -> 13 (a K tail and a last group of one row); conv_same_s1: 3 -> 7 channels (K = 27);
    ResNet-8: 16-64 channels, strides, a dense layer."""
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    path = rewritten_model(name, kind, tmp_path / f"{name}_{kind}.tflite")
    graph = load(path)
    board = get_board("mps3-an547")
    gen = generate(graph, plan_tflm(graph), board, tmp_path / "gen", weights="all")
    kernels = call_kernels(gen)
    packed = {p.op_index: p for p in gen.packed_layers}
    assert mode in {p.mode for p in packed.values()}
    matmuls = [i for i, p in packed.items() if p.op in ("CONV_2D", "FULLY_CONNECTED")]
    assert matmuls and all(kernels[i] == "TINYC_MVE_CONV_PACKED_S8" for i in matmuls), kernels
    packed_weights_are_not_dense(gen, graph)
    assert_bit_exact_in_qemu(gen, graph, path, board, 4, tmp_path, f"{name}/{kind} on the M55")


# --- --weights packed-ram: the blob decoded once, by tinyc_model_init(), into RAM of its own --------------------

def resident_layers(gen, graph, kernels: tuple[str, ...], decoders: str) -> dict[int, str]:
    """Op index -> the rows operand of its start-up decode call (``decoders``: a regex of their macros), for
    every packed filter; asserts each layer runs a dense kernel of ``kernels`` on its own RAM buffer, and that
    no filter is decoded per inference."""
    src = (gen.out_dir / "tinyc_model.c").read_text()
    start = src.split("static void tinyc_decode_filters(void)")[1].split("\n}\n")[0]
    decodes = {int(i): rows for i, rows in
               re.findall(r"(?:" + decoders + r")\(&tinyc_op(\d+)_params, tinyc_t\d+_packed, "
                          r"\(int8_t \*\)tinyc_op\d+_decoded, ([^;]*)\);", start)}
    packed = {p.op_index for p in gen.packed_layers}
    assert packed and set(decodes) == packed, (decodes, packed)
    called = call_kernels(gen)
    body = src.split("int tinyc_model_invoke(void)")[1]
    for i in packed:
        assert called[i] in kernels, called
        assert f"(const int8_t *)tinyc_op{i}_decoded" in body
    assert "PACKED_S8(" not in body  # no per-inference decode
    return decodes


@pytest.mark.parametrize("name, kind", [("ic_resnet8", "lut16"), ("fc_odd", "sparse"), ("kws_dscnn", "sign"),
                                        ("conv_dilated_relu6", "lut"), ("dwconv_mult2_s2", "lut"),
                                        ("dwconv_valid_dilated", "sparse")])
def test_dsp_packed_ram_is_bit_exact(name, kind, tmp_path):
    """The filters decoded once by tinyc_model_init() into the layouts of the DSP kernels (the matmul, the
    one-batch FULLY_CONNECTED, the depthwise loop: kws_dscnn's 64 channels in the common loop's widened layout,
    6 channels with a depth multiplier and 5 in the byte layout with a channel tail): outputs bit-identical to
    TFLite Micro. The decoders' rows go in the arena, or in the DSP scratch where the arena is too small."""
    path = rewritten_model(name, kind, tmp_path / f"{name}_{kind}.tflite")
    graph = load(path)
    weights = "packed-ram"
    if name.startswith("dwconv"):  # filters too small to pack by choice: every one packed and kept decoded
        ops = tuple(i for i, op in enumerate(graph.operators) if op.op in WEIGHT_OPS)
        weights = WeightPlan("packed-ram", ops, (), resident=ops)
    gen = generate(graph, plan_tflm(graph), get_board("mps2-an386"), tmp_path / "gen", weights=weights)
    rows = resident_layers(gen, graph, ("TINYC_DSP_CONV_S8", "TINYC_DSP_FC_S8", "TINYC_DSP_DEPTHWISE_CONV_S8"),
                           "TINYC_DSP_DECODE_PACKED_S8|TINYC_DSP_DECODE_DW_PACKED_S8")
    # fc_odd's two rows of 40 bytes do not fit its 64-byte arena: the DSP kernels' scratch holds them
    want = "(int8_t *)tinyc_dsp_scratch" if name == "fc_odd" else "((int8_t *)(tinyc_arena + 0u))"
    assert set(rows.values()) == {want}, rows
    assert_bit_exact(path, gen, graph, random_inputs(graph, 40, seed=7), tmp_path, f"{name}/{kind} packed-ram")


def test_dsp_packed_ram_of_a_trained_model_decodes_past_its_layout(tmp_path):
    """The trained micro_speech (../shared/models), its FULLY_CONNECTED (4 x 4,000) rewritten sparse as a user's
    pruned model: two rows of 4,000 bytes fit neither its 5,200-byte arena nor a DSP scratch (it has none), so
    they go past the layout in its own buffer (NULL); its depthwise filter (one input channel, 8 outputs) is
    kept decoded for the matmul. Bit-identical to TFLite Micro."""
    from benchmarks import trained_models
    from tests.weights_fixture import write

    src = trained_models.models_dir() / "micro_speech_quantized.tflite"
    if not src.is_file():
        pytest.skip(f"no {src} (set TINYC_TRAINED_MODELS to the folder of ../shared/models)")
    path = write(src, "sparse", tmp_path / "micro speech;sparse.tflite")
    graph = load(path)
    gen = generate(graph, plan_tflm(graph), get_board("mps2-an386"), tmp_path / "gen", weights="packed-ram")
    rows = resident_layers(gen, graph, ("TINYC_DSP_FC_S8", "TINYC_DSP_CONV_S8"), "TINYC_DSP_DECODE_PACKED_S8")
    fc = next(op.index for op in graph.operators if op.op == "FULLY_CONNECTED")
    dw = next(op.index for op in graph.operators if op.op == "DEPTHWISE_CONV_2D")
    assert rows[fc] == "NULL" and dw in rows, rows  # the depthwise filter (1 input channel) as a matmul's
    src_c = (gen.out_dir / "tinyc_model.c").read_text()
    assert f"tinyc_op{fc}_decoded[6000]" in src_c  # 16,000 bytes of layout and 8,000 of rows, as int32
    assert_bit_exact(path, gen, graph, random_inputs(graph, 8, seed=3), tmp_path, "micro_speech sparse packed-ram")


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
@pytest.mark.parametrize("name, kind", [("ic_resnet8", "lut16"), ("fc_odd", "sparse16"), ("kws_dscnn", "sign"),
                                        ("dwconv_valid_dilated", "lut")])
def test_mve_packed_ram_is_bit_exact_in_qemu(name, kind, tmp_path):
    """The Helium layouts: the matmul's (ResNet-8's convolutions and dense layer, fc_odd's 13 rows) and the
    depthwise kernel's [taps][C] (kws_dscnn; 5 channels, a last group of one)."""
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    path = rewritten_model(name, kind, tmp_path / f"{name}_{kind}.tflite")
    graph = load(path)
    board = get_board("mps3-an547")
    weights = "packed-ram"
    if name.startswith("dwconv"):
        ops = tuple(i for i, op in enumerate(graph.operators) if op.op in WEIGHT_OPS)
        weights = WeightPlan("packed-ram", ops, (), resident=ops)
    gen = generate(graph, plan_tflm(graph), board, tmp_path / "gen", weights=weights)
    resident_layers(gen, graph, ("TINYC_MVE_CONV_S8", "TINYC_MVE_FC_S8", "TINYC_MVE_DEPTHWISE_CONV_S8"),
                    "TINYC_MVE_DECODE_PACKED_S8|TINYC_MVE_DECODE_DW_PACKED_S8")
    assert_bit_exact_in_qemu(gen, graph, path, board, 4, tmp_path, f"{name}/{kind} packed-ram on the M55")
