"""gemmlowp's fixed-point arithmetic in Python integers, bit for bit as firmware/runtime/include/tinyc_quant.h and
firmware/runtime/quant.c compute it (int32 wrapping like the target's two's complement).

It lets the generator tabulate an int8 -> int8 function of TFLite's integer kernels once, at generation time (the
256-entry LOGISTIC table): tests/test_fixed_point.py holds every table equal to the C reference kernel's outputs."""

from __future__ import annotations

INT32_MAX = (1 << 31) - 1
INT32_MIN = -(1 << 31)


def wrap32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul: floor((a * b + 2^30) / 2^31), saturating INT32_MIN * INT32_MIN."""
    if a == b == INT32_MIN:
        return INT32_MAX
    return wrap32((a * b + (1 << 30)) >> 31)


def rdbpot(x: int, exponent: int) -> int:
    """RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero."""
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if (x & mask) > threshold else 0)


def sat_lshift(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT for a positive power."""
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return wrap32(x << exponent)


def requant(x: int, mult: int, shift: int) -> int:
    """TFLite's MultiplyByQuantizedMultiplier (tinyc_requant)."""
    left, right = max(shift, 0), max(-shift, 0)
    return rdbpot(srdhm(wrap32(x << left), mult), right)


def _exp_quarter(a: int) -> int:
    """exp(x) for x in [-1/4, 0), Q0.31: the Taylor expansion around -1/8."""
    constant_term, one_third = 1895147668, 715827883
    x = wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    poly = rdbpot(wrap32(srdhm(wrap32(rdbpot(x4, 2) + x3), one_third) + x2), 1)
    return wrap32(constant_term + srdhm(constant_term, wrap32(x + poly)))


_EXP_MULTIPLIERS = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)


def exp_on_negative_values(a: int, integer_bits: int) -> int:
    """exp(a) for a <= 0 with ``integer_bits`` integer bits, Q0.31."""
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod = wrap32((a & (one_quarter - 1)) - one_quarter)
    result = _exp_quarter(sat_lshift(a_mod, integer_bits))
    remainder = wrap32(a_mod - a)
    for e in range(-2, 5):
        if integer_bits > e and remainder & (1 << (fractional_bits + e)):
            result = srdhm(result, _EXP_MULTIPLIERS[e + 2])
    if integer_bits > 5 and a < -(1 << (36 - integer_bits)):
        result = 0
    return INT32_MAX if a == 0 else result


def one_over_one_plus_x(a: int) -> int:
    """1 / (1 + a) for a in [0, 1) as Q0.31, Newton-Raphson in Q2.29."""
    s = a + INT32_MAX
    n = s + (1 if s >= 0 else -1)
    half_denominator = wrap32(n // 2 if n >= 0 else -(-n // 2))  # C's int64 division truncates toward zero
    x = wrap32(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        one_minus = wrap32((1 << 29) - srdhm(half_denominator, x))
        x = wrap32(x + sat_lshift(srdhm(x, one_minus), 2))
    return sat_lshift(x, 1)


def logistic_s8(x: int, in_zero_point: int, radius: int, mult: int, left_shift: int) -> int:
    """TFLite's int8 LOGISTIC of one input byte (tinyc_ref_logistic_s8): output scale 1/256, zero point -128."""
    d = x - in_zero_point
    if d <= -radius:
        return -128
    if d >= radius:
        return 127
    q4 = requant(d, mult, left_shift)
    if q4 == 0:
        r = 1 << 30
    else:
        pos = one_over_one_plus_x(exp_on_negative_values(-abs(q4), 4))
        r = pos if q4 > 0 else INT32_MAX - pos
    return max(-128, min(127, rdbpot(r, 31 - 8) - 128))


def logistic_table(in_zero_point: int, radius: int, mult: int, left_shift: int) -> list[int]:
    """The int8 LOGISTIC as a table: entry k is the output for the input byte k (so -128 sits at 128)."""
    out = [0] * 256
    for v in range(-128, 128):
        out[v & 0xFF] = logistic_s8(v, in_zero_point, radius, mult, left_shift)
    return out
