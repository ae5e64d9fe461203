/* The matrix multiply behind CONV_2D and FULLY_CONNECTED, int8, Arm DSP extension: im2col into int16
 * two output pixels at a time, then a 2 output channels x 2 pixels SMLAD matrix multiply.
 *
 * Included by conv2d_arm_dsp.c and fully_connected_arm_dsp.c (only the ops a model uses are copied
 * into its sources): the entry point is a weak definition, so a model with both keeps one copy.
 *
 * Column layout in `scratch` (words): for each chunk of 4 values of K, column 0's two halfword pairs,
 * then column 1's, so one pointer walks both columns. Weights (packed by the generator) walk the same
 * way: chunk q of row oc, then chunk q of row oc+1. Per chunk and 2x2 block: 4 column words, 2 weight
 * words unpacked by SXTB16 into 4, 8 SMLAD = 16 MACs.
 *
 * Bit-identical to tinyc_ref_conv2d_s8 / tinyc_ref_fully_connected_s8 for the calls the generator
 * hands over (tinyc/codegen/specialize.py). */
#ifndef TINYC_DSP_MATMUL_H
#define TINYC_DSP_MATMUL_H

#include "inplace_rows.h"
#include "tinyc_rt.h"
#include "tinyc_rt_arm_dsp.h"

#define TINYC_DSP_MAX_KH 16 /* kernel rows of the row-pointer paths */

/* `n` int8 (a multiple of 4) -> column chunks at `dst` (stride 4 words), in SXTB16 order: bytes
 * b0..b3 become the halfword pairs (b0, b2), (b1, b3), the order the kernel unpacks the weights in. */
static void widen_sxtb16(const int8_t *src, tinyc_word_t *dst, int32_t n)
{
    for (int32_t i = 0; i < n; i += 4, dst += 4) {
        const uint32_t w = tinyc_ld32(src + i);
        dst[0] = (uint32_t)tinyc_sxtb16(w);
        dst[1] = (uint32_t)tinyc_sxtb16_ror8(w);
    }
}

static void fill_chunks(tinyc_word_t *dst, int32_t n, uint32_t pair)
{
    for (int32_t i = 0; i < n; i += 4, dst += 4) dst[0] = dst[1] = pair;
}

/* One im2col column (SXTB16 order; in_c % 4 == 0) into the interleaved layout at `col`. */
static void im2col_sxtb16(const tinyc_dsp_conv_params_t *p, const int8_t *in_b, int32_t oy, int32_t ox,
                          tinyc_word_t *col)
{
    const int32_t ic = p->in_c;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    const int32_t row = p->k_w * ic;
    const uint32_t pad = ((uint32_t)p->pad_value & 0xFFFFu) * 0x10001u;
    for (int32_t ky = 0; ky < p->k_h; ++ky, col += row) {
        const int32_t iy = iy0 + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) {
            fill_chunks(col, row, pad);
            continue;
        }
        const int8_t *src = in_b + (size_t)iy * p->in_w * ic;
        if (p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w) { /* the whole row is inside */
            widen_sxtb16(src + (size_t)ix0 * ic, col, row);
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (ix < 0 || ix >= p->in_w) fill_chunks(col + kx * ic, ic, pad);
            else widen_sxtb16(src + (size_t)ix * ic, col + kx * ic, ic);
        }
    }
}

/* n int8 bytes, any alignment (word copies, then the tail). */
static inline void copy8(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, src += 4, dst += 4) tinyc_st32(dst, tinyc_ld32(src));
    while (n--) *dst++ = *src++;
}

static inline void fill8(int8_t *dst, int32_t n, int32_t v)
{
    while (n--) *dst++ = (int8_t)v;
}

/* One kernel row of a column in the natural layout (in_c % 4 != 0): its k_w * in_c input bytes padded to
 * r4 bytes, a multiple of 4 (the generator pads each filter row with zero weights to match), widened at
 * `c`. Inside the input the r4 bytes are read straight from the input row (past the window: bytes that
 * meet zero weights, never past the row); a padding row fills padding values; a row the padding cuts is
 * gathered in `tmp` (r4 bytes whose tail past k_w * in_c is zero). `src` = the input row, NULL in the
 * padding. */
TINYC_INLINE void row4_column(const tinyc_dsp_conv_params_t *p, const int8_t *src, int32_t ix0, int8_t *tmp,
                              tinyc_word_t *c)
{
    const int32_t ic = p->in_c, row = p->k_w * ic, r4 = (row + 3) & ~3;
    const int8_t *s = tmp;
    if (!src) {
        fill_chunks(c, r4, ((uint32_t)p->pad_value & 0xFFFFu) * 0x10001u);
        return;
    }
    if (p->dil_w == 1 && ix0 >= 0 && ix0 * ic + r4 <= p->in_w * ic) {
        s = src + (size_t)ix0 * ic;
    } else {
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (ix < 0 || ix >= p->in_w) fill8(tmp + kx * ic, ic, p->pad_value);
            else copy8(tmp + kx * ic, src + (size_t)ix * ic, ic);
        }
    }
    for (int32_t i = 0; i < r4; i += 4, c += 4) {
        const uint32_t w = tinyc_ld32(s + i);
        c[0] = (uint32_t)tinyc_sxtb16(w);
        c[1] = (uint32_t)tinyc_sxtb16_ror8(w);
    }
}

/* Zero the tail of `tmp` past k_w * in_c (natural layout; meets zero weights). */
TINYC_INLINE void row4_tmp_init(const tinyc_dsp_conv_params_t *p, int8_t *tmp)
{
    const int32_t row = p->k_w * p->in_c;
    for (int32_t k = row; k < ((row + 3) & ~3); ++k) tmp[k] = 0;
}

/* One im2col column when in_c % 4 != 0 (rows of an even number of pixels take the row-pointer path):
 * kernel rows of r4 bytes (row4_column, natural 2) or packed back to back in `tmp` (natural 1). */
static void im2col_gather(const tinyc_dsp_conv_params_t *p, const int8_t *in_b, int32_t oy, int32_t ox,
                          int8_t *tmp, tinyc_word_t *col)
{
    const int32_t ic = p->in_c, iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    const int32_t row = p->k_w * ic, r4 = (row + 3) & ~3;
    const size_t in_row = (size_t)p->in_w * ic;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        const int8_t *src = iy >= 0 && iy < p->in_h ? in_b + (size_t)iy * in_row : NULL;
        if (p->natural == 2) {
            row4_column(p, src, ix0, tmp, col + ky * r4);
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (!src || ix < 0 || ix >= p->in_w) fill8(tmp + ky * row + kx * ic, ic, p->pad_value);
            else copy8(tmp + ky * row + kx * ic, src + (size_t)ix * ic, ic);
        }
    }
    if (p->natural != 2) widen_sxtb16(tmp, col, p->col_len4);
}

#define MAC_2X2(c, w)                                                   \
    do {                                                                \
        const int32_t x0a = (int32_t)(c)[0], x0b = (int32_t)(c)[1];     \
        const int32_t x1a = (int32_t)(c)[2], x1b = (int32_t)(c)[3];     \
        uint32_t wr = (w)[0];                                           \
        int32_t we = tinyc_sxtb16(wr), wo = tinyc_sxtb16_ror8(wr);      \
        a00 = tinyc_smlad(we, x0a, a00);                                \
        a00 = tinyc_smlad(wo, x0b, a00);                                \
        a01 = tinyc_smlad(we, x1a, a01);                                \
        a01 = tinyc_smlad(wo, x1b, a01);                                \
        wr = (w)[1];                                                    \
        we = tinyc_sxtb16(wr);                                          \
        wo = tinyc_sxtb16_ror8(wr);                                     \
        a10 = tinyc_smlad(we, x0a, a10);                                \
        a10 = tinyc_smlad(wo, x0b, a10);                                \
        a11 = tinyc_smlad(we, x1a, a11);                                \
        a11 = tinyc_smlad(wo, x1b, a11);                                \
    } while (0)

/* Rows oc, oc+1 (packed pair `w`) times the two columns at `c`; acc = {00, 01, 10, 11} (row, column). */
static inline void mac_2x2(const tinyc_word_t *w, const tinyc_word_t *c, int32_t chunks, int32_t *acc)
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const tinyc_word_t *end = c + chunks * 4;
#if TINYC_DSP_ASM
    /* The same loop scheduled by hand: 13 live registers, which the compiler's own schedule spills. */
    uint32_t x0a, x0b, x1a, x1b, wr, we;
    __asm__ volatile(
        "1:\n\t"
        "ldrd   %[x0a], %[x0b], [%[c]], #8\n\t"
        "ldr    %[wr], [%[w]], #4\n\t"
        "ldrd   %[x1a], %[x1b], [%[c]], #8\n\t"
        "sxtb16 %[we], %[wr]\n\t"
        "sxtb16 %[wr], %[wr], ror #8\n\t"
        "smlad  %[a00], %[we], %[x0a], %[a00]\n\t"
        "smlad  %[a00], %[wr], %[x0b], %[a00]\n\t"
        "smlad  %[a01], %[we], %[x1a], %[a01]\n\t"
        "smlad  %[a01], %[wr], %[x1b], %[a01]\n\t"
        "ldr    %[wr], [%[w]], #4\n\t"
        "sxtb16 %[we], %[wr]\n\t"
        "sxtb16 %[wr], %[wr], ror #8\n\t"
        "smlad  %[a10], %[we], %[x0a], %[a10]\n\t"
        "smlad  %[a10], %[wr], %[x0b], %[a10]\n\t"
        "smlad  %[a11], %[we], %[x1a], %[a11]\n\t"
        "smlad  %[a11], %[wr], %[x1b], %[a11]\n\t"
        "cmp    %[c], %[end]\n\t"
        "bne    1b\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [c] "+r"(c), [w] "+r"(w),
          [x0a] "=&r"(x0a), [x0b] "=&r"(x0b), [x1a] "=&r"(x1a), [x1b] "=&r"(x1b), [wr] "=&r"(wr), [we] "=&r"(we)
        : [end] "r"(end)
        : "cc", "memory");
#else
    if (chunks & 1) {
        MAC_2X2(c, w);
        c += 4;
        w += 2;
    }
    while (c != end) {
        MAC_2X2(c, w);
        MAC_2X2(c + 4, w + 2);
        c += 8;
        w += 4;
    }
#endif
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* One row of weights (chunk stride `wstride` words) times column 0 at `c`. */
static inline int32_t mac_1x1(const tinyc_word_t *w, int32_t wstride, const tinyc_word_t *c, int32_t chunks,
                              int32_t acc)
{
    for (; chunks; --chunks, w += wstride, c += 4) {
        const uint32_t wr = w[0];
        acc = tinyc_smlad(tinyc_sxtb16(wr), (int32_t)c[0], acc);
        acc = tinyc_smlad(tinyc_sxtb16_ror8(wr), (int32_t)c[1], acc);
    }
    return acc;
}

/* One chunk of the fused 2x2 block (mac_2x2m): LDM, LDRD, 2 SXTB16, 8 SMLAD. Registers are fixed so that
 * LDM loads the chunk's four column words (and, in pairs_2x2m, a pair's six requantization constants) in
 * one instruction: r0-r3 the column words (then the constants), r4-r5 the weight
 * words (then the second row's constants), r6 scratch, r7/r8 row 0 (pixels 0, 1), r9/r10 the fused sums,
 * r11 the column pointer, r12 the weights, lr the columns' end. */
#define CHUNK_2X2M_LDM                                                                              \
    "ldm    r11!, {r0, r1, r2, r3}\n\t"                                                             \
    "ldrd   r4, r5, [r12], #8\n\t"                                                                  \
    "sxtb16 r6, r4\n\t"                                                                             \
    "smlad  r7, r6, r0, r7\n\t"                                                                     \
    "smlad  r8, r6, r2, r8\n\t"                                                                     \
    "smlad  r9, r4, r0, r9\n\t"                                                                     \
    "smlad  r10, r4, r2, r10\n\t"                                                                   \
    "sxtb16 r6, r5\n\t"                                                                             \
    "smlad  r7, r6, r1, r7\n\t"                                                                     \
    "smlad  r8, r6, r3, r8\n\t"                                                                     \
    "smlad  r9, r5, r1, r9\n\t"                                                                     \
    "smlad  r10, r5, r3, r10\n\t"

/* Fused row pairs (tinyc/codegen/specialize.py, pack_matmul_fused): rows r0, r1 of a pair share each
 * weight word, whose halfwords are the exact int16 values 256 * w1 + w0 (|w| <= 127 keeps them in
 * range), word E for the column's lanes (k, k+2) and O for (k+1, k+3). SXTB16 of a word is row 0's
 * pair (w0 k, w0 k+2), and SMLAD with the raw word adds 256 * (row 1's products) + (row 0's), so
 * (m - a) = 256 * row 1's accumulator, exact when the generator proves |acc| < 2^23. One SXTB16 per
 * word instead of two. acc: {a px0, a px1, m px0, m px1} in, {row 0 px0, row 0 px1, row 1 px0, row 1 px1}
 * out. */
static inline void mac_2x2m(const tinyc_word_t *w, const tinyc_word_t *c, int32_t chunks, int32_t *acc)
{
    int32_t a0 = acc[0], a1 = acc[1], m0 = acc[2], m1 = acc[3];
#if TINYC_DSP_ASM
    register int32_t r7_ __asm__("r7") = a0, r8_ __asm__("r8") = a1, r9_ __asm__("r9") = m0, r10_ __asm__("r10") = m1;
    register const tinyc_word_t *r11_ __asm__("r11") = c, *r12_ __asm__("r12") = w;
    register const tinyc_word_t *end __asm__("lr") = c + chunks * 4;
    register uint32_t r0_ __asm__("r0"), r1_ __asm__("r1"), r2_ __asm__("r2"), r3_ __asm__("r3");
    register uint32_t r4_ __asm__("r4"), r5_ __asm__("r5"), r6_ __asm__("r6");
    __asm__ volatile("1:\n\t" CHUNK_2X2M_LDM "cmp    r11, lr\n\t"
                     "bne    1b\n\t"
                     : "+r"(r7_), "+r"(r8_), "+r"(r9_), "+r"(r10_), "+r"(r11_), "+r"(r12_), "=&r"(r0_), "=&r"(r1_),
                       "=&r"(r2_), "=&r"(r3_), "=&r"(r4_), "=&r"(r5_), "=&r"(r6_)
                     : "r"(end)
                     : "cc", "memory");
    a0 = r7_;
    a1 = r8_;
    m0 = r9_;
    m1 = r10_;
#else
    for (; chunks; --chunks, w += 2, c += 4) {
        const int32_t we = (int32_t)w[0], wo = (int32_t)w[1];
        const int32_t se = tinyc_sxtb16(w[0]), so = tinyc_sxtb16(w[1]);
        a0 = tinyc_smlad(so, (int32_t)c[1], tinyc_smlad(se, (int32_t)c[0], a0));
        a1 = tinyc_smlad(so, (int32_t)c[3], tinyc_smlad(se, (int32_t)c[2], a1));
        m0 = tinyc_smlad(wo, (int32_t)c[1], tinyc_smlad(we, (int32_t)c[0], m0));
        m1 = tinyc_smlad(wo, (int32_t)c[3], tinyc_smlad(we, (int32_t)c[2], m1));
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = (int32_t)((uint32_t)m0 - (uint32_t)a0) >> 8;
    acc[3] = (int32_t)((uint32_t)m1 - (uint32_t)a1) >> 8;
}

/* One fused pair times one column (chunk stride 4 words at `c`): acc = {a, m} in, {row 0, row 1} out. */
static inline void mac_2x1m(const tinyc_word_t *w, const tinyc_word_t *c, int32_t chunks, int32_t *acc)
{
    int32_t a = acc[0], m = acc[1];
    for (; chunks; --chunks, w += 2, c += 4) {
        const int32_t we = (int32_t)w[0], wo = (int32_t)w[1];
        a = tinyc_smlad(tinyc_sxtb16(w[1]), (int32_t)c[1], tinyc_smlad(tinyc_sxtb16(w[0]), (int32_t)c[0], a));
        m = tinyc_smlad(wo, (int32_t)c[1], tinyc_smlad(we, (int32_t)c[0], m));
    }
    acc[0] = a;
    acc[1] = (int32_t)((uint32_t)m - (uint32_t)a) >> 8;
}

#if TINYC_DSP_ASM
/* Every fused pair of output channels for two pixels, in one hand-scheduled loop: the 2x2 MAC loop keeps
 * 14 registers live, so the loop state (bias, constants and output pointers, activation bounds) lives in
 * memory operands and the requantization of the four accumulators reuses the loop's registers. Per
 * chunk one SXTB16 per weight word instead of two (mac_2x2m): 13 instructions for 16 MACs. The bias
 * table holds (b0, b0 + 256 * b1) per pair, and row 1's accumulator is (m - a) / 256 (the generator
 * proves |acc| < 2^23 for it), doubled for SMMULR by ASR #7. */
/* (A, B) requantized with (mult, add, rshift) in registers M, D, S, then clamped (CLAMP) */
#define RQ_PAIR_R(A, B, M, D, S, CLAMP)                                                             \
    "smmulr " A ", " A ", " M "\n\t"                                                                \
    "smmulr " B ", " B ", " M "\n\t"                                                                \
    "add    " A ", " A ", " A ", asr #31\n\t"                                                       \
    "add    " B ", " B ", " B ", asr #31\n\t"                                                       \
    "add    " A ", " A ", " D "\n\t"                                                                \
    "add    " B ", " B ", " D "\n\t"                                                                \
    "asr    " A ", " A ", " S "\n\t"                                                                \
    "asr    " B ", " B ", " S "\n\t"                                                                \
    CLAMP(A) CLAMP(B)
#define CLAMP_FULL_R(r) "ssat   " r ", #8, " r "\n\t"
/* lo in r11, hi in r6 */
#define CLAMP_LOHI_R(r)                                                                             \
    "cmp    " r ", r11\n\tit     lt\n\tmovlt  " r ", r11\n\t"                                       \
    "cmp    " r ", r6\n\tit     gt\n\tmovgt  " r ", r6\n\t"
#define LOHI_LOAD "ldr    r11, %[lom]\n\tldr    r6, %[him]\n\t"
#define DEFINE_PAIRS_2X2M(NAME, CLAMP, LOAD_LOHI)                                                   \
static void NAME(const tinyc_word_t *wp, const tinyc_word_t *col, int32_t chunks, const int32_t *bias, \
                 const tinyc_dsp_q_t *q, int8_t *o0, int8_t *o_end, int32_t ostride, int32_t lo, int32_t hi) \
{                                                                                                   \
    struct {                                                                                        \
        const int32_t *bias;                                                                        \
        const tinyc_dsp_q_t *q;                                                                     \
        int8_t *o0, *o_end;                                                                         \
        const tinyc_word_t *col;                                                                    \
        int32_t ostride, lo, hi;                                                                    \
    } st = {bias, q, o0, o_end, col, ostride, lo, hi};                                              \
    register const tinyc_word_t *w_ __asm__("r12") = wp;                                            \
    register const tinyc_word_t *end_ __asm__("lr") = col + chunks * 4;                             \
    register uint32_t r0_ __asm__("r0"), r1_ __asm__("r1"), r2_ __asm__("r2"), r3_ __asm__("r3");   \
    register uint32_t r4_ __asm__("r4"), r5_ __asm__("r5"), r6_ __asm__("r6"), r7_ __asm__("r7");   \
    register uint32_t r8_ __asm__("r8"), r9_ __asm__("r9"), r10_ __asm__("r10"), r11_ __asm__("r11"); \
    __asm__ volatile(                                                                               \
        "2:\n\t"                                                                                    \
        "ldr    r6, %[bm]\n\t"                                                                      \
        "ldr    r11, %[colm]\n\t"                                                                   \
        "ldrd   r7, r9, [r6], #8\n\t"                                                               \
        "str    r6, %[bm]\n\t"                                                                      \
        "mov    r8, r7\n\t"                                                                         \
        "mov    r10, r9\n\t"                                                                        \
        "sub    r6, lr, r11\n\t"                                                                    \
        "tst    r6, #16\n\t"                                                                        \
        "bne    3f\n\t"                                                                             \
        "1:\n\t"                                                                                    \
        CHUNK_2X2M_LDM                                                                              \
        "3:\n\t"                                                                                    \
        CHUNK_2X2M_LDM                                                                              \
        "cmp    r11, lr\n\t"                                                                        \
        "bne    1b\n\t"                                                                             \
        /* row 1: (m - a) = 256 * acc, doubled by ASR #7; row 0 doubled by LSL #1 */                \
        "ldr    r6, %[qm]\n\t"                                                                      \
        "sub    r9, r9, r7\n\t"                                                                     \
        "sub    r10, r10, r8\n\t"                                                                   \
        "ldm    r6!, {r0, r1, r2, r3, r4, r5}\n\t"                                                  \
        "str    r6, %[qm]\n\t"                                                                      \
        "lsl    r7, r7, #1\n\t"                                                                     \
        "lsl    r8, r8, #1\n\t"                                                                     \
        "asr    r9, r9, #7\n\t"                                                                     \
        "asr    r10, r10, #7\n\t"                                                                   \
        LOAD_LOHI                                                                                   \
        RQ_PAIR_R("r7", "r8", "r0", "r1", "r2", CLAMP)                                              \
        RQ_PAIR_R("r9", "r10", "r3", "r4", "r5", CLAMP)                                             \
        "ldr    r11, %[o0m]\n\t"                                                                    \
        "ldr    r6, %[osm]\n\t"                                                                     \
        "strb   r7, [r11]\n\t"                                                                      \
        "strb   r9, [r11, #1]\n\t"                                                                  \
        "strb   r8, [r11, r6]\n\t"                                                                  \
        "add    r6, r6, r11\n\t"                                                                    \
        "strb   r10, [r6, #1]\n\t"                                                                  \
        "ldr    r6, %[oendm]\n\t"                                                                   \
        "add    r11, r11, #2\n\t"                                                                   \
        "str    r11, %[o0m]\n\t"                                                                    \
        "cmp    r11, r6\n\t"                                                                        \
        "bne    2b\n\t"                                                                             \
        : "+r"(w_), "=&r"(r0_), "=&r"(r1_), "=&r"(r2_), "=&r"(r3_), "=&r"(r4_), "=&r"(r5_),           \
          "=&r"(r6_), "=&r"(r7_), "=&r"(r8_), "=&r"(r9_), "=&r"(r10_), "=&r"(r11_),                   \
          [bm] "+m"(st.bias), [qm] "+m"(st.q), [o0m] "+m"(st.o0)                                    \
        : "r"(end_), [colm] "m"(st.col), [lom] "m"(st.lo), [him] "m"(st.hi), [osm] "m"(st.ostride), \
          [oendm] "m"(st.o_end)                                                                     \
        : "cc", "memory");                                                                          \
}

DEFINE_PAIRS_2X2M(pairs_2x2m, CLAMP_LOHI_R, LOHI_LOAD)
DEFINE_PAIRS_2X2M(pairs_2x2m_full, CLAMP_FULL_R, "")
#endif

/* Requantize accumulator `acc` of channel i in the layer's form (p->general: tinyc_dsp_qx_t records). */
TINYC_INLINE int8_t rq_any(const tinyc_dsp_conv_params_t *p, const tinyc_dsp_q_t *q, int32_t i, int32_t acc)
{
    if (p->general)
        return (int8_t)tinyc_dsp_requant_x(acc, (const tinyc_dsp_qx_t *)(const void *)q + i, p->out_zp, p->act_min,
                                           p->act_max);
    return (int8_t)tinyc_dsp_requant(acc, q + i, p->act_min, p->act_max);
}

/* Output channels [oc, out_c) of `ncols` (1 or 2) pixels whose columns are interleaved at `col`, for any
 * layout and requantization form: every block the hand-scheduled loop below does not take. `w` points at
 * row oc's weights (oc even). */
static void matmul_cols_any(const tinyc_dsp_conv_params_t *p, const tinyc_word_t *wp, const int32_t *bias,
                            const tinyc_dsp_q_t *q, const tinyc_word_t *col, int32_t ncols, int8_t *o0, int32_t oc)
{
    const int32_t chunks = p->col_len4 >> 2, oc_n = p->out_c, pairs_end = oc_n & ~1;
    int8_t *o1 = o0 + oc_n;
    for (; oc < pairs_end; oc += 2, wp += chunks * 2) {
        int32_t acc[4] = {bias[oc], bias[oc], bias[oc + 1], bias[oc + 1]};
        if (ncols == 2) {
            if (p->fused) mac_2x2m(wp, col, chunks, acc);
            else mac_2x2(wp, col, chunks, acc);
            o1[oc] = rq_any(p, q, oc, acc[1]);
            o1[oc + 1] = rq_any(p, q, oc + 1, acc[3]);
        } else if (p->fused) {
            acc[1] = acc[2];
            mac_2x1m(wp, col, chunks, acc);
            acc[2] = acc[1];
        } else {
            acc[0] = mac_1x1(wp, 2, col, chunks, bias[oc]);
            acc[2] = mac_1x1(wp + 1, 2, col, chunks, bias[oc + 1]);
        }
        o0[oc] = rq_any(p, q, oc, acc[0]);
        o0[oc + 1] = rq_any(p, q, oc + 1, acc[2]);
    }
    if (oc_n & 1) { /* odd channel count: the last row is stored alone */
        o0[oc] = rq_any(p, q, oc, mac_1x1(wp, 1, col, chunks, bias[oc]));
        if (ncols == 2) o1[oc] = rq_any(p, q, oc, mac_1x1(wp, 1, col + 2, chunks, bias[oc]));
    }
}

/* All output channels of `ncols` (1 or 2) pixels whose columns are interleaved at `col`: fused pairs of
 * a layer in the fast form run the hand-scheduled loop, the rest matmul_cols_any. */
static void matmul_cols(const tinyc_dsp_conv_params_t *p, const int8_t *weights, const int32_t *bias,
                        const tinyc_dsp_q_t *q, const tinyc_word_t *col, int32_t ncols, int8_t *o0)
{
    const tinyc_word_t *wp = (const tinyc_word_t *)weights;
    int32_t oc = 0;
#if TINYC_DSP_ASM
    const int32_t chunks = p->col_len4 >> 2, oc_n = p->out_c, lo = p->act_min, hi = p->act_max;
    if (ncols == 2 && p->fused && !p->general && oc_n >= 2) {
        int8_t *const o_end = o0 + (oc_n & ~1);
        if (lo == -128 && hi == 127) pairs_2x2m_full(wp, col, chunks, bias, q, o0, o_end, oc_n, lo, hi);
        else pairs_2x2m(wp, col, chunks, bias, q, o0, o_end, oc_n, lo, hi);
        oc = oc_n & ~1;
        wp += (size_t)oc * chunks;
    }
#endif
    matmul_cols_any(p, wp, bias, q, col, ncols, o0, oc);
}

/* One im2col column of output pixel (oy, ox) whose k_h input rows are at rows[ky] (NULL: padding;
 * rows_in: none is), in the layout im2col_sxtb16 / im2col_gather build. */
static void im2col_rows(const tinyc_dsp_conv_params_t *p, const int8_t *const *rows, int rows_in, int32_t ox,
                        int8_t *tmp, tinyc_word_t *col)
{
    const int32_t ic = p->in_c, ix0 = ox * p->stride_w - p->pad_w, row = p->k_w * ic;
    const uint32_t pad = ((uint32_t)p->pad_value & 0xFFFFu) * 0x10001u;
    tinyc_word_t *c = col;
    if (p->natural) {
        const int32_t r4 = (row + 3) & ~3;
        const int fast = rows_in && p->dil_w == 1 && ix0 >= 0 && ix0 * ic + r4 <= p->in_w * ic;
        const size_t at = (size_t)ix0 * ic;
        if (p->natural == 2) { /* kernel rows padded to r4 bytes */
            if (!fast) {
                for (int32_t ky = 0; ky < p->k_h; ++ky, c += r4) row4_column(p, rows[ky], ix0, tmp, c);
                return;
            }
            for (int32_t ky = 0; ky < p->k_h; ++ky) { /* straight from the input rows */
                const int8_t *s = rows[ky] + at;
                for (int32_t i = 0; i < r4; i += 4, c += 4) {
                    const uint32_t w = tinyc_ld32(s + i);
                    c[0] = (uint32_t)tinyc_sxtb16(w);
                    c[1] = (uint32_t)tinyc_sxtb16_ror8(w);
                }
            }
            return;
        }
        /* natural == 1: the k_h rows packed back to back in `tmp` (each copied by whole words, the next row
         * overwriting what a copy read past its end), then widened: col_len4 bytes */
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            int8_t *t = tmp + ky * row;
            const int8_t *src = rows[ky];
            if (fast) {
                for (int32_t i = 0; i < r4; i += 4) tinyc_st32(t + i, tinyc_ld32(src + at + i));
            } else if (!src) {
                fill8(t, row, p->pad_value);
            } else {
                for (int32_t kx = 0; kx < p->k_w; ++kx) {
                    const int32_t ix = ix0 + kx * p->dil_w;
                    if (ix < 0 || ix >= p->in_w) fill8(t + kx * ic, ic, p->pad_value);
                    else copy8(t + kx * ic, src + (size_t)ix * ic, ic);
                }
            }
        }
        widen_sxtb16(tmp, c, p->col_len4);
        return;
    }
    for (int32_t ky = 0; ky < p->k_h; ++ky, c += row) {
        const int8_t *src = rows[ky];
        if (src && p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w) {
            widen_sxtb16(src + (size_t)ix0 * ic, c, row);
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (src && ix >= 0 && ix < p->in_w) widen_sxtb16(src + (size_t)ix * ic, c + kx * ic, ic);
            else fill_chunks(c + kx * ic, ic, pad);
        }
    }
}

/* Columns of pixels ox, ox + 1 (`ncols` of them) of one output row, rows[] as for im2col_rows. Natural
 * layout 2 with every kernel row inside for both pixels (the common case) is built here in one pass, a
 * word per kernel row and pixel when the rows are 4 bytes; anything else goes through im2col_rows. */
static void cols_rows(const tinyc_dsp_conv_params_t *p, const int8_t *const *rows, int rows_in, int32_t ox,
                            int32_t ncols, int8_t *tmp, tinyc_word_t *col)
{
    const int32_t ic = p->in_c, ix0 = ox * p->stride_w - p->pad_w, r4 = (p->k_w * ic + 3) & ~3;
    const int32_t ix1 = ix0 + (ncols - 1) * p->stride_w;
    if (p->natural == 2 && rows_in && p->dil_w == 1 && ix0 >= 0 && ix1 * ic + r4 <= p->in_w * ic) {
        const size_t at = (size_t)ix0 * ic, step = (size_t)(ix1 - ix0) * ic;
        tinyc_word_t *c = col;
        if (r4 == 4) {
            for (int32_t ky = 0; ky < p->k_h; ++ky, c += 4) {
                const int8_t *s = rows[ky] + at;
                const uint32_t w0 = tinyc_ld32(s), w1 = tinyc_ld32(s + step);
                c[0] = (uint32_t)tinyc_sxtb16(w0);
                c[1] = (uint32_t)tinyc_sxtb16_ror8(w0);
                c[2] = (uint32_t)tinyc_sxtb16(w1);
                c[3] = (uint32_t)tinyc_sxtb16_ror8(w1);
            }
            return;
        }
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int8_t *s = rows[ky] + at;
            for (int32_t i = 0; i < r4; i += 4, c += 4) {
                const uint32_t w0 = tinyc_ld32(s + i), w1 = tinyc_ld32(s + step + i);
                c[0] = (uint32_t)tinyc_sxtb16(w0);
                c[1] = (uint32_t)tinyc_sxtb16_ror8(w0);
                c[2] = (uint32_t)tinyc_sxtb16(w1);
                c[3] = (uint32_t)tinyc_sxtb16_ror8(w1);
            }
        }
        return; /* with one pixel the second column is a copy of the first: never read */
    }
    for (int32_t j = 0; j < ncols; ++j) im2col_rows(p, rows, rows_in, ox + j, tmp, col + 2 * j);
}

#if defined(__GNUC__)
__attribute__((weak))
#endif
void tinyc_arm_dsp_matmul_s8(const tinyc_dsp_conv_params_t *p, const int8_t *input, const int8_t *packed_filter,
                             const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *output, int16_t *scratch)
{
    const int32_t k4 = p->col_len4, pixels = p->out_h * p->out_w;
    tinyc_word_t *col = (tinyc_word_t *)scratch;      /* 2 * k4 halfwords, interleaved columns */
    int8_t *tmp = (int8_t *)(scratch + 2 * k4);       /* k4 bytes, gathered columns (in_c % 4 != 0) */
    const int pointwise = p->k_h == 1 && p->k_w == 1 && p->pad_h == 0 && p->pad_w == 0 && !p->natural;
    if (p->natural == 2) row4_tmp_init(p, tmp);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * p->in_c;
        int8_t *out_b = output + (size_t)b * pixels * p->out_c;
        int32_t oy = 0, ox = 0;
        if (p->natural && p->k_h <= TINYC_DSP_MAX_KH && !(p->out_w & 1)) { /* pixel pairs within each row */
            const int8_t *rows[TINYC_DSP_MAX_KH];
            int rows_in;
            for (oy = 0; oy < p->out_h; ++oy) {
                const int32_t iy0 = oy * p->stride_h - p->pad_h;
                int8_t *o = out_b + (size_t)oy * p->out_w * p->out_c;
                rows_in = 1;
                for (int32_t ky = 0; ky < p->k_h; ++ky) {
                    const int32_t iy = iy0 + ky * p->dil_h;
                    rows[ky] = iy >= 0 && iy < p->in_h ? in_b + (size_t)iy * p->in_w * p->in_c : NULL;
                    rows_in &= rows[ky] != NULL;
                }
                for (ox = 0; ox < p->out_w; ox += 2, o += 2 * p->out_c) {
                    cols_rows(p, rows, rows_in, ox, 2, tmp, col);
                    matmul_cols(p, packed_filter, bias, q, col, 2, o);
                }
            }
            continue;
        }
        for (int32_t px = 0; px < pixels; px += 2) {
            const int32_t ncols = px + 1 < pixels ? 2 : 1;
            for (int32_t j = 0; j < ncols; ++j) {
                if (p->natural) {
                    im2col_gather(p, in_b, oy, ox, tmp, col + 2 * j);
                } else if (pointwise) {
                    widen_sxtb16(in_b + ((size_t)oy * p->stride_h * p->in_w + (size_t)ox * p->stride_w) * p->in_c,
                                 col + 2 * j, k4);
                } else {
                    im2col_sxtb16(p, in_b, oy, ox, col + 2 * j);
                }
                if (++ox == p->out_w) {
                    ox = 0;
                    ++oy;
                }
            }
            int8_t *o0 = out_b + (size_t)px * p->out_c;
            matmul_cols(p, packed_filter, bias, q, col, ncols, o0);
        }
    }
}

/* 1x1 stride-1 unpadded CONV_2D in place (batch 1): the output overwrites the input `io`. Each pair of
 * pixels is widened into `scratch` before its outputs are stored, so the only input bytes an output
 * may overwrite are those of pixels already read: pixels go first to last when out_c <= in_c (outputs
 * of pixels < px + 2 end at (px + 2) * out_c <= (px + 2) * in_c), last to first otherwise (outputs of
 * pixels >= px start at px * out_c >= px * in_c). With in_c % 4 != 0 (natural) each pixel is first
 * copied into a zero-tailed buffer, never reading past it (its neighbours may hold outputs already).
 * The arithmetic is the matmul's, so the outputs equal tinyc_ref_conv2d_pointwise_inplace_s8's. */
TINYC_INLINE void pointwise_inplace(const tinyc_dsp_conv_params_t *p, int8_t *io, const int8_t *packed_filter,
                                    const int32_t *bias, const tinyc_dsp_q_t *q, int16_t *scratch, const int natural)
{
    const int32_t k4 = p->col_len4, pixels = p->out_h * p->out_w, ic = p->in_c, oc = p->out_c;
    tinyc_word_t *col = (tinyc_word_t *)scratch;
    int8_t *tmp = (int8_t *)(scratch + 2 * k4);
    if (natural) {
        for (int32_t k = ic; k < k4; ++k) tmp[k] = 0;
    }
#define PW_COLUMN(px, j)                                                                 \
    do {                                                                                 \
        if (natural) {                                                                   \
            copy8(tmp, io + (size_t)(px) * ic, ic);                                      \
            widen_sxtb16(tmp, col + 2 * (j), k4);                                        \
        } else {                                                                         \
            widen_sxtb16(io + (size_t)(px) * ic, col + 2 * (j), k4);                     \
        }                                                                                \
    } while (0)
    if (oc <= ic) {
        for (int32_t px = 0; px < pixels; px += 2) {
            const int32_t ncols = px + 1 < pixels ? 2 : 1;
            for (int32_t j = 0; j < ncols; ++j) PW_COLUMN(px + j, j);
            matmul_cols(p, packed_filter, bias, q, col, ncols, io + (size_t)px * oc);
        }
        return;
    }
    for (int32_t end = pixels; end > 0; end -= 2) {
        const int32_t ncols = end >= 2 ? 2 : 1, px = end - ncols;
        for (int32_t j = 0; j < ncols; ++j) PW_COLUMN(px + j, j);
        matmul_cols(p, packed_filter, bias, q, col, ncols, io + (size_t)px * oc);
    }
#undef PW_COLUMN
}

#if defined(__GNUC__)
__attribute__((weak))
#endif
void tinyc_arm_dsp_pointwise_inplace_s8(const tinyc_dsp_conv_params_t *p, int8_t *io, const int8_t *packed_filter,
                                        const int32_t *bias, const tinyc_dsp_q_t *q, int16_t *scratch)
{
    /* each its own copy: the column copy only where needed */
    if (p->natural) pointwise_inplace(p, io, packed_filter, bias, q, scratch, 1);
    else pointwise_inplace(p, io, packed_filter, bias, q, scratch, 0);
}

/* CONV_2D in place with the row ring (batch 1, groups of 1, k_h <= TINYC_DSP_MAX_KH): before output
 * row oy is stored, the input rows it overwrites that later rows still read are saved in `ring`
 * (inplace_rows.h, as tinyc_ref_conv2d_inplace_s8 does), and the row's columns read every input row
 * as it was. Pixels are paired within a row, so a row's outputs are stored only after its save. */
#if defined(__GNUC__)
__attribute__((weak))
#endif
void tinyc_arm_dsp_conv_rows_inplace_s8(const tinyc_dsp_conv_params_t *p, int32_t ring_rows, int8_t *io,
                                        const int8_t *packed_filter, const int32_t *bias, const tinyc_dsp_q_t *q,
                                        int16_t *scratch, int8_t *ring)
{
    const int32_t k4 = p->col_len4;
    tinyc_word_t *col = (tinyc_word_t *)scratch;
    int8_t *tmp = (int8_t *)(scratch + 2 * k4);
    const int8_t *rows[TINYC_DSP_MAX_KH];
    tinyc_ring_t r;
    if (p->natural == 2) row4_tmp_init(p, tmp);
    r.io = io;
    r.ring = ring;
    r.in_row = (size_t)p->in_w * p->in_c;
    r.out_row = (size_t)p->out_w * p->out_c;
    r.in_h = p->in_h;
    r.out_h = p->out_h;
    r.pad_h = p->pad_h;
    r.stride_h = p->stride_h;
    r.ring_rows = ring_rows;
    r.saved = 0;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        int8_t *o = io + (size_t)oy * r.out_row;
        tinyc_ring_advance(&r, oy);
        int rows_in = 1;
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            rows[ky] = iy >= 0 && iy < p->in_h ? tinyc_ring_row(&r, iy) : NULL;
            rows_in &= rows[ky] != NULL;
        }
        for (int32_t ox = 0; ox < p->out_w; ox += 2) {
            const int32_t ncols = ox + 1 < p->out_w ? 2 : 1;
            cols_rows(p, rows, rows_in, ox, ncols, tmp, col);
            matmul_cols(p, packed_filter, bias, q, col, ncols, o + (size_t)ox * p->out_c);
        }
    }
}

#endif /* TINYC_DSP_MATMUL_H */
