/* MUL, int8: product of the zero-point-corrected inputs, requantized by in1*in2/out scale. */
#include "broadcast.h"

static inline int8_t mul_one(const tinyc_binary_params_t *p, int32_t a, int32_t b)
{
    const int32_t prod = (a + p->in1_offset) * (b + p->in2_offset);
    const int32_t out = tinyc_requant(prod, p->out_multiplier, p->out_shift) + p->out_offset;
    return (int8_t)tinyc_clamp32(out, p->act_min, p->act_max);
}

void tinyc_ref_mul_s8(const tinyc_binary_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    if (p->flat) {
        for (int32_t i = 0; i < p->size; ++i) output[i] = mul_one(p, in1[i], in2[i]);
        return;
    }
    TINYC_FOR_EACH_BROADCAST(p, i1, i2, o, output[o] = mul_one(p, in1[i1], in2[i2]));
}
