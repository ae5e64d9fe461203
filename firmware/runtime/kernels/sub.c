/* SUB, int8: both inputs brought to a common scale with 20 bits of headroom, subtracted and requantized, with
 * broadcasting: TFLite Micro's reference integer SUB (ADD's arithmetic with the second input negated after
 * its rounding, not before). */
#include "tinyc_ops.h"
#include "broadcast.h"

static inline int8_t sub_one(const tinyc_sub_params_t *p, int32_t a, int32_t b)
{
    const int32_t x1 = (int32_t)((uint32_t)(a + p->in1_offset) << p->left_shift);
    const int32_t x2 = (int32_t)((uint32_t)(b + p->in2_offset) << p->left_shift);
    const int32_t s1 = tinyc_requant(x1, p->in1_multiplier, p->in1_shift);
    const int32_t s2 = tinyc_requant(x2, p->in2_multiplier, p->in2_shift);
    const int32_t out = tinyc_requant(s1 - s2, p->out_multiplier, p->out_shift) + p->out_offset;
    return (int8_t)tinyc_clamp32(out, p->act_min, p->act_max);
}

void tinyc_ref_sub_s8(const tinyc_sub_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    if (p->flat) {
        for (int32_t i = 0; i < p->size; ++i) output[i] = sub_one(p, in1[i], in2[i]);
        return;
    }
    TINYC_FOR_EACH_BROADCAST(p, i1, i2, o, output[o] = sub_one(p, in1[i1], in2[i2]));
}
