"""Packed CONV_2D / FULLY_CONNECTED filters on the Arm DSP set (TINYC_DSP_CONV_PACKED_S8, issue 18): the blob is
decoded once per call into the DSP matmul's layout (plain or fused row pairs, natural-order rows, an odd last
row) and the dense matmul runs on it. Zoo models whose filters are rewritten to clustered / sparse / binary
values, every filter packed, compiled for the host (ASan/UBSan, the DSP instructions' C models) for a
Cortex-M4 board: outputs bit-identical to TFLite Micro, and every packed CONV_2D / FULLY_CONNECTED call on the
DSP kernel."""

from __future__ import annotations

import pytest

from tinyc.analyze.memory import plan_tflm
from tinyc.boards import get_board
from tinyc.codegen import generate
from tinyc.model.graph import load
from tests.test_codegen_bitexact import random_inputs
from tests.test_codegen_packed_models import (WEIGHT_OPS, assert_bit_exact, call_kernels, packed_weights_are_not_dense,
                                              rewritten_model)


@pytest.mark.parametrize("kind, mode", [("lut", "lut"), ("sparse", "sparse-lut"), ("sign", "sign")])
@pytest.mark.parametrize("name", ["kws_dscnn", "conv_dilated_relu6", "fc_odd", "ic_resnet8"])
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
