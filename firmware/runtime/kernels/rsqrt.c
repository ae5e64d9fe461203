/* RSQRT, int8: 1/sqrt(x - zp) by TFLite's fixed-point inverse square root (Newton-Raphson in Q3.28), then two
 * requantizations to the output, as TFLite Micro's elementwise Rsqrt. TFLite Micro refuses inputs below the zero
 * point (it stops the inference); this kernel writes 127 for them, as for x == zp. */
#include "tinyc_ops.h"

void tinyc_ref_rsqrt_s8(const tinyc_rsqrt_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = (int32_t)input[i] - p->in_zero_point;
        if (v <= 0) {
            output[i] = 127;
            continue;
        }
        int32_t m, s;
        tinyc_inv_sqrt(v, &m, &s);
        const int32_t data = tinyc_requant(1, m, s + 20);
        const int32_t out = tinyc_requant(data, p->multiplier, p->shift - 20) + p->out_zero_point;
        output[i] = (int8_t)tinyc_clamp32(out, -128, 127);
    }
}
