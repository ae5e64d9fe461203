/* CONCATENATION, int8: inputs share the output's quantization (TFLite Micro requires it), so this
 * interleaves copies along the axis. in_strides[i] = input i's axis size * inner size. */
#include <string.h>

#include "tinyc_rt.h"

void tinyc_ref_concat_s8(const tinyc_concat_params_t *p, const int8_t *const *inputs, const int32_t *in_strides,
                         int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        int8_t *dst = output + (size_t)o * p->out_stride;
        for (int32_t i = 0; i < p->num_inputs; ++i) {
            memcpy(dst, inputs[i] + (size_t)o * in_strides[i], (size_t)in_strides[i]);
            dst += in_strides[i];
        }
    }
}
