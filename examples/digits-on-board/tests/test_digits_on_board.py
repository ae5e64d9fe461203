"""The digits CNN on the board under test: the same tests run in QEMU (no --tinyc-port) and on the real board.

`tinyc_target` is the model's firmware running on --tinyc-board (built once per session and cached by tinyc),
uploaded over --tinyc-port, or run by QEMU on the board's emulated stand-in when no port is given.
"""

from pathlib import Path

import numpy as np
import pytest

TEST_DATA = Path(__file__).resolve().parents[2] / "digits" / "test.npz"


@pytest.fixture(scope="module")
def digits():
    d = np.load(TEST_DATA)
    return d["x"], d["y"]


def test_a_zero_is_read_as_a_zero(tinyc_target, digits):
    x, y = digits
    i = int(np.flatnonzero(y == 0)[0])
    scores = tinyc_target.invoke(x[i], real=True)[0]  # the float image is quantized with the input's scale
    assert scores.shape == (1, 10)
    assert int(np.argmax(scores)) == 0
    assert abs(float(scores.sum()) - 1.0) < 0.05  # a softmax, dequantized


def test_outputs_are_bit_identical_to_tflite_micro(tinyc_target, digits):
    x, _ = digits
    for sample in x[:5]:
        got = tinyc_target.invoke(sample)
        want = tinyc_target.reference(sample)
        assert all(np.array_equal(g, w) for g, w in zip(got, want))


def test_accuracy_on_the_board(tinyc_target):
    v = tinyc_target.validate(TEST_DATA, limit=60)
    assert v.identical == v.samples == 60  # every output equals TFLite Micro's on the host
    assert v.target_accuracy >= 0.95


def test_fits_the_board(tinyc_target):
    mem = tinyc_target.firmware.memory
    assert mem.flash <= tinyc_target.board.flash and mem.ram <= tinyc_target.board.sram


def test_inference_cost(tinyc_target):
    m = tinyc_target.bench(runs=3)
    assert m.outputs_match and m.checksums_identical
    assert 0 < m.median < 3_000_000  # instructions in QEMU, cycles on the board


@pytest.mark.tinyc_emulator
def test_instruction_count_is_exact_in_qemu(tinyc_target):
    a, b = tinyc_target.bench(runs=2), tinyc_target.bench(runs=2)
    assert a.unit == "instructions" and abs(a.median - b.median) <= a.per_tick


@pytest.mark.tinyc_hardware
def test_under_five_milliseconds_on_silicon(tinyc_target):
    m = tinyc_target.bench(runs=10)
    assert m.unit == "cycles" and m.ms_median < 5.0


@pytest.mark.tinyc_requires(dsp=True)
def test_runs_the_dsp_kernels(tinyc_target):
    assert tinyc_target.firmware.variant == "arm_dsp"


@pytest.mark.tinyc_board("microbit")
def test_only_on_the_microbit(tinyc_target):
    assert tinyc_target.board.id == "microbit"
