/* REDUCE_MAX, int8, up to 4 dims: the largest raw value over the reduced dims (input and output share one
 * quantization), in the output's row-major order, as TFLite Micro's ReduceGeneric with max. */
#include "tinyc_ops.h"

void tinyc_ref_reduce_max_s8(const tinyc_reduce_max_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t *d = p->in_dims;
    int32_t od[4], r[4], st[4];
    for (int k = 0; k < 4; ++k) {
        od[k] = p->reduce[k] ? 1 : d[k];
        r[k] = p->reduce[k] ? d[k] : 1;
    }
    st[3] = 1;
    st[2] = d[3];
    st[1] = d[3] * d[2];
    st[0] = d[3] * d[2] * d[1];
    int32_t o = 0;
    for (int32_t a = 0; a < od[0]; ++a)
        for (int32_t b = 0; b < od[1]; ++b)
            for (int32_t c = 0; c < od[2]; ++c)
                for (int32_t e = 0; e < od[3]; ++e) {
                    int8_t m = -128;
                    for (int32_t i0 = 0; i0 < r[0]; ++i0)
                        for (int32_t i1 = 0; i1 < r[1]; ++i1)
                            for (int32_t i2 = 0; i2 < r[2]; ++i2)
                                for (int32_t i3 = 0; i3 < r[3]; ++i3) {
                                    const int8_t v = input[(a + i0) * st[0] + (b + i1) * st[1] + (c + i2) * st[2]
                                                           + (e + i3) * st[3]];
                                    if (v > m) m = v;
                                }
                    output[o++] = m;
                }
}
