/* L2_NORMALIZATION, int8 (output scale 1/128, zero point 0): per row of the last axis, the sum of squares of
 * x - zp, TFLite's fixed-point inverse square root of it (Newton-Raphson in Q3.28), and each x - zp requantized
 * by it, as TFLite Micro's reference L2Normalization. */
#include "tinyc_ops.h"

/* GetInvSqrtQuantizedMultiplierExp with reverse_shift -1: 1/sqrt(x) as a multiplier and a (left) shift. */
static void inv_sqrt(int32_t x, int32_t *multiplier, int32_t *shift)
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

void tinyc_ref_l2_normalization_s8(const tinyc_l2_normalization_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *x = input + o * p->depth;
        int32_t acc = 0;
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t v = (int32_t)x[i] - p->in_zero_point;
            acc += v * v;
        }
        int32_t m, s;
        inv_sqrt(acc, &m, &s);
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t v = (int32_t)x[i] - p->in_zero_point;
            output[o * p->depth + i] = (int8_t)tinyc_clamp32(tinyc_requant(v, m, s + 7), -128, 127);
        }
    }
}
