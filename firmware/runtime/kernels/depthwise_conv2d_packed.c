/* DEPTHWISE_CONV_2D with packed weights (blob channels along the output channel axis, each in
 * (k_y, k_x) order): one channel's k_h*k_w weights are decoded into `scratch` at a time. */
#include "tinyc_unpack.h"

void tinyc_ref_depthwise_conv2d_packed_s8(const tinyc_dwconv_params_t *p, const int8_t *input,
                                          const uint8_t *filter, const int32_t *bias, const int32_t *multiplier,
                                          const int32_t *shift, int8_t *output, int8_t *scratch)
{
    tinyc_unpacker_t u;
    tinyc_unpack_init(&u, filter);
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        tinyc_unpack_next(&u, scratch, (uint32_t)(p->k_h * p->k_w));
        const int32_t ic = oc / p->depth_multiplier;
        for (int32_t b = 0; b < p->batches; ++b) {
            for (int32_t oy = 0; oy < p->out_h; ++oy) {
                const int32_t in_y0 = oy * p->stride_h - p->pad_h;
                for (int32_t ox = 0; ox < p->out_w; ++ox) {
                    const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = in_y0 + p->dil_h * ky;
                        if (iy < 0 || iy >= p->in_h) continue;
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = in_x0 + p->dil_w * kx;
                            if (ix < 0 || ix >= p->in_w) continue;
                            const int32_t v = input[(((size_t)b * p->in_h + iy) * p->in_w + ix) * p->in_c + ic];
                            acc += (v + p->in_offset) * (int32_t)scratch[ky * p->k_w + kx];
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
