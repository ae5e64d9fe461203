"""The Arm DSP kernels on the emulated Cortex-M7 (mps2-an500) and Cortex-M4 (mps2-an386): every zoo model
that has a specialized call is generated for the board (real SXTB16/SMLAD/SMMULR, -O2), run in QEMU on
a batch of pseudo-random int8 inputs, and every output byte must equal the TFLite Micro interpreter's.

Also: the generator's weight packing and its exactness proofs (host-only, fast)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.conftest import require_tool
from tinyc import zoo
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.codegen import generate
from tinyc.codegen.generate import plan_layout
from tinyc.codegen.lower import lower
from tinyc.codegen import requant as RQ
from tinyc.codegen.specialize import (DSP_ADD, DSP_AVG_POOL, DSP_CONV, DSP_DWCONV, DSP_FC, pack_matmul_weights,
                                      specialize)
from tinyc.model import reference
from tinyc.model.graph import load

def dsp_plan(graph):
    """The memory plan without in-place layers (when the planner offers them): in-place layers run the
    reference in-place kernels, and these tests are about the DSP kernels."""
    try:
        return plan_improved(graph, inplace=False)
    except TypeError:
        return plan_improved(graph)


# Models with CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED calls, and how many inputs each gets.
MODELS = {"kws_dscnn": 12, "vww_mobilenet": 4, "ic_resnet8": 6, "ad_autoencoder": 24, "conv_same_s1": 40,
          "conv_valid_s2_relu": 40, "conv_dilated_relu6": 40, "conv_same_s2_even": 40, "dwconv_5x5_relu6": 40,
          "fc_odd": 40, "fc_relu_3d": 40, "reshape": 40, "branchy": 40, "add_two": 40,
          "avgpool_same_s2": 40}

MAIN = r"""/* DSP kernel check: runs the model on RUNS pseudo-random inputs and prints every output byte. */
#include <stdint.h>
#include "tinyc_port.h"
#include "tinyc_model.h"

static uint32_t lcg = 12345u;

static void hex(uint8_t b)
{
    static const char d[] = "0123456789abcdef";
    port_putc((uint8_t)d[b >> 4]);
    port_putc((uint8_t)d[b & 15]);
}

int main(void)
{
    if (tinyc_model_init(NULL) != 0) port_exit(101);
    for (int r = 0; r < RUNS; ++r) {
        for (int i = 0; i < TINYC_MODEL_NUM_INPUTS; ++i) {
            const tinyc_tensor_t *t = tinyc_model_input(i);
            for (uint32_t k = 0; k < t->bytes; ++k) {
                lcg = lcg * 1664525u + 1013904223u;
                ((uint8_t *)t->data)[k] = (uint8_t)(lcg >> 24);
            }
        }
        if (tinyc_model_invoke() != 0) port_exit(100);
        for (int i = 0; i < TINYC_MODEL_NUM_OUTPUTS; ++i) {
            const tinyc_tensor_t *t = tinyc_model_output(i);
            port_puts("OUT ");
            for (uint32_t k = 0; k < t->bytes; ++k) hex(((const uint8_t *)t->data)[k]);
            port_puts("\n");
        }
    }
    port_puts("DONE\n");
    return 0;
}
"""


def lcg_inputs(graph, runs: int) -> list[list[np.ndarray]]:
    """The inputs MAIN generates, in the same order."""
    state = 12345
    out = []
    for _ in range(runs):
        rec = []
        for i in graph.inputs:
            t = graph.tensor(i)
            buf = bytearray(t.nbytes)
            for k in range(t.nbytes):
                state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
                buf[k] = state >> 24
            rec.append(np.frombuffer(bytes(buf), dtype=np.int8).reshape(t.shape))
        out.append(rec)
    return out


def tflm_outputs(path, graph, batches):
    it = reference.interpreter(path)
    res = []
    for rec in batches:
        for i, x in enumerate(rec):
            it.set_input(x, i)
        it.invoke()
        res.append([np.asarray(it.get_output(j)) for j in range(len(graph.outputs))])
    return res


# Every model on the Cortex-M7; on the Cortex-M4 (same instructions, another -mcpu) the MLPerf models and
# one model per kernel path, to keep the file near three minutes on two cores.
M4_MODELS = ("kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder", "conv_same_s1", "dwconv_5x5_relu6",
             "fc_odd", "add_two")
QEMU_CASES = [(n, "mps2-an500") for n in MODELS] + [(n, "mps2-an386") for n in M4_MODELS]


def assert_bit_exact_in_qemu(gen, graph, path, board, runs: int, work, what: str):
    """Build the generated model with MAIN for ``board``, run it in QEMU on ``runs`` LCG inputs and compare
    every output byte with the TFLite Micro interpreter on the same inputs; returns the firmware."""
    from tinyc.deploy import emulator, platformio
    from tinyc.deploy.project import render_project

    main = work / "check_main.c"
    main.write_text(MAIN.replace("RUNS", str(runs)))
    proj = render_project(work / "fw", board, [main, *gen.sources], emulate=True, include_dirs=[gen.out_dir])
    fw = platformio.build(proj)
    run = emulator.run_to_exit(proj.run_board, fw.elf, timeout=240)
    assert run.exit_code == 0 and "DONE" in run.output, f"{what}: exit {run.exit_code}: {run.output[-400:]!r}"
    lines = re.findall(r"^OUT ([0-9a-f]*)\r?$", run.output, flags=re.M)
    n_out = len(graph.outputs)
    assert len(lines) == runs * n_out

    expected = tflm_outputs(path, graph, lcg_inputs(graph, runs))
    differing = total = 0
    for r, rec in enumerate(expected):
        for j, ref in enumerate(rec):
            got = np.frombuffer(bytes.fromhex(lines[r * n_out + j]), dtype=ref.dtype).reshape(ref.shape)
            differing += int(np.count_nonzero(got != ref))
            total += ref.size
    assert differing == 0, f"{what}: {differing} of {total} outputs differ from TFLite Micro"
    flat = np.concatenate([np.asarray(rec[0], dtype=np.float64).reshape(-1) for rec in expected])
    assert np.unique(flat).size > 2, "the inputs do not drive the outputs"
    return fw


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
@pytest.mark.parametrize("name,board_id", QEMU_CASES)
def test_dsp_kernels_bit_exact_in_qemu(name, board_id, tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    runs = MODELS[name]
    path = zoo.build(name)
    graph = load(path)
    board = get_board(board_id)
    gen = generate(graph, dsp_plan(graph), board, tmp_path / "model")
    assert gen.variant == "arm_dsp"
    body = (gen.out_dir / "tinyc_model.c").read_text()
    assert any(k in body for k in (DSP_CONV, DSP_FC, DSP_DWCONV, DSP_ADD, DSP_AVG_POOL)), f"{name}: no DSP kernel"

    assert_bit_exact_in_qemu(gen, graph, path, board, runs, tmp_path, f"{name} on {board_id}")


# --- host-only checks of the generator's side -----------------------------------------------------------

def test_weight_packing_pairs_rows_by_chunk():
    w = np.arange(3 * 6, dtype=np.int8).reshape(3, 6)  # 3 rows, K = 6 -> K4 = 8
    packed, k4 = pack_matmul_weights(w, natural=False)
    assert k4 == 8 and packed.size == 3 * 8
    # chunk 0 of rows 0 and 1, chunk 1 of rows 0 and 1 (zero padded), then row 2 alone
    assert packed[:16].tolist() == [0, 1, 2, 3, 6, 7, 8, 9, 4, 5, 0, 0, 10, 11, 0, 0]
    assert packed[16:].tolist() == [12, 13, 14, 15, 16, 17, 0, 0]
    nat, _ = pack_matmul_weights(w, natural=True)
    assert nat[:8].tolist() == [0, 2, 1, 3, 6, 8, 7, 9]  # SXTB16 of b0 b2 b1 b3 gives (b0, b1), (b2, b3)


def _ref_requant(x: int, m: int, shift: int) -> int:
    from tinyc.codegen import quant as Q

    return Q.multiply_by_quantized_multiplier(x, m, shift)


def _fast(bound, m, shift, zp):
    """The fast form's (mult, add, rshift) for |acc| <= bound, or None."""
    rq = RQ.plan([-bound], [bound], [m], [shift], zp, -128, 127)
    return None if isinstance(rq, str) or rq.general else rq.channels[0]


def test_fast_requant_matches_tflite_including_negative_ties():
    rng = np.random.default_rng(3)
    for _ in range(300):
        m = int(rng.integers(1 << 30, 1 << 31))
        shift = int(rng.integers(-20, 0))
        zp = int(rng.integers(-128, 128))
        (mult, add, r) = _fast((1 << 30) - 1, m, shift, zp)
        xs = list(rng.integers(-(1 << 30) + 1, 1 << 30, size=50))
        # exact ties of the final shift: SMMULR(2x, m) = k * 2^r + 2^(r-1)
        xs += [-(1 << (r - 1)), 1 << (r - 1), -3 * (1 << (r - 1)), 0, -1, 1]
        for x in xs:
            x = int(x)
            v = ((2 * x * m + (1 << 31)) >> 32)
            got = (v + (v >> 31) + add) >> r
            assert got == _ref_requant(x, m, shift) + zp, (x, m, shift, zp)
    # ties in the final rounding with m = 2^30 (SMMULR(2x, 2^30) = x/2 exactly for even x)
    for x in range(-4096, 4096, 2):
        (mult, add, r) = _fast(1 << 20, 1 << 30, -3, 5)
        v = ((2 * x * mult + (1 << 31)) >> 32)
        assert (v + (v >> 31) + add) >> r == _ref_requant(x, 1 << 30, -3) + 5


def test_fast_requant_refuses_what_it_cannot_prove():
    assert _fast(1 << 30, 1 << 30, -4, 0) is None  # |acc| may reach 2^30
    assert _fast(1000, 1 << 30, 0, 0) is None  # no right shift
    assert _fast(1000, 1 << 30, 2, 0) is None  # a left shift
    assert _fast(1 << 29, 1 << 30, -28, -128) is None  # the zero point times 2^28 overflows (the general form)
    assert _fast(1 << 20, 1 << 30, -28, -128) == (0, 1 + 2 * -128, 1)  # ... unless the output is constant


@pytest.mark.slow
def test_every_mlperf_conv_fc_dwconv_is_specialized():
    for name in zoo.mlperf_names():
        graph = load(zoo.build(name))
        lowered = lower(graph, *plan_layout(graph, dsp_plan(graph)))
        s = specialize(lowered, "arm_dsp")
        left = [c.op for c in s.lowered.calls
                if c.macro in ("TINYC_CONV2D_S8", "TINYC_DEPTHWISE_CONV2D_S8", "TINYC_FULLY_CONNECTED_S8")]
        assert not left, f"{name}: {left} kept the reference kernel"
        assert specialize(lowered, "reference").lowered is lowered


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_dsp_kernels_on_the_host_models_of_the_instructions(name, tmp_path):
    """The same kernels compiled for the host on the portable C models of the instructions (ASan/UBSan,
    -Werror), over 60 random inputs: catches an algorithmic slip before any emulator runs."""
    from tests.test_codegen_bitexact import random_inputs
    from tinyc.codegen import host

    path = zoo.build(name)
    graph = load(path)
    gen = generate(graph, dsp_plan(graph), get_board("mps2-an386"), tmp_path / "gen")
    body = (gen.out_dir / "tinyc_model.c").read_text()
    assert any(k in body for k in (DSP_CONV, DSP_FC, DSP_DWCONV, DSP_ADD, DSP_AVG_POOL))
    exe = host.build_runner(gen, tmp_path / "build", sanitize=True)
    batches = random_inputs(graph, 60, seed=7)
    outs = [graph.tensor(i) for i in graph.outputs]
    mine = host.run(exe, batches, [(np.dtype(t.dtype), t.shape) for t in outs])
    ref = tflm_outputs(path, graph, batches)
    differing = sum(int(np.count_nonzero(m != r)) for mr, rr in zip(mine, ref) for m, r in zip(mr, rr))
    assert differing == 0, f"{name}: {differing} outputs differ from TFLite Micro"
