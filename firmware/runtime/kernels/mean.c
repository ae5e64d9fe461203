/* MEAN, int8, up to 4 dims: sum over the reduced dims, subtract the input zero point, and requantize
 * by in_scale / (out_scale * count), the count folded into the multiplier at generation time as
 * TFLite's QuantizedMeanOrSum does. */
#include "tinyc_rt.h"

void tinyc_ref_mean_s8(const tinyc_mean_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t *d = p->in_dims;
    int32_t od[4], strides[4];
    for (int k = 0; k < 4; ++k) od[k] = p->reduce[k] ? 1 : d[k];
    strides[3] = 1;
    strides[2] = d[3];
    strides[1] = d[3] * d[2];
    strides[0] = d[3] * d[2] * d[1];
    int32_t out_index = 0;
    for (int32_t a = 0; a < od[0]; ++a)
        for (int32_t b = 0; b < od[1]; ++b)
            for (int32_t c = 0; c < od[2]; ++c)
                for (int32_t e = 0; e < od[3]; ++e) {
                    int32_t sum = 0;
                    const int32_t r0 = p->reduce[0] ? d[0] : 1, r1 = p->reduce[1] ? d[1] : 1;
                    const int32_t r2 = p->reduce[2] ? d[2] : 1, r3 = p->reduce[3] ? d[3] : 1;
                    for (int32_t i0 = 0; i0 < r0; ++i0)
                        for (int32_t i1 = 0; i1 < r1; ++i1)
                            for (int32_t i2 = 0; i2 < r2; ++i2)
                                for (int32_t i3 = 0; i3 < r3; ++i3)
                                    sum += input[(a + i0) * strides[0] + (b + i1) * strides[1]
                                                 + (c + i2) * strides[2] + (e + i3) * strides[3]];
                    const int32_t shifted = sum - p->in_zero_point * p->num_reduced;
                    const int32_t out = tinyc_requant(shifted, p->multiplier, p->shift) + p->out_zero_point;
                    output[out_index++] = (int8_t)tinyc_clamp32(out, -128, 127);
                }
}
