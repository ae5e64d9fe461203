/* PRELU, int8: x - zp rescaled by in/out scale where x >= zp, else (x - zp) * (alpha - alpha zp) rescaled by
 * in * alpha / out scale, alpha broadcast against the input (TFLite Micro's BroadcastPrelu4DSlow). */
#include "tinyc_ops.h"
#include "broadcast.h"

static inline int8_t prelu_one(const tinyc_prelu_params_t *p, int32_t x, int32_t alpha)
{
    const int32_t in = x + p->input_offset;
    const int32_t v = in >= 0 ? tinyc_requant(in, p->multiplier_1, p->shift_1)
                              : tinyc_requant(in * (alpha + p->alpha_offset), p->multiplier_2, p->shift_2);
    return (int8_t)tinyc_clamp32(v + p->output_offset, -128, 127);
}

void tinyc_ref_prelu_s8(const tinyc_prelu_params_t *p, const int8_t *input, const int8_t *alpha, int8_t *output)
{
    if (p->flat) {
        for (int32_t i = 0; i < p->size; ++i) output[i] = prelu_one(p, input[i], alpha[i]);
        return;
    }
    TINYC_FOR_EACH_BROADCAST(p, i1, i2, o, output[o] = prelu_one(p, input[i1], alpha[i2]));
}
