/* HARD_SWISH, int8: x * relu6(x + 3) / 6 in TFLite Micro's int16 fixed point. The input, shifted left 7 bits,
 * is rescaled to the output scale (not yet shifted) and to a "relu-ish" value in [-1, 1] (3/32768 scale,
 * saturating), which becomes a [0, 1] factor; their truncating doubling product, shifted to the output, is
 * the result. Every rounding step is TFLite's reference HardSwish. */
#include "tinyc_ops.h"

/* gemmlowp SaturatingRoundingDoublingHighMul on int16. */
static int16_t srdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* The same without rounding (truncating toward zero, like SQDMULH). */
static int16_t sdhm16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

static int16_t sat_lshift16(int16_t v, int amount)
{
    return (int16_t)tinyc_clamp32((int32_t)v * (1 << amount), INT16_MIN, INT16_MAX);
}

static int16_t rdbpot16(int16_t x, int exponent)
{
    const int16_t mask = (int16_t)((1 << exponent) - 1);
    const int16_t remainder = (int16_t)(x & mask);
    const int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

void tinyc_ref_hard_swish_s8(const tinyc_hard_swish_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int16_t in = (int16_t)(input[i] - p->in_zero_point);
        const int16_t hires = (int16_t)(in * (1 << 7));
        const int16_t preshift = srdhm16(hires, (int16_t)p->output_multiplier);
        int16_t reluish = hires;
        if (p->reluish_exponent > 0) reluish = sat_lshift16(reluish, p->reluish_exponent - 1);
        reluish = srdhm16(reluish, (int16_t)p->reluish_multiplier);
        if (p->reluish_exponent > 0) reluish = sat_lshift16(reluish, 1);
        if (p->reluish_exponent < 0) reluish = rdbpot16(reluish, -p->reluish_exponent);
        reluish = (int16_t)((reluish + (1 << 15)) >> 1);
        const int16_t pre = sdhm16(reluish, preshift);
        const int16_t out = (int16_t)(rdbpot16(pre, -p->output_exponent) + p->out_zero_point);
        output[i] = (int8_t)tinyc_clamp32(out, -128, 127);
    }
}
