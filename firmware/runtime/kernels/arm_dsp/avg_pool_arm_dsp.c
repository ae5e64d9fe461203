/* AVERAGE_POOL_2D, int8, Arm DSP extension: four channels per 32-bit load, summed in int16 lanes by
 * SXTAB16 (a window of at most 256 values cannot overflow a lane: the generator hands over no larger
 * one), then TFLite's rounded division; the last C % 4 channels one at a time. Bit-identical to
 * tinyc_ref_avg_pool_s8. */
#include "tinyc_rt.h"
#include "tinyc_rt_arm_dsp.h"

static inline int8_t average(int32_t acc, int32_t count, int32_t lo, int32_t hi)
{
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
    return (int8_t)tinyc_clamp32(acc, lo, hi);
}

void tinyc_arm_dsp_avg_pool_s8(const tinyc_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t C = p->channels, C4 = C & ~3;
    if (p->k_h * p->k_w > 256) { /* int16 lanes would overflow (the generator never asks) */
        tinyc_ref_avg_pool_s8(p, input, output);
        return;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy0 = tinyc_max32(0, -y0), fy1 = tinyc_min32(p->k_h, p->in_h - y0);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t fx0 = tinyc_max32(0, -x0), fx1 = tinyc_min32(p->k_w, p->in_w - x0);
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                if (fy1 <= fy0 || fx1 <= fx0) return; /* TFLite rejects this shape, as the reference */
                int8_t *o = output + (((size_t)b * p->out_h + oy) * p->out_w + ox) * C;
                int32_t c = 0;
                for (; c < C4; c += 4) {
                    int32_t s02 = 0, s13 = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int8_t *x = in_b + ((size_t)(y0 + fy) * p->in_w + (size_t)(x0 + fx0)) * C + c;
                        for (int32_t fx = fx0; fx < fx1; ++fx, x += C) {
                            const uint32_t w = tinyc_ld32(x);
                            s02 = tinyc_sxtab16(s02, w);
                            s13 = tinyc_sxtab16_ror8(s13, w);
                        }
                    }
                    o[c] = average((int16_t)(uint16_t)((uint32_t)s02 & 0xFFFFu), count, p->act_min, p->act_max);
                    o[c + 1] = average((int16_t)(uint16_t)((uint32_t)s13 & 0xFFFFu), count, p->act_min, p->act_max);
                    o[c + 2] = average((int16_t)(uint16_t)((uint32_t)s02 >> 16), count, p->act_min, p->act_max);
                    o[c + 3] = average((int16_t)(uint16_t)((uint32_t)s13 >> 16), count, p->act_min, p->act_max);
                }
                for (; c < C; ++c) {
                    int32_t sum = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int8_t *x = in_b + ((size_t)(y0 + fy) * p->in_w + (size_t)(x0 + fx0)) * C + c;
                        for (int32_t fx = fx0; fx < fx1; ++fx, x += C) sum += *x;
                    }
                    o[c] = average(sum, count, p->act_min, p->act_max);
                }
            }
        }
    }
}
