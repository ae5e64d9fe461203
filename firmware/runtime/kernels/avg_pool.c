/* AVERAGE_POOL_2D, int8: the window is clipped to the input and divided by its valid size, rounding
 * half away from zero, as TFLite's reference integer average pool. */
#include "tinyc_rt.h"

void tinyc_ref_avg_pool_s8(const tinyc_pool_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy0 = tinyc_max32(0, -y0), fy1 = tinyc_min32(p->k_h, p->in_h - y0);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t fx0 = tinyc_max32(0, -x0), fx1 = tinyc_min32(p->k_w, p->in_w - x0);
                for (int32_t c = 0; c < p->channels; ++c) {
                    int32_t acc = 0, count = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            acc += input[(((size_t)b * p->in_h + y0 + fy) * p->in_w + x0 + fx) * p->channels + c];
                            count++;
                        }
                    }
                    if (count == 0) return; /* TFLite rejects this shape; never produced by a valid model */
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    output[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->channels + c] =
                        (int8_t)tinyc_clamp32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
