/* L2_NORMALIZATION, int8 (output scale 1/128, zero point 0): per row of the last axis, the sum of squares of
 * x - zp, TFLite's fixed-point inverse square root of it (Newton-Raphson in Q3.28), and each x - zp requantized
 * by it, as TFLite Micro's reference L2Normalization. */
#include "tinyc_ops.h"

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
        tinyc_inv_sqrt(acc, &m, &s);
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t v = (int32_t)x[i] - p->in_zero_point;
            output[o * p->depth + i] = (int8_t)tinyc_clamp32(tinyc_requant(v, m, s + 7), -128, 127);
        }
    }
}
