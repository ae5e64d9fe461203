/* RSQRT, int8: 1/sqrt(x - zp) by TFLite's fixed-point inverse square root (Newton-Raphson in Q3.28), then two
 * requantizations to the output, as TFLite Micro's elementwise Rsqrt. TFLite Micro refuses inputs below the zero
 * point (it stops the inference); this kernel writes 127 for them, as for x == zp. */
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

void tinyc_ref_rsqrt_s8(const tinyc_rsqrt_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = (int32_t)input[i] - p->in_zero_point;
        if (v <= 0) {
            output[i] = 127;
            continue;
        }
        int32_t m, s;
        inv_sqrt(v, &m, &s);
        const int32_t data = tinyc_requant(1, m, s + 20);
        const int32_t out = tinyc_requant(data, p->multiplier, p->shift - 20) + p->out_zero_point;
        output[i] = (int8_t)tinyc_clamp32(out, -128, 127);
    }
}
