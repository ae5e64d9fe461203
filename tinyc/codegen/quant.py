"""TFLite's quantization constants, computed at generation time exactly as TFLite Micro's Prepare does.

Every function mirrors one TFLite helper (named in its docstring), including which products are taken
in float32 and which in double: that choice decides the last bit of an output.
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127


def round_half_away(v: float) -> int:
    """std::round / TfLiteRound: nearest integer, ties away from zero (Python's round() ties to even).

    Not floor(v + 0.5): that addition itself rounds in double (0.49999999999999994 + 0.5 == 1.0)."""
    a = abs(float(v))
    f = math.floor(a)
    r = f + 1 if a - f >= 0.5 else f  # a - f is exact for a double and its floor
    return int(-r if v < 0 else r)


def round_half_away_f32(v: np.float32) -> int:
    """std::round on a float32 value (exact: every float32 is a double)."""
    return round_half_away(float(np.float32(v)))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: real = m * 2^(shift - 31) with m in [2^30, 2^31); frexp + std::round.

    Multipliers below 2^-32 flush to (0, 0) as TFLite does. TFLite Micro is built without
    TFLITE_SINGLE_ROUNDING, so shifts above 30 are kept (not saturated)."""
    real = float(real)
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed > (1 << 31):
        raise ValueError(f"multiplier {real!r} out of range")
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def f32(x) -> np.float32:
    return np.float32(x)


def activation_range(activation: str | None, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8: zp + round(f / scale) with f and scale in float32."""
    def q(f: float) -> int:
        return int(zero_point) + round_half_away_f32(f32(f) / f32(scale))

    act = (activation or "NONE").upper()
    if act == "NONE":
        return INT8_MIN, INT8_MAX
    if act == "RELU":
        return max(INT8_MIN, q(0.0)), INT8_MAX
    if act == "RELU6":
        return max(INT8_MIN, q(0.0)), min(INT8_MAX, q(6.0))
    if act == "RELU_N1_TO_1":
        return max(INT8_MIN, q(-1.0)), min(INT8_MAX, q(1.0))
    raise ValueError(f"fused activation {activation} is not supported")


def conv_multipliers(input_scale: float, filter_scales, output_scale: float, channels: int):
    """PopulateConvolutionQuantizationParams: per channel, double(in) * double(filter[c]) / double(out)."""
    fs = [float(f32(s)) for s in filter_scales]
    out = [quantize_multiplier(float(f32(input_scale)) * fs[c if len(fs) > 1 else 0] / float(f32(output_scale)))
           for c in range(channels)]
    return [m for m, _ in out], [s for _, s in out]


def fc_multiplier_per_tensor(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """GetQuantizedConvolutionMultipler: the input*filter product is taken in float32, then / double(out)."""
    product = float(f32(input_scale) * f32(filter_scale))
    return quantize_multiplier(product / float(f32(output_scale)))


def add_params(s1: float, s2: float, so: float, left_shift: int = 20):
    """TFLite Micro ADD (int8): inputs rescaled to twice the larger input scale with 20 bits of headroom."""
    twice_max = 2.0 * float(max(f32(s1), f32(s2)))
    m1 = quantize_multiplier(float(f32(s1)) / twice_max)
    m2 = quantize_multiplier(float(f32(s2)) / twice_max)
    mo = quantize_multiplier(twice_max / ((1 << left_shift) * float(f32(so))))
    return m1, m2, mo


def mul_multiplier(s1: float, s2: float, so: float) -> tuple[int, int]:
    """TFLite Micro MUL (int8): double(in1) * double(in2) / double(out)."""
    return quantize_multiplier(float(f32(s1)) * float(f32(s2)) / float(f32(so)))


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """CalculateInputRadius: the largest |input difference| that does not saturate the fixed-point input."""
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1) * (1 << (total_signed_bits - input_integer_bits))
                          / (1 << input_left_shift))
    return int(math.floor(max_input_rescaled))


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius for int8 SOFTMAX (5 integer bits in exp's input)."""
    scaled_diff_integer_bits = 5
    max_real = float((1 << 31) - 1)
    real = min(float(f32(beta)) * float(f32(input_scale)) * (1 << (31 - scaled_diff_integer_bits)), max_real)
    mult, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise ValueError("softmax input multiplier below one")
    diff_min = -calculate_input_radius(scaled_diff_integer_bits, left_shift)
    return mult, left_shift, diff_min


def logistic_params(input_scale: float) -> tuple[int, int, int]:
    """TFLite Micro LOGISTIC (int8) Prepare: frexp of scale * 2^27 without the 2^31 correction, radius."""
    input_integer_bits = 4
    real = float(f32(input_scale)) * float(1 << (31 - input_integer_bits))
    q, left_shift = math.frexp(real)
    mult = round_half_away(q * (1 << 31))
    if mult >= (1 << 31):
        raise ValueError("logistic input multiplier overflows int32")
    radius = calculate_input_radius(input_integer_bits, left_shift, 31)
    return mult, left_shift, radius


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """QuantizedMeanOrSum: in/out multiplier with 1/count folded in (shift = floor(log2 count), clamped)."""
    mult, shift = quantize_multiplier(float(f32(input_scale)) / float(f32(output_scale)))
    n = int(count)
    s = n.bit_length() - 1
    s = min(s, 32, 31 + shift)
    # int64 division truncates toward zero; the product is non-negative here.
    mult = int((mult << s) // n)
    return mult, shift - s


def quantize_f32(value: float, scale: float, zero_point: int) -> int:
    """FloatToQuantizedType / AffineQuantize: round(value / scale) + zp in float32, clamped to int8."""
    v = round_half_away_f32(f32(value) / f32(scale)) + int(zero_point)
    return max(INT8_MIN, min(INT8_MAX, v))


# --- Python models of the C fixed-point primitives, for unit tests of the rounding ---------------------

def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul."""
    if a == b == -(1 << 31):
        return (1 << 31) - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    q = abs(v) // (1 << 31)
    return int(q if v >= 0 else -q)


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, m: int, shift: int) -> int:
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    shifted = ((x << left) + (1 << 31)) % (1 << 32) - (1 << 31)  # int32 wrap, as TFLite's multiply
    return rounding_divide_by_pot(srdhm(shifted, m), right)
