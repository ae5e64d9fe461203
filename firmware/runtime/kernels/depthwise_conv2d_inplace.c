/* DEPTHWISE_CONV_2D in place: the output overwrites the input tensor `io` (batch 1), bit-identical to
 * depthwise_conv2d.c. ring_rows > 0: the rows scheme (inplace_rows.h), `scratch` holding
 * ring_rows * in_w * in_c bytes. ring_rows == 0: the plane scheme (depth multiplier 1): each input
 * channel is gathered into `scratch` (in_h * in_w bytes) before that output channel is written, which
 * overwrites only that channel's bytes. */
#include "inplace_rows.h"
#include "tinyc_rt.h"

static inline int8_t dw_out(const tinyc_dwconv_params_t *p, int32_t acc, const int32_t *bias,
                            const int32_t *multiplier, const int32_t *shift, int32_t oc)
{
    if (bias) acc += bias[oc];
    acc = tinyc_requant(acc, multiplier[oc], shift[oc]) + p->out_offset;
    return (int8_t)tinyc_clamp32(acc, p->act_min, p->act_max);
}

static void dw_rows(const tinyc_dwconv_params_t *p, int32_t ring_rows, int8_t *io, const int8_t *filter,
                    const int32_t *bias, const int32_t *multiplier, const int32_t *shift, int8_t *ring)
{
    tinyc_ring_t r = tinyc_ring_init(io, ring, ring_rows, (size_t)p->in_w * p->in_c, (size_t)p->out_w * p->out_c,
                                     p->in_h, p->out_h, p->pad_h, p->stride_h);
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t in_y0 = oy * p->stride_h - p->pad_h;
        int8_t *out = io + (size_t)oy * r.out_row;
        tinyc_ring_advance(&r, oy);
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t in_x0 = ox * p->stride_w - p->pad_w;
            for (int32_t ic = 0; ic < p->in_c; ++ic) {
                for (int32_t m = 0; m < p->depth_multiplier; ++m) {
                    const int32_t oc = ic * p->depth_multiplier + m;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = in_y0 + p->dil_h * ky;
                        if (iy < 0 || iy >= p->in_h) continue;
                        const int8_t *row = tinyc_ring_row(&r, iy);
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = in_x0 + p->dil_w * kx;
                            if (ix < 0 || ix >= p->in_w) continue;
                            const int32_t v = row[(size_t)ix * p->in_c + ic];
                            const int32_t w = filter[((size_t)ky * p->k_w + kx) * p->out_c + oc];
                            acc += (v + p->in_offset) * w;
                        }
                    }
                    out[(size_t)ox * p->out_c + oc] = dw_out(p, acc, bias, multiplier, shift, oc);
                }
            }
        }
    }
}

static void dw_planes(const tinyc_dwconv_params_t *p, int8_t *io, const int8_t *filter, const int32_t *bias,
                      const int32_t *multiplier, const int32_t *shift, int8_t *plane)
{
    const int32_t c = p->in_c; /* == out_c */
    const int32_t n = p->in_h * p->in_w;
    for (int32_t ch = 0; ch < c; ++ch) {
        for (int32_t i = 0; i < n; ++i) plane[i] = io[(size_t)i * c + ch];
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
                        const int32_t v = plane[(size_t)iy * p->in_w + ix];
                        const int32_t w = filter[((size_t)ky * p->k_w + kx) * p->out_c + ch];
                        acc += (v + p->in_offset) * w;
                    }
                }
                io[((size_t)oy * p->out_w + ox) * c + ch] = dw_out(p, acc, bias, multiplier, shift, ch);
            }
        }
    }
}

void tinyc_ref_depthwise_conv2d_inplace_s8(const tinyc_dwconv_params_t *p, int32_t ring_rows, int8_t *io,
                                           const int8_t *filter, const int32_t *bias, const int32_t *multiplier,
                                           const int32_t *shift, int8_t *scratch)
{
    if (ring_rows > 0) {
        dw_rows(p, ring_rows, io, filter, bias, multiplier, shift, scratch);
    } else {
        dw_planes(p, io, filter, bias, multiplier, shift, scratch);
    }
}
