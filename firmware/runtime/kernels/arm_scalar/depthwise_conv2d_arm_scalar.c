/* DEPTHWISE_CONV_2D, int8, for cores without the DSP extension (ARMv6-M, ARMv7-M).
 *
 * The input offset is folded into the bias for every tap (bias' = bias + in_offset * sum(w)), so a tap in
 * the padding reads a row of input zero points from the scratch and adds nothing: border pixels run the
 * same loop as inner ones. Per output pixel the k_h * k_w tap pointers are computed once; then channels go
 * four at a time (weights widened to int32 by the generator, [C/4][taps][4]: one LDM per tap) and the last
 * C % 4 one at a time ([C % 4][taps] after the groups). A depth multiplier (output channel c reads input
 * channel c / mult) takes a per-channel loop. Bit-identical to tinyc_ref_depthwise_conv2d_s8 and
 * tinyc_ref_depthwise_conv2d_inplace_s8 for the calls tinyc/codegen/specialize_arm_scalar.py hands over. */
#include "inplace_rows.h"
#include "tinyc_rt.h"
#include "tinyc_rt_arm_scalar.h"

static inline int8_t dw_out(const tinyc_scalar_dwconv_params_t *p, const void *q, int32_t oc, int32_t acc)
{
    const int32_t v = p->general ? tinyc_scalar_requant_x(acc, (const tinyc_scalar_qx_t *)q + oc, p->out_zp)
                                 : tinyc_scalar_requant(acc, (const tinyc_scalar_q_t *)q + oc);
    return (int8_t)tinyc_clamp32(v, p->act_min, p->act_max);
}

/* The weight of channel oc (< channels) at tap t in the layout above, and the stride between its taps. */
static inline const int32_t *dw_weights(const tinyc_scalar_dwconv_params_t *p, const int32_t *w, int32_t oc,
                                        int32_t *stride)
{
    const int32_t taps = p->k_h * p->k_w, c4 = p->channels & ~3;
    if (oc < c4) {
        *stride = 4;
        return w + (size_t)(oc & ~3) * taps + (oc & 3);
    }
    *stride = 1;
    return w + (size_t)c4 * taps + (size_t)(oc - c4) * taps;
}

/* One output pixel: `taps` input pixel pointers, every channel. */
static void dw_pixel(const tinyc_scalar_dwconv_params_t *p, const int8_t *const *tap, int32_t taps, const int32_t *w,
                     const int32_t *bias, const void *q, int8_t *out)
{
    const int32_t c = p->channels;
    if (p->mult > 1) {
        for (int32_t oc = 0; oc < c; ++oc) {
            int32_t stride;
            const int32_t *wc = dw_weights(p, w, oc, &stride);
            const int32_t ic = oc / p->mult;
            int32_t acc = bias[oc];
            for (int32_t t = 0; t < taps; ++t, wc += stride) acc += tap[t][ic] * *wc;
            out[oc] = dw_out(p, q, oc, acc);
        }
        return;
    }
    const int32_t c4 = c & ~3;
    const int32_t *wg = w;
    for (int32_t ch = 0; ch < c4; ch += 4) {
        int32_t a0 = bias[ch], a1 = bias[ch + 1], a2 = bias[ch + 2], a3 = bias[ch + 3];
        for (int32_t t = 0; t < taps; ++t, wg += 4) {
            const int8_t *s = tap[t] + ch;
            a0 += s[0] * wg[0];
            a1 += s[1] * wg[1];
            a2 += s[2] * wg[2];
            a3 += s[3] * wg[3];
        }
        out[ch] = dw_out(p, q, ch, a0);
        out[ch + 1] = dw_out(p, q, ch + 1, a1);
        out[ch + 2] = dw_out(p, q, ch + 2, a2);
        out[ch + 3] = dw_out(p, q, ch + 3, a3);
    }
    for (int32_t ch = c4; ch < c; ++ch) {
        int32_t acc = bias[ch];
        for (int32_t t = 0; t < taps; ++t) acc += tap[t][ch] * *wg++;
        out[ch] = dw_out(p, q, ch, acc);
    }
}

/* The tap pointers of output pixel (oy, ox): input pixels read from `image` or through `ring`, the row of
 * zero points `zp` for a tap in the padding. */
static void dw_taps(const tinyc_scalar_dwconv_params_t *p, const int8_t *image, const tinyc_ring_t *ring,
                    const int8_t *zp, int32_t oy, int32_t ox, const int8_t **tap)
{
    const int32_t in_y0 = oy * p->stride_h - p->pad_h, in_x0 = ox * p->stride_w - p->pad_w;
    const size_t in_row = (size_t)p->in_w * p->in_c;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = in_y0 + ky * p->dil_h;
        const int8_t *row = NULL;
        if (iy >= 0 && iy < p->in_h) row = ring ? tinyc_ring_row(ring, iy) : image + (size_t)iy * in_row;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = in_x0 + kx * p->dil_w;
            *tap++ = (row == NULL || ix < 0 || ix >= p->in_w) ? zp : row + (size_t)ix * p->in_c;
        }
    }
}

/* Scratch: taps pointers, then a row of in_c zero points. */
static const int8_t *dw_zero_row(const tinyc_scalar_dwconv_params_t *p, int32_t in_offset_neg, void *scratch,
                                 const int8_t ***tap)
{
    const int32_t taps = p->k_h * p->k_w;
    *tap = (const int8_t **)scratch;
    int8_t *zp = (int8_t *)scratch + sizeof(int8_t *) * (size_t)taps;
    memset(zp, in_offset_neg, (size_t)p->in_c);
    return zp;
}

void tinyc_arm_scalar_depthwise_conv_s8(const tinyc_scalar_dwconv_params_t *p, const int8_t *input,
                                        const int32_t *filter, const int32_t *bias, const void *q, int8_t *output,
                                        void *scratch)
{
    const int8_t **tap;
    const int8_t *zp = dw_zero_row(p, p->in_zp, scratch, &tap);
    const int32_t taps = p->k_h * p->k_w;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image = input + (size_t)b * p->in_h * p->in_w * p->in_c;
        int8_t *out = output + (size_t)b * p->out_h * p->out_w * p->channels;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox, out += p->channels) {
                dw_taps(p, image, NULL, zp, oy, ox, tap);
                dw_pixel(p, tap, taps, filter, bias, q, out);
            }
        }
    }
}

void tinyc_arm_scalar_depthwise_rows_inplace_s8(const tinyc_scalar_dwconv_params_t *p, int32_t ring_rows, int8_t *io,
                                                const int32_t *filter, const int32_t *bias, const void *q,
                                                void *scratch, int8_t *ring)
{
    const int8_t **tap;
    const int8_t *zp = dw_zero_row(p, p->in_zp, scratch, &tap);
    const int32_t taps = p->k_h * p->k_w;
    tinyc_ring_t r = tinyc_ring_init(io, ring, ring_rows, (size_t)p->in_w * p->in_c,
                                     (size_t)p->out_w * p->channels, p->in_h, p->out_h, p->pad_h, p->stride_h);
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        tinyc_ring_advance(&r, oy);
        int8_t *out = io + (size_t)oy * r.out_row;
        for (int32_t ox = 0; ox < p->out_w; ++ox, out += p->channels) {
            dw_taps(p, NULL, &r, zp, oy, ox, tap);
            dw_pixel(p, tap, taps, filter, bias, q, out);
        }
    }
}

void tinyc_arm_scalar_depthwise_plane_inplace_s8(const tinyc_scalar_dwconv_params_t *p, int8_t *io,
                                                 const int32_t *filter, const int32_t *bias, const void *q,
                                                 int8_t *plane)
{
    const int32_t c = p->channels, n = p->in_h * p->in_w, zp = p->in_zp;
    for (int32_t ch = 0; ch < c; ++ch) {
        const int8_t *src = io + ch;
        for (int32_t i = 0; i < n; ++i, src += c) plane[i] = *src;
        int32_t stride;
        const int32_t *wc = dw_weights(p, filter, ch, &stride);
        int8_t *out = io + ch;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride_h - p->pad_h;
            const int inner_y = in_y0 >= 0 && in_y0 + (p->k_h - 1) * p->dil_h < p->in_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox, out += c) {
                const int32_t in_x0 = ox * p->stride_w - p->pad_w;
                int32_t acc = bias[ch];
                const int32_t *w = wc;
                if (inner_y && in_x0 >= 0 && in_x0 + (p->k_w - 1) * p->dil_w < p->in_w) {
                    const int8_t *row = plane + (size_t)in_y0 * p->in_w + in_x0;
                    for (int32_t ky = 0; ky < p->k_h; ++ky, row += (size_t)p->dil_h * p->in_w) {
                        const int8_t *s = row;
                        for (int32_t kx = 0; kx < p->k_w; ++kx, s += p->dil_w, w += stride) acc += *s * *w;
                    }
                } else {
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = in_y0 + ky * p->dil_h;
                        for (int32_t kx = 0; kx < p->k_w; ++kx, w += stride) {
                            const int32_t ix = in_x0 + kx * p->dil_w;
                            const int32_t v = (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w)
                                                  ? zp
                                                  : plane[(size_t)iy * p->in_w + ix];
                            acc += v * *w;
                        }
                    }
                }
                *out = dw_out(p, q, ch, acc);
            }
        }
    }
}
