/* DEPTHWISE_CONV_2D, int8 with per-channel weights: TFLite's reference integer depthwise convolution. */
#include "tinyc_rt.h"

void tinyc_ref_depthwise_conv2d_s8(const tinyc_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                   const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                                   int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                for (int32_t ic = 0; ic < p->in_c; ++ic) {
                    for (int32_t m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t oc = ic * p->depth_multiplier + m;
                        int32_t acc = 0;
                        for (int32_t ky = 0; ky < p->k_h; ++ky) {
                            const int32_t iy = in_y0 + p->dil_h * ky;
                            if (iy < 0 || iy >= p->in_h) continue;
                            for (int32_t kx = 0; kx < p->k_w; ++kx) {
                                const int32_t ix = in_x0 + p->dil_w * kx;
                                if (ix < 0 || ix >= p->in_w) continue;
                                const int32_t v = input[(((size_t)b * p->in_h + iy) * p->in_w + ix) * p->in_c + ic];
                                const int32_t w = filter[((size_t)ky * p->k_w + kx) * p->out_c + oc];
                                acc += (v + p->in_offset) * w;
                            }
                        }
                        if (bias) acc += bias[oc];
                        acc = tinyc_requant(acc, multiplier[oc], shift[oc]) + p->out_offset;
                        output[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                            (int8_t)tinyc_clamp32(acc, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}
