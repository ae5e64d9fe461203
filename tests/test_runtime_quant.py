"""Requantization rounding: the generation-time constants (Python) and the runtime primitives (C),
on ties, extreme multipliers and shifts. TFLite rounds half away from zero (std::round), never to even."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest

from tinyc.codegen import quant as Q
from tinyc.codegen.generate import runtime_dir
from tinyc.codegen.host import SANITIZE, WARN

I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def test_round_half_away_from_zero_not_to_even():
    assert [Q.round_half_away(v) for v in (0.5, 1.5, 2.5, -0.5, -1.5, -2.5)] == [1, 2, 3, -1, -2, -3]
    assert round(2.5) == 2  # the trap this module avoids
    assert Q.round_half_away(0.49999999999999994) == 0  # floor(v + 0.5) would say 1
    assert Q.round_half_away(-0.49999999999999994) == 0
    assert Q.round_half_away(4503599627370497.0) == 4503599627370497


@pytest.mark.parametrize("real, expected", [
    (0.5, (1 << 30, 0)),
    (1.0, (1 << 30, 1)),
    (0.75, (1610612736, 0)),
    (0.1, (1717986918, -3)),
    (2.0 ** -32, (1 << 30, -31)),  # smallest kept
    (2.0 ** -33, (0, 0)),  # flushed to zero, as TFLite
    (0.0, (0, 0)),
    (1.0 - 2.0 ** -40, (1 << 30, 1)),  # mantissa rounds to 2^31: halved, shift + 1
    (0.5 + 2.0 ** -32, ((1 << 30) + 1, 0)),  # an exact tie at 2^30 + 0.5 rounds up (half-even would not)
    (3.0 * 2 ** 40, (1610612736, 42)),  # huge: TFLM (no single rounding) keeps shift > 30
])
def test_quantize_multiplier(real, expected):
    assert Q.quantize_multiplier(real) == expected


def test_activation_ranges_round_in_float32():
    assert Q.activation_range("RELU6", 0.05, -128) == (-128, -8)
    assert Q.activation_range("RELU", 0.1, 3) == (3, 127)
    assert Q.activation_range("RELU6", 0.02, -10) == (-10, 127)
    assert Q.activation_range("NONE", 0.1, 3) == (-128, 127)
    # 6 / 0.048 = 125 exactly in real arithmetic but 124.99999 in float32: std::round keeps 125.
    lo, hi = Q.activation_range("RELU6", 0.048, -128)
    assert hi == -128 + Q.round_half_away(float(np.float32(6.0) / np.float32(0.048)))


def test_mean_multiplier_folds_the_count():
    m, s = Q.mean_multiplier(0.5, 0.5, 63)  # ratio 1 -> (2^30, 1); 63 -> shift 5
    assert (m, s) == (((1 << 30) << 5) // 63, 1 - 5)


def test_python_requant_model_ties():
    # x * 0.5 with shift 0 rounds in the doubling high multiply, whose nudge for a negative product is
    # 1 - 2^30: a positive tie goes up, a negative tie toward zero (gemmlowp / TFLite behaviour).
    assert Q.multiply_by_quantized_multiplier(5, 1 << 30, 0) == 3
    assert Q.multiply_by_quantized_multiplier(-5, 1 << 30, 0) == -2
    # The final rounding divide rounds ties away from zero on both signs: 0.5 * 2^-2 of +-12 = +-1.5.
    assert Q.multiply_by_quantized_multiplier(12, 1 << 30, -2) == 2
    assert Q.multiply_by_quantized_multiplier(-12, 1 << 30, -2) == -2
    # Double rounding: 0.5 * 2^-1 of 3 = 0.75 -> srdhm gives 2 (1.5 rounded up), then /2 -> 1.
    assert Q.multiply_by_quantized_multiplier(3, 1 << 30, -1) == 1
    assert Q.srdhm(I32_MIN, I32_MIN) == I32_MAX


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    exe = d / "probe"
    rt = runtime_dir()
    subprocess.run(["gcc", *WARN, "-O1", *SANITIZE, f"-I{rt / 'include'}", str(rt / "quant.c"),
                    str(rt / "host" / "tinyc_quant_probe.c"), "-o", str(exe)], check=True)

    def call(lines: list[tuple]) -> list[int]:
        text = "".join(f"{op} {a} {b} {c}\n" for op, a, b, c in lines)
        r = subprocess.run([str(exe)], input=text, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return [int(x) for x in r.stdout.split()]
    return call


def _cases(rng):
    xs = [0, 1, -1, 2, -2, 3, -3, 5, -5, 127, -128, 255, -255, I32_MAX, I32_MIN, I32_MIN + 1, 1 << 30, -(1 << 30)]
    xs += [int(v) for v in rng.integers(I32_MIN, I32_MAX, 200, dtype=np.int64)]
    xs += [int(v) for v in rng.integers(-70000, 70000, 200)]
    ms = [1 << 30, (1 << 30) + 1, I32_MAX, I32_MAX - 1, 1610612736, 0] + \
        [int(v) for v in rng.integers(1 << 30, 1 << 31, 20)]
    shifts = [-31, -30, -20, -8, -1, 0, 1, 2, 10]
    return xs, ms, shifts


def test_c_requant_matches_the_tflite_model_on_extremes(probe):
    rng = np.random.default_rng(7)
    xs, ms, shifts = _cases(rng)
    lines, want = [], []
    for x in xs:
        for m in ms[:8]:
            for s in shifts:
                if s > 0 and not (-(1 << (31 - s)) <= x < (1 << (31 - s))):
                    continue  # TFLite's left shift would overflow int32 (undefined there too)
                lines.append(("requant", x, m, s))
                want.append(Q.multiply_by_quantized_multiplier(x, m, s))
    for a in xs[:60]:
        for b in xs[:60]:
            lines.append(("srdhm", a, b, 0))
            want.append(Q.srdhm(a, b))
    for x in xs:
        for e in (0, 1, 2, 7, 16, 30, 31):
            lines.append(("rdbpot", x, e, 0))
            want.append(Q.rounding_divide_by_pot(x, e))
    assert probe(lines) == want


def test_c_rounding_ties_exactly(probe):
    got = probe([("rdbpot", 5, 1, 0), ("rdbpot", -5, 1, 0), ("rdbpot", 6, 2, 0), ("rdbpot", -6, 2, 0),
                 ("rdbpot", -7, 2, 0), ("srdhm", I32_MIN, I32_MIN, 0), ("srdhm", 3, 1 << 30, 0),
                 ("srdhm", -3, 1 << 30, 0), ("requant", 100, 1 << 30, -31), ("requant", 1, I32_MAX, 30)])
    # rdbpot: ties away from zero (2.5 -> 3, -2.5 -> -3, 1.5 -> 2, -1.5 -> -2, -1.75 -> -2);
    # srdhm: 1.5 -> 2 but -1.5 -> -1 (TFLite's nudge); the smallest shift gives 0; the largest keeps 2^30.
    assert got == [3, -3, 2, -2, -2, I32_MAX, 2, -1, 0, 1 << 30]


def test_c_exp_and_reciprocal_match_their_real_functions(probe):
    # exp(a) for a in Q5.26 and Q4.27, and 1/(1+x): within a few LSB of the real function
    # (the bit-exact check against TFLM is the SOFTMAX / LOGISTIC model test).
    rng = np.random.default_rng(3)
    for bits in (4, 5):
        raws = [0, -1, -(1 << (31 - bits)), I32_MIN + 1] + [int(v) for v in rng.integers(I32_MIN + 1, 0, 50)]
        got = probe([("exp", a, bits, 0) for a in raws])
        for a, g in zip(raws, got):
            real = math.exp(a / (1 << (31 - bits)))
            assert abs(g / 2 ** 31 - real) < 2e-6, (a, bits, g)
    raws = [0, 1 << 30, I32_MAX] + [int(v) for v in rng.integers(0, I32_MAX, 50)]
    for a, g in zip(raws, probe([("recip", a, 0, 0) for a in raws])):
        assert abs(g / 2 ** 31 - 1 / (1 + a / 2 ** 31)) < 2e-8


def test_c_roundf_is_std_round(probe):
    vals = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999997, -0.49999997, 8388607.5, 8388609.0, 1e20, -1e20,
                     3.4999998, 0.0, -0.0], dtype=np.float32)
    got = probe([("roundf", int(v), 0, 0) for v in vals.view(np.uint32)])
    expected = np.array([1, 2, 3, -1, -3, 0, -0.0, 8388608, 8388609, 1e20, -1e20, 3, 0, -0.0], dtype=np.float32)
    assert np.array(got, dtype=np.uint32).view(np.float32).tolist() == expected.tolist()
