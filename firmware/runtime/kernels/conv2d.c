/* CONV_2D, int8 with per-channel weights: TFLite's reference integer convolution. */
#include "tinyc_conv_window.h"
#include "tinyc_rt.h"

void tinyc_ref_conv2d_s8(const tinyc_conv_params_t *p, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, const int32_t *multiplier, const int32_t *shift, int8_t *output)
{
    const int32_t groups = p->in_c / p->filter_in_c;
    const int32_t filters_per_group = p->out_c / groups;
    const tinyc_conv_window_t g = TINYC_CONV_WINDOW(p);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image = input + (size_t)b * p->in_h * p->in_w * p->in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t group = oc / filters_per_group;
                    const int8_t *f = filter + (size_t)oc * p->k_h * p->k_w * p->filter_in_c;
                    int32_t acc = tinyc_conv_window_s8(&g, image + (size_t)group * p->filter_in_c, oy, ox, f,
                                                       p->filter_in_c, p->filter_in_c);
                    if (bias) acc += bias[oc];
                    acc = tinyc_requant(acc, multiplier[oc], shift[oc]) + p->out_offset;
                    output[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                        (int8_t)tinyc_clamp32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
