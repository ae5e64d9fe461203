/* GATHER, int8: for each row of the outer axes, the slices (inner bytes each) named by the constant indices, in
 * their order (indices checked against axis_size at generation time). */
#include <string.h>

#include "tinyc_ops.h"

void tinyc_ref_gather_s8(const tinyc_gather_params_t *p, const int8_t *input, const int32_t *indices,
                         int8_t *output)
{
    const size_t inner = (size_t)p->inner;
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *row = input + (size_t)o * (size_t)p->axis_size * inner;
        for (int32_t k = 0; k < p->count; ++k) {
            memcpy(output, row + (size_t)indices[k] * inner, inner);
            output += inner;
        }
    }
}
