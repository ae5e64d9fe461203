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
 * Depth multiplier 1, dilation 1, stride 1 or 2 along the lines (any stride across), the fast
 * requantization form, any channel count. Channel by channel, the input lines the output lines read are
 * gathered (VLDRB.S16 gathers of the channel's bytes, 8 at a time) into a ring of three lines padded with the
 * input zero point, so every output runs the same loads whatever its border (the offset is folded into the
 * bias: a padded tap adds -in_offset * w, which cancels it). Lines are rows, or columns (along_h: the plane
 * scheme of KWS's 25x5 planes). Stride 1: line column j is input element j - pad; stride 2: the even columns,
 * then at `half` the odd ones, so the taps of four neighbouring outputs are again four consecutive bytes. An
 * output line is computed three vectors (12 outputs) at a time, one filter line per inline-assembly block:
 * VLDRB.S32 with immediate offsets and VMLA by the scalar weight; then VQRDMULH requantization by the
 * channel's scalars and VSTRB.32 scattered out_elem bytes apart (predicated for the line's last outputs).
 * Each input line is gathered once, just before the first output line that reads it is computed: in place
 * (output over input, same channel count) that is safe when no output line written before it covers its
 * bytes, which the generator checks (rows) or the plane scheme gives (out == in). */

typedef struct {
    int32_t in_lines, in_len, out_lines, out_len; /* lines, and elements per line */
    int32_t s_across, pad_across, pad_along;
    int32_t in_elem, in_line, out_elem, out_line; /* byte steps */
    int32_t nv, pitch, half, s2;                  /* vectors per output line, padded line, odd half */
    int32_t n[2], e[2], d[2]; /* a line's input columns: n_j elements from input element e_j to column d_j */
} dwb_t;

static dwb_t dwb_init(int32_t in_lines, int32_t in_len, int32_t out_lines, int32_t out_len, int32_t s_across,
                      int32_t s_along, int32_t pad_across, int32_t pad_along, int32_t in_elem, int32_t in_line,
                      int32_t out_elem, int32_t out_line)
{
    dwb_t d;
    d.in_lines = in_lines;
    d.in_len = in_len;
    d.out_lines = out_lines;
    d.out_len = out_len;
    d.s_across = s_across;
    d.pad_across = pad_across;
    d.pad_along = pad_along;
    d.in_elem = in_elem;
    d.in_line = in_line;
    d.out_elem = out_elem;
    d.out_line = out_line;
    d.s2 = s_along == 2;
    d.nv = (out_len + 3) >> 2;
    d.half = d.s2 ? (4 * d.nv + 1 + 15) & ~15 : 0; /* even columns 0 .. 4 nv, odd 0 .. 4 nv - 1 */
    d.pitch = d.s2 ? 2 * d.half : (4 * d.nv + 2 + 15) & ~15; /* stride 1: columns 0 .. 4 nv + 1 */
    d.n[1] = d.e[1] = d.d[1] = 0;
    if (!d.s2) {
        d.n[0] = tinyc_min32(in_len, d.pitch - pad_along);
        d.e[0] = 0;
        d.d[0] = pad_along;
        return d;
    }
    for (int32_t par = 0; par < 2; ++par) { /* line column k = 2 j + par is input element k - pad */
        const int32_t j0 = pad_along > par ? (pad_along - par + 1) >> 1 : 0, first = 2 * j0 + par - pad_along;
        d.n[par] = first < in_len ? tinyc_min32((in_len - 1 - first) / 2 + 1, d.half - j0) : 0;
        d.e[par] = first;
        d.d[par] = par * d.half + j0;
    }
    return d;
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

/* One output line of one channel in assembly (GCC 12 reloads the weights and the requantization scalars
 * around every vector when this is C): tinyc_mve_dwb_line_s1 / _s2 (ctx). Three vectors (12 outputs) per
 * pass: per filter line, its three weights (ldrd + ldr) and 9 VLDRB.S32 (immediate offsets from the line
 * pointer; stride 2: the odd half from a second pointer) each followed by VMLA.S32 by the scalar weight; then
 * the requantization of the three (VQRDMULH, the sign fix, the add, VSHL, the clamp) and VSTRB.32 scattered
 * out_elem bytes apart; the last one or two vectors of a line one at a time. The line's last vector is stored
 * under `last` (its lanes inside the line).
 * Registers: line pointers r0 r1 r2 (stride 2: odd halves r3 r4 r5), ctx r6, weights / scalars r7 r8 r9,
 * output r10, its step r11, vectors left r12; accumulators q0 q1 q2, q3 a temporary, act_min / act_max q4 q5,
 * scatter offsets q6, bias q7. Weak: one copy whatever includes it. */
typedef struct {
    const int8_t *l0, *l1, *l2; /* 0, 4, 8: the padded lines (column 0) */
    int8_t *o;                  /* 12: output of the line's first vector */
    int32_t ostep, nv, last;    /* 16, 20, 24: bytes between vectors, vectors, the last vector's lanes */
    int32_t half;               /* 28: stride 2: offset of the odd half */
    int32_t w[9];               /* 32: [across][along] */
    int32_t bias, mult, add, nsh; /* 68, 72, 76, 80 */
    int32_t lo, hi, out_elem;   /* 84, 88, 92 */
} dwb_ctx_t;

void tinyc_mve_dwb_line_s1(const dwb_ctx_t *ctx);
void tinyc_mve_dwb_line_s2(const dwb_ctx_t *ctx);

#define DWB_REQ(q)                                                                                         \
    "vqrdmulh.s32 " q ", " q ", r7\n\tvshr.s32 q3, " q ", #31\n\tvadd.i32 " q ", " q ", q3\n\t"            \
    "vadd.i32 " q ", " q ", r8\n\tvshl.s32 " q ", r9\n\tvmax.s32 " q ", " q ", q4\n\tvmin.s32 " q ", " q   \
    ", q5\n\t"
/* stride 1: x[j], x[j+1], x[j+2] of line register L for the vector at byte o */
#define DWB_T1(q, L, o0, o1, o2)                                                                           \
    "vldrb.s32 q3, [" L ", #" #o0 "]\n\tvmla.s32 " q ", q3, r7\n\t"                                         \
    "vldrb.s32 q3, [" L ", #" #o1 "]\n\tvmla.s32 " q ", q3, r8\n\t"                                         \
    "vldrb.s32 q3, [" L ", #" #o2 "]\n\tvmla.s32 " q ", q3, r9\n\t"
#define DWB_L1(L, woff)                                                                                    \
    "ldrd r7, r8, [r6, #" #woff "]\n\tldr r9, [r6, #" #woff "+8]\n\t"                                      \
    DWB_T1("q0", L, 0, 1, 2) DWB_T1("q1", L, 4, 5, 6) DWB_T1("q2", L, 8, 9, 10)
/* stride 2: x[j], y[j], x[j+1] (y: the odd half) */
#define DWB_T2(q, L, Y, o0, o2)                                                                            \
    "vldrb.s32 q3, [" L ", #" #o0 "]\n\tvmla.s32 " q ", q3, r7\n\t"                                         \
    "vldrb.s32 q3, [" Y ", #" #o0 "]\n\tvmla.s32 " q ", q3, r8\n\t"                                         \
    "vldrb.s32 q3, [" L ", #" #o2 "]\n\tvmla.s32 " q ", q3, r9\n\t"
#define DWB_L2(L, Y, woff)                                                                                 \
    "ldrd r7, r8, [r6, #" #woff "]\n\tldr r9, [r6, #" #woff "+8]\n\t"                                      \
    DWB_T2("q0", L, Y, 0, 1) DWB_T2("q1", L, Y, 4, 5) DWB_T2("q2", L, Y, 8, 9)

#define DWB_S1(L, woff) /* one vector (q0) of a filter line, stride 1 */                                 \
    "ldrd r7, r8, [r6, #" #woff "]\n\tldr r9, [r6, #" #woff "+8]\n\t" DWB_T1("q0", L, 0, 1, 2)
#define DWB_S2(L, Y, woff)                                                                                 \
    "ldrd r7, r8, [r6, #" #woff "]\n\tldr r9, [r6, #" #woff "+8]\n\t" DWB_T2("q0", L, Y, 0, 1)

/* the function around the passes (MACS3 / MACS1: the three filter lines on three vectors / one; ADV3 / ADV1:
 * the line pointers' advance by 12 / 4 columns): passes of three vectors while three are left, then single
 * vectors; the line's last vector is stored under `last` */
#define DWB_LINE_FN(name, SETUP, MACS3, ADV3, MACS1, ADV1)                                                 \
    "\t.pushsection .text." name ",\"ax\",%progbits\n\t.syntax unified\n\t.thumb\n\t.p2align 2\n"         \
    "\t.weak " name "\n\t.type " name ", %function\n\t.thumb_func\n" name ":\n\t"                          \
    "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\tvpush {d8-d15}\n\t"                                    \
    "mov r6, r0\n\t"                                                                                       \
    "ldm r6, {r0, r1, r2, r10, r11, r12}\n\t"                                                              \
    SETUP                                                                                                  \
    "ldr r7, [r6, #68]\n\tvdup.32 q7, r7\n\t"                                                              \
    "ldrd r7, r8, [r6, #84]\n\tvdup.32 q4, r7\n\tvdup.32 q5, r8\n\t"                                       \
    "ldr r7, [r6, #92]\n\tmovs r8, #0\n\tvidup.u32 q6, r8, #1\n\tvmul.i32 q6, q6, r7\n"                   \
    "1:\n\t"                                                                                               \
    "cmp r12, #3\n\t"                                                                                      \
    "blt 4f\n\t"                                                                                           \
    "vmov q0, q7\n\tvmov q1, q7\n\tvmov q2, q7\n\t"                                                        \
    MACS3                                                                                                  \
    "ldrd r7, r8, [r6, #72]\n\tldr r9, [r6, #80]\n\t"                                                      \
    DWB_REQ("q0") DWB_REQ("q1") DWB_REQ("q2")                                                              \
    "vstrb.32 q0, [r10, q6]\n\tadd r10, r11\n\t"                                                           \
    "vstrb.32 q1, [r10, q6]\n\tadd r10, r11\n\t"                                                           \
    "cmp r12, #3\n\t"                                                                                      \
    "beq 3f\n\t"                                                                                           \
    "vstrb.32 q2, [r10, q6]\n\tadd r10, r11\n\t"                                                           \
    ADV3                                                                                                   \
    "subs r12, #3\n\t"                                                                                     \
    "b 1b\n"                                                                                               \
    "3:\n\t" /* the line's last vector */                                                                 \
    "ldr r7, [r6, #24]\n\tvmsr p0, r7\n\tvpst\n\tvstrbt.32 q2, [r10, q6]\n\t"                             \
    "b 6f\n"                                                                                               \
    "4:\n\t" /* one or two vectors left: one at a time */                                                 \
    "vmov q0, q7\n\t"                                                                                      \
    MACS1                                                                                                  \
    "ldrd r7, r8, [r6, #72]\n\tldr r9, [r6, #80]\n\t"                                                      \
    DWB_REQ("q0")                                                                                          \
    "cmp r12, #1\n\t"                                                                                      \
    "beq 5f\n\t"                                                                                           \
    "vstrb.32 q0, [r10, q6]\n\tadd r10, r11\n\t"                                                           \
    ADV1                                                                                                   \
    "subs r12, #1\n\t"                                                                                     \
    "b 4b\n"                                                                                               \
    "5:\n\t"                                                                                               \
    "ldr r7, [r6, #24]\n\tvmsr p0, r7\n\tvpst\n\tvstrbt.32 q0, [r10, q6]\n"                               \
    "6:\n\t"                                                                                               \
    "vpop {d8-d15}\n\tpop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"                                        \
    "\t.size " name ", .-" name "\n\t.popsection\n"

__asm__(DWB_LINE_FN("tinyc_mve_dwb_line_s1", "",
                    DWB_L1("r0", 32) DWB_L1("r1", 44) DWB_L1("r2", 56),
                    "adds r0, #12\n\tadds r1, #12\n\tadds r2, #12\n\t",
                    DWB_S1("r0", 32) DWB_S1("r1", 44) DWB_S1("r2", 56),
                    "adds r0, #4\n\tadds r1, #4\n\tadds r2, #4\n\t"));
__asm__(DWB_LINE_FN("tinyc_mve_dwb_line_s2",
                    "ldr r7, [r6, #28]\n\tadds r3, r0, r7\n\tadds r4, r1, r7\n\tadds r5, r2, r7\n\t",
                    DWB_L2("r0", "r3", 32) DWB_L2("r1", "r4", 44) DWB_L2("r2", "r5", 56),
                    "adds r0, #12\n\tadds r1, #12\n\tadds r2, #12\n\tadds r3, #12\n\tadds r4, #12\n\tadds r5, #12\n\t",
                    DWB_S2("r0", "r3", 32) DWB_S2("r1", "r4", 44) DWB_S2("r2", "r5", 56),
                    "adds r0, #4\n\tadds r1, #4\n\tadds r2, #4\n\tadds r3, #4\n\tadds r4, #4\n\tadds r5, #4\n\t"));

/* The padded line of input line il of the channel at `in` into `line` (its padding columns hold zero points
 * already: a line outside the input is all zero points). */
static void dwb_load(const dwb_t *d, const int8_t *in, int32_t il, int8_t *line, int8x16_t zpv, uint16x8_t offs,
                     int32_t step8)
{
    if (il < 0 || il >= d->in_lines) {
        for (int32_t j = 0; j < d->pitch; j += 16) vstrbq_s8(line + j, zpv);
        return;
    }
    const int8_t *src = in + (size_t)il * d->in_line;
    dwb_gather(line + d->d[0], src + d->e[0] * d->in_elem, d->n[0], offs, step8);
    if (d->n[1]) dwb_gather(line + d->d[1], src + d->e[1] * d->in_elem, d->n[1], offs, step8);
}

/* Every output line of one channel: input at `in` (the channel's first byte), output at `out`; c: the line
 * kernel's context with the channel's weights, bias (the input offset folded) and requantization set;
 * `ring`: three lines whose padding columns hold zero points. */
static void dwb_channel(const dwb_t *d, const int8_t *in, int8_t *out, dwb_ctx_t *c, int8_t *ring, int8x16_t zpv)
{
    const int32_t s = d->s_across, pitch = d->pitch;
    const uint16x8_t offs16 = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)(d->s2 ? 2 * d->in_elem : d->in_elem));
    const int32_t step8 = (d->s2 ? 16 : 8) * d->in_elem;
    int8_t *l0 = ring, *l1 = ring + pitch, *l2 = ring + 2 * pitch;
    int32_t il = -d->pad_across;
    dwb_load(d, in, il, l0, zpv, offs16, step8);
    dwb_load(d, in, il + 1, l1, zpv, offs16, step8);
    dwb_load(d, in, il + 2, l2, zpv, offs16, step8);
    for (int32_t ol = 0;;) {
        c->l0 = l0;
        c->l1 = l1;
        c->l2 = l2;
        c->o = out;
        if (d->s2) tinyc_mve_dwb_line_s2(c);
        else tinyc_mve_dwb_line_s1(c);
        if (++ol == d->out_lines) return;
        out += d->out_line;
        il += s;
        if (s == 1) { /* the next line in the oldest slot */
            int8_t *t = l0;
            l0 = l1;
            l1 = l2;
            l2 = t;
            dwb_load(d, in, il + 2, l2, zpv, offs16, step8);
        } else if (s == 2) {
            int8_t *t = l0;
            l0 = l2;
            l2 = l1;
            l1 = t;
            dwb_load(d, in, il + 1, l1, zpv, offs16, step8);
            dwb_load(d, in, il + 2, l2, zpv, offs16, step8);
        } else {
            dwb_load(d, in, il, l0, zpv, offs16, step8);
            dwb_load(d, in, il + 1, l1, zpv, offs16, step8);
            dwb_load(d, in, il + 2, l2, zpv, offs16, step8);
        }
    }
}

/* The line kernel's context for a layer (the channel's fields are set per channel). */
static dwb_ctx_t dwb_ctx(const dwb_t *d, int32_t act_min, int32_t act_max)
{
    dwb_ctx_t c;
    c.ostep = 4 * d->out_elem;
    c.nv = d->nv;
    c.last = (int32_t)(0xFFFFu >> (4 * (4 * d->nv - d->out_len)));
    c.half = d->half;
    c.lo = act_min;
    c.hi = act_max;
    c.out_elem = d->out_elem;
    return c;
}

/* A DEPTHWISE_CONV_2D call through dwb_channel (p->band set by the generator): every channel of every batch;
 * in place when output == input. */
static void dwb_conv(const tinyc_mve_dwconv_params_t *p, const int8_t *input, int8_t *output, const int8_t *filter,
                     const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *ring)
{
    const int32_t C = p->channels;
    const dwb_t d = dwb_init(p->in_h, p->in_w, p->out_h, p->out_w, p->stride_h, p->stride_w, p->pad_h, p->pad_w, C,
                             p->in_w * C, C, p->out_w * C);
    const int8x16_t zpv = vdupq_n_s8((int8_t)-p->in_offset);
    const size_t in_b = (size_t)p->in_h * p->in_w * C, out_b = (size_t)p->out_h * p->out_w * C;
    dwb_ctx_t ctx = dwb_ctx(&d, p->act_min, p->act_max);
    for (int32_t i = 0; i < 3 * d.pitch; i += 16) vstrbq_s8(ring + i, zpv);
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t c = 0; c < C; ++c) {
            for (int32_t t = 0; t < 9; ++t) ctx.w[t] = filter[t * C + c];
            ctx.bias = bias[c];
            ctx.mult = q[c >> 2].mult[c & 3];
            ctx.add = q[c >> 2].add[c & 3];
            ctx.nsh = q[c >> 2].neg_rshift[c & 3];
            dwb_channel(&d, input + b * in_b + c, output + b * out_b + c, &ctx, ring, zpv);
        }
    }
}

void tinyc_arm_mve_depthwise_conv_s8(const tinyc_mve_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output, void *scratch)
{
    if (p->band) {
        dwb_conv(p, input, output, filter, bias, q, (int8_t *)scratch);
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
    if (p->band) { /* a channel at a time over the whole plane: the generator checked it is safe in place */
        dwb_conv(p, io, io, filter, bias, q, (int8_t *)scratch);
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

/* The plane scheme (tinyc/model/inplace.py: batch 1, depth multiplier 1, 3x3, dilation 1, in place with the
 * plan's plane buffer of in_h * in_w bytes) through dwb_channel, a channel at a time: the generator takes the
 * calls whose three padded lines fit that buffer and whose line order is safe in place (the lines along the
 * axis with fewer output vectors: along_h, the columns); weights [C][ky][kx], the model's bias (the input
 * offset folded here), q: (mult, add, rshift) per channel. */
void tinyc_arm_mve_depthwise_plane_inplace_s8(const tinyc_mve_dwplane_params_t *p, int8_t *io, const int8_t *filter,
                                              const int32_t *bias, const int32_t *q, int8_t *ring)
{
    const int32_t C = p->channels, ah = p->along_h;
    const dwb_t d = ah ? dwb_init(p->in_w, p->in_h, p->out_w, p->out_h, p->stride_w, p->stride_h, p->pad_w, p->pad_h,
                                  p->in_w * C, C, p->out_w * C, C)
                       : dwb_init(p->in_h, p->in_w, p->out_h, p->out_w, p->stride_h, p->stride_w, p->pad_h, p->pad_w,
                                  C, p->in_w * C, C, p->out_w * C);
    const int8x16_t zpv = vdupq_n_s8((int8_t)-p->in_offset);
    dwb_ctx_t ctx = dwb_ctx(&d, p->act_min, p->act_max);
    for (int32_t i = 0; i < 3 * d.pitch; i += 16) vstrbq_s8(ring + i, zpv);
    for (int32_t c = 0; c < C; ++c, filter += 9, q += 3) {
        uint32_t sum = 0;
        for (int32_t a = 0; a < 3; ++a)
            for (int32_t b = 0; b < 3; ++b) { /* [across][along]: along the columns, across is kx */
                ctx.w[3 * a + b] = filter[ah ? 3 * b + a : 3 * a + b];
                sum += (uint32_t)ctx.w[3 * a + b];
            }
        ctx.bias = (int32_t)((uint32_t)bias[c] + (uint32_t)p->in_offset * sum);
        ctx.mult = q[0];
        ctx.add = q[1];
        ctx.nsh = -q[2];
        dwb_channel(&d, io + c, io + c, &ctx, ring, zpv);
    }
}

