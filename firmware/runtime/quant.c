/* gemmlowp-style fixed-point transcendental helpers, matching TFLite Micro's int8 SOFTMAX/LOGISTIC. */
#include "tinyc_quant.h"

int tinyc_clz32(uint32_t x)
{
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
}

float tinyc_roundf(float x)
{
    if (!(x > -2147483520.0f && x < 2147483520.0f)) return x; /* huge (already integral) or NaN */
    const float t = (float)(int32_t)x;
    const float frac = x - t;
    if (frac >= 0.5f) return t + 1.0f;
    if (frac <= -0.5f) return t - 1.0f;
    return t;
}

/* exp(x) for x in [-1/4, 0), a in Q0.31: Taylor expansion around -1/8. */
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t constant_term = 1895147668;     /* exp(-1/8) in Q0.31 */
    const int32_t constant_1_over_3 = 715827883;  /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);              /* a + 1/8 */
    const int32_t x2 = tinyc_srdhm(x, x);
    const int32_t x3 = tinyc_srdhm(x2, x);
    const int32_t x4 = tinyc_srdhm(x2, x2);
    const int32_t x4_over_4 = tinyc_rdbpot(x4, 2);
    const int32_t poly = tinyc_rdbpot(tinyc_srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
    return constant_term + tinyc_srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0, a with `integer_bits` integer bits; result in Q0.31. */
int32_t tinyc_fx_exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t multipliers[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1)   */
        290630308,  /* exp(-2)   */
        39332535,   /* exp(-4)   */
        720401,     /* exp(-8)   */
        242,        /* exp(-16)  */
    };
    const int fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
    /* Rescale from integer_bits to 0 integer bits: saturating left shift. */
    int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        tinyc_sat_lshift(a_mod_quarter_minus_one_quarter, integer_bits));
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    for (int e = -2; e <= 4; ++e) {
        if (integer_bits > e) {
            const int shift_amount = fractional_bits + e;
            if (remainder & ((int32_t)1 << shift_amount)) result = tinyc_srdhm(result, multipliers[e + 2]);
        }
    }
    if (integer_bits > 5) {
        const int32_t clamp = -((int32_t)1 << (36 - integer_bits));
        if (a < clamp) result = 0;
    }
    if (a == 0) result = INT32_MAX;
    return result;
}

/* 1 / (1 + a) for a in [0, 1) as Q0.31, by Newton-Raphson in Q2.29. */
int32_t tinyc_fx_one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t constant_48_over_17 = 1515870810;    /* Q2.29 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
    int32_t x = constant_48_over_17 + tinyc_srdhm(half_denominator, constant_neg_32_over_17);
    for (int i = 0; i < 3; i++) {
        const int32_t half_denominator_times_x = tinyc_srdhm(half_denominator, x);          /* Q2.29 */
        const int32_t one_minus = ((int32_t)1 << 29) - half_denominator_times_x;            /* Q2.29 */
        x = x + tinyc_sat_lshift(tinyc_srdhm(x, one_minus), 2);                             /* Q4.27 -> Q2.29 */
    }
    /* x / 2 reinterpreted as Q1.30, then rescaled to Q0.31. */
    return tinyc_sat_lshift(x, 1);
}

/* 1/sqrt(x) as a multiplier and a (left) shift, TFLite's GetInvSqrtQuantizedMultiplierExp with reverse_shift -1
 * (RSQRT, L2_NORMALIZATION). */
void tinyc_inv_sqrt(int32_t x, int32_t *multiplier, int32_t *shift)
{
    if (x <= 1) {
        *multiplier = INT32_MAX;
        *shift = 0;
        return;
    }
    int32_t s = 11;
    while (x >= (1 << 29)) {
        x /= 4;
        ++s;
    }
    const int pairs = (tinyc_clz32((uint32_t)x) - 1) / 2 - 1;
    s -= pairs;
    x <<= 2 * pairs;
    const int32_t half_input = tinyc_rdbpot(x >> 1, 1); /* Q3.28 */
    const int32_t half_three = (1 << 28) + (1 << 27);
    int32_t r = 1 << 28; /* 1 in Q3.28 */
    for (int i = 0; i < 5; ++i) {
        const int32_t r3 = tinyc_sat_lshift(tinyc_srdhm(tinyc_srdhm(r, r), r), 6);
        r = tinyc_sat_lshift(tinyc_srdhm(half_three, r) - tinyc_srdhm(half_input, r3), 3);
    }
    r = tinyc_srdhm(r, 1518500250); /* x sqrt(2)/2 */
    if (s < 0) {
        r = (int32_t)((uint32_t)r << -s);
        s = 0;
    }
    *multiplier = r;
    *shift = -s;
}
