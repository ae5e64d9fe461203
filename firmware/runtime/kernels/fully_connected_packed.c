/* FULLY_CONNECTED with packed weights: one row (output unit) decoded into `scratch` at a time. A
 * per-tensor quantized blob is a single channel holding every row; the decoder streams across it. */
#include "tinyc_unpack.h"

void tinyc_ref_fully_connected_packed_s8(const tinyc_fc_params_t *p, const int8_t *input, const uint8_t *filter,
                                         const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                                         int8_t *output, int8_t *scratch)
{
    tinyc_unpacker_t u;
    tinyc_unpack_init(&u, filter);
    for (int32_t oc = 0; oc < p->out_depth; ++oc) {
        tinyc_unpack_next(&u, scratch, (uint32_t)p->accum_depth);
        const int32_t c = p->per_channel ? oc : 0;
        for (int32_t b = 0; b < p->batches; ++b) {
            const int8_t *in = input + (size_t)b * p->accum_depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < p->accum_depth; ++d) {
                acc += ((int32_t)scratch[d] + p->filter_offset) * ((int32_t)in[d] + p->in_offset);
            }
            if (bias) acc += bias[oc];
            acc = tinyc_requant(acc, multiplier[c], shift[c]) + p->out_offset;
            output[(size_t)b * p->out_depth + oc] = (int8_t)tinyc_clamp32(acc, p->act_min, p->act_max);
        }
    }
}
