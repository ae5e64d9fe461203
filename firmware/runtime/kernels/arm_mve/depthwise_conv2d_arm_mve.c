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

/* --- any channel count, depth multiplier and requantization form ---------------------------------------- */

/* Every output pixel of one row, any channel count: per tap, the channels four at a time (the last group
 * predicated: no byte past a pixel is read or written) accumulate in `acc` (C rounded up to 4 int32),
 * then one pass requantizes in either form (`general`, a constant). */
TINYC_INLINE void dw_row_any_g(const tinyc_mve_dwconv_params_t *p, const int8_t *const *rows, const int8_t *filter,
                               const int32_t *bias, const void *q, int8_t *o, int32_t *acc, const int8_t *zp,
                               const int general)
{
    const int32_t c_n = p->channels, kh = p->k_h, kw = p->k_w, in_w = p->in_w;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    for (int32_t ox = 0; ox < p->out_w; ++ox, o += c_n) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        for (int32_t g = 0; g < c_n; g += 4) vstrwq_s32(acc + g, vldrwq_s32(bias + g));
        const int8_t *w = filter;
        for (int32_t ky = 0; ky < kh; ++ky) {
            const int8_t *row = rows[ky];
            for (int32_t kx = 0; kx < kw; ++kx, w += c_n) {
                const int32_t ix = ix0 + kx * p->dil_w;
                const int8_t *xp = row && ix >= 0 && ix < in_w ? row + (size_t)ix * c_n : zp;
                for (int32_t g = 0; g < c_n; g += 4) {
                    const mve_pred16_t keep = vctp32q((uint32_t)(c_n - g));
                    const int32x4_t prod = vmulq_s32(vldrbq_z_s32(xp + g, keep), vldrbq_z_s32(w + g, keep));
                    vstrwq_s32(acc + g, vaddq_s32(vldrwq_s32(acc + g), prod));
                }
            }
        }
        for (int32_t g = 0; g < c_n; g += 4) {
            const mve_pred16_t keep = vctp32q((uint32_t)(c_n - g));
            const int32x4_t a = vldrwq_s32(acc + g);
            if (general) {
                const int32_t *qx = (const int32_t *)q + 5 * g;
                int32x4_t v = vrmulhq_s32(vshlq_s32(a, vldrwq_s32(qx + 4)), vldrwq_s32(qx));
                v = vaddq_s32(v, vldrwq_s32(qx + 8));
                v = vaddq_s32(v, vshrq_n_s32(v, 31));
                v = vshlq_s32(vaddq_s32(v, vldrwq_s32(qx + 12)), vldrwq_s32(qx + 16));
                v = vaddq_n_s32(v, p->out_zp);
                vstrbq_p_s32(o + g, vminq_s32(vmaxq_s32(v, lo), hi), keep);
            } else {
                const tinyc_mve_q4_t *qg = (const tinyc_mve_q4_t *)q + (g >> 2);
                int32x4_t v = vrmulhq_s32(vshlq_n_s32(a, 1), vldrwq_s32(qg->mult));
                v = vaddq_s32(v, vshrq_n_s32(v, 31));
                v = vshlq_s32(vaddq_s32(v, vldrwq_s32(qg->add)), vldrwq_s32(qg->neg_rshift));
                vstrbq_p_s32(o + g, vminq_s32(vmaxq_s32(v, lo), hi), keep);
            }
        }
    }
}

/* Every output row of one batch: input rows from `in_b`, or in place (r != NULL) through the plan's row
 * ring; with a depth multiplier m > 1 each input row read is first expanded to C = in_c * m channels per
 * pixel (channel c is input channel c / m) into one of k_h slots, kept while later rows read it.
 * Scratch: C4 int32 accumulators, C4 zero-point bytes, k_h slot row numbers, the slots. */
static void dw_rows_any(const tinyc_mve_dwconv_params_t *p, const int8_t *in_b, tinyc_ring_t *r, int8_t *out_b,
                        const int8_t *filter, const int32_t *bias, const void *q, void *scratch)
{
    const int32_t C = p->channels, c4 = (C + 3) & ~3, kh = p->k_h;
    const int32_t mult = p->mult > 1 ? p->mult : 1, in_c = C / mult;
    const size_t in_row = (size_t)p->in_w * in_c, x_row = (size_t)p->in_w * C, out_row = (size_t)p->out_w * C;
    int32_t *acc = (int32_t *)scratch;
    int8_t *zp = (int8_t *)(acc + c4);
    int32_t *tags = (int32_t *)(void *)(zp + c4);
    int8_t *slots = (int8_t *)(tags + TINYC_MVE_DW_MAX_KH);
    const int8_t *rows[TINYC_MVE_DW_MAX_KH];
    for (int32_t c = 0; c < C; ++c) zp[c] = (int8_t)-p->in_offset;
    if (mult > 1)
        for (int32_t k = 0; k < kh; ++k) tags[k] = -1;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        if (r) tinyc_ring_advance(r, oy);
        for (int32_t ky = 0; ky < kh; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            const int8_t *src = NULL;
            if (iy >= 0 && iy < p->in_h) src = r ? tinyc_ring_row(r, iy) : in_b + (size_t)iy * in_row;
            if (src && mult > 1) {
                const int32_t slot = p->dil_h == 1 ? iy % kh : ky;
                int8_t *e = slots + (size_t)slot * x_row;
                if (tags[slot] != iy) {
                    for (size_t k = 0; k < in_row; ++k)
                        for (int32_t j = 0; j < mult; ++j) e[k * (size_t)mult + (size_t)j] = src[k];
                    tags[slot] = iy;
                }
                src = e;
            }
            rows[ky] = src;
        }
        if (p->general) dw_row_any_g(p, rows, filter, bias, q, out_b + (size_t)oy * out_row, acc, zp, 1);
        else dw_row_any_g(p, rows, filter, bias, q, out_b + (size_t)oy * out_row, acc, zp, 0);
    }
}

/* The common case's loops (dw_row) take depth multiplier 1, channels % 4 == 0 and the fast form. */
static int dw_common(const tinyc_mve_dwconv_params_t *p)
{
    return !p->general && p->mult <= 1 && (p->channels & 3) == 0;
}

/* --- 3x3 filters a channel at a time: padded lines, four outputs of a line per vector ------------------
 *
 * Depth multiplier 1, dilation 1, stride 1 or 2 along the lines (any across), the fast requantization form,
 * any channel count (the generator sets p->band, the lines its scratch holds, when it takes the call).
 * For one channel, the input lines a band of output lines reads are gathered (VLDRB.S16 gathers, 8 bytes
 * each) into `scratch`, each padded with the input zero point, so every output runs the same loads
 * whatever its border (the generator folds the input offset into the bias: a padded tap adds
 * -in_offset * w, which cancels it). Lines are rows (or columns: dwb_t.along_h, for the plane scheme). Stride
 * 1: line[j] is input column j - pad; stride 2: the even columns, then at `half` the odd ones, so the taps
 * of four neighbouring outputs are again four consecutive bytes. An output line is computed three vectors
 * (12 outputs) at a time, one filter line per inline-assembly block: VLDRB.S32 with immediate offsets and
 * VMLA by the scalar weight; then VQRDMULH requantization by the channel's scalars and VSTRB.32 scattered
 * out_elem bytes apart (predicated for the line's last outputs). */

typedef struct {
    int32_t in_lines, in_len, out_lines, out_len; /* lines, and elements per line */
    int32_t s_across, pad_across, pad_along;
    int32_t in_elem, in_line, out_elem, out_line; /* byte steps */
    int32_t nv, pitch, half, s2;                  /* vectors per output line, padded line, odd half */
    int32_t band;                                 /* lines the scratch holds */
} dwb_t;

static dwb_t dwb_init(const tinyc_mve_dwconv_params_t *p, int along_h, int32_t band)
{
    const int32_t C = p->channels;
    dwb_t d;
    d.in_lines = along_h ? p->in_w : p->in_h;
    d.in_len = along_h ? p->in_h : p->in_w;
    d.out_lines = along_h ? p->out_w : p->out_h;
    d.out_len = along_h ? p->out_h : p->out_w;
    d.s_across = along_h ? p->stride_w : p->stride_h;
    d.pad_across = along_h ? p->pad_w : p->pad_h;
    d.pad_along = along_h ? p->pad_h : p->pad_w;
    d.in_elem = along_h ? p->in_w * C : C;
    d.in_line = along_h ? C : p->in_w * C;
    d.out_elem = along_h ? p->out_w * C : C;
    d.out_line = along_h ? C : p->out_w * C;
    d.s2 = (along_h ? p->stride_h : p->stride_w) == 2;
    d.nv = (d.out_len + 3) >> 2;
    d.half = d.s2 ? (4 * d.nv + 1 + 15) & ~15 : 0; /* even columns 0 .. 4 nv, odd 0 .. 4 nv - 1 */
    d.pitch = d.s2 ? 2 * d.half : (4 * d.nv + 2 + 15) & ~15; /* stride 1: columns 0 .. 4 nv + 1 */
    d.band = band;
    return d;
}

/* The bytes of a line an input line fills (the rest of the line is padding, whose zero points stay):
 * n_j elements from input element e_j to line column d_j, for the stride-1 line (j = 0) or the even and odd
 * halves (j = 0, 1). */
typedef struct {
    int32_t n[2], e[2], d[2];
} dwb_fill_t;

static dwb_fill_t dwb_fill_plan(const dwb_t *d)
{
    dwb_fill_t f;
    const int32_t pl = d->pad_along, n = d->in_len;
    f.n[1] = 0;
    f.e[1] = f.d[1] = 0;
    if (!d->s2) {
        f.n[0] = tinyc_min32(n, d->pitch - pl);
        f.e[0] = 0;
        f.d[0] = pl;
        return f;
    }
    for (int32_t par = 0; par < 2; ++par) { /* line column k = 2 j + par is input element k - pl */
        const int32_t j0 = pl > par ? (pl - par + 1) >> 1 : 0, first = 2 * j0 + par - pl;
        f.n[par] = first < n ? tinyc_min32((n - 1 - first) / 2 + 1, d->half - j0) : 0;
        f.e[par] = first;
        f.d[par] = par * d->half + j0;
    }
    return f;
}

/* dst[i] = src[i * step] for i < n (the gather's 16-bit offsets: 7 step < 2^16, checked by the generator). */
TINYC_INLINE void dwb_gather(int8_t *dst, const int8_t *src, int32_t n, uint16x8_t offs, int32_t step8)
{
    for (; n >= 8; n -= 8, dst += 8, src += step8) vstrbq_s16(dst, vldrbq_gather_offset_s16(src, offs));
    if (n > 0) {
        const mve_pred16_t t = vctp16q((uint32_t)n);
        vstrbq_p_s16(dst, vldrbq_gather_offset_z_s16(src, offs, t), t);
    }
}

/* One filter line (weights w0 w1 w2) on n (1..3) vectors at x, x + 4, x + 8: stride 1 reads x[j], x[j+1],
 * x[j+2]; stride 2 x[j], x[half + j], x[j + 1]. */
#define DWB_V1(a, o0, o1, o2)                                                                             \
    "vldrb.s32 %q[t], [%[x], #" #o0 "]\n\tvmla.s32 %q[" #a "], %q[t], %[w0]\n\t"                           \
    "vldrb.s32 %q[t], [%[x], #" #o1 "]\n\tvmla.s32 %q[" #a "], %q[t], %[w1]\n\t"                           \
    "vldrb.s32 %q[t], [%[x], #" #o2 "]\n\tvmla.s32 %q[" #a "], %q[t], %[w2]\n\t"
#define DWB_V2(a, o0, o2)                                                                                 \
    "vldrb.s32 %q[t], [%[x], #" #o0 "]\n\tvmla.s32 %q[" #a "], %q[t], %[w0]\n\t"                           \
    "vldrb.s32 %q[t], [%[y], #" #o0 "]\n\tvmla.s32 %q[" #a "], %q[t], %[w1]\n\t"                           \
    "vldrb.s32 %q[t], [%[x], #" #o2 "]\n\tvmla.s32 %q[" #a "], %q[t], %[w2]\n\t"

TINYC_INLINE void dwb_fline(int32x4_t *a0, int32x4_t *a1, int32x4_t *a2, const int8_t *x, int32_t half,
                            const int32_t *w, const int n, const int s2)
{
    int32x4_t t;
    if (!s2) {
        if (n == 3)
            __asm__(DWB_V1(a0, 0, 1, 2) DWB_V1(a1, 4, 5, 6) DWB_V1(a2, 8, 9, 10)
                    : [a0] "+w"(*a0), [a1] "+w"(*a1), [a2] "+w"(*a2), [t] "=&w"(t)
                    : [x] "l"(x), [w0] "r"(w[0]), [w1] "r"(w[1]), [w2] "r"(w[2]), "m"(*(const int8_t(*)[11])x));
        else if (n == 2)
            __asm__(DWB_V1(a0, 0, 1, 2) DWB_V1(a1, 4, 5, 6)
                    : [a0] "+w"(*a0), [a1] "+w"(*a1), [t] "=&w"(t)
                    : [x] "l"(x), [w0] "r"(w[0]), [w1] "r"(w[1]), [w2] "r"(w[2]), "m"(*(const int8_t(*)[7])x));
        else
            __asm__(DWB_V1(a0, 0, 1, 2)
                    : [a0] "+w"(*a0), [t] "=&w"(t)
                    : [x] "l"(x), [w0] "r"(w[0]), [w1] "r"(w[1]), [w2] "r"(w[2]), "m"(*(const int8_t(*)[3])x));
        return;
    }
    const int8_t *y = x + half;
    if (n == 3)
        __asm__(DWB_V2(a0, 0, 1) DWB_V2(a1, 4, 5) DWB_V2(a2, 8, 9)
                : [a0] "+w"(*a0), [a1] "+w"(*a1), [a2] "+w"(*a2), [t] "=&w"(t)
                : [x] "l"(x), [y] "l"(y), [w0] "r"(w[0]), [w1] "r"(w[1]), [w2] "r"(w[2]),
                  "m"(*(const int8_t(*)[10])x), "m"(*(const int8_t(*)[9])y));
    else if (n == 2)
        __asm__(DWB_V2(a0, 0, 1) DWB_V2(a1, 4, 5)
                : [a0] "+w"(*a0), [a1] "+w"(*a1), [t] "=&w"(t)
                : [x] "l"(x), [y] "l"(y), [w0] "r"(w[0]), [w1] "r"(w[1]), [w2] "r"(w[2]),
                  "m"(*(const int8_t(*)[6])x), "m"(*(const int8_t(*)[5])y));
    else
        __asm__(DWB_V2(a0, 0, 1)
                : [a0] "+w"(*a0), [t] "=&w"(t)
                : [x] "l"(x), [y] "l"(y), [w0] "r"(w[0]), [w1] "r"(w[1]), [w2] "r"(w[2]),
                  "m"(*(const int8_t(*)[2])x), "m"(*(const int8_t(*)[1])y));
}

TINYC_INLINE int32x4_t dwb_rq(int32x4_t acc, const int32_t *k, int32x4_t lo, int32x4_t hi)
{
    int32x4_t v = vqrdmulhq_n_s32(acc, k[1]);
    v = vaddq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), k[2]);
    return vminq_s32(vmaxq_s32(vshlq_r_s32(v, k[3]), lo), hi);
}

/* n (1..3) vectors of an output line from lines l0 l1 l2 (pitch apart) at column x0, outputs at o (ostep
 * per vector); `tail`: the lanes the last of them stores. k: bias, mult, add, -rshift. */
TINYC_INLINE void dwb_group(const int8_t *l0, int32_t pitch, int32_t half, const int32_t *w, const int32_t *k,
                            int32x4_t lo, int32x4_t hi, int8_t *o, int32_t ostep, uint32x4_t offs,
                            mve_pred16_t tail, const int n, const int s2)
{
    int32x4_t a0 = vdupq_n_s32(k[0]), a1 = a0, a2 = a0;
    dwb_fline(&a0, &a1, &a2, l0, half, w, n, s2);
    dwb_fline(&a0, &a1, &a2, l0 + pitch, half, w + 3, n, s2);
    dwb_fline(&a0, &a1, &a2, l0 + 2 * pitch, half, w + 6, n, s2);
    if (n == 1) {
        vstrbq_scatter_offset_p_s32(o, offs, dwb_rq(a0, k, lo, hi), tail);
    } else if (n == 2) {
        vstrbq_scatter_offset_s32(o, offs, dwb_rq(a0, k, lo, hi));
        vstrbq_scatter_offset_p_s32(o + ostep, offs, dwb_rq(a1, k, lo, hi), tail);
    } else {
        vstrbq_scatter_offset_s32(o, offs, dwb_rq(a0, k, lo, hi));
        vstrbq_scatter_offset_s32(o + ostep, offs, dwb_rq(a1, k, lo, hi));
        vstrbq_scatter_offset_p_s32(o + 2 * ostep, offs, dwb_rq(a2, k, lo, hi), tail);
    }
}

/* One output line of one channel from the padded lines at l0 (three, pitch apart). */
TINYC_INLINE void dwb_out_line(const dwb_t *d, const int8_t *l0, const int32_t *w, const int32_t *k, int32x4_t lo,
                               int32x4_t hi, int8_t *o, uint32x4_t offs, mve_pred16_t last, const int s2)
{
    const int32_t pitch = d->pitch, half = d->half, ostep = 4 * d->out_elem;
    const mve_pred16_t all = (mve_pred16_t)0xFFFFu;
    int32_t v = d->nv;
    for (; v > 3; v -= 3, l0 += 12, o += 3 * ostep)
        dwb_group(l0, pitch, half, w, k, lo, hi, o, ostep, offs, all, 3, s2);
    if (v == 3) dwb_group(l0, pitch, half, w, k, lo, hi, o, ostep, offs, last, 3, s2);
    else if (v == 2) dwb_group(l0, pitch, half, w, k, lo, hi, o, ostep, offs, last, 2, s2);
    else dwb_group(l0, pitch, half, w, k, lo, hi, o, ostep, offs, last, 1, s2);
}

/* Output lines [ol0, ol1) of every channel, channel by channel, bands of d->band padded lines at a time:
 * input line il of channel c at in + il * in_line + c, or (lines != NULL, one output line) lines[ky] + c.
 * The padding columns of `buf` are filled once; a channel's lines overwrite only their input columns, and
 * a band line outside the input is filled again. */
static void dwb_run(const tinyc_mve_dwconv_params_t *p, const dwb_t *d, const int8_t *in,
                    const int8_t *const *lines, int32_t ol0, int32_t ol1, int8_t *out, const int8_t *filter,
                    const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *buf, int along_h)
{
    const int32_t C = p->channels, s = d->s_across, pitch = d->pitch, step = d->in_elem;
    const int8x16_t zpv = vdupq_n_s8((int8_t)-p->in_offset);
    const uint16x8_t offs_line = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)(d->s2 ? 2 * step : step));
    const int32_t step8 = (d->s2 ? 16 : 8) * step;
    const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)d->out_elem);
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int32_t per_band = (d->band - 3) / s + 1; /* output lines per band */
    const dwb_fill_t f = dwb_fill_plan(d);
    int32_t tap[9];
    /* lanes of a line's last vector, opaque to the compiler (GCC 12.2 materializes a constant 32-bit-lane
     * predicate as all lanes, PR 108443) */
    uint32_t lanes = 0xFFFFu >> (4 * (4 * d->nv - d->out_len));
    __asm__("" : "+r"(lanes));
    const mve_pred16_t last = (mve_pred16_t)lanes;
    for (int32_t t = 0; t < 9; ++t) tap[t] = (along_h ? (t % 3) * 3 + t / 3 : t) * C;
    for (int32_t i = 0; i < d->band * pitch; i += 16) vstrbq_s8(buf + i, zpv);
    for (int32_t c = 0; c < C; ++c) {
        int32_t w[9], k[4];
        for (int32_t t = 0; t < 9; ++t) w[t] = filter[tap[t] + c];
        k[0] = bias[c];
        k[1] = q[c >> 2].mult[c & 3];
        k[2] = q[c >> 2].add[c & 3];
        k[3] = q[c >> 2].neg_rshift[c & 3];
        for (int32_t b0 = ol0; b0 < ol1; b0 += per_band) {
            const int32_t b1 = tinyc_min32(ol1, b0 + per_band), il0 = b0 * s - d->pad_across;
            const int32_t n_in = (b1 - 1 - b0) * s + 3;
            int8_t *line = buf;
            for (int32_t i = 0; i < n_in; ++i, line += pitch) {
                const int32_t il = il0 + i;
                const int8_t *src = lines ? lines[i] : il >= 0 && il < d->in_lines ? in + (size_t)il * d->in_line : NULL;
                if (!src) {
                    for (int32_t j = 0; j < pitch; j += 16) vstrbq_s8(line + j, zpv);
                    continue;
                }
                src += c;
                dwb_gather(line + f.d[0], src + f.e[0] * step, f.n[0], offs_line, step8);
                if (f.n[1]) dwb_gather(line + f.d[1], src + f.e[1] * step, f.n[1], offs_line, step8);
            }
            int8_t *o = out + (size_t)b0 * d->out_line + c;
            const int8_t *l0 = buf;
            for (int32_t ol = b0; ol < b1; ++ol, o += d->out_line, l0 += s * pitch) {
                if (d->s2) dwb_out_line(d, l0, w, k, lo, hi, o, offs, last, 1);
                else dwb_out_line(d, l0, w, k, lo, hi, o, offs, last, 0);
            }
            if (il0 < 0 || il0 + n_in > d->in_lines) /* padding lines: their zero points again for the next */
                for (int32_t i = 0; i < n_in * pitch; i += 16) vstrbq_s8(buf + i, zpv);
        }
    }
}

void tinyc_arm_mve_depthwise_conv_s8(const tinyc_mve_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output, void *scratch)
{
    if (p->band) {
        const size_t in_b = (size_t)p->in_h * p->in_w * p->channels, out_b = (size_t)p->out_h * p->out_w * p->channels;
        const dwb_t d = dwb_init(p, 0, p->band);
        for (int32_t b = 0; b < p->batches; ++b)
            dwb_run(p, &d, input + b * in_b, NULL, 0, p->out_h, output + b * out_b, filter, bias, q, (int8_t *)scratch, 0);
        return;
    }
    if (!dw_common(p)) {
        const size_t in_b = (size_t)p->in_h * p->in_w * (p->channels / (p->mult > 1 ? p->mult : 1));
        const size_t out_b = (size_t)p->out_h * p->out_w * p->channels;
        for (int32_t b = 0; b < p->batches; ++b)
            dw_rows_any(p, input + b * in_b, NULL, output + b * out_b, filter, bias, q, scratch);
        return;
    }
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
    tinyc_ring_t r;
    if (p->band) { /* output row by output row through the ring, the row's channels in turn */
        const int8_t *rows[3];
        const dwb_t d = dwb_init(p, 0, 3);
        r = tinyc_ring_init(io, ring, ring_rows, (size_t)p->in_w * p->channels, (size_t)p->out_w * p->channels,
                            p->in_h, p->out_h, p->pad_h, p->stride_h);
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            tinyc_ring_advance(&r, oy);
            for (int32_t ky = 0; ky < 3; ++ky)
                rows[ky] = iy0 + ky >= 0 && iy0 + ky < p->in_h ? tinyc_ring_row(&r, iy0 + ky) : NULL;
            dwb_run(p, &d, NULL, rows, oy, oy + 1, io, filter, bias, q, (int8_t *)scratch, 0);
        }
        return;
    }
    if (!dw_common(p)) {
        r = tinyc_ring_init(io, ring, ring_rows, (size_t)p->in_w * (p->channels / (p->mult > 1 ? p->mult : 1)),
                            (size_t)p->out_w * p->channels, p->in_h, p->out_h, p->pad_h, p->stride_h);
        dw_rows_any(p, NULL, &r, io, filter, bias, q, scratch);
        return;
    }
    const int8_t *zp = dw_zero_points(p, scratch);
    const int8_t *rows[TINYC_MVE_DW_MAX_KH];
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

/* The plane scheme (tinyc/model/inplace.py, batch 1, depth multiplier 1, 3x3, dilation 1): channel by
 * channel, the input plane is gathered into `plane` (in_h * in_w bytes, the plan's buffer) and that
 * channel's outputs stored, which overwrite only its own bytes. The plane is laid out as lines along
 * one axis (p->along_h: its columns, gathered transposed), one with stride 1, padding 1 and as many
 * outputs as inputs, chosen by the generator. A line's outputs are computed 4 at a time in 32-bit
 * lanes: per filter line, three VLDRB.S32 of the plane line at x-1, x, x+1 and VMLA by the doubled
 * scalar weight, three vectors at a time (12 outputs) so that only one filter line's weights are live.
 * The doubled bias has the input offset folded in for the taps each output reads (the first output of
 * a line lacks tap 0, the last tap 2), so a tap in the padding loads 0 (a predicated lane, never read);
 * lines of 5 or more end with a vector at len - 4, lines shorter than 5 are predicated throughout.
 * Filter lines outside the input are left out. Requantization as dw_store, of the doubled accumulator
 * (VRMULH(2 acc, mult)); the outputs of a vector are scattered with VSTRB.32. The gather takes 8 bytes
 * per VLDRB.S16 gather (offsets < 2^16, checked by the generator). */

TINYC_INLINE int32x4_t dwp_requant(int32x4_t acc2, const int32_t *qc, int32x4_t lo, int32x4_t hi)
{
    int32x4_t v = vrmulhq_s32(acc2, vdupq_n_s32(qc[0]));
    v = vaddq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), qc[1]);
    v = vshlq_r_s32(v, -qc[2]);
    return vminq_s32(vmaxq_s32(v, lo), hi);
}

/* One output line from nk (1..3) plane lines r[k] with doubled weights w[3k + a] (a: along the line).
 * bias: all taps' offsets folded; c0, c2: what the first / last output must take off (tap 0 / 2). */
TINYC_INLINE void dwp_line(const int8_t *const *r, const int32_t *w, const int nk, int32_t len, int32_t bias,
                           int32_t c0, int32_t c2, const int32_t *qc, int32x4_t lo, int32x4_t hi, int8_t *o,
                           int32_t o_along, uint32x4_t o_offs)
{
    const int8_t *r0 = r[0], *r1 = r[nk > 1 ? 1 : 0], *r2 = r[nk > 2 ? 2 : 0];
    const int32_t w00 = w[0], w01 = w[1], w02 = w[2];
    const int32_t w10 = nk > 1 ? w[3] : 0, w11 = nk > 1 ? w[4] : 0, w12 = nk > 1 ? w[5] : 0;
    const int32_t w20 = nk > 2 ? w[6] : 0, w21 = nk > 2 ? w[7] : 0, w22 = nk > 2 ? w[8] : 0;
    const size_t ostep = (size_t)4 * o_along;
    int32_t j = 0;
    for (;;) { /* vectors at the ends of the line, predicated: j == 0 and j + 5 > len */
        const mve_pred16_t in = vctp32q((uint32_t)(len - j)), p2 = vctp32q((uint32_t)(len - j - 1));
        const mve_pred16_t p0 = j == 0 ? (mve_pred16_t)(vctp32q((uint32_t)(len + 1)) & 0xFFF0u)
                                       : vctp32q((uint32_t)(len - j + 1));
        /* (no constant predicate: GCC 12.2 materializes a 32-bit-lane one as all lanes, PR 108443) */
        int32x4_t acc = vdupq_n_s32(bias);
        if (j == 0) acc = vsetq_lane_s32(bias - c0, acc, 0);
        acc = vsubq_m_n_s32(acc, acc, c2, (mve_pred16_t)(in & ~p2));
        acc = vmlaq_n_s32(acc, vldrbq_z_s32(r0 + j - 1, p0), w00);
        acc = vmlaq_n_s32(acc, vldrbq_z_s32(r0 + j, in), w01);
        acc = vmlaq_n_s32(acc, vldrbq_z_s32(r0 + j + 1, p2), w02);
        if (nk > 1) {
            acc = vmlaq_n_s32(acc, vldrbq_z_s32(r1 + j - 1, p0), w10);
            acc = vmlaq_n_s32(acc, vldrbq_z_s32(r1 + j, in), w11);
            acc = vmlaq_n_s32(acc, vldrbq_z_s32(r1 + j + 1, p2), w12);
        }
        if (nk > 2) {
            acc = vmlaq_n_s32(acc, vldrbq_z_s32(r2 + j - 1, p0), w20);
            acc = vmlaq_n_s32(acc, vldrbq_z_s32(r2 + j, in), w21);
            acc = vmlaq_n_s32(acc, vldrbq_z_s32(r2 + j + 1, p2), w22);
        }
        vstrbq_scatter_offset_p_s32(o + (size_t)j * o_along, o_offs, dwp_requant(acc, qc, lo, hi), in);
        j += 4;
        if (j >= len) return;
        if (j + 5 > len) continue;
        /* inner vectors: every tap inside the line */
        const int8_t *x0 = r0 + j, *x1 = r1 + j, *x2 = r2 + j;
        int8_t *oo = o + (size_t)j * o_along;
        const int32_t n = (len - j - 1) / 4;
        for (int32_t i = 0; i < n; ++i, x0 += 4, x1 += 4, x2 += 4, oo += ostep) {
            int32x4_t a = vmlaq_n_s32(vdupq_n_s32(bias), vldrbq_s32(x0 - 1), w00);
            a = vmlaq_n_s32(a, vldrbq_s32(x0), w01);
            a = vmlaq_n_s32(a, vldrbq_s32(x0 + 1), w02);
            if (nk > 1) {
                a = vmlaq_n_s32(a, vldrbq_s32(x1 - 1), w10);
                a = vmlaq_n_s32(a, vldrbq_s32(x1), w11);
                a = vmlaq_n_s32(a, vldrbq_s32(x1 + 1), w12);
            }
            if (nk > 2) {
                a = vmlaq_n_s32(a, vldrbq_s32(x2 - 1), w20);
                a = vmlaq_n_s32(a, vldrbq_s32(x2), w21);
                a = vmlaq_n_s32(a, vldrbq_s32(x2 + 1), w22);
            }
            vstrbq_scatter_offset_s32(oo, o_offs, dwp_requant(a, qc, lo, hi));
        }
        j += 4 * n;
        if (j >= len) return;
    }
}

TINYC_INLINE int32x4_t dwp_rq(int32x4_t acc2, int32x4_t mult, int32_t add, int32_t nshift, int32x4_t lo,
                              int32x4_t hi)
{
    int32x4_t v = vrmulhq_s32(acc2, mult);
    v = vaddq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), add);
    return vminq_s32(vmaxq_s32(vshlq_r_s32(v, nshift), lo), hi);
}

/* One filter line (weights w0, w1, w2) on g (1..3) vectors of 4 outputs at x, x + 4, x + 8, every tap
 * inside the line: VLDRB.S32 with immediate offsets from a low register (GCC 12 computes each address in two instructions
 * from the intrinsics) and VMLA by the scalar weight. */
#define DWP_V(a, o0, o1, o2)                                                                              \
    "vldrb.s32 %q[t], [%[x], #" #o0 "]\n\tvmla.s32 %q[" #a "], %q[t], %[w0]\n\t"                           \
    "vldrb.s32 %q[t], [%[x], #" #o1 "]\n\tvmla.s32 %q[" #a "], %q[t], %[w1]\n\t"                           \
    "vldrb.s32 %q[t], [%[x], #" #o2 "]\n\tvmla.s32 %q[" #a "], %q[t], %[w2]\n\t"

TINYC_INLINE void dwp_fline(int32x4_t *a0, int32x4_t *a1, int32x4_t *a2, const int8_t *x, const int32_t *w,
                            const int g)
{
    int32x4_t t;
    if (g == 3)
        __asm__(DWP_V(a0, -1, 0, 1) DWP_V(a1, 3, 4, 5) DWP_V(a2, 7, 8, 9)
                : [a0] "+w"(*a0), [a1] "+w"(*a1), [a2] "+w"(*a2), [t] "=&w"(t)
                : [x] "l"(x), [w0] "r"(w[0]), [w1] "r"(w[1]), [w2] "r"(w[2]), "m"(*(const int8_t(*)[11])(x - 1)));
    else if (g == 2)
        __asm__(DWP_V(a0, -1, 0, 1) DWP_V(a1, 3, 4, 5)
                : [a0] "+w"(*a0), [a1] "+w"(*a1), [t] "=&w"(t)
                : [x] "l"(x), [w0] "r"(w[0]), [w1] "r"(w[1]), [w2] "r"(w[2]), "m"(*(const int8_t(*)[7])(x - 1)));
    else
        __asm__(DWP_V(a0, -1, 0, 1)
                : [a0] "+w"(*a0), [t] "=&w"(t)
                : [x] "l"(x), [w0] "r"(w[0]), [w1] "r"(w[1]), [w2] "r"(w[2]), "m"(*(const int8_t(*)[3])(x - 1)));
}

/* g (1..3) vectors at x, x + 4, x + 8 of nk filter lines (plane lines len apart) with every tap inside
 * the line; or one vector (g == 1) that is the line's first (tap 0 loaded under pf, lanes 1..3) or its
 * last (tap 2 under pl, lanes 0..2). b0: vector 0's bias. */
TINYC_INLINE void dwp_group(const int8_t *x, int32_t len, const int32_t *w, const int nk, const int g,
                            const int first, const int last, int32x4_t b0, int32x4_t bv, mve_pred16_t pf,
                            mve_pred16_t pl, int32x4_t mult, int32_t add, int32_t nshift, int32x4_t lo,
                            int32x4_t hi, int8_t *o, size_t ostep, uint32x4_t o_offs)
{
    int32x4_t a0 = b0, a1 = bv, a2 = bv;
    if (first || last) {
        for (int k = 0; k < nk; ++k, x += len, w += 3) {
            a0 = vmlaq_n_s32(a0, first ? vldrbq_z_s32(x - 1, pf) : vldrbq_s32(x - 1), w[0]);
            a0 = vmlaq_n_s32(a0, vldrbq_s32(x), w[1]);
            a0 = vmlaq_n_s32(a0, last ? vldrbq_z_s32(x + 1, pl) : vldrbq_s32(x + 1), w[2]);
        }
    } else {
        dwp_fline(&a0, &a1, &a2, x, w, g);
        if (nk > 1) dwp_fline(&a0, &a1, &a2, x + len, w + 3, g);
        if (nk > 2) dwp_fline(&a0, &a1, &a2, x + 2 * len, w + 6, g);
    }
    vstrbq_scatter_offset_s32(o, o_offs, dwp_rq(a0, mult, add, nshift, lo, hi));
    if (g > 1) vstrbq_scatter_offset_s32(o + ostep, o_offs, dwp_rq(a1, mult, add, nshift, lo, hi));
    if (g > 2) vstrbq_scatter_offset_s32(o + 2 * ostep, o_offs, dwp_rq(a2, mult, add, nshift, lo, hi));
}

/* One output line of len >= 5 from nk plane lines from r0: vectors at 0, 4, ... while every tap of the
 * later ones is inside the line (three at a time), then the last at len - 4, which may store some
 * outputs again (the same values: the plane is the input). pf: lanes 1..3 (not a constant: see the caller). */
TINYC_INLINE void dwp_line_long(const int8_t *r0, const int32_t *w, const int nk, int32_t len, int32_t bias,
                                int32_t c0, int32_t c2, const int32_t *qc, int32x4_t lo, int32x4_t hi, int8_t *o,
                                int32_t o_along, uint32x4_t o_offs, mve_pred16_t pf)
{
    const int32x4_t mult = vdupq_n_s32(qc[0]), bv = vdupq_n_s32(bias);
    const int32_t add = qc[1], nshift = -qc[2];
    const mve_pred16_t pl = (mve_pred16_t)(pf >> 4); /* lanes 0..2 */
    const size_t ostep = (size_t)4 * o_along;
    dwp_group(r0, len, w, nk, 1, 1, 0, vsetq_lane_s32(bias - c0, bv, 0), bv, pf, pl, mult, add, nshift, lo, hi, o,
              ostep, o_offs);
    int32_t nv = (len - 5) / 4; /* inner vectors, from 4 */
    const int8_t *x = r0 + 4;
    int8_t *oo = o + ostep;
    for (; nv >= 3; nv -= 3, x += 12, oo += 3 * ostep)
        dwp_group(x, len, w, nk, 3, 0, 0, bv, bv, pf, pl, mult, add, nshift, lo, hi, oo, ostep, o_offs);
    if (nv == 2) dwp_group(x, len, w, nk, 2, 0, 0, bv, bv, pf, pl, mult, add, nshift, lo, hi, oo, ostep, o_offs);
    if (nv == 1) dwp_group(x, len, w, nk, 1, 0, 0, bv, bv, pf, pl, mult, add, nshift, lo, hi, oo, ostep, o_offs);
    dwp_group(r0 + len - 4, len, w, nk, 1, 0, 1, vsetq_lane_s32(bias - c2, bv, 3), bv, pf, pl, mult, add, nshift,
              lo, hi, o + (size_t)(len - 4) * o_along, ostep, o_offs);
}

/* plane[l * len + j] = src[l * across + j * along], 8 bytes per gather (7 * along < 2^16). */
static void dwp_gather(int8_t *plane, const int8_t *src, int32_t n_lines, int32_t len, int32_t along,
                       int32_t across)
{
    const uint16x8_t offs = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)along);
    for (int32_t l = 0; l < n_lines; ++l, src += across, plane += len) {
        const int8_t *s = src;
        int32_t j = 0;
        for (; j + 8 <= len; j += 8, s += 8 * along) vstrbq_s16(plane + j, vldrbq_gather_offset_s16(s, offs));
        if (j < len) {
            const mve_pred16_t p = vctp16q((uint32_t)(len - j));
            vstrbq_p_s16(plane + j, vldrbq_gather_offset_z_s16(s, offs, p), p);
        }
    }
}

void tinyc_arm_mve_depthwise_plane_inplace_s8(const tinyc_mve_dwplane_params_t *p, int8_t *io, const int8_t *filter,
                                              const int32_t *bias, const int32_t *q, int8_t *plane)
{
    const int32_t C = p->channels, ah = p->along_h;
    const int32_t len = ah ? p->in_h : p->in_w, n_in = ah ? p->in_w : p->in_h, n_out = ah ? p->out_w : p->out_h;
    const int32_t stride = ah ? p->stride_w : p->stride_h, pad = ah ? p->pad_w : p->pad_h;
    const int32_t w_along = ah ? 3 : 1, w_across = ah ? 1 : 3;
    const int32_t o_along = ah ? p->out_w * C : C, o_across = ah ? C : p->out_w * C;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const uint32x4_t o_offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)o_along);
    const uint32_t off = (uint32_t)p->in_offset;
    /* lanes 1..3, opaque to the compiler: GCC 12.2 materializes a constant 32-bit-lane predicate as all
     * lanes (PR 108443), which it could fold this into were the parameters known */
    uint32_t lanes123 = 0xFFF0u;
    __asm__("" : "+r"(lanes123));
    const mve_pred16_t pf = (mve_pred16_t)lanes123;
    for (int32_t ch = 0; ch < C; ++ch, filter += 9, q += 3) {
        if (ah) dwp_gather(plane, io + ch, n_in, len, p->in_w * C, C);
        else dwp_gather(plane, io + ch, 1, n_in * len, C, 0);
        int32_t wd[9];      /* doubled, [filter line][along] */
        uint32_t ls[3], e0[3], e2[3];
        for (int32_t k = 0; k < 3; ++k) {
            for (int32_t a = 0; a < 3; ++a) wd[3 * k + a] = 2 * filter[k * w_across + a * w_along];
            e0[k] = (uint32_t)wd[3 * k];
            e2[k] = (uint32_t)wd[3 * k + 2];
            ls[k] = e0[k] + (uint32_t)wd[3 * k + 1] + e2[k];
        }
        int8_t *o = io + ch;
        for (int32_t ol = 0; ol < n_out; ++ol, o += o_across) {
            const int32_t first = ol * stride - pad;
            const int32_t k0 = first < 0 ? -first : 0, k1 = tinyc_min32(3, n_in - first);
            const int8_t *r[3];
            uint32_t s = 0, s0 = 0, s2 = 0;
            for (int32_t k = k0; k < k1; ++k) {
                r[k - k0] = plane + (size_t)(first + k) * len;
                s += ls[k], s0 += e0[k], s2 += e2[k];
            }
            const int32_t b = (int32_t)(2u * (uint32_t)bias[ch] + off * s);
            const int32_t c0 = (int32_t)(off * s0), c2 = (int32_t)(off * s2);
            if (len >= 5) {
                switch (k1 - k0) {
                case 3: dwp_line_long(r[0], wd + 3 * k0, 3, len, b, c0, c2, q, lo, hi, o, o_along, o_offs, pf); break;
                case 2: dwp_line_long(r[0], wd + 3 * k0, 2, len, b, c0, c2, q, lo, hi, o, o_along, o_offs, pf); break;
                case 1: dwp_line_long(r[0], wd + 3 * k0, 1, len, b, c0, c2, q, lo, hi, o, o_along, o_offs, pf); break;
                default: break;
                }
                continue;
            }
            switch (k1 - k0) {
            case 3: dwp_line(r, wd + 3 * k0, 3, len, b, c0, c2, q, lo, hi, o, o_along, o_offs); break;
            case 2: dwp_line(r, wd + 3 * k0, 2, len, b, c0, c2, q, lo, hi, o, o_along, o_offs); break;
            case 1: dwp_line(r, wd + 3 * k0, 1, len, b, c0, c2, q, lo, hi, o, o_along, o_offs); break;
            default: break;
            }
        }
    }
}
