/* DEPTHWISE_CONV_2D, int8, depth multiplier 1, channels % 4 == 0, Helium (MVE): four channels per
 * vector (VLDRB.S32 widens input and weight bytes to 32-bit lanes, VMUL + VADD). The generator folds
 * the input offset into the bias, so every tap adds x * w where a tap in the padding reads a row of
 * input zero points (-in_offset), which adds nothing to the reference's sum of (x + in_offset) * w;
 * every output pixel therefore runs the same loops, whatever its border. For each pixel the taps are
 * taken up to three at a time in a tight loop over the channels, accumulating in `scratch` (4 bytes
 * per channel), then one pass requantizes (the matmul's arithmetic, tinyc_rt_arm_mve.h), proven
 * exact per channel by tinyc/codegen/specialize_mve.py. `scratch` holds `channels` int32 accumulators
 * then `channels` zero-point bytes. Any stride, padding and dilation. */
#if !defined(__ARM_FEATURE_MVE) || !(__ARM_FEATURE_MVE & 1)
#error "the arm_mve kernels need Helium (MVE integer instructions): build with -mcpu=cortex-m55"
#endif

#include <arm_mve.h>

#include "inplace_rows.h"
#include "tinyc_rt.h"
#include "tinyc_rt_arm_mve.h"

#define TINYC_MVE_DW_MAX_KH 16

/* acc = src + sum over the n (1..3) taps of x_t * w_t, four channels at a time (the pointers walk, so
 * that each load post-increments its own base). */
TINYC_INLINE void dw_taps(int32_t *acc, const int32_t *src, const int8_t *const *x, const int8_t *w, int32_t c_n,
                    int32_t n)
{
    const int8_t *x0 = x[0], *x1 = x[n > 1 ? 1 : 0], *x2 = x[n > 2 ? 2 : 0];
    const int8_t *w0 = w, *w1 = w + c_n, *w2 = w + 2 * c_n;
    int32_t *const end = acc + c_n;
    if (n == 3) {
        while (acc != end) {
            int32x4_t a = vmulq_s32(vldrbq_s32(x0), vldrbq_s32(w0));
            const int32x4_t b = vmulq_s32(vldrbq_s32(x1), vldrbq_s32(w1));
            const int32x4_t c = vmulq_s32(vldrbq_s32(x2), vldrbq_s32(w2));
            a = vaddq_s32(vaddq_s32(a, vldrwq_s32(src)), vaddq_s32(b, c));
            vstrwq_s32(acc, a);
            x0 += 4, x1 += 4, x2 += 4, w0 += 4, w1 += 4, w2 += 4, src += 4, acc += 4;
        }
    } else if (n == 2) {
        while (acc != end) {
            const int32x4_t a = vmulq_s32(vldrbq_s32(x0), vldrbq_s32(w0));
            const int32x4_t b = vmulq_s32(vldrbq_s32(x1), vldrbq_s32(w1));
            vstrwq_s32(acc, vaddq_s32(vaddq_s32(a, vldrwq_s32(src)), b));
            x0 += 4, x1 += 4, w0 += 4, w1 += 4, src += 4, acc += 4;
        }
    } else {
        while (acc != end) {
            vstrwq_s32(acc, vaddq_s32(vldrwq_s32(src), vmulq_s32(vldrbq_s32(x0), vldrbq_s32(w0))));
            x0 += 4, w0 += 4, src += 4, acc += 4;
        }
    }
}

/* Requantize 4 channels' accumulators and store them. */
TINYC_INLINE void dw_store(int32x4_t acc, const tinyc_mve_q4_t *qg, int32x4_t lo, int32x4_t hi, int8_t *out)
{
    int32x4_t v = vrmulhq_s32(vshlq_n_s32(acc, 1), vldrwq_s32(qg->mult));
    v = vaddq_s32(v, vshrq_n_s32(v, 31));
    v = vshlq_s32(vaddq_s32(v, vldrwq_s32(qg->add)), vldrwq_s32(qg->neg_rshift));
    vstrbq_s32(out, vminq_s32(vmaxq_s32(v, lo), hi));
}

/* At most 16 channels (ng groups of 4): the accumulators stay in registers over all the taps. */
TINYC_INLINE void dw_pixel_small(const int8_t *const *x, int32_t taps, const int8_t *w, int32_t c_n,
                                 const int32_t *bias, const tinyc_mve_q4_t *q, int32x4_t lo, int32x4_t hi,
                                 int8_t *o, const int ng)
{
    int32x4_t a0 = vldrwq_s32(bias), a1 = a0, a2 = a0, a3 = a0;
    if (ng > 1) a1 = vldrwq_s32(bias + 4);
    if (ng > 2) a2 = vldrwq_s32(bias + 8);
    if (ng > 3) a3 = vldrwq_s32(bias + 12);
    for (int32_t t = 0; t < taps; ++t, w += c_n) {
        const int8_t *xp = x[t];
        a0 = vaddq_s32(a0, vmulq_s32(vldrbq_s32(xp), vldrbq_s32(w)));
        if (ng > 1) a1 = vaddq_s32(a1, vmulq_s32(vldrbq_s32(xp + 4), vldrbq_s32(w + 4)));
        if (ng > 2) a2 = vaddq_s32(a2, vmulq_s32(vldrbq_s32(xp + 8), vldrbq_s32(w + 8)));
        if (ng > 3) a3 = vaddq_s32(a3, vmulq_s32(vldrbq_s32(xp + 12), vldrbq_s32(w + 12)));
    }
    dw_store(a0, q, lo, hi, o);
    if (ng > 1) dw_store(a1, q + 1, lo, hi, o + 4);
    if (ng > 2) dw_store(a2, q + 2, lo, hi, o + 8);
    if (ng > 3) dw_store(a3, q + 3, lo, hi, o + 12);
}

#define TINYC_MVE_DW_SMALL_TAPS 25

/* One output row whose k_h input rows are at rows[ky] (NULL: padding); zp: a row of input zero points. */
static void dw_row(const tinyc_mve_dwconv_params_t *p, const int8_t *const *rows, const int8_t *filter,
                   const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *o, int32_t *acc, const int8_t *zp)
{
    const int32_t c_n = p->channels, kh = p->k_h, kw = p->k_w, in_w = p->in_w, taps = kh * kw;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const size_t dstep = (size_t)p->dil_w * c_n;
    const int small = c_n <= 16 && taps <= TINYC_MVE_DW_SMALL_TAPS;
    for (int32_t ox = 0; ox < p->out_w; ++ox, o += c_n) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        const int cols_inside = ix0 >= 0 && ix0 + (kw - 1) * p->dil_w < in_w;
        if (small) {
            const int8_t *x[TINYC_MVE_DW_SMALL_TAPS];
            for (int32_t ky = 0, t = 0; ky < kh; ++ky) {
                const int8_t *row = rows[ky];
                if (row && cols_inside) {
                    const int8_t *xp = row + (size_t)ix0 * c_n;
                    for (int32_t kx = 0; kx < kw; ++kx, xp += dstep) x[t++] = xp;
                } else {
                    for (int32_t kx = 0; kx < kw; ++kx) {
                        const int32_t ix = ix0 + kx * p->dil_w;
                        x[t++] = row && ix >= 0 && ix < in_w ? row + (size_t)ix * c_n : zp;
                    }
                }
            }
            switch (c_n >> 2) {
            case 1: dw_pixel_small(x, taps, filter, c_n, bias, q, lo, hi, o, 1); break;
            case 2: dw_pixel_small(x, taps, filter, c_n, bias, q, lo, hi, o, 2); break;
            case 3: dw_pixel_small(x, taps, filter, c_n, bias, q, lo, hi, o, 3); break;
            default: dw_pixel_small(x, taps, filter, c_n, bias, q, lo, hi, o, 4); break;
            }
            continue;
        }
        const int32_t *src = bias;
        const int8_t *w = filter;
        for (int32_t ky = 0; ky < kh; ++ky) {
            const int8_t *row = rows[ky];
            for (int32_t kx = 0; kx < kw; kx += 3, w += 3 * c_n) {
                const int32_t n = tinyc_min32(3, kw - kx);
                const int8_t *x[3] = {zp, zp, zp};
                if (row && cols_inside) {
                    x[0] = row + (size_t)(ix0 + kx * p->dil_w) * c_n;
                    x[1] = x[0] + dstep;
                    x[2] = x[1] + dstep;
                } else if (row) {
                    for (int32_t t = 0; t < n; ++t) {
                        const int32_t ix = ix0 + (kx + t) * p->dil_w;
                        if (ix >= 0 && ix < in_w) x[t] = row + (size_t)ix * c_n;
                    }
                }
                dw_taps(acc, src, x, w, c_n, n);
                src = acc;
            }
            w -= 3 * c_n * ((kw + 2) / 3) - kw * c_n; /* the next kernel row */
        }
        for (int32_t g = 0; g < c_n; g += 4) dw_store(vldrwq_s32(acc + g), q + (g >> 2), lo, hi, o + g);
    }
}

static int8_t *dw_zero_points(const tinyc_mve_dwconv_params_t *p, void *scratch)
{
    int8_t *zp = (int8_t *)((int32_t *)scratch + p->channels);
    const int8x16_t zpv = vdupq_n_s8((int8_t)-p->in_offset);
    for (int32_t i = 0; i < p->channels; i += 16) vstrbq_p_s8(zp + i, zpv, vctp8q((uint32_t)(p->channels - i)));
    return zp;
}

void tinyc_arm_mve_depthwise_conv_s8(const tinyc_mve_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output, void *scratch)
{
    const int8_t *zp = dw_zero_points(p, scratch);
    const size_t in_row = (size_t)p->in_w * p->channels, out_row = (size_t)p->out_w * p->channels;
    const int8_t *rows[TINYC_MVE_DW_MAX_KH];
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * in_row;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ky = 0; ky < p->k_h; ++ky) {
                const int32_t iy = iy0 + ky * p->dil_h;
                rows[ky] = iy >= 0 && iy < p->in_h ? in_b + (size_t)iy * in_row : NULL;
            }
            dw_row(p, rows, filter, bias, q, output + ((size_t)b * p->out_h + oy) * out_row, (int32_t *)scratch, zp);
        }
    }
}

/* In place with the plan's row ring (batch 1): before output row oy is stored, the input rows it
 * overwrites that later rows still read are saved in `ring` (inplace_rows.h), and the row reads every
 * input row as it was. */
void tinyc_arm_mve_depthwise_rows_inplace_s8(const tinyc_mve_dwconv_params_t *p, int32_t ring_rows, int8_t *io,
                                             const int8_t *filter, const int32_t *bias, const tinyc_mve_q4_t *q,
                                             void *scratch, int8_t *ring)
{
    const int8_t *zp = dw_zero_points(p, scratch);
    const int8_t *rows[TINYC_MVE_DW_MAX_KH];
    tinyc_ring_t r;
    r.io = io;
    r.ring = ring;
    r.in_row = (size_t)p->in_w * p->channels;
    r.out_row = (size_t)p->out_w * p->channels;
    r.in_h = p->in_h;
    r.out_h = p->out_h;
    r.pad_h = p->pad_h;
    r.stride_h = p->stride_h;
    r.ring_rows = ring_rows;
    r.saved = 0;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        tinyc_ring_advance(&r, oy);
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            rows[ky] = iy >= 0 && iy < p->in_h ? tinyc_ring_row(&r, iy) : NULL;
        }
        dw_row(p, rows, filter, bias, q, io + (size_t)oy * r.out_row, (int32_t *)scratch, zp);
    }
}
