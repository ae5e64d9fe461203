/* Packed filters (docs/compressed-weights.md) decoded a whole row (output channel) at a time, for the
 * optimized sets' packed CONV_2D / FULLY_CONNECTED kernels (conv2d_packed_arm_dsp.c, conv2d_packed_arm_mve.c):
 * where the blob's records are the filter's rows, each record is decoded by word where its format allows
 * (fast LUT / SPARSE_LUT / SIGN decoders); otherwise the streaming decoder of tinyc_unpack.h serves.
 * Equal to tinyc_unpack_next over the same blob. */
#ifndef TINYC_PACKED_ROWS_H
#define TINYC_PACKED_ROWS_H

#include <string.h>

#include "tinyc_rt_arm_dsp.h"
#include "tinyc_unpack.h"

static inline uint32_t tinyc_pk_nbytes(uint32_t bits) { return (bits + 7u) >> 3; }

/* One whole channel record at `rec` (L elements) into `out`, by word where the format allows: LUT indices
 * read through a bit accumulator (two nibbles per byte for 4-bit indices), SPARSE_LUT eight elements per
 * bitmap byte (zeroed by word, then its set bits), SIGN four elements per nibble from `sign4`. Equal to
 * tinyc_unpack_next over the record; returns the record's bytes. */
static inline uint32_t tinyc_pk_decode_record(const uint8_t *rec, uint32_t mode, uint32_t bm, uint32_t k, uint32_t len, int8_t *out,
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
        return k + tinyc_pk_nbytes(len * bm);
    }
    case TINYC_PACK_SPARSE_LUT: {
        const uint8_t *bitmap = rec + k, *s = bitmap + tinyc_pk_nbytes(len);
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
        return k + tinyc_pk_nbytes(len) + tinyc_pk_nbytes(nz * bm);
    }
    case TINYC_PACK_SIGN: {
        const uint8_t *s = rec;
        for (i = 0; i + 8 <= len; i += 8) {
            const uint32_t v = *s++;
            tinyc_st32(out + i, sign4[v & 15u]);
            tinyc_st32(out + i + 4, sign4[v >> 4]);
        }
        for (; i < len; ++i) out[i] = (int8_t)(((rec[i >> 3] >> (i & 7u)) & 1u) ? (int32_t)bm : -(int32_t)bm);
        return tinyc_pk_nbytes(len);
    }
    default:
        memcpy(out, rec, len);
        return len;
    }
}

typedef struct {
    tinyc_unpacker_t u; /* the streaming decoder (a blob whose channels are not the rows) */
    const uint8_t *rec; /* the next record (one record per row) */
    uint32_t mode, bm, k, fast, len;
    uint32_t sign4[16];
} tinyc_pk_rows_t;

/* `rows` rows of `len` values each: the fast decoders where the blob holds one record per row. */
static inline void tinyc_pk_rows_init(tinyc_pk_rows_t *r, int32_t rows, uint32_t len, const uint8_t *blob)
{
    tinyc_unpack_init(&r->u, blob);
    r->rec = blob + TINYC_PACK_HEADER_BYTES;
    r->mode = r->u.mode;
    r->bm = r->u.bm;
    r->k = r->u.k;
    r->len = len;
    r->fast = r->u.channels == (uint32_t)rows && r->u.length == len;
    if (r->mode == TINYC_PACK_SIGN) {
        const uint32_t plus = (uint8_t)r->bm, minus = (uint8_t)(-(int32_t)r->bm);
        for (uint32_t n = 0; n < 16; ++n) {
            uint32_t w = 0;
            for (uint32_t j = 0; j < 4; ++j) w |= (((n >> j) & 1u) ? plus : minus) << (8 * j);
            r->sign4[n] = w;
        }
    }
}

/* The next row, `len` values, into `row`. */
static inline void tinyc_pk_next_row(tinyc_pk_rows_t *r, int8_t *row)
{
    if (r->fast) {
        r->rec += tinyc_pk_decode_record(r->rec, r->mode, r->bm, r->k, r->len, row, r->sign4);
    } else {
        tinyc_unpack_next(&r->u, row, r->len);
    }
}

#endif
