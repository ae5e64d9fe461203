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

/* Every group of four channels of one output pixel: acc[ch] = bias[ch] + sum_t tap[t][ch] * w[ch][t] for
 * ch < c4 (weights [c4/4][taps][4]). ARMv7-M: per tap one LDR of its pointer, one LDM of 4 weights, 4 LDRSB,
 * 4 MLA. */
typedef struct {
    const int8_t *const *tap, *const *tap_end;
    int32_t ch;            /* 0 */
    const int32_t *w;      /* advanced */
    const int32_t *bias;   /* advanced */
    int32_t *acc, *acc_end;
} dw_args_t;

#if TINYC_SCALAR_V7M
__attribute__((naked, noinline)) static void dw_groups(dw_args_t *a __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r0, r4-r11, lr}\n\t"
        "ldr    r3, [r0, #12]\n\t"  /* w */
        "ldr    r2, [r0, #8]\n\t"   /* ch */
        "2:\n\t"
        "ldr    r0, [sp]\n\t"
        "ldr    r1, [r0, #0]\n\t"   /* tap */
        "ldr    lr, [r0, #4]\n\t"   /* tap_end */
        "ldr    r12, [r0, #16]\n\t" /* bias */
        "ldmia  r12!, {r8-r11}\n\t"
        "str    r12, [r0, #16]\n\t"
        "1:\n\t"
        "ldr    r12, [r1], #4\n\t"
        "add    r12, r12, r2\n\t"
        "ldmia  r3!, {r4-r7}\n\t"
        "ldrsb  r0, [r12, #0]\n\t"
        "mla    r8, r0, r4, r8\n\t"
        "ldrsb  r0, [r12, #1]\n\t"
        "mla    r9, r0, r5, r9\n\t"
        "ldrsb  r0, [r12, #2]\n\t"
        "mla    r10, r0, r6, r10\n\t"
        "ldrsb  r0, [r12, #3]\n\t"
        "mla    r11, r0, r7, r11\n\t"
        "cmp    r1, lr\n\t"
        "bne    1b\n\t"
        "ldr    r0, [sp]\n\t"
        "ldr    r12, [r0, #20]\n\t" /* acc */
        "stmia  r12!, {r8-r11}\n\t"
        "str    r12, [r0, #20]\n\t"
        "adds   r2, r2, #4\n\t"
        "ldr    r1, [r0, #24]\n\t"  /* acc_end */
        "cmp    r12, r1\n\t"
        "bne    2b\n\t"
        "pop    {r0, r4-r11, pc}\n\t");
}
#else
static void dw_groups(dw_args_t *a)
{
    const int32_t *wg = a->w, *b = a->bias;
    const int32_t taps = (int32_t)(a->tap_end - a->tap);
    for (int32_t *acc = a->acc, ch = a->ch; acc != a->acc_end; acc += 4, ch += 4, b += 4) {
        int32_t a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3];
        for (int32_t t = 0; t < taps; ++t, wg += 4) {
            const int8_t *s = a->tap[t] + ch;
            a0 += s[0] * wg[0];
            a1 += s[1] * wg[1];
            a2 += s[2] * wg[2];
            a3 += s[3] * wg[3];
        }
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
    }
}
#endif

/* out[ch] for ch < c from the accumulators. */
static void dw_store(const tinyc_scalar_dwconv_params_t *p, const void *q, const int32_t *acc, int8_t *out, int32_t c)
{
    if (p->general) {
        for (int32_t ch = 0; ch < c; ++ch) out[ch] = dw_out(p, q, ch, acc[ch]);
    } else if (p->act_min == -128 && p->act_max == 127) {
        const tinyc_scalar_q_t *qq = (const tinyc_scalar_q_t *)q;
        for (int32_t ch = 0; ch < c; ++ch) out[ch] = (int8_t)tinyc_clamp32(tinyc_scalar_requant(acc[ch], qq + ch), -128, 127);
    } else {
        const tinyc_scalar_q_t *qq = (const tinyc_scalar_q_t *)q;
        const int32_t lo = p->act_min, hi = p->act_max;
        for (int32_t ch = 0; ch < c; ++ch) out[ch] = (int8_t)tinyc_clamp32(tinyc_scalar_requant(acc[ch], qq + ch), lo, hi);
    }
}

/* One output pixel: `taps` input pixel pointers, every channel; acc: `channels` int32. */
static void dw_pixel(const tinyc_scalar_dwconv_params_t *p, const int8_t *const *tap, int32_t taps, const int32_t *w,
                     const int32_t *bias, const void *q, int8_t *out, int32_t *acc)
{
    const int32_t c = p->channels;
    if (p->mult > 1) {
        for (int32_t oc = 0; oc < c; ++oc) {
            int32_t stride;
            const int32_t *wc = dw_weights(p, w, oc, &stride);
            const int32_t ic = oc / p->mult;
            int32_t a = bias[oc];
            for (int32_t t = 0; t < taps; ++t, wc += stride) a += tap[t][ic] * *wc;
            acc[oc] = a;
        }
        dw_store(p, q, acc, out, c);
        return;
    }
    const int32_t c4 = c & ~3;
    if (c4) {
        dw_args_t a;
        a.tap = tap;
        a.tap_end = tap + taps;
        a.ch = 0;
        a.w = w;
        a.bias = bias;
        a.acc = acc;
        a.acc_end = acc + c4;
        dw_groups(&a);
    }
    const int32_t *wg = w + (size_t)c4 * taps;
    for (int32_t ch = c4; ch < c; ++ch) {
        int32_t a = bias[ch];
        for (int32_t t = 0; t < taps; ++t) a += tap[t][ch] * *wg++;
        acc[ch] = a;
    }
    dw_store(p, q, acc, out, c);
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
        if (row != NULL && in_x0 >= 0 && in_x0 + (p->k_w - 1) * p->dil_w < p->in_w) {
            const int8_t *s = row + (size_t)in_x0 * p->in_c;
            const size_t step = (size_t)p->dil_w * p->in_c;
            for (int32_t kx = 0; kx < p->k_w; ++kx, s += step) *tap++ = s;
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = in_x0 + kx * p->dil_w;
            *tap++ = (row == NULL || ix < 0 || ix >= p->in_w) ? zp : row + (size_t)ix * p->in_c;
        }
    }
}

/* Scratch: the channels' accumulators, the taps' pointers, then a row of in_c zero points. */
static const int8_t *dw_zero_row(const tinyc_scalar_dwconv_params_t *p, int32_t in_offset_neg, void *scratch,
                                 const int8_t ***tap, int32_t **acc)
{
    const int32_t taps = p->k_h * p->k_w;
    *acc = (int32_t *)scratch;
    const size_t acc_bytes = (4 * (size_t)p->channels + 7) & ~(size_t)7; /* the pointers aligned (8 on a host) */
    *tap = (const int8_t **)(void *)((int8_t *)scratch + acc_bytes);
    int8_t *zp = (int8_t *)scratch + acc_bytes + sizeof(int8_t *) * (size_t)taps;
    memset(zp, in_offset_neg, (size_t)p->in_c);
    return zp;
}

void tinyc_arm_scalar_depthwise_conv_s8(const tinyc_scalar_dwconv_params_t *p, const int8_t *input,
                                        const int32_t *filter, const int32_t *bias, const void *q, int8_t *output,
                                        void *scratch)
{
    const int8_t **tap;
    int32_t *acc;
    const int8_t *zp = dw_zero_row(p, p->in_zp, scratch, &tap, &acc);
    const int32_t taps = p->k_h * p->k_w;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image = input + (size_t)b * p->in_h * p->in_w * p->in_c;
        int8_t *out = output + (size_t)b * p->out_h * p->out_w * p->channels;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox, out += p->channels) {
                dw_taps(p, image, NULL, zp, oy, ox, tap);
                dw_pixel(p, tap, taps, filter, bias, q, out, acc);
            }
        }
    }
}

void tinyc_arm_scalar_depthwise_rows_inplace_s8(const tinyc_scalar_dwconv_params_t *p, int32_t ring_rows, int8_t *io,
                                                const int32_t *filter, const int32_t *bias, const void *q,
                                                void *scratch, int8_t *ring)
{
    const int8_t **tap;
    int32_t *acc;
    const int8_t *zp = dw_zero_row(p, p->in_zp, scratch, &tap, &acc);
    const int32_t taps = p->k_h * p->k_w;
    tinyc_ring_t r = tinyc_ring_init(io, ring, ring_rows, (size_t)p->in_w * p->in_c,
                                     (size_t)p->out_w * p->channels, p->in_h, p->out_h, p->pad_h, p->stride_h);
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        tinyc_ring_advance(&r, oy);
        int8_t *out = io + (size_t)oy * r.out_row;
        for (int32_t ox = 0; ox < p->out_w; ++ox, out += p->channels) {
            dw_taps(p, NULL, &r, zp, oy, ox, tap);
            dw_pixel(p, tap, taps, filter, bias, q, out, acc);
        }
    }
}

/* Plane scheme, up to four channels at a time: their planes are copied into the scratch as one image of
 * those channels with a border of input zero points wide enough for every tap (so no tap is checked), then
 * each output pixel of those channels is written over io, whose other channels it leaves alone. The plan's
 * one-channel plane buffer is not needed (it stays reserved). Scratch: the padded image (4 bytes a pixel),
 * then the taps' offsets. */
void tinyc_arm_scalar_depthwise_plane_inplace_s8(const tinyc_scalar_dwconv_params_t *p, int8_t *io,
                                                 const int32_t *filter, const int32_t *bias, const void *q,
                                                 void *scratch, int8_t *plane)
{
    (void)plane;
    const int32_t c = p->channels, taps = p->k_h * p->k_w;
    const int32_t top = p->pad_h, left = p->pad_w;
    int32_t hp = (p->out_h - 1) * p->stride_h + (p->k_h - 1) * p->dil_h + 1, wp = (p->out_w - 1) * p->stride_w +
                                                                             (p->k_w - 1) * p->dil_w + 1;
    if (hp < top + p->in_h) hp = top + p->in_h;
    if (wp < left + p->in_w) wp = left + p->in_w;
    int8_t *img = (int8_t *)scratch;
    int32_t *off = (int32_t *)(void *)(img + (((size_t)hp * wp * 4 + 3) & ~(size_t)3));
    for (int32_t ky = 0, t = 0; ky < p->k_h; ++ky) {
        for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) off[t] = ((ky * p->dil_h) * wp + kx * p->dil_w) * 4;
    }
    memset(img, p->in_zp, (size_t)hp * wp * 4);
    const int32_t c4 = c & ~3;
    const int32_t *wg = filter;
    for (int32_t ch = 0; ch < c; ch += 4) {
        const int32_t n = c - ch < 4 ? c - ch : 4;
        /* this group's channels, each pixel's n bytes at 4-byte steps */
        for (int32_t y = 0; y < p->in_h; ++y) {
            const int8_t *src = io + (size_t)y * p->in_w * c + ch;
            int8_t *dst = img + (((size_t)(y + top) * wp) + left) * 4;
            for (int32_t x = 0; x < p->in_w; ++x, src += c, dst += 4) {
                for (int32_t j = 0; j < n; ++j) dst[j] = src[j];
            }
        }
        int8_t *out = io + ch;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int8_t *row = img + (size_t)(oy * p->stride_h) * wp * 4;
            for (int32_t ox = 0; ox < p->out_w; ++ox, out += c) {
                const int8_t *base = row + (size_t)(ox * p->stride_w) * 4;
                if (ch < c4) {
                    int32_t a0 = bias[ch], a1 = bias[ch + 1], a2 = bias[ch + 2], a3 = bias[ch + 3];
                    const int32_t *w = wg;
                    for (int32_t t = 0; t < taps; ++t, w += 4) {
                        const int8_t *s = base + off[t];
                        a0 += s[0] * w[0];
                        a1 += s[1] * w[1];
                        a2 += s[2] * w[2];
                        a3 += s[3] * w[3];
                    }
                    out[0] = dw_out(p, q, ch, a0);
                    out[1] = dw_out(p, q, ch + 1, a1);
                    out[2] = dw_out(p, q, ch + 2, a2);
                    out[3] = dw_out(p, q, ch + 3, a3);
                } else {
                    for (int32_t j = 0; j < n; ++j) {
                        const int32_t *w = wg + (size_t)j * taps;
                        int32_t acc = bias[ch + j];
                        for (int32_t t = 0; t < taps; ++t) acc += base[off[t] + j] * w[t];
                        out[j] = dw_out(p, q, ch + j, acc);
                    }
                }
            }
        }
        wg += (size_t)4 * taps;
    }
}
