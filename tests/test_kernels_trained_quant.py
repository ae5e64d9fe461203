"""The fast kernel sets on the layers trained models have (tinyc/codegen/requant.py, specialize.py,
specialize_mve.py): a crafted model (tests/crafted_layers.py: multiplier 0, shifts -31, -26 into zero point
-100, 0 and +2, an all-zero channel, a channel only provable as a constant, zero points -128 and 127,
per-tensor CONV_2D and FULLY_CONNECTED, a depthwise layer with one input channel and depth multiplier 8, odd
channel counts, depth multiplier 2, same-shape and broadcast ADD, AVERAGE_POOL_2D over 14 channels) gets the
DSP kernels on the Cortex-M4/M7 and the Helium kernels on the Cortex-M55 (the choices data says which),
and its outputs are bit-identical to the TFLite Micro interpreter's in QEMU. The public
trained models keep no reference kernel for the five ops (their QEMU runs: tests/test_trained_models.py).

Also: the requantization forms against TFLite's arithmetic, accumulator by accumulator (host-only)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_tool
from tests.crafted_layers import trained_quant_model
from tests.test_kernels_dsp import assert_bit_exact_in_qemu
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.codegen import quant as Q
from tinyc.codegen import requant as RQ
from tinyc.codegen.generate import generate, plan_layout
from tinyc.codegen.lower import lower
from tinyc.codegen.kernels import Role
from tinyc.codegen.specialize import COVERED, specialize
from tinyc.model.graph import load

FIVE = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D")


@pytest.fixture(scope="module")
def crafted(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("crafted") / "trained_quant.tflite"
    p.write_bytes(trained_quant_model())
    return p


def _plan(graph, default: bool):
    return plan_improved(graph) if default else plan_improved(graph, inplace=False)


def _spec(path, variant: str, default: bool):
    graph = load(path)
    lowered = lower(graph, *plan_layout(graph, _plan(graph, default)), weights="dense")
    return specialize(lowered, variant)


# --- the requantization forms, accumulator by accumulator ----------------------------------------------

def _check_channel(amin, amax, m, shift, zp, lo=-128, hi=127, samples=3000, seed=0, extra=()):
    """Every form plan() picks equals TFLite on [amin, amax]: both ends, the window where the output is not
    clamped (all of it when small), rounding ties and random accumulators."""
    rq = RQ.plan([amin], [amax], [m], [shift], zp, lo, hi)
    assert not isinstance(rq, str), rq
    rng = np.random.default_rng(seed)
    accs = {amin, amax} | {a for a in (-1, 0, 1, *extra) if amin <= a <= amax}
    accs.update(int(a) for a in rng.integers(amin, amax + 1, size=samples))
    # around the accumulators whose output is just inside the clamp (monotone: bisect for them)
    for target in (lo, hi):
        a, b = amin, amax
        while b - a > 1:
            mid = (a + b) // 2
            if RQ.tflite_out(mid, m, shift, zp, lo, hi) < target:
                a = mid
            else:
                b = mid
        accs.update(range(max(amin, b - 300), min(amax, b + 300) + 1))
    for acc in accs:
        want = RQ.tflite_out(acc, m, shift, zp, lo, hi)
        assert RQ.emulate(rq, acc, lo, hi) == want, (acc, m, shift, zp, rq)
    return rq


def test_requant_forms_match_tflite_on_every_kind_of_channel():
    big = (1 << 30) - 1
    # fast: the common case, with ties of the final shift (m = 2^30 halves even accumulators exactly)
    assert not _check_channel(-big, big, 1 << 30, -3, 5).general
    assert not _check_channel(-50000, 70000, 1518500250, -12, -128).general
    # multiplier 0 (TFLite's flush below 2^-31 gives shift 0 too): constant, fast form
    rq = _check_channel(-big, big, 0, -7, 127)
    assert not rq.general and rq.channels[0][0] == 0
    rq = _check_channel(-big, big, 0, 0, -128)
    assert not rq.general and rq.channels[0] == (0, 1 + 2 * -128, 1)
    # shift -31: every output is the zero point, and -128 * 2^31 does not fold: a constant channel
    rq = _check_channel(-big, big, 1610612860, -31, -128)
    assert not rq.general and rq.channels[0] == (0, 1 + 2 * -128, 1)
    # a right shift of 26 into zero point -100: zp * 2^26 overflows, so the general form
    mid = int(1.5 * (1 << 57) / 1395864372)  # the output's rounding boundary between 1 and 2
    rq = _check_channel(mid - 300_000, mid + 300_000, 1395864372, -26, -100, extra=range(mid - 2000, mid + 2000))
    assert rq.general and rq.channels[0][1:] == (1, 0, 1 << 25, 26)
    # no shift and left shifts (ReLU-less outputs clamp within a few hundred accumulators of zero)
    for shift in (0, 1, 2, 5):
        rq = _check_channel(-4000, 4000, 1503238616, shift, -3)
        assert rq.general and rq.channels[0][1:] == (1 + shift, RQ.BIAS, -RQ.BIAS, 0)
    _check_channel(-4000, 4000, 1503238616, 2, 127, lo=-20, hi=90)  # an activation range
    # |acc| up to 2^30: only provable when the output is constant over the whole range
    assert RQ.plan([-(1 << 30) - 10], [-(1 << 30) + 10], [1 << 30], [-7], 0, -128, 127).channels[0][0] == 0
    why = RQ.plan([-(1 << 30)], [1 << 30], [1 << 30], [-7], 0, -128, 127)
    assert isinstance(why, str) and "channel 0" in why and "pre-shift" in why
    # a left shift on accumulators that reach 2^29: the pre-shift overflows (reason names the shift)
    why = RQ.plan([0, -(1 << 29)], [5, 1 << 29], [1 << 30] * 2, [-3, 2], 0, -128, 127)
    assert isinstance(why, str) and why.startswith("channel 1: shift +2")


def test_per_tensor_and_mixed_layers_choose_one_form_per_layer():
    # per-tensor: one multiplier for three channels of different ranges
    rq = RQ.plan([-100, -5, -(1 << 20)], [100, 7, 1 << 20], [1 << 30], [-4], 0, -128, 127)
    assert not rq.general and len(rq.channels) == 3
    # one left-shift channel makes the layer general; its fast channels keep their arithmetic
    rq = RQ.plan([-1000, -1000], [1000, 1000], [1 << 30, 1 << 30], [-4, 1], 9, -128, 127)
    assert rq.general and rq.zp == 9 and rq.channels[0] == (1 << 30, 1, 0, 8, 4)
    for acc in range(-1000, 1001):
        for ch, sh in enumerate((-4, 1)):
            assert RQ.emulate(rq, acc, -128, 127, ch) == RQ.tflite_out(acc, 1 << 30, sh, 9, -128, 127)


def test_bounds_are_the_exact_accumulator_range():
    w = np.array([[3, -2, 0], [0, 0, 0]])
    amin, amax = RQ.bounds([10, -7], w, 128)  # input zero point -128: x + 128 in [0, 255]
    assert amin.tolist() == [10 - 2 * 255, -7] and amax.tolist() == [10 + 3 * 255, -7]
    xs = np.array([[x0, x1, x2] for x0 in (-128, 127) for x1 in (-128, 127) for x2 in (-128, 127)]) + 128
    acc = xs @ w[0] + 10
    assert acc.min() == amin[0] and acc.max() == amax[0]


# --- the crafted model --------------------------------------------------------------------------------

@pytest.mark.parametrize("default", (True, False), ids=("default-plan", "no-inplace"))
def test_crafted_layers_run_the_dsp_kernels(crafted, default):
    s = _spec(crafted, "arm_dsp", default)
    five = [c for c in s.choices if c.op in FIVE]
    assert len(five) == 9
    assert all(c.kernel_set == "arm_dsp" and c.reason is None for c in five), [c for c in five if c.reason]
    assert not any(c.macro in COVERED for c in s.lowered.calls)
    calls = {c.index: c for c in s.lowered.calls}
    general = {i for i, c in calls.items() if dict(c.params or ()).get("general")}
    assert general == {0, 2, 6, 8}  # left shift / shift 0, shift 26 into zp -100 (twice), left-shift FC
    assert calls[0].macro in ("TINYC_DSP_CONV_S8", "TINYC_DSP_CONV_ROWS_INPLACE_S8")  # dw of 1 channel as conv
    assert dict(calls[3].params)["mult"] == 2 and dict(calls[2].params)["channels"] == 7
    consts = {c.name: c.values for c in s.lowered.consts}
    q1 = consts[calls[1][Role.REQUANT].name]
    assert tuple(q1[9:12]) == (0, 1 + 2 * -128, 1)  # channel 3: constant (|acc| >= 2^30), fast form


@pytest.mark.parametrize("default", (True, False), ids=("default-plan", "no-inplace"))
def test_crafted_layers_run_the_helium_kernels(crafted, default):
    s = _spec(crafted, "arm_mve", default)
    assert len(s.choices) == 9
    assert all(c.kernel_set == "arm_mve" and c.reason is None for c in s.choices), s.choices
    calls = {c.index: c for c in s.lowered.calls}
    assert {i for i, c in calls.items() if dict(c.params or ()).get("general")} == {0, 2, 6, 8}
    assert dict(calls[6].params)["bcast"] == 1 and calls[7].macro == "TINYC_MVE_AVG_POOL_S8"


# QEMU: one firmware per kernel set and plan (the crafted model is small: a few seconds each)
QEMU = [("mps2-an386", True), ("mps2-an500", False), ("mps3-an547", True), ("mps3-an547", False)]


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.toolchain
@pytest.mark.parametrize("board_id,default", QEMU, ids=[f"{b}-{'default' if d else 'noinplace'}" for b, d in QEMU])
def test_crafted_layers_bit_exact_in_qemu(crafted, board_id, default, tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    graph = load(crafted)
    board = get_board(board_id)
    gen = generate(graph, _plan(graph, default), board, tmp_path / "model", weights="dense")
    assert gen.variant == ("arm_mve" if board_id == "mps3-an547" else "arm_dsp")
    assert not set(gen.kernels) & set(COVERED), gen.kernels
    assert_bit_exact_in_qemu(gen, graph, crafted, board, 12, tmp_path, f"crafted layers on {board_id}")


# --- the public trained models --------------------------------------------------------------------------

def _shared() -> Path:
    return Path(os.environ.get("TINYC_TRAINED_MODELS") or Path(__file__).resolve().parents[2] / "shared" / "models")


@pytest.mark.parametrize("name", ("person_detect", "micro_speech_quantized", "hello_world_int8"))
def test_trained_models_keep_no_reference_kernel_for_the_five_ops(name):
    path = _shared() / f"{name}.tflite"
    if not path.is_file():
        pytest.skip(f"no {path} (set TINYC_TRAINED_MODELS to the folder of ../shared/models)")
    for default in (True, False):
        for variant in ("arm_dsp", "arm_mve"):
            s = _spec(path, variant, default)
            left = [(c.op_index, c.op, c.kernel, c.reason) for c in s.choices
                    if c.op in FIVE and c.kernel_set == "reference"]
            assert not left, (variant, default, left)
            if variant == "arm_mve":  # Helium everywhere
                assert all(c.kernel_set == "arm_mve" for c in s.choices if c.op in FIVE), s.choices


# --- the choices, as generate and bench --per-layer show them ------------------------------------------

def test_generate_records_and_bench_per_layer_shows_kernel_sets_and_reasons(crafted, tmp_path, capsys):
    from tinyc.deploy.profile import LayerCost, LayerProfile
    from tinyc.deploy.report import render_layer_profile
    from tinyc.ui import Output

    graph = load(crafted)
    gen = generate(graph, _plan(graph, False), get_board("mps3-an547"), tmp_path / "m", weights="dense")
    js = gen.to_json()["choices"]
    assert [c["op_index"] for c in js] == [c.index for c in graph.operators]
    assert {c["kernel_set"] for c in js} == {"arm_mve"}
    pool = next(c for c in js if c["op"] == "AVERAGE_POOL_2D")
    assert pool["kernel"] == "TINYC_MVE_AVG_POOL_S8" and pool["reason"] is None
    # a fallback as the specializer records one (the Helium plane kernel leaves the general form to the DSP's)
    js[7] = {**js[7], "kernel": "TINYC_DSP_AVG_POOL_S8", "kernel_set": "arm_dsp", "reason": "Helium: why not"}
    layers = tuple(LayerCost(i, c["op_index"], c["op"], c["kernel"], 10, 100.0, 1000, 1 / len(js))
                   for i, c in enumerate(js))
    prof = LayerProfile("mps3-an547", "0" * 16, "crafted", True, "instructions", 32_000_000, 31.25, 1, 1, layers,
                        100.0 * len(js), 100 * len(js), 1, 1000 * len(js))
    render_layer_profile(Output(), prof, choices=js)
    text = capsys.readouterr().out
    assert "set" in text and "arm_mve" in text and "arm_dsp" in text
    assert "op 7 AVERAGE_POOL_2D runs the arm_dsp set: Helium: why not" in text
    assert text.count("runs the") == 1
    render_layer_profile(Output(), prof)  # without choices (a board on --port): the set from the kernel's name
    text = capsys.readouterr().out
    assert "arm_mve" in text and "runs the" not in text


def test_helium_average_pool_reciprocal_division_is_exact():
    """avg_pool_arm_mve.c divides m = |acc| + count/2 <= 128.5 count by the window's count as
    VMULH.U32(m, ceil(2^32 / count)): exact for every count up to 4096 (the generator's limit), checked on
    every m for the small windows and on each multiple of count (+-1) for the others."""
    for count in range(2, 4097):
        recip = (0xFFFFFFFF // count) + 1
        top = count * 128 + count // 2
        m = np.arange(top + 1, dtype=np.uint64) if count <= 64 else \
            np.unique(np.clip(np.concatenate([np.arange(0, top + count, count) + d for d in (-1, 0, 1)]), 0, top))
        m = m.astype(np.uint64)
        assert np.array_equal((m * np.uint64(recip)) >> np.uint64(32), m // np.uint64(count)), count
