/* FULLY_CONNECTED, int8, Arm DSP extension.
 *
 * One batch (a matrix-vector product, p->vec): rows in blocks of four, two fused row pairs (see mac_2x2m
 * in tinyc_dsp_matmul.h: the halfwords of a weight word are 256 * w1 + w0, SXTB16 gives row 0's pair, SMLAD
 * with the raw word adds 256 * row 1's products to row 0's), weights [chunk][pair A: E, O][pair B: E, O],
 * so one LDRD and one SXTB16 per 8 weights of two rows: 15 instructions for 16 MACs, two chunks per loop
 * step. The input is widened once into `scratch` as SXTB16 pairs when enough blocks share it (vec == 2),
 * else each block unpacks it on the fly (vec == 1, in_c % 4 == 0). Row 1's sum comes out of (m - a) / 256,
 * exact while it stays under 2^23 in magnitude: the generator cuts K into segments of p->seg chunks (0: one
 * segment) that keep every row-1 partial sum of raw inputs inside that bound, and the bias is added after.
 * Then a fused pair (out_c % 4 >= 2) and a plain last row (odd out_c).
 *
 * Several batches (and weights that do not fuse) run the shared matrix multiply as a 1x1 convolution
 * (TINYC_DSP_CONV_S8, tinyc_dsp_matmul.h). Bit-identical to tinyc_ref_fully_connected_s8 for the calls
 * tinyc/codegen/specialize.py hands over. */
#include "tinyc_rt.h"
#include "tinyc_rt_arm_dsp.h"

/* One chunk of a 4-row block in fixed registers: r0/r1 pair A's (a, m), r2/r3 pair B's, r4/r5 the input
 * pair (xe, xo), r6-r9 the four weight words (one LDM), r10 scratch, r11 the input, r12 the weights, lr
 * their end: 14 instructions for 16 MACs. */
#define FC_CHUNK4                                                                                   \
    "ldm    r12!, {r6, r7, r8, r9}\n\t"                                                             \
    "sxtb16 r10, r6\n\t"                                                                            \
    "smlad  r0, r10, r4, r0\n\t"                                                                    \
    "smlad  r1, r6, r4, r1\n\t"                                                                     \
    "sxtb16 r10, r7\n\t"                                                                            \
    "smlad  r0, r10, r5, r0\n\t"                                                                    \
    "smlad  r1, r7, r5, r1\n\t"                                                                     \
    "sxtb16 r10, r8\n\t"                                                                            \
    "smlad  r2, r10, r4, r2\n\t"                                                                    \
    "smlad  r3, r8, r4, r3\n\t"                                                                     \
    "sxtb16 r10, r9\n\t"                                                                            \
    "smlad  r2, r10, r5, r2\n\t"                                                                    \
    "smlad  r3, r9, r5, r3\n\t"
#define FC_LOAD_WIDE "ldrd   r4, r5, [r11], #8\n\t"
#define FC_LOAD_RAW                                                                                 \
    "ldr    r5, [r11], #4\n\t"                                                                      \
    "sxtb16 r4, r5\n\t"                                                                             \
    "sxtb16 r5, r5, ror #8\n\t"

/* `n` chunks of a 4-row block: acc = {a0, m0, a2, m2}; `x` the widened input (2 words per chunk) or the
 * raw int8 input (1 word per chunk). Returns the weights after the block's n chunks. */
static inline const tinyc_word_t *fc_quad(const tinyc_word_t *w, const void *x, int32_t n, int32_t *acc,
                                          const int wide)
{
#if TINYC_DSP_ASM
    register int32_t a0 __asm__("r0") = acc[0], m0 __asm__("r1") = acc[1];
    register int32_t a2 __asm__("r2") = acc[2], m2 __asm__("r3") = acc[3];
    register const tinyc_word_t *wr __asm__("r12") = w;
    register const void *xr __asm__("r11") = x;
    register const tinyc_word_t *end __asm__("lr") = w + 4 * n;
    register int32_t odd __asm__("r10") = n & 1;
    register uint32_t r4_ __asm__("r4"), r5_ __asm__("r5"), r6_ __asm__("r6"), r7_ __asm__("r7");
    register uint32_t r8_ __asm__("r8"), r9_ __asm__("r9");
#define FC_QUAD_ASM(LOAD)                                                                           \
    __asm__ volatile("cmp    r10, #0\n\t"                                                           \
                     "bne    3f\n\t"                                                                \
                     "1:\n\t" LOAD FC_CHUNK4 "3:\n\t" LOAD FC_CHUNK4                                \
                     "cmp    r12, lr\n\t"                                                           \
                     "bne    1b\n\t"                                                                \
                     : "+r"(a0), "+r"(m0), "+r"(a2), "+r"(m2), "+r"(wr), "+r"(xr), "+r"(odd), "=&r"(r4_),   \
                       "=&r"(r5_), "=&r"(r6_), "=&r"(r7_), "=&r"(r8_), "=&r"(r9_)                   \
                     : "r"(end)                                                                     \
                     : "cc", "memory")
    if (wide) FC_QUAD_ASM(FC_LOAD_WIDE);
    else FC_QUAD_ASM(FC_LOAD_RAW);
#undef FC_QUAD_ASM
    acc[0] = a0;
    acc[1] = m0;
    acc[2] = a2;
    acc[3] = m2;
    return wr;
#else
    int32_t a0 = acc[0], m0 = acc[1], a2 = acc[2], m2 = acc[3];
    const tinyc_word_t *xw = (const tinyc_word_t *)x;
    for (int32_t i = 0; i < n; ++i, w += 4) {
        int32_t xe, xo;
        if (wide) {
            xe = (int32_t)xw[2 * i];
            xo = (int32_t)xw[2 * i + 1];
        } else {
            const uint32_t r = tinyc_ld32((const int8_t *)x + 4 * i);
            xe = tinyc_sxtb16(r);
            xo = tinyc_sxtb16_ror8(r);
        }
        a0 = tinyc_smlad(tinyc_sxtb16(w[1]), xo, tinyc_smlad(tinyc_sxtb16(w[0]), xe, a0));
        m0 = tinyc_smlad((int32_t)w[1], xo, tinyc_smlad((int32_t)w[0], xe, m0));
        a2 = tinyc_smlad(tinyc_sxtb16(w[3]), xo, tinyc_smlad(tinyc_sxtb16(w[2]), xe, a2));
        m2 = tinyc_smlad((int32_t)w[3], xo, tinyc_smlad((int32_t)w[2], xe, m2));
    }
    acc[0] = a0;
    acc[1] = m0;
    acc[2] = a2;
    acc[3] = m2;
    return w;
#endif
}

/* The input pair of chunk i: widened (2 words per chunk) or unpacked from the raw int8 input. */
TINYC_INLINE void fc_x(const void *x, int32_t i, const int wide, int32_t *xe, int32_t *xo)
{
    if (wide) {
        *xe = (int32_t)((const tinyc_word_t *)x)[2 * i];
        *xo = (int32_t)((const tinyc_word_t *)x)[2 * i + 1];
    } else {
        const uint32_t r = tinyc_ld32((const int8_t *)x + 4 * i);
        *xe = tinyc_sxtb16(r);
        *xo = tinyc_sxtb16_ror8(r);
    }
}

/* Output i of accumulator acc in the layer's requantization form (`full`: the fast form, range [-128, 127]). */
TINYC_INLINE int8_t fc_rq(const tinyc_dsp_conv_params_t *p, const tinyc_dsp_q_t *q, int32_t i, int32_t acc,
                          const int full)
{
    if (full) return (int8_t)tinyc_dsp_requant_full(acc, q + i);
    if (p->general)
        return (int8_t)tinyc_dsp_requant_x(acc, (const tinyc_dsp_qx_t *)(const void *)q + i, p->out_zp, p->act_min,
                                           p->act_max);
    return (int8_t)tinyc_dsp_requant(acc, q + i, p->act_min, p->act_max);
}

TINYC_INLINE void fc_vec(const tinyc_dsp_conv_params_t *p, const void *x, const tinyc_word_t *w, const int32_t *bias,
                         const tinyc_dsp_q_t *q, int8_t *o, const int wide)
{
    const int full = !p->general && p->act_min == -128 && p->act_max == 127;
    const int32_t chunks = p->col_len4 >> 2, oc_n = p->out_c, seg = p->seg > 0 ? p->seg : chunks;
    int32_t oc = 0;
    for (; oc + 4 <= oc_n; oc += 4) {
        int32_t a0 = bias[oc], r1 = bias[oc + 1], a2 = bias[oc + 2], r3 = bias[oc + 3];
        for (int32_t done = 0; done < chunks; done += seg) {
            const int32_t n = tinyc_min32(seg, chunks - done);
            int32_t acc[4] = {a0, a0, a2, a2};
            w = fc_quad(w, wide ? (const void *)((const tinyc_word_t *)x + 2 * done)
                                : (const void *)((const int8_t *)x + 4 * done), n, acc, wide);
            a0 = acc[0];
            a2 = acc[2];
            r1 += (int32_t)((uint32_t)acc[1] - (uint32_t)acc[0]) >> 8;
            r3 += (int32_t)((uint32_t)acc[3] - (uint32_t)acc[2]) >> 8;
        }
        o[oc] = fc_rq(p, q, oc, a0, full);
        o[oc + 1] = fc_rq(p, q, oc + 1, r1, full);
        o[oc + 2] = fc_rq(p, q, oc + 2, a2, full);
        o[oc + 3] = fc_rq(p, q, oc + 3, r3, full);
    }
    if (oc + 2 <= oc_n) { /* one fused pair: [chunk][E, O] */
        int32_t a = bias[oc], r = bias[oc + 1];
        for (int32_t done = 0; done < chunks; done += seg) {
            const int32_t n = tinyc_min32(seg, chunks - done);
            int32_t s = a, m = a;
            for (int32_t i = done; i < done + n; ++i, w += 2) {
                int32_t xe, xo;
                fc_x(x, i, wide, &xe, &xo);
                s = tinyc_smlad(tinyc_sxtb16(w[1]), xo, tinyc_smlad(tinyc_sxtb16(w[0]), xe, s));
                m = tinyc_smlad((int32_t)w[1], xo, tinyc_smlad((int32_t)w[0], xe, m));
            }
            a = s;
            r += (int32_t)((uint32_t)m - (uint32_t)s) >> 8;
        }
        o[oc] = fc_rq(p, q, oc, a, full);
        o[oc + 1] = fc_rq(p, q, oc + 1, r, full);
        oc += 2;
    }
    if (oc < oc_n) { /* the last row, plain: SXTB16 gives (k, k+2), ROR 8 (k+1, k+3) */
        int32_t a = bias[oc];
        for (int32_t i = 0; i < chunks; ++i, ++w) {
            int32_t xe, xo;
            fc_x(x, i, wide, &xe, &xo);
            a = tinyc_smlad(tinyc_sxtb16_ror8(w[0]), xo, tinyc_smlad(tinyc_sxtb16(w[0]), xe, a));
        }
        o[oc] = fc_rq(p, q, oc, a, full);
    }
}

/* `chunks` chunks of int8 input -> SXTB16 pairs (2 words per chunk); the last partial chunk zero-padded. */
static void fc_widen(const int8_t *src, tinyc_word_t *dst, int32_t k)
{
    int32_t i = 0;
    for (; i + 4 <= k; i += 4, dst += 2) {
        const uint32_t v = tinyc_ld32(src + i);
        dst[0] = (uint32_t)tinyc_sxtb16(v);
        dst[1] = (uint32_t)tinyc_sxtb16_ror8(v);
    }
    if (i < k) {
        uint32_t v = 0;
        for (int32_t j = 0; i + j < k; ++j) v |= (uint32_t)(uint8_t)src[i + j] << (8 * j);
        dst[0] = (uint32_t)tinyc_sxtb16(v);
        dst[1] = (uint32_t)tinyc_sxtb16_ror8(v);
    }
}

void tinyc_arm_dsp_fc_s8(const tinyc_dsp_conv_params_t *p, const int8_t *input, const int8_t *packed_filter,
                         const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *output, int16_t *scratch)
{
    const tinyc_word_t *w = (const tinyc_word_t *)packed_filter;
    if (p->vec == 2) {
        fc_widen(input, (tinyc_word_t *)scratch, p->col_len);
        fc_vec(p, scratch, w, bias, q, output, 1);
    } else {
        fc_vec(p, input, w, bias, q, output, 0);
    }
}
