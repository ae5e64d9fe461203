/* DEPTHWISE_CONV_2D, int8, depth multiplier 1, channels % 4 == 0, Arm DSP extension.
 *
 * Four channels per 32-bit load, unpacked to int16 pairs with the input offset added in the same
 * instruction (SXTAB16), one 16x16+32 MAC per tap and channel. Per output pixel a table of tap
 * pointers is built once: a tap outside the input points at a row of zero-point bytes, whose
 * contribution (zp + in_offset) * w is exactly 0, so every pixel runs the same unrolled loop over
 * channel groups. The generator stores the weights channel group by channel group, tap by tap
 * ([C/4][k_h*k_w][4]), so they stream from one pointer.
 *
 * Bit-identical to tinyc_ref_depthwise_conv2d_s8 for the calls tinyc/codegen/specialize.py hands over. */
#include "tinyc_rt.h"
#include "tinyc_rt_arm_dsp.h"

/* One tap of one channel group: x = the four input bytes at *(T[t] + R) (T holds tap pointers with
 * R = c at a border pixel, or tap offsets with R = window + c inside), w = the four weights. */
#if TINYC_DSP_ASM
/* Scheduled by hand: the compiler hoists the nine taps' loads and spills them. */
#define DW_TAP(T, R, t)                                                                                  \
    do {                                                                                                 \
        uint32_t x_, xe_, w_, we_;                                                                       \
        __asm__ volatile("ldr    %[x], [%[tab], #%c[to]]\n\t"                                            \
                         "ldr    %[w], [%[wp], #%c[to]]\n\t"                                             \
                         "ldr    %[x], [%[x], %[r]]\n\t"                                                 \
                         "sxtb16 %[we], %[w]\n\t"                                                        \
                         "sxtb16 %[w], %[w], ror #8\n\t"                                                 \
                         "sxtab16 %[xe], %[o2], %[x]\n\t"                                                \
                         "sxtab16 %[x], %[o2], %[x], ror #8\n\t"                                         \
                         "smlabb %[a0], %[xe], %[we], %[a0]\n\t"                                         \
                         "smlatt %[a2], %[xe], %[we], %[a2]\n\t"                                         \
                         "smlabb %[a1], %[x], %[w], %[a1]\n\t"                                           \
                         "smlatt %[a3], %[x], %[w], %[a3]"                                               \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x_),    \
                           [xe] "=&r"(xe_), [w] "=&r"(w_), [we] "=&r"(we_)                               \
                         : [tab] "r"(T), [r] "r"(R), [wp] "r"(w), [o2] "r"(off2), [to] "i"(4 * (t))      \
                         : "memory");                                                                    \
    } while (0)
#else
#define DW_TAP(T, R, t)                                                                                  \
    do {                                                                                                 \
        const uint32_t xr_ = tinyc_ld32((const int8_t *)((intptr_t)(T)[t] + (R))), wr_ = w[t];                       \
        const int32_t xe_ = tinyc_sxtab16(off2, xr_), xo_ = tinyc_sxtab16_ror8(off2, xr_);               \
        const int32_t we_ = tinyc_sxtb16(wr_), wo_ = tinyc_sxtb16_ror8(wr_);                             \
        a0 = tinyc_smlabb(xe_, we_, a0);                                                                 \
        a2 = tinyc_smlatt(xe_, we_, a2);                                                                 \
        a1 = tinyc_smlabb(xo_, wo_, a1);                                                                 \
        a3 = tinyc_smlatt(xo_, wo_, a3);                                                                 \
    } while (0)
#endif

/* All channel groups of one output pixel (see DW_TAP for T and R0 + c). */
#define DW_PIXEL(T, R0)                                                                    \
    do {                                                                                   \
        const tinyc_word_t *w = (const tinyc_word_t *)filter;                              \
        const tinyc_dsp_q_t *qc = q;                                                       \
        for (int32_t c = 0; c < C; c += 4, o += 4, qc += 4) {                              \
            int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];    \
            const intptr_t r_ = (intptr_t)(R0) + c;                                        \
            if (taps == 9) {                                                               \
                DW_TAP(T, r_, 0);                                                          \
                DW_TAP(T, r_, 1);                                                          \
                DW_TAP(T, r_, 2);                                                          \
                DW_TAP(T, r_, 3);                                                          \
                DW_TAP(T, r_, 4);                                                          \
                DW_TAP(T, r_, 5);                                                          \
                DW_TAP(T, r_, 6);                                                          \
                DW_TAP(T, r_, 7);                                                          \
                DW_TAP(T, r_, 8);                                                          \
                w += 9;                                                                    \
            } else {                                                                       \
                for (int32_t k = 0; k < taps; ++k) DW_TAP_ANY(T, r_, k);                   \
                w += taps;                                                                 \
            }                                                                              \
            if (full) {                                                                    \
                o[0] = (int8_t)tinyc_dsp_requant_full(a0, qc);                             \
                o[1] = (int8_t)tinyc_dsp_requant_full(a1, qc + 1);                         \
                o[2] = (int8_t)tinyc_dsp_requant_full(a2, qc + 2);                         \
                o[3] = (int8_t)tinyc_dsp_requant_full(a3, qc + 3);                         \
            } else {                                                                       \
                o[0] = (int8_t)tinyc_dsp_requant(a0, qc, lo, hi);                          \
                o[1] = (int8_t)tinyc_dsp_requant(a1, qc + 1, lo, hi);                      \
                o[2] = (int8_t)tinyc_dsp_requant(a2, qc + 2, lo, hi);                      \
                o[3] = (int8_t)tinyc_dsp_requant(a3, qc + 3, lo, hi);                      \
            }                                                                              \
        }                                                                                  \
    } while (0)

/* Any tap index (the generic loop): the portable form works on every target. */
#define DW_TAP_ANY(T, R, t)                                                                \
    do {                                                                                   \
        const uint32_t xr_ = tinyc_ld32((const int8_t *)((intptr_t)(T)[t] + (R))), wr_ = w[t];         \
        const int32_t xe_ = tinyc_sxtab16(off2, xr_), xo_ = tinyc_sxtab16_ror8(off2, xr_); \
        const int32_t we_ = tinyc_sxtb16(wr_), wo_ = tinyc_sxtb16_ror8(wr_);               \
        a0 = tinyc_smlabb(xe_, we_, a0);                                                   \
        a2 = tinyc_smlatt(xe_, we_, a2);                                                   \
        a1 = tinyc_smlabb(xo_, wo_, a1);                                                   \
        a3 = tinyc_smlatt(xo_, wo_, a3);                                                   \
    } while (0)

void tinyc_arm_dsp_depthwise_conv_s8(const tinyc_dsp_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *output, void *scratch)
{
    const int32_t C = p->channels, lo = p->act_min, hi = p->act_max, taps = p->k_h * p->k_w;
    const int full = lo == -128 && hi == 127;
    const int32_t off2 = (int32_t)(((uint32_t)p->in_offset & 0xFFFFu) | ((uint32_t)p->in_offset << 16));
    const int8_t **tp = (const int8_t **)scratch;        /* border pixels: tap pointers */
    intptr_t *offs = (intptr_t *)(tp + taps);             /* inner pixels: tap offsets from the window */
    int8_t *padrow = (int8_t *)(offs + taps);             /* C bytes of the input zero point */
    const size_t row = (size_t)p->in_w * C;
    for (int32_t c = 0; c < C; ++c) padrow[c] = (int8_t)(-p->in_offset);
    for (int32_t ky = 0, t = 0; ky < p->k_h; ++ky) {
        for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) offs[t] = (ky * p->dil_h * p->in_w + kx * p->dil_w) * C;
    }
    const int32_t span_h = (p->k_h - 1) * p->dil_h, span_w = (p->k_w - 1) * p->dil_w;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * row;
        int8_t *o = output + (size_t)b * p->out_h * p->out_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int rows_in = iy0 >= 0 && iy0 + span_h < p->in_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                if (rows_in && ix0 >= 0 && ix0 + span_w < p->in_w) {
                    const int8_t *base = in_b + (size_t)iy0 * row + (size_t)ix0 * C;
                    DW_PIXEL(offs, base);
                    continue;
                }
                int32_t t = 0;
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = iy0 + ky * p->dil_h;
                    const int row_ok = iy >= 0 && iy < p->in_h;
                    for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) {
                        const int32_t ix = ix0 + kx * p->dil_w;
                        tp[t] = row_ok && ix >= 0 && ix < p->in_w ? in_b + (size_t)iy * row + (size_t)ix * C : padrow;
                    }
                }
                DW_PIXEL(tp, 0);
            }
        }
    }
}

/* --- in place (batch 1, the output overwrites the input `io`; tinyc/model/inplace.py) ------------------ */

#include "inplace_rows.h"

/* The rows scheme: input rows still needed after their bytes are overwritten are read from the ring
 * (`ring`, ring_rows rows, inplace_rows.h) exactly as tinyc_ref_depthwise_conv2d_inplace_s8 keeps
 * them; every pixel goes through tap pointers (rows from the ring or `io`), four channels per load. */
void tinyc_arm_dsp_depthwise_rows_inplace_s8(const tinyc_dsp_dwconv_params_t *p, int32_t ring_rows, int8_t *io,
                                             const int8_t *filter, const int32_t *bias, const tinyc_dsp_q_t *q,
                                             void *scratch, int8_t *ring)
{
    const int32_t C = p->channels, lo = p->act_min, hi = p->act_max, taps = p->k_h * p->k_w;
    const int full = lo == -128 && hi == 127;
    const int32_t off2 = (int32_t)(((uint32_t)p->in_offset & 0xFFFFu) | ((uint32_t)p->in_offset << 16));
    const int8_t **tp = (const int8_t **)scratch;  /* border pixels: tap pointers */
    intptr_t *base = (intptr_t *)(tp + taps);      /* tap t of column 0 (0: a padding row) */
    int8_t *padrow = (int8_t *)(base + taps);
    const int32_t span_w = (p->k_w - 1) * p->dil_w;
    tinyc_ring_t r;
    for (int32_t c = 0; c < C; ++c) padrow[c] = (int8_t)(-p->in_offset);
    r.io = io;
    r.ring = ring;
    r.in_row = (size_t)p->in_w * C;
    r.out_row = (size_t)p->out_w * C;
    r.in_h = p->in_h;
    r.out_h = p->out_h;
    r.pad_h = p->pad_h;
    r.stride_h = p->stride_h;
    r.ring_rows = ring_rows;
    r.saved = 0;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        int8_t *o = io + (size_t)oy * r.out_row;
        int rows_in = 1;
        tinyc_ring_advance(&r, oy);
        for (int32_t ky = 0, t = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            const int8_t *row = iy >= 0 && iy < p->in_h ? tinyc_ring_row(&r, iy) : NULL;
            rows_in &= row != NULL;
            for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) {
                base[t] = row ? (intptr_t)(row + (size_t)kx * p->dil_w * C) : 0;
            }
        }
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_w;
            if (rows_in && ix0 >= 0 && ix0 + span_w < p->in_w) {
                DW_PIXEL(base, (intptr_t)ix0 * C);
                continue;
            }
            for (int32_t ky = 0, t = 0; ky < p->k_h; ++ky) {
                for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) {
                    const int32_t ix = ix0 + kx * p->dil_w;
                    tp[t] = base[t] && ix >= 0 && ix < p->in_w ? (const int8_t *)base[t] + (intptr_t)ix0 * C : padrow;
                }
            }
            DW_PIXEL(tp, 0);
        }
    }
}

/* The plane scheme (depth multiplier 1): channel by channel, the input plane is gathered into `plane`
 * (in_h * in_w bytes) and then that channel's outputs stored, which overwrite only its own bytes.
 * Weights are [C][k_h*k_w] and the input offset is folded into the bias (bias + in_offset * sum(w)),
 * so a tap outside the input reads the zero point (-in_offset), whose x * w cancels its folded part. */
void tinyc_arm_dsp_depthwise_plane_inplace_s8(const tinyc_dsp_dwconv_params_t *p, int8_t *io, const int8_t *filter,
                                              const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *plane)
{
    const int32_t C = p->channels, lo = p->act_min, hi = p->act_max, taps = p->k_h * p->k_w;
    const int32_t ih = p->in_h, iw = p->in_w, n = ih * iw, zp = -p->in_offset;
    const int fast3 = p->k_h == 3 && p->k_w == 3 && p->stride_h == 1 && p->stride_w == 1 && p->dil_h == 1 &&
                      p->dil_w == 1;
    for (int32_t ch = 0; ch < C; ++ch, filter += taps) {
        const int8_t *src = io + ch;
        for (int32_t i = 0; i < n; ++i, src += C) plane[i] = *src;
        const int32_t b = bias[ch];
        const tinyc_dsp_q_t *qc = q + ch;
        int8_t *o = io + ch;
        if (fast3) {
            const int32_t w0 = filter[0], w1 = filter[1], w2 = filter[2], w3 = filter[3], w4 = filter[4];
            const int32_t w5 = filter[5], w6 = filter[6], w7 = filter[7], w8 = filter[8];
            const int32_t z0 = zp * (w0 + w1 + w2), z1 = zp * (w3 + w4 + w5), z2 = zp * (w6 + w7 + w8);
            const int32_t zw0 = zp * w0, zw3 = zp * w3, zw6 = zp * w6, zw2 = zp * w2, zw5 = zp * w5, zw8 = zp * w8;
            for (int32_t oy = 0; oy < p->out_h; ++oy) {
                const int32_t iy0 = oy - p->pad_h;
                const int8_t *r0 = iy0 >= 0 && iy0 < ih ? plane + iy0 * iw : NULL;
                const int8_t *r1 = iy0 + 1 >= 0 && iy0 + 1 < ih ? plane + (iy0 + 1) * iw : NULL;
                const int8_t *r2 = iy0 + 2 >= 0 && iy0 + 2 < ih ? plane + (iy0 + 2) * iw : NULL;
                for (int32_t ox = 0; ox < p->out_w; ++ox, o += C) {
                    const int32_t x = ox - p->pad_w;
                    int32_t acc = b;
                    if (x >= 0 && x + 2 < iw) {
                        acc += r0 ? r0[x] * w0 + r0[x + 1] * w1 + r0[x + 2] * w2 : z0;
                        acc += r1 ? r1[x] * w3 + r1[x + 1] * w4 + r1[x + 2] * w5 : z1;
                        acc += r2 ? r2[x] * w6 + r2[x + 1] * w7 + r2[x + 2] * w8 : z2;
                    } else if (x == -1 && iw >= 2) { /* the left column of taps is padding */
                        acc += r0 ? r0[0] * w1 + r0[1] * w2 + zw0 : z0;
                        acc += r1 ? r1[0] * w4 + r1[1] * w5 + zw3 : z1;
                        acc += r2 ? r2[0] * w7 + r2[1] * w8 + zw6 : z2;
                    } else if (x == iw - 2 && x >= 0) { /* the right column */
                        acc += r0 ? r0[x] * w0 + r0[x + 1] * w1 + zw2 : z0;
                        acc += r1 ? r1[x] * w3 + r1[x + 1] * w4 + zw5 : z1;
                        acc += r2 ? r2[x] * w6 + r2[x + 1] * w7 + zw8 : z2;
                    } else {
                        const int8_t *rr[3] = {r0, r1, r2};
                        for (int32_t ky = 0; ky < 3; ++ky) {
                            for (int32_t kx = 0; kx < 3; ++kx) {
                                const int32_t ix = x + kx;
                                const int32_t v = rr[ky] && ix >= 0 && ix < iw ? rr[ky][ix] : zp;
                                acc += v * filter[3 * ky + kx];
                            }
                        }
                    }
                    *o = (int8_t)tinyc_dsp_requant(acc, qc, lo, hi);
                }
            }
            continue;
        }
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox, o += C) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t acc = b;
                for (int32_t ky = 0, t = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = iy0 + ky * p->dil_h;
                    const int row_ok = iy >= 0 && iy < ih;
                    for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) {
                        const int32_t ix = ix0 + kx * p->dil_w;
                        const int32_t v = row_ok && ix >= 0 && ix < iw ? plane[iy * iw + ix] : zp;
                        acc += v * filter[t];
                    }
                }
                *o = (int8_t)tinyc_dsp_requant(acc, qc, lo, hi);
            }
        }
    }
}
