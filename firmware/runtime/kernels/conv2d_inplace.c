/* CONV_2D in place: the output overwrites the input tensor `io` (batch 1), bit-identical to conv2d.c.
 *
 * tinyc_ref_conv2d_inplace_s8: any kernel size, stride, padding, dilation and groups; the input rows
 * still needed are kept in a ring of ring_rows rows (inplace_rows.h), `ring` holding
 * ring_rows * in_w * in_c bytes.
 * tinyc_ref_conv2d_pointwise_inplace_s8: 1x1, stride 1, no padding; `pixel` holds one input pixel
 * (in_c bytes). Pixels run first to last when out_c <= in_c (an output pixel then only overwrites
 * input pixels already read), last to first otherwise. */
#include <string.h>

#include "inplace_rows.h"
#include "tinyc_rt.h"

static inline int8_t requant_out(const tinyc_conv_params_t *p, int32_t acc, const int32_t *bias,
                                 const int32_t *multiplier, const int32_t *shift, int32_t oc)
{
    if (bias) acc += bias[oc];
    acc = tinyc_requant(acc, multiplier[oc], shift[oc]) + p->out_offset;
    return (int8_t)tinyc_clamp32(acc, p->act_min, p->act_max);
}

void tinyc_ref_conv2d_inplace_s8(const tinyc_conv_params_t *p, int32_t ring_rows, int8_t *io, const int8_t *filter,
                                 const int32_t *bias, const int32_t *multiplier, const int32_t *shift, int8_t *ring)
{
    const int32_t groups = p->in_c / p->filter_in_c;
    const int32_t filters_per_group = p->out_c / groups;
    tinyc_ring_t r = tinyc_ring_init(io, ring, ring_rows, (size_t)p->in_w * p->in_c, (size_t)p->out_w * p->out_c,
                                     p->in_h, p->out_h, p->pad_h, p->stride_h);
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t in_y0 = oy * p->stride_h - p->pad_h;
        int8_t *out = io + (size_t)oy * r.out_row;
        tinyc_ring_advance(&r, oy);
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t in_x0 = ox * p->stride_w - p->pad_w;
            for (int32_t oc = 0; oc < p->out_c; ++oc) {
                const int32_t group = oc / filters_per_group;
                const int8_t *f = filter + (size_t)oc * p->k_h * p->k_w * p->filter_in_c;
                int32_t acc = 0;
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = in_y0 + p->dil_h * ky;
                    if (iy < 0 || iy >= p->in_h) continue;
                    const int8_t *row = tinyc_ring_row(&r, iy);
                    for (int32_t kx = 0; kx < p->k_w; ++kx) {
                        const int32_t ix = in_x0 + p->dil_w * kx;
                        if (ix < 0 || ix >= p->in_w) continue;
                        const int8_t *in = row + (size_t)ix * p->in_c + (size_t)group * p->filter_in_c;
                        const int8_t *fk = f + ((size_t)ky * p->k_w + kx) * p->filter_in_c;
                        for (int32_t ic = 0; ic < p->filter_in_c; ++ic) {
                            acc += ((int32_t)in[ic] + p->in_offset) * (int32_t)fk[ic];
                        }
                    }
                }
                out[(size_t)ox * p->out_c + oc] = requant_out(p, acc, bias, multiplier, shift, oc);
            }
        }
    }
}

void tinyc_ref_conv2d_pointwise_inplace_s8(const tinyc_conv_params_t *p, int8_t *io, const int8_t *filter,
                                           const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                                           int8_t *pixel)
{
    const int32_t groups = p->in_c / p->filter_in_c;
    const int32_t filters_per_group = p->out_c / groups;
    const int32_t n = p->in_h * p->in_w;
    const int backward = p->out_c > p->in_c;
    for (int32_t k = 0; k < n; ++k) {
        const int32_t px = backward ? n - 1 - k : k;
        int8_t *out = io + (size_t)px * p->out_c;
        memcpy(pixel, io + (size_t)px * p->in_c, (size_t)p->in_c);
        for (int32_t oc = 0; oc < p->out_c; ++oc) {
            const int8_t *in = pixel + (size_t)(oc / filters_per_group) * p->filter_in_c;
            const int8_t *f = filter + (size_t)oc * p->filter_in_c;
            int32_t acc = 0;
            for (int32_t ic = 0; ic < p->filter_in_c; ++ic) {
                acc += ((int32_t)in[ic] + p->in_offset) * (int32_t)f[ic];
            }
            out[oc] = requant_out(p, acc, bias, multiplier, shift, oc);
        }
    }
}
