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
#include <string.h>

#include "tinyc_unpack.h"

static uint32_t nbytes(uint32_t bits) { return (bits + 7u) >> 3; }

/* One whole channel record at `rec` (L elements) into `out`, by word where the format allows: LUT indices
 * read through a bit accumulator (two nibbles per byte for 4-bit indices), SPARSE_LUT eight elements per
 * bitmap byte (zeroed by word, then its set bits), SIGN four elements per nibble from `sign4`. Equal to
 * tinyc_unpack_next over the record; returns the record's bytes. */
static uint32_t decode_record(const uint8_t *rec, uint32_t mode, uint32_t bm, uint32_t k, uint32_t len, int8_t *out,
                              const uint32_t *sign4)
{
    const int8_t *book = (const int8_t *)rec;
    const uint32_t mask = (1u << (bm & 7u)) - 1u;
    uint32_t i, acc = 0, nb = 0;
    switch (mode) {
    case TINYC_PACK_LUT: {
        const uint8_t *s = rec + k;
        if (bm == 4) {
            for (i = 0; i + 2 <= len; i += 2) {
                const uint32_t v = *s++;
                out[i] = book[v & 15u];
                out[i + 1] = book[v >> 4];
            }
            if (i < len) out[i] = book[*s & 15u];
        } else {
            for (i = 0; i < len; ++i) {
                if (nb < bm) {
                    acc |= (uint32_t)*s++ << nb;
                    nb += 8;
                }
                out[i] = book[acc & mask];
                acc >>= bm;
                nb -= bm;
            }
        }
        return k + nbytes(len * bm);
    }
    case TINYC_PACK_SPARSE_LUT: {
        const uint8_t *bitmap = rec + k, *s = bitmap + nbytes(len);
        uint32_t nz = 0;
        for (i = 0; i < len; i += 8) {
            uint32_t m = bitmap[i >> 3];
            int8_t *o = out + i;
            if (i + 8 <= len) {
                tinyc_st32(o, 0);
                tinyc_st32(o + 4, 0);
            } else {
                for (uint32_t j = 0; j < len - i; ++j) o[j] = 0;
            }
            for (; m; m &= m - 1u, ++nz) { /* set bits past len are zero (the bitmap's padding) */
                if (nb < bm) {
                    acc |= (uint32_t)*s++ << nb;
                    nb += 8;
                }
                o[__builtin_ctz(m)] = book[acc & mask];
                acc >>= bm;
                nb -= bm;
            }
        }
        return k + nbytes(len) + nbytes(nz * bm);
    }
    case TINYC_PACK_SIGN: {
        const uint8_t *s = rec;
        for (i = 0; i + 8 <= len; i += 8) {
            const uint32_t v = *s++;
            tinyc_st32(out + i, sign4[v & 15u]);
            tinyc_st32(out + i + 4, sign4[v >> 4]);
        }
        for (; i < len; ++i) out[i] = (int8_t)(((rec[i >> 3] >> (i & 7u)) & 1u) ? (int32_t)bm : -(int32_t)bm);
        return nbytes(len);
    }
    default:
        memcpy(out, rec, len);
        return len;
    }
}

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

typedef struct {
    tinyc_unpacker_t u; /* the streaming decoder (a blob whose channels are not the rows) */
    const uint8_t *rec; /* the next record (one record per row) */
    uint32_t mode, bm, k, fast;
    uint32_t sign4[16];
} rows_t;

static void rows_init(rows_t *r, const tinyc_dsp_conv_params_t *p, const uint8_t *blob)
{
    tinyc_unpack_init(&r->u, blob);
    r->rec = blob + TINYC_PACK_HEADER_BYTES;
    r->mode = r->u.mode;
    r->bm = r->u.bm;
    r->k = r->u.k;
    r->fast = r->u.channels == (uint32_t)p->out_c && r->u.length == (uint32_t)blob_row(p);
    if (r->mode == TINYC_PACK_SIGN) {
        const uint32_t plus = (uint8_t)r->bm, minus = (uint8_t)(-(int32_t)r->bm);
        for (uint32_t n = 0; n < 16; ++n) {
            uint32_t w = 0;
            for (uint32_t j = 0; j < 4; ++j) w |= (((n >> j) & 1u) ? plus : minus) << (8 * j);
            r->sign4[n] = w;
        }
    }
}

static void next_row(rows_t *r, const tinyc_dsp_conv_params_t *p, int8_t *row)
{
    if (r->fast) {
        r->rec += decode_record(r->rec, r->mode, r->bm, r->k, r->u.length, row, r->sign4);
    } else {
        tinyc_unpack_next(&r->u, row, (uint32_t)blob_row(p));
    }
    layout_row(p, row);
}

static void decode_filter(const tinyc_dsp_conv_params_t *p, const uint8_t *blob, int8_t *decoded)
{
    const int32_t k4 = p->col_len4, chunks = k4 / 4;
    tinyc_word_t *dst = (tinyc_word_t *)decoded;
    int8_t *r0 = decoded + (size_t)p->out_c * k4, *r1 = r0 + k4;
    rows_t r;
    rows_init(&r, p, blob);
    int32_t oc = 0;
    for (; oc + 1 < p->out_c; oc += 2) {
        next_row(&r, p, r0);
        next_row(&r, p, r1);
        const tinyc_word_t *a = (const tinyc_word_t *)r0, *b = (const tinyc_word_t *)r1;
        if (p->fused) { /* word E: (256 b_k + a_k, 256 b_k+2 + a_k+2), O: the odd columns */
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
    decode_filter(p, filter, decoded);
    tinyc_arm_dsp_matmul_s8(p, input, decoded, bias, q, output, scratch);
}
