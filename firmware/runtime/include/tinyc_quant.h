/* Fixed-point requantization shared by every int8 kernel.
 *
 * These reproduce TFLite Micro's reference arithmetic bit for bit (the default, double-rounding
 * MultiplyByQuantizedMultiplier and gemmlowp's fixed-point helpers): an output that differs by one
 * LSB from the reference interpreter is a bug here, not noise. */
#ifndef TINYC_QUANT_H
#define TINYC_QUANT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TINYC_INLINE static inline __attribute__((always_inline))
#else
#define TINYC_INLINE static inline
#endif

TINYC_INLINE int32_t tinyc_min32(int32_t a, int32_t b) { return a < b ? a : b; }
TINYC_INLINE int32_t tinyc_max32(int32_t a, int32_t b) { return a > b ? a : b; }
TINYC_INLINE int32_t tinyc_clamp32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* gemmlowp's SaturatingRoundingDoublingHighMul: (a * b + nudge) / 2^31 truncated toward zero, nudge 2^30 for
 * a * b >= 0 and 1 - 2^30 below, saturating the one overflow case. Both branches equal floor((a * b + 2^30) /
 * 2^31) (for a * b < 0, truncating N = a * b + 1 - 2^30 < 0 toward zero is floor((N + 2^31 - 1) / 2^31)), so it
 * is one multiply, one add and one arithmetic shift (gcc shifts signed values arithmetically). */
TINYC_INLINE int32_t tinyc_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31]. */
TINYC_INLINE int32_t tinyc_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier: x * m * 2^shift, m a Q0.31 multiplier in [2^30, 2^31). */
TINYC_INLINE int32_t tinyc_requant(int32_t x, int32_t m, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    /* The left shift wraps like TFLite's int32 multiply; done in unsigned so it is defined C. */
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return tinyc_rdbpot(tinyc_srdhm(shifted, m), right);
}

/* Saturating x * 2^exponent (exponent > 0), gemmlowp's SaturatingRoundingMultiplyByPOT for positive powers. */
TINYC_INLINE int32_t tinyc_sat_lshift(int32_t x, int exponent)
{
    const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* gemmlowp fixed-point helpers used by SOFTMAX and LOGISTIC (defined in quant.c). */
int32_t tinyc_fx_exp_on_negative_values(int32_t a, int integer_bits);
int32_t tinyc_fx_one_over_one_plus_x(int32_t a);
int tinyc_clz32(uint32_t x);

/* 1/sqrt(x) as a multiplier and a left shift (RSQRT, L2_NORMALIZATION; defined in quant.c). */
void tinyc_inv_sqrt(int32_t x, int32_t *multiplier, int32_t *shift);

/* Round half away from zero (std::round) for a float, without libm. */
float tinyc_roundf(float x);

#ifdef __cplusplus
}
#endif

#endif /* TINYC_QUANT_H */
