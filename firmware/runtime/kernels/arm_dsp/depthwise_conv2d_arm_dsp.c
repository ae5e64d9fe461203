/* DEPTHWISE_CONV_2D, int8, Arm DSP extension.
 *
 * Four channels per 32-bit load, unpacked to int16 pairs with the input offset added in the same
 * instruction (SXTAB16), one 16x16+32 MAC per tap and channel. Per output pixel a table of tap
 * pointers is built once: a tap outside the input points at a row of zero-point bytes, whose
 * contribution (zp + in_offset) * w is exactly 0, so every pixel runs the same unrolled loop over
 * channel groups. The generator stores the weights channel group by channel group, tap by tap
 * ([C/4][k_h*k_w][4]), so they stream from one pointer. The common case (depth multiplier 1, channels % 4
 * == 0, the fast requantization) has its weights widened and doubled and the input offset folded into its
 * bias instead (DWW_TAP below: one LDRD, one input load and 2 SXTB16 per tap of four channels); any other channel count, depth multiplier or the general
 * requantization takes dw_rows_any below (the same tap loop over row pointers, the last C % 4 channels one
 * at a time, the input rows expanded per channel for a depth multiplier).
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

/* The common case (depth multiplier 1, channels % 4 == 0, the fast requantization): the generator stores
 * the weights widened and doubled, per channel group and tap the halfword pairs (2 w0, 2 w2), (2 w1, 2 w3)
 * ([C/4][taps][2] words, one LDRD per tap), and the bias doubled with the input offset folded in
 * (2 * (b + in_offset * sum of the channel's weights)); the input is unpacked by SXTB16 alone (a padding
 * tap reads zero-point bytes, whose -in_offset * w cancels the folded term). The accumulators are then
 * 2 * acc, which SMMULR takes without a shift: one tap of four channels in 9 instructions. */
#if TINYC_DSP_ASM
#define DWW_TAP(T, R, t)                                                                                 \
    do {                                                                                                 \
        uint32_t x_, xe_, we_, wo_;                                                                      \
        __asm__ volatile("ldr    %[x], [%[tab], #%c[to]]\n\t"                                            \
                         "ldrd   %[we], %[wo], [%[wp], #%c[wo8]]\n\t"                                    \
                         "ldr    %[x], [%[x], %[r]]\n\t"                                                 \
                         "sxtb16 %[xe], %[x]\n\t"                                                        \
                         "sxtb16 %[x], %[x], ror #8\n\t"                                                 \
                         "smlabb %[a0], %[xe], %[we], %[a0]\n\t"                                         \
                         "smlatt %[a2], %[xe], %[we], %[a2]\n\t"                                         \
                         "smlabb %[a1], %[x], %[wo], %[a1]\n\t"                                          \
                         "smlatt %[a3], %[x], %[wo], %[a3]"                                              \
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "=&r"(x_),    \
                           [xe] "=&r"(xe_), [we] "=&r"(we_), [wo] "=&r"(wo_)                             \
                         : [tab] "r"(T), [r] "r"(R), [wp] "r"(w), [to] "i"(4 * (t)), [wo8] "i"(8 * (t))  \
                         : "memory");                                                                    \
    } while (0)
#else
#define DWW_TAP(T, R, t) DWW_TAP_ANY(T, R, t)
#endif
#define DWW_TAP_ANY(T, R, t)                                                                             \
    do {                                                                                                 \
        const uint32_t xr_ = tinyc_ld32((const int8_t *)((intptr_t)(T)[t] + (R)));                       \
        const int32_t xe_ = tinyc_sxtb16(xr_), xo_ = tinyc_sxtb16_ror8(xr_);                             \
        const int32_t we_ = (int32_t)w[2 * (t)], wo_ = (int32_t)w[2 * (t) + 1];                          \
        a0 = tinyc_smlabb(xe_, we_, a0);                                                                 \
        a2 = tinyc_smlatt(xe_, we_, a2);                                                                 \
        a1 = tinyc_smlabb(xo_, wo_, a1);                                                                 \
        a3 = tinyc_smlatt(xo_, wo_, a3);                                                                 \
    } while (0)

/* tinyc_dsp_requant of acc2 = 2 * acc (the common case's doubled accumulators). */
TINYC_INLINE int8_t dw_out2(int32_t acc2, const tinyc_dsp_q_t *q, int32_t lo, int32_t hi, const int full)
{
    int32_t v = tinyc_smmulr(acc2, q->mult);
    v = (v + (v >> 31) + q->add) >> q->rshift;
    return (int8_t)(full ? tinyc_dsp_ssat8(v) : tinyc_dsp_clamp(v, lo, hi));
}

/* All channel groups of one output pixel (see DW_TAP for T and R0 + c). */
#define DW_PIXEL(T, R0)                                                                    \
    do {                                                                                   \
        const tinyc_word_t *w = (const tinyc_word_t *)filter;                              \
        const tinyc_dsp_q_t *qc = q;                                                       \
        for (int32_t c = 0; c < C; c += 4, o += 4, qc += 4) {                              \
            int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];    \
            const intptr_t r_ = (intptr_t)(R0) + c;                                        \
            if (taps == 9) {                                                               \
                DWW_TAP(T, r_, 0);                                                         \
                DWW_TAP(T, r_, 1);                                                         \
                DWW_TAP(T, r_, 2);                                                         \
                DWW_TAP(T, r_, 3);                                                         \
                DWW_TAP(T, r_, 4);                                                         \
                DWW_TAP(T, r_, 5);                                                         \
                DWW_TAP(T, r_, 6);                                                         \
                DWW_TAP(T, r_, 7);                                                         \
                DWW_TAP(T, r_, 8);                                                         \
            } else {                                                                       \
                for (int32_t k = 0; k < taps; ++k) DWW_TAP_ANY(T, r_, k);                  \
            }                                                                              \
            w += 2 * taps;                                                                 \
            o[0] = dw_out2(a0, qc, lo, hi, full);                                          \
            o[1] = dw_out2(a1, qc + 1, lo, hi, full);                                      \
            o[2] = dw_out2(a2, qc + 2, lo, hi, full);                                      \
            o[3] = dw_out2(a3, qc + 3, lo, hi, full);                                      \
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

#include "inplace_rows.h"

/* --- any channel count, depth multiplier and requantization form ---------------------------------------- */

#define TINYC_DSP_DW_MAX_KH 16

/* One output pixel of C channels at o: groups of four (DW_TAP over T[t] + R, see above), then the last
 * C % 4 channels one at a time (weights [C % 4][taps] after the groups). */
TINYC_INLINE void dw_pixel_any(const intptr_t *T, intptr_t R, int32_t taps, int32_t C, const int8_t *filter,
                               const int32_t *bias, const void *qv, int8_t *o, int32_t off2, int32_t off, int32_t lo,
                               int32_t hi, int32_t zp, const int general)
{
    const tinyc_word_t *w = (const tinyc_word_t *)filter;
    const int32_t C4 = C & ~3;
    int32_t c = 0;
    for (; c < C4; c += 4) {
        int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
        const intptr_t r_ = R + c;
        if (taps == 9) {
            DW_TAP(T, r_, 0);
            DW_TAP(T, r_, 1);
            DW_TAP(T, r_, 2);
            DW_TAP(T, r_, 3);
            DW_TAP(T, r_, 4);
            DW_TAP(T, r_, 5);
            DW_TAP(T, r_, 6);
            DW_TAP(T, r_, 7);
            DW_TAP(T, r_, 8);
        } else {
            for (int32_t k = 0; k < taps; ++k) DW_TAP_ANY(T, r_, k);
        }
        w += taps;
        if (general) {
            const tinyc_dsp_qx_t *qx = (const tinyc_dsp_qx_t *)qv + c;
            o[c] = (int8_t)tinyc_dsp_requant_x(a0, qx, zp, lo, hi);
            o[c + 1] = (int8_t)tinyc_dsp_requant_x(a1, qx + 1, zp, lo, hi);
            o[c + 2] = (int8_t)tinyc_dsp_requant_x(a2, qx + 2, zp, lo, hi);
            o[c + 3] = (int8_t)tinyc_dsp_requant_x(a3, qx + 3, zp, lo, hi);
        } else {
            const tinyc_dsp_q_t *qc = (const tinyc_dsp_q_t *)qv + c;
            o[c] = (int8_t)tinyc_dsp_requant(a0, qc, lo, hi);
            o[c + 1] = (int8_t)tinyc_dsp_requant(a1, qc + 1, lo, hi);
            o[c + 2] = (int8_t)tinyc_dsp_requant(a2, qc + 2, lo, hi);
            o[c + 3] = (int8_t)tinyc_dsp_requant(a3, qc + 3, lo, hi);
        }
    }
    const int8_t *wt = (const int8_t *)w;
    for (; c < C; ++c, wt += taps) {
        int32_t acc = bias[c];
        for (int32_t t = 0; t < taps; ++t) acc += (((const int8_t *)(T[t] + R))[c] + off) * wt[t];
        o[c] = general ? (int8_t)tinyc_dsp_requant_x(acc, (const tinyc_dsp_qx_t *)qv + c, zp, lo, hi)
                       : (int8_t)tinyc_dsp_requant(acc, (const tinyc_dsp_q_t *)qv + c, lo, hi);
    }
}

/* Every output row of one batch: the input rows from `in_b`, or in place (r != NULL) through the plan's
 * row ring. With a depth multiplier m > 1 each input row an output row reads is first expanded to C =
 * in_c * m channels per pixel (channel c of the expansion is input channel c / m) into one of k_h
 * slots of the scratch, kept while later output rows read it. Scratch: tap pointers and offsets (2 *
 * taps), a row of C zero points (rounded to 4 bytes), then k_h slot row numbers and the k_h slots. */
TINYC_INLINE void dw_rows_any_g(const tinyc_dsp_dwconv_params_t *p, const int8_t *in_b, tinyc_ring_t *r,
                                int8_t *out_b, const int8_t *filter, const int32_t *bias, const void *q,
                                void *scratch, const int general)
{
    const int32_t C = p->channels, kh = p->k_h, kw = p->k_w, taps = kh * kw, in_w = p->in_w;
    const int32_t mult = p->mult > 1 ? p->mult : 1, in_c = C / mult;
    const int32_t lo = p->act_min, hi = p->act_max, zp = p->out_zp, off = p->in_offset;
    const int32_t off2 = (int32_t)(((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16));
    const int32_t span_w = (kw - 1) * p->dil_w;
    const size_t in_row = (size_t)in_w * in_c, x_row = (size_t)in_w * C, out_row = (size_t)p->out_w * C;
    intptr_t *tp = (intptr_t *)scratch; /* border pixels: tap pointers */
    intptr_t *base = tp + taps;         /* tap t of column 0 (0: a padding row) */
    int8_t *padrow = (int8_t *)(base + taps);
    int32_t *tags = (int32_t *)(void *)(padrow + ((C + 3) & ~3));
    int8_t *slots = (int8_t *)(tags + TINYC_DSP_DW_MAX_KH);
    const int8_t *rows[TINYC_DSP_DW_MAX_KH];
    for (int32_t c = 0; c < C; ++c) padrow[c] = (int8_t)(-off);
    if (mult > 1)
        for (int32_t k = 0; k < kh; ++k) tags[k] = -1;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        int8_t *o = out_b + (size_t)oy * out_row;
        int rows_in = 1;
        if (r) tinyc_ring_advance(r, oy);
        for (int32_t ky = 0; ky < kh; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            const int8_t *src = NULL;
            if (iy >= 0 && iy < p->in_h) src = r ? tinyc_ring_row(r, iy) : in_b + (size_t)iy * in_row;
            if (src && mult > 1) { /* expand input row iy into its slot, unless it is there already */
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
            rows_in &= src != NULL;
        }
        for (int32_t ky = 0, t = 0; ky < kh; ++ky) {
            for (int32_t kx = 0; kx < kw; ++kx, ++t) {
                base[t] = rows[ky] ? (intptr_t)(rows[ky] + (size_t)kx * p->dil_w * C) : 0;
            }
        }
        for (int32_t ox = 0; ox < p->out_w; ++ox, o += C) {
            const int32_t ix0 = ox * p->stride_w - p->pad_w;
            if (rows_in && ix0 >= 0 && ix0 + span_w < in_w) {
                dw_pixel_any(base, (intptr_t)ix0 * C, taps, C, filter, bias, q, o, off2, off, lo, hi, zp, general);
                continue;
            }
            for (int32_t ky = 0, t = 0; ky < kh; ++ky) {
                for (int32_t kx = 0; kx < kw; ++kx, ++t) {
                    const int32_t ix = ix0 + kx * p->dil_w;
                    tp[t] = base[t] && ix >= 0 && ix < in_w ? base[t] + (intptr_t)ix0 * C : (intptr_t)padrow;
                }
            }
            dw_pixel_any(tp, 0, taps, C, filter, bias, q, o, off2, off, lo, hi, zp, general);
        }
    }
}

static void dw_rows_any(const tinyc_dsp_dwconv_params_t *p, const int8_t *in_b, tinyc_ring_t *r, int8_t *out_b,
                        const int8_t *filter, const int32_t *bias, const void *q, void *scratch)
{
    if (p->general) dw_rows_any_g(p, in_b, r, out_b, filter, bias, q, scratch, 1);
    else dw_rows_any_g(p, in_b, r, out_b, filter, bias, q, scratch, 0);
}

void tinyc_arm_dsp_depthwise_conv_s8(const tinyc_dsp_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *output, void *scratch)
{
    if (!tinyc_dsp_dw_common(p)) {
        const size_t in_b = (size_t)p->in_h * p->in_w * (p->channels / (p->mult > 1 ? p->mult : 1));
        const size_t out_b = (size_t)p->out_h * p->out_w * p->channels;
        for (int32_t b = 0; b < p->batches; ++b)
            dw_rows_any(p, input + b * in_b, NULL, output + b * out_b, filter, bias, q, scratch);
        return;
    }
    const int32_t C = p->channels, lo = p->act_min, hi = p->act_max, taps = p->k_h * p->k_w;
    const int full = lo == -128 && hi == 127;
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

/* The rows scheme: input rows still needed after their bytes are overwritten are read from the ring
 * (`ring`, ring_rows rows, inplace_rows.h) exactly as tinyc_ref_depthwise_conv2d_inplace_s8 keeps
 * them; every pixel goes through tap pointers (rows from the ring or `io`), four channels per load. */
void tinyc_arm_dsp_depthwise_rows_inplace_s8(const tinyc_dsp_dwconv_params_t *p, int32_t ring_rows, int8_t *io,
                                             const int8_t *filter, const int32_t *bias, const tinyc_dsp_q_t *q,
                                             void *scratch, int8_t *ring)
{
    const int32_t C = p->channels, lo = p->act_min, hi = p->act_max, taps = p->k_h * p->k_w;
    const int full = lo == -128 && hi == 127;
    const int8_t **tp = (const int8_t **)scratch;  /* border pixels: tap pointers */
    intptr_t *base = (intptr_t *)(tp + taps);      /* tap t of column 0 (0: a padding row) */
    int8_t *padrow = (int8_t *)(base + taps);
    const int32_t span_w = (p->k_w - 1) * p->dil_w;
    tinyc_ring_t r;
    if (!tinyc_dsp_dw_common(p)) {
        r = tinyc_ring_init(io, ring, ring_rows, (size_t)p->in_w * (C / (p->mult > 1 ? p->mult : 1)),
                            (size_t)p->out_w * C, p->in_h, p->out_h, p->pad_h, p->stride_h);
        dw_rows_any(p, NULL, &r, io, filter, bias, q, scratch);
        return;
    }
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
    r.saved = 0; /* field by field: through tinyc_ring_init the M7 build of this kernel came out ~1% slower */
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
 * Weights are [C][k_h*k_w]; bias and requantization as the normal kernel's.
 *
 * 3x3 filters (dilation 1) run along lines of the plane: its rows, or its columns (the plane is then
 * gathered transposed), whichever axis has stride 1, padding 1, as many outputs as inputs and at least
 * 4 of them; the longer axis if both do (fewer, longer lines). Two neighbouring outputs p, p+1 of a
 * line share one word load per filter line: the word x[p-1..p+2] unpacks (SXTB16) to
 * E = (x[p-1], x[p+1]) and O = (x[p], x[p+2]), and with A = (w0, w2), B = w1 of that filter line,
 * output p gets SMLAD(E, A) + O.lo * B and output p+1 SMLAD(O, A) + E.hi * B: six MACs in four
 * instructions (the input offset is folded into each output's bias, see dw_plane_lines3). The first
 * and last outputs of a line, whose outer tap is padding, take the same word loads from inside the
 * line (never past it) and other lanes. A filter line outside the input gets zero weights (it reads
 * any line of the plane). Other geometries, and layers in the general requantization form, take the generic
 * loop (TFLite's bias, offsets per tap). */

TINYC_INLINE int32_t dw_pk16(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

TINYC_INLINE int32_t dw_smlabt(int32_t a, int32_t b, int32_t acc)
{
#if TINYC_DSP_NATIVE
    int32_t r;
    __asm__("smlabt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
#else
    return (int32_t)((uint32_t)(tinyc_lo16(a) * tinyc_hi16(b)) + (uint32_t)acc);
#endif
}

TINYC_INLINE int32_t dw_smlatb(int32_t a, int32_t b, int32_t acc)
{
#if TINYC_DSP_NATIVE
    int32_t r;
    __asm__("smlatb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
#else
    return (int32_t)((uint32_t)(tinyc_hi16(a) * tinyc_lo16(b)) + (uint32_t)acc);
#endif
}

/* plane[l * len + j] = src[l * across + j * along]: n_lines lines, four bytes per store. */
static void dw_gather(int8_t *plane, const int8_t *src, int32_t n_lines, int32_t len, int32_t along,
                      int32_t across)
{
    for (int32_t l = 0; l < n_lines; ++l, src += across) {
        const int8_t *s = src;
        int32_t j = 0;
        for (; j + 4 <= len; j += 4, s += 4 * along, plane += 4) {
            const uint32_t b0 = (uint8_t)s[0], b1 = (uint8_t)s[along], b2 = (uint8_t)s[2 * along];
            const uint32_t b3 = (uint8_t)s[3 * along];
            tinyc_st32(plane, b0 | b1 << 8 | b2 << 16 | b3 << 24);
        }
        for (; j < len; ++j, s += along) *plane++ = *s;
    }
}

/* tinyc_dsp_requant of acc2 = 2 * acc (the line loop accumulates doubled weights and bias). */
TINYC_INLINE int8_t dw_plane_out(int32_t acc2, const int32_t *qv, int32_t lo, int32_t hi, const int full)
{
    int32_t v = tinyc_smmulr(acc2, qv[0]);
    v = (v + (v >> 31) + qv[1]) >> qv[2];
    return (int8_t)(full ? tinyc_dsp_ssat8(v) : tinyc_dsp_clamp(v, lo, hi));
}

/* Filter line k of output line ol: its plane line r_k, A_k = 2 * (w0, w2) and b_k = 2 * w1 along it
 * (zero outside the input), and the raw weights' sums s_j over the valid filter lines. */
#define DW3_LINE(k)                                                                                       \
    const int32_t l##k = first + (k);                                                                     \
    const int ok##k = l##k >= 0 && l##k < n_in;                                                           \
    const int8_t *r##k = ok##k ? plane + (size_t)l##k * len : plane;                                      \
    const int32_t w0##k = ok##k ? w[(k) * w_across] : 0, w1##k = ok##k ? w[(k) * w_across + w_along] : 0; \
    const int32_t w2##k = ok##k ? w[(k) * w_across + 2 * w_along] : 0;                                    \
    const int32_t A##k = dw_pk16(2 * w0##k, 2 * w2##k), b##k = 2 * w1##k

/* The word at `at` of filter line k as int8 pairs: e = bytes 0 and 2, d = bytes 1 and 3. */
#define DW3_WORD(k, at)                                                                                   \
    const uint32_t v##k = tinyc_ld32(r##k + (at));                                                        \
    const int32_t e##k = tinyc_sxtb16(v##k), d##k = tinyc_sxtb16_ror8(v##k)

/* One channel, 3x3, along lines of len >= 4 bytes (n_in lines in the plane, n_out output lines).
 * Raw input bytes (SXTB16): the input offset times the weights of the taps an output reads is folded
 * into its line's bias (bias_j: all taps, first: without j = 0, last: without j = 2); everything is
 * doubled, which SMMULR(2 * acc, m) needs, so no shift per output. Sums wrap mod 2^32 like the
 * instructions, and the final 2 * acc fits (|acc| < 2^30, proven by the generator). */
TINYC_INLINE void dw_plane_lines3(const int8_t *plane, int32_t len, int32_t n_in, int32_t n_out, int32_t stride,
                                  int32_t pad, const int8_t *w, int32_t w_along, int32_t w_across, int32_t bias,
                                  const tinyc_dsp_q_t *q, int8_t *o, int32_t o_along, int32_t o_across,
                                  int32_t in_offset, int32_t lo, int32_t hi, const int full)
{
    int32_t qv[3];
    const int32_t pairs = (len - 3) / 2; /* inner output pairs (x = 1, 3, ... < len - 3) */
    qv[0] = q->mult;
    qv[1] = q->add;
    qv[2] = q->rshift;
    for (int32_t ol = 0; ol < n_out; ++ol, o += o_across) {
        const int32_t first = ol * stride - pad;
        DW3_LINE(0);
        DW3_LINE(1);
        DW3_LINE(2);
        const uint32_t off = (uint32_t)in_offset;
        const uint32_t s0 = (uint32_t)(w00 + w01 + w02), s2 = (uint32_t)(w20 + w21 + w22);
        const uint32_t all = 2u * ((uint32_t)bias + off * (s0 + (uint32_t)(w10 + w11 + w12) + s2));
        int32_t bias_mid = (int32_t)all;
        int8_t *oo = o;
        int32_t a0, a1;
        { /* outputs 0 and 1: word x[0..3] */
            DW3_WORD(0, 0);
            DW3_WORD(1, 0);
            DW3_WORD(2, 0);
            a0 = (int32_t)(all - 2u * off * s0);
            a0 = tinyc_smlabb(e0, b0, a0);
            a0 = dw_smlabt(d0, A0, a0);
            a1 = tinyc_smlad(e0, A0, bias_mid);
            a1 = tinyc_smlabb(d0, b0, a1);
            a0 = tinyc_smlabb(e1, b1, a0);
            a0 = dw_smlabt(d1, A1, a0);
            a1 = tinyc_smlad(e1, A1, a1);
            a1 = tinyc_smlabb(d1, b1, a1);
            a0 = tinyc_smlabb(e2, b2, a0);
            a0 = dw_smlabt(d2, A2, a0);
            a1 = tinyc_smlad(e2, A2, a1);
            a1 = tinyc_smlabb(d2, b2, a1);
            oo[0] = dw_plane_out(a0, qv, lo, hi, full);
            oo[o_along] = dw_plane_out(a1, qv, lo, hi, full);
            oo += 2 * o_along;
        }
        /* outputs x+1 and x+2 from word x[x..x+3], x = 1, 3, ...: (x[x], x[x+2]) . A + x[x+1] * b for the
         * first, (x[x+1], x[x+3]) . A + x[x+2] * b for the second */
#if TINYC_DSP_ASM
        if (full && pairs > 0) {
            /* Scheduled by hand in 12 registers (the compiler spills weights and pointers in the C loop);
             * the output pointer and its step stay in memory, so any surrounding code leaves enough. */
            const int32_t B01 = dw_pk16(b0, b1);
            const int8_t *p0 = r0 + 1, *p1 = r1 + 1, *p2 = r2 + 1;
            const int8_t *const end = p0 + 2 * pairs;
            uint32_t t_a0, t_a1, t_v, t_e;
            __asm__ volatile(
                "1:\n\t"
                "ldr    %[v], [%[p0]], #2\n\t"
                "ldr    %[a1], %[bias]\n\t"
                "sxtb16 %[e], %[v]\n\t"
                "sxtb16 %[v], %[v], ror #8\n\t"
                "smlad  %[a0], %[e], %[A0], %[a1]\n\t"
                "smlabb %[a0], %[v], %[B01], %[a0]\n\t"
                "smlad  %[a1], %[v], %[A0], %[a1]\n\t"
                "smlatb %[a1], %[e], %[B01], %[a1]\n\t"
                "ldr    %[v], [%[p1]], #2\n\t"
                "sxtb16 %[e], %[v]\n\t"
                "sxtb16 %[v], %[v], ror #8\n\t"
                "smlad  %[a0], %[e], %[A1], %[a0]\n\t"
                "smlabt %[a0], %[v], %[B01], %[a0]\n\t"
                "smlad  %[a1], %[v], %[A1], %[a1]\n\t"
                "smlatt %[a1], %[e], %[B01], %[a1]\n\t"
                "ldr    %[v], [%[p2]], #2\n\t"
                "sxtb16 %[e], %[v]\n\t"
                "sxtb16 %[v], %[v], ror #8\n\t"
                "smlad  %[a0], %[e], %[A2], %[a0]\n\t"
                "smlabb %[a0], %[v], %[B2], %[a0]\n\t"
                "smlad  %[a1], %[v], %[A2], %[a1]\n\t"
                "smlatb %[a1], %[e], %[B2], %[a1]\n\t"
                "ldr    %[v], %[mult]\n\t"
                "ldr    %[e], %[add]\n\t"
                "smmulr %[a0], %[a0], %[v]\n\t"
                "smmulr %[a1], %[a1], %[v]\n\t"
                "add    %[a0], %[a0], %[a0], asr #31\n\t"
                "add    %[a1], %[a1], %[a1], asr #31\n\t"
                "ldr    %[v], %[rshift]\n\t"
                "add    %[a0], %[a0], %[e]\n\t"
                "add    %[a1], %[a1], %[e]\n\t"
                "asr    %[a0], %[a0], %[v]\n\t"
                "asr    %[a1], %[a1], %[v]\n\t"
                "ssat   %[a0], #8, %[a0]\n\t"
                "ssat   %[a1], #8, %[a1]\n\t"
                "ldr    %[v], %[step]\n\t"
                "ldr    %[e], %[oo]\n\t"
                "strb   %[a0], [%[e]]\n\t"
                "strb   %[a1], [%[e], %[v]]\n\t"
                "add    %[e], %[e], %[v], lsl #1\n\t"
                "str    %[e], %[oo]\n\t"
                "ldr    %[v], %[end]\n\t"
                "cmp    %[p0], %[v]\n\t"
                "bne    1b"
                : [p0] "+r"(p0), [p1] "+r"(p1), [p2] "+r"(p2), [oo] "+m"(oo), [a0] "=&r"(t_a0), [a1] "=&r"(t_a1),
                  [v] "=&r"(t_v), [e] "=&r"(t_e)
                : [A0] "r"(A0), [A1] "r"(A1), [A2] "r"(A2), [B01] "r"(B01), [B2] "r"(b2), [step] "m"(o_along),
                  [bias] "m"(bias_mid), [mult] "m"(qv[0]), [add] "m"(qv[1]), [rshift] "m"(qv[2]), [end] "m"(end)
                : "cc", "memory");
        } else
#endif
        {
            for (int32_t x = 1; x + 3 < len; x += 2, oo += 2 * o_along) {
                DW3_WORD(0, x);
                DW3_WORD(1, x);
                DW3_WORD(2, x);
                a0 = tinyc_smlad(e0, A0, bias_mid);
                a0 = tinyc_smlabb(d0, b0, a0);
                a1 = tinyc_smlad(d0, A0, bias_mid);
                a1 = dw_smlatb(e0, b0, a1);
                a0 = tinyc_smlad(e1, A1, a0);
                a0 = tinyc_smlabb(d1, b1, a0);
                a1 = tinyc_smlad(d1, A1, a1);
                a1 = dw_smlatb(e1, b1, a1);
                a0 = tinyc_smlad(e2, A2, a0);
                a0 = tinyc_smlabb(d2, b2, a0);
                a1 = tinyc_smlad(d2, A2, a1);
                a1 = dw_smlatb(e2, b2, a1);
                oo[0] = dw_plane_out(a0, qv, lo, hi, full);
                oo[o_along] = dw_plane_out(a1, qv, lo, hi, full);
            }
        }
        /* the last one or two outputs: word x[len-4..len-1] */
        DW3_WORD(0, len - 4);
        DW3_WORD(1, len - 4);
        DW3_WORD(2, len - 4);
        if (2 * pairs + 4 == len) { /* two left: output len-2, all taps inside */
            a0 = tinyc_smlad(d0, A0, bias_mid);
            a0 = dw_smlatb(e0, b0, a0);
            a0 = tinyc_smlad(d1, A1, a0);
            a0 = dw_smlatb(e1, b1, a0);
            a0 = tinyc_smlad(d2, A2, a0);
            a0 = dw_smlatb(e2, b2, a0);
            oo[0] = dw_plane_out(a0, qv, lo, hi, full);
            oo += o_along;
        }
        a1 = (int32_t)(all - 2u * off * s2); /* output len-1: x[len-2] * w0 + x[len-1] * w1 */
        a1 = dw_smlatb(e0, A0, a1);
        a1 = dw_smlatb(d0, b0, a1);
        a1 = dw_smlatb(e1, A1, a1);
        a1 = dw_smlatb(d1, b1, a1);
        a1 = dw_smlatb(e2, A2, a1);
        a1 = dw_smlatb(d2, b2, a1);
        oo[0] = dw_plane_out(a1, qv, lo, hi, full);
    }
}

void tinyc_arm_dsp_depthwise_plane_inplace_s8(const tinyc_dsp_dwconv_params_t *p, int8_t *io, const int8_t *filter,
                                              const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *plane)
{
    const int32_t C = p->channels, lo = p->act_min, hi = p->act_max, taps = p->k_h * p->k_w;
    const int32_t ih = p->in_h, iw = p->in_w, off = p->in_offset;
    const int full = lo == -128 && hi == 127;
    /* the general requantization form takes the generic loop */
    const int k3 = !p->general && p->k_h == 3 && p->k_w == 3 && p->dil_h == 1 && p->dil_w == 1;
    /* an axis the line loop runs along: stride 1, padding 1, out == in >= 4 */
    const int along_w = k3 && p->stride_w == 1 && p->pad_w == 1 && p->out_w == iw && iw >= 4;
    const int along_h = k3 && p->stride_h == 1 && p->pad_h == 1 && p->out_h == ih && ih >= 4;
    const int cols = along_h && (!along_w || ih > iw); /* lines are the plane's columns */
    const size_t orow = (size_t)p->out_w * C;
    for (int32_t ch = 0; ch < C; ++ch, filter += taps) {
        const int32_t b = bias[ch];
        const tinyc_dsp_q_t *qc = p->general ? (const tinyc_dsp_q_t *)(const void *)((const tinyc_dsp_qx_t *)
                                                                                  (const void *)q + ch)
                                             : q + ch;
        int8_t *o = io + ch;
        if (cols) {
            dw_gather(plane, io + ch, iw, ih, iw * C, C);
            if (full) {
                dw_plane_lines3(plane, ih, iw, p->out_w, p->stride_w, p->pad_w, filter, 3, 1, b, qc, o,
                                (int32_t)orow, C, off, lo, hi, 1);
            } else {
                dw_plane_lines3(plane, ih, iw, p->out_w, p->stride_w, p->pad_w, filter, 3, 1, b, qc, o,
                                (int32_t)orow, C, off, lo, hi, 0);
            }
            continue;
        }
        dw_gather(plane, io + ch, 1, ih * iw, C, 0);
        if (along_w) {
            if (full) {
                dw_plane_lines3(plane, iw, ih, p->out_h, p->stride_h, p->pad_h, filter, 1, 3, b, qc, o, C,
                                (int32_t)orow, off, lo, hi, 1);
            } else {
                dw_plane_lines3(plane, iw, ih, p->out_h, p->stride_h, p->pad_h, filter, 1, 3, b, qc, o, C,
                                (int32_t)orow, off, lo, hi, 0);
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
                    if (iy < 0 || iy >= ih) {
                        t += p->k_w;
                        continue;
                    }
                    for (int32_t kx = 0; kx < p->k_w; ++kx, ++t) {
                        const int32_t ix = ix0 + kx * p->dil_w;
                        if (ix >= 0 && ix < iw) acc += (plane[iy * iw + ix] + off) * filter[t];
                    }
                }
                *o = p->general ? (int8_t)tinyc_dsp_requant_x(acc, (const tinyc_dsp_qx_t *)(const void *)qc,
                                                              p->out_zp, lo, hi)
                                : (int8_t)tinyc_dsp_requant(acc, qc, lo, hi);
            }
        }
    }
}
