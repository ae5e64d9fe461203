/* PAD / PADV2, int8, up to 4 dims: the padding holds pad_value (the output zero point, or the
 * constant operand of PADV2). */
#include <string.h>

#include "tinyc_rt.h"

void tinyc_ref_pad_s8(const tinyc_pad_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t *d = p->dims;
    const int32_t o1 = p->before[1] + d[1] + p->after[1];
    const int32_t o2 = p->before[2] + d[2] + p->after[2];
    const int32_t o3 = p->before[3] + d[3] + p->after[3];
    const int32_t o0 = p->before[0] + d[0] + p->after[0];
    memset(output, (int8_t)p->pad_value, (size_t)o0 * o1 * o2 * o3);
    for (int32_t a = 0; a < d[0]; ++a) {
        for (int32_t b = 0; b < d[1]; ++b) {
            for (int32_t c = 0; c < d[2]; ++c) {
                const int8_t *src = input + (((size_t)a * d[1] + b) * d[2] + c) * d[3];
                int8_t *dst = output + ((((size_t)(a + p->before[0]) * o1 + b + p->before[1]) * o2 + c + p->before[2])
                                        * o3 + p->before[3]);
                memcpy(dst, src, (size_t)d[3]);
            }
        }
    }
}
