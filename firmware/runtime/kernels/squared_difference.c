/* SQUARED_DIFFERENCE, int8: both inputs brought to a common scale with 7 bits of headroom, subtracted, squared
 * (fits 31 bits: 255^2 * 2^14) and requantized, with broadcasting, as TFLite Micro's squared_difference. */
#include "tinyc_ops.h"
#include "broadcast.h"

static inline int8_t sqdiff_one(const tinyc_squared_difference_params_t *p, int32_t a, int32_t b)
{
    const int32_t x1 = (a + p->in1_offset) * (1 << p->left_shift);
    const int32_t x2 = (b + p->in2_offset) * (1 << p->left_shift);
    const int32_t d = tinyc_requant(x1, p->in1_multiplier, p->in1_shift) - tinyc_requant(x2, p->in2_multiplier, p->in2_shift);
    const int32_t out = tinyc_requant(d * d, p->out_multiplier, p->out_shift) + p->out_offset;
    return (int8_t)tinyc_clamp32(out, -128, 127);
}

void tinyc_ref_squared_difference_s8(const tinyc_squared_difference_params_t *p, const int8_t *in1, const int8_t *in2,
                                     int8_t *output)
{
    if (p->flat) {
        for (int32_t i = 0; i < p->size; ++i) output[i] = sqdiff_one(p, in1[i], in2[i]);
        return;
    }
    TINYC_FOR_EACH_BROADCAST(p, i1, i2, o, output[o] = sqdiff_one(p, in1[i1], in2[i2]));
}
