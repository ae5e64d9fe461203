/* CONV_2D / FULLY_CONNECTED with packed weights (docs/compressed-weights.md), int8, Arm DSP extension.
 *
 * The filter is decoded once per call, row (output channel) by row, from its blob straight into the
 * layout the shared matrix multiply reads (tinyc_dsp_matmul.h; tinyc/codegen/specialize.py,
 * pack_matmul_weights / pack_matmul_fused): each row padded to col_len4 (natural 2: each kernel row of
 * k_w * in_c values padded to a multiple of 4), rows in pairs interleaved by 4-byte chunk, or fused pairs
 * (halfwords 256 * w1 + w0, built with SXTAB16 from the two decoded rows), an odd last row alone. Then
 * the dense kernel runs on the decoded filter, so every weight is decoded once per inference and reused
 * for every output pixel. `decoded` (static, word aligned) holds the whole layout and two rows past it;
 * bias, requantization and the fused choice are the generator's, proven on the weights the blob decodes
 * to. Bit-identical to tinyc_ref_conv2d_packed_s8 / tinyc_ref_fully_connected_packed_s8. */
#include "tinyc_dsp_matmul.h"
#include "tinyc_packed_rows.h"

/* The blob's row length, and each kernel row's values padded to a multiple of 4 (natural 2). */
static int32_t blob_row(const tinyc_dsp_conv_params_t *p)
{
    return p->natural == 2 ? p->k_h * p->k_w * p->in_c : p->col_len;
}

/* A row decoded at `row` (blob order) laid out as the dense kernel's row: natural 2 spreads its kernel rows
 * to r4 bytes each (last first, so no source is overwritten), and the tail to col_len4 is zero. */
static void layout_row(const tinyc_dsp_conv_params_t *p, int8_t *row)
{
    if (p->natural == 2) {
        const int32_t seg = p->k_w * p->in_c, pad = (seg + 3) & ~3;
        for (int32_t ky = p->k_h - 1; ky >= 0; --ky) {
            if (pad != seg) memmove(row + ky * pad, row + ky * seg, (size_t)seg);
            for (int32_t i = seg; i < pad; ++i) row[ky * pad + i] = 0;
        }
        return;
    }
    for (int32_t i = p->col_len; i < p->col_len4; ++i) row[i] = 0;
}

static void next_row(tinyc_pk_rows_t *r, const tinyc_dsp_conv_params_t *p, int8_t *row)
{
    tinyc_pk_next_row(r, row);
    layout_row(p, row);
}

/* Four weights (elements i..i+3 of a row of `len` 4-bit codebook indices, two per byte, low nibble first) as
 * one word of the layout, zero past `len`. */
static inline uint32_t lut4_word(const int8_t *book, const uint8_t *s, int32_t i, int32_t len)
{
    if (i + 4 <= len) {
        const uint32_t v = s[i >> 1] | (uint32_t)s[(i >> 1) + 1] << 8;
        return (uint32_t)(uint8_t)book[v & 15u] | (uint32_t)(uint8_t)book[(v >> 4) & 15u] << 8 |
               (uint32_t)(uint8_t)book[(v >> 8) & 15u] << 16 | (uint32_t)(uint8_t)book[v >> 12] << 24;
    }
    uint32_t w = 0;
    for (int32_t j = 0; i + j < len; ++j) {
        const uint32_t n = (uint32_t)(i + j);
        w |= (uint32_t)(uint8_t)book[(s[n >> 1] >> (4u * (n & 1u))) & 15u] << (8 * j);
    }
    return w;
}

/* A filter of 4-bit LUT rows (fixed-size records) a word at a time from two records at once (rows oc and
 * oc + 1 of a pair), with no row buffer: 6.4 instructions per weight on the Cortex-M7 against 8.1 through the
 * row decoder. (SIGN rows stay on the row decoder: its two table words per byte beat a word per nibble.) */
static void decode_lut4_words(const tinyc_dsp_conv_params_t *p, const tinyc_pk_rows_t *r, tinyc_word_t *dst)
{
    /* locals, not loads through p and r: the word stores to dst may alias them */
    const int32_t len = p->col_len, chunks = p->col_len4 / 4, fused = p->fused || p->vec, out_c = p->out_c;
    const uint32_t k = r->k, size = k + ((uint32_t)len + 1u) / 2u;
    const uint8_t *a = r->rec;
    int32_t oc = 0;
    for (; oc + 1 < out_c; oc += 2, a += 2 * size) {
        const uint8_t *b = a + size;
        const int8_t *book_a = (const int8_t *)a, *book_b = (const int8_t *)b;
        if (fused) {
            for (int32_t q = 0; q < chunks; ++q, dst += 2) {
                const uint32_t x = lut4_word(book_a, a + k, 4 * q, len), y = lut4_word(book_b, b + k, 4 * q, len);
                dst[0] = (uint32_t)tinyc_sxtab16((int32_t)((y << 8) & 0xFF00FF00u), x);
                dst[1] = (uint32_t)tinyc_sxtab16_ror8((int32_t)(y & 0xFF00FF00u), x);
            }
        } else {
            for (int32_t q = 0; q < chunks; ++q, dst += 2) {
                dst[0] = lut4_word(book_a, a + k, 4 * q, len);
                dst[1] = lut4_word(book_b, b + k, 4 * q, len);
            }
        }
    }
    if (oc < out_c) {
        for (int32_t q = 0; q < chunks; ++q) dst[q] = lut4_word((const int8_t *)a, a + k, 4 * q, len);
    }
}

static void decode_filter(const tinyc_dsp_conv_params_t *p, const uint8_t *blob, int8_t *decoded, int8_t *rows)
{
    const int32_t k4 = p->col_len4, chunks = k4 / 4;
    tinyc_word_t *dst = (tinyc_word_t *)decoded;
    int8_t *r0 = rows, *r1 = r0 + k4;
    tinyc_pk_rows_t r;
    tinyc_pk_rows_init(&r, p->out_c, (uint32_t)blob_row(p), blob);
    if (r.fast && p->natural != 2 && r.mode == TINYC_PACK_LUT && r.bm == 4) {
        decode_lut4_words(p, &r, dst);
        return;
    }
    int32_t oc = 0;
    for (; oc + 1 < p->out_c; oc += 2) {
        next_row(&r, p, r0);
        next_row(&r, p, r1);
        const tinyc_word_t *a = (const tinyc_word_t *)r0, *b = (const tinyc_word_t *)r1;
        if (p->fused || p->vec) { /* word E: (256 b_k + a_k, 256 b_k+2 + a_k+2), O: the odd columns */
            for (int32_t q = 0; q < chunks; ++q, dst += 2) {
                const uint32_t x = a[q], y = b[q];
                dst[0] = (uint32_t)tinyc_sxtab16((int32_t)((y << 8) & 0xFF00FF00u), x);
                dst[1] = (uint32_t)tinyc_sxtab16_ror8((int32_t)(y & 0xFF00FF00u), x);
            }
        } else {
            for (int32_t q = 0; q < chunks; ++q, dst += 2) {
                dst[0] = a[q];
                dst[1] = b[q];
            }
        }
    }
    if (oc < p->out_c) next_row(&r, p, (int8_t *)dst); /* an odd last row alone */
}

void tinyc_arm_dsp_matmul_packed_s8(const tinyc_dsp_conv_params_t *p, const int8_t *input, const uint8_t *filter,
                                    const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *output, int16_t *scratch,
                                    int8_t *decoded)
{
    decode_filter(p, filter, decoded, decoded + (size_t)p->out_c * p->col_len4);
    tinyc_arm_dsp_matmul_s8(p, input, decoded, bias, q, output, scratch);
}

/* The fused-pair layout (pairs [chunk][E, O]) as the one-batch FULLY_CONNECTED kernel's (vec; specialize.py,
 * pack_fc_vec): each block of 4 rows, its two pairs interleaved by chunk ([chunk][pair A: E, O][pair B: E, O]);
 * a last pair and an odd last row stay as they are. Pair A goes through `tmp` (2 * col_len4 bytes); pair B is
 * read in place, each chunk before its place is written (chunk c of B lies at or past where chunk c lands). */
static void interleave_quads(const tinyc_dsp_conv_params_t *p, int8_t *decoded, int8_t *tmp)
{
    const int32_t chunks = p->col_len4 / 4;
    tinyc_word_t *t = (tinyc_word_t *)tmp;
    for (int32_t q = 0; q < p->out_c / 4; ++q) {
        tinyc_word_t *quad = (tinyc_word_t *)(decoded + (size_t)q * 4 * p->col_len4);
        const tinyc_word_t *b = quad + 2 * chunks;
        memcpy(tmp, quad, (size_t)8 * chunks);
        for (int32_t c = 0; c < chunks; ++c) {
            const uint32_t be = b[2 * c], bo = b[2 * c + 1];
            quad[4 * c] = t[2 * c];
            quad[4 * c + 1] = t[2 * c + 1];
            quad[4 * c + 2] = be;
            quad[4 * c + 3] = bo;
        }
    }
}

void tinyc_arm_dsp_decode_packed_s8(const tinyc_dsp_conv_params_t *p, const uint8_t *filter, int8_t *decoded,
                                    int8_t *rows)
{
    int8_t *r = rows != NULL ? rows : decoded + (size_t)p->out_c * p->col_len4;
    decode_filter(p, filter, decoded, r);
    if (p->vec) interleave_quads(p, decoded, r);
}
