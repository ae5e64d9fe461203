/* Elementwise requantization: standalone RELU (TFLite's ReluQuantized: rescale then clamp),
 * int8 -> int8 QUANTIZE, and any op that only changes scale. */
#include "tinyc_rt.h"

void tinyc_ref_requant_s8(const tinyc_requant_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = tinyc_requant((int32_t)input[i] + p->in_offset, p->multiplier, p->shift) + p->out_offset;
        output[i] = (int8_t)tinyc_clamp32(v, p->act_min, p->act_max);
    }
}
