/* SPLIT, SPLIT_V, UNPACK, int8: one call writes every output. Each row of the outer axes of the input is the
 * outputs' rows one after another (sizes[i] bytes for output i), the inverse of CONCATENATION. The template
 * declares pointer tables const; the outputs are arena tensors, so writing through them is allowed. */
#include <string.h>

#include "tinyc_ops.h"

void tinyc_ref_split_s8(const tinyc_split_params_t *p, const int8_t *input, const int32_t *sizes,
                        const int8_t *const *outputs)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t i = 0; i < p->num_outputs; ++i) {
            memcpy((int8_t *)outputs[i] + (size_t)o * (size_t)sizes[i], input, (size_t)sizes[i]);
            input += sizes[i];
        }
    }
}
