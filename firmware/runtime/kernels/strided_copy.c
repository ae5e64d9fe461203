/* Data movement, int8 (STRIDED_SLICE, SLICE, TRANSPOSE, DEPTH_TO_SPACE, SPACE_TO_DEPTH): the output is written
 * in order while the input is read at input + start + sum(i_k * strides[k]) over six nested loops of dims[k]
 * (generation time merges axes that continue each other and pads in front with loops of 1). No arithmetic on
 * the values: bit-identical to TFLite Micro by construction. */
#include <string.h>

#include "tinyc_ops.h"

void tinyc_ref_strided_copy_s8(const tinyc_strided_copy_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t *d = p->dims, *s = p->strides;
    const int8_t *p0 = input + p->start;
    for (int32_t i0 = 0; i0 < d[0]; ++i0, p0 += s[0]) {
        const int8_t *p1 = p0;
        for (int32_t i1 = 0; i1 < d[1]; ++i1, p1 += s[1]) {
            const int8_t *p2 = p1;
            for (int32_t i2 = 0; i2 < d[2]; ++i2, p2 += s[2]) {
                const int8_t *p3 = p2;
                for (int32_t i3 = 0; i3 < d[3]; ++i3, p3 += s[3]) {
                    const int8_t *p4 = p3;
                    for (int32_t i4 = 0; i4 < d[4]; ++i4, p4 += s[4]) {
                        if (s[5] == 1) { /* a contiguous run of the input */
                            memcpy(output, p4, (size_t)d[5]);
                            output += d[5];
                        } else {
                            const int8_t *p5 = p4;
                            for (int32_t i5 = 0; i5 < d[5]; ++i5, p5 += s[5]) *output++ = *p5;
                        }
                    }
                }
            }
        }
    }
}
