/* Streaming decoder for tinyc's packed weight format (docs/compressed-weights.md); it must equal
 * tinyc/model/packing.py's unpack byte for byte (tests/test_codegen_packed_unpack.py). */
#include <string.h>

#include "tinyc_unpack.h"

static uint32_t tinyc_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t tinyc_nbytes(uint32_t bits) { return (bits + 7u) / 8u; }

/* The b-bit field (b <= 8) at bit `at` of a little-endian stream, never reading past its last byte. */
static uint32_t tinyc_field(const uint8_t *s, uint32_t at, uint32_t b)
{
    const uint32_t byte = at >> 3, sh = at & 7u;
    uint32_t v = (uint32_t)s[byte] >> sh;
    if (sh + b > 8u) v |= (uint32_t)s[byte + 1] << (8u - sh);
    return v & ((1u << b) - 1u);
}

static void tinyc_begin_channel(tinyc_unpacker_t *u)
{
    u->pos = 0;
    u->nz = 0;
    u->book = u->rec;
    u->bitmap = u->rec;
    u->bits = u->rec;
    if (u->mode == TINYC_PACK_LUT) {
        u->bits = u->rec + u->k;
    } else if (u->mode == TINYC_PACK_SPARSE_LUT) {
        u->bitmap = u->rec + u->k;
        u->bits = u->bitmap + tinyc_nbytes(u->length);
    }
}

/* Bytes of the current channel record; for SPARSE_LUT only once the whole channel has been read. */
static uint32_t tinyc_record_bytes(const tinyc_unpacker_t *u)
{
    switch (u->mode) {
    case TINYC_PACK_LUT: return u->k + tinyc_nbytes(u->length * u->bm);
    case TINYC_PACK_SPARSE_LUT: return u->k + tinyc_nbytes(u->length) + tinyc_nbytes(u->nz * u->bm);
    case TINYC_PACK_SIGN: return tinyc_nbytes(u->length);
    default: return u->length;
    }
}

void tinyc_unpack_init(tinyc_unpacker_t *u, const uint8_t *blob)
{
    u->mode = blob[0];
    u->bm = blob[1];
    u->k = (uint16_t)(blob[2] | blob[3] << 8);
    u->channels = tinyc_rd32(blob + 4);
    u->length = tinyc_rd32(blob + 8);
    u->channel = 0;
    u->rec = blob + TINYC_PACK_HEADER_BYTES;
    tinyc_begin_channel(u);
}

void tinyc_unpack_next(tinyc_unpacker_t *u, int8_t *out, uint32_t n)
{
    const uint32_t b = u->bm;
    if (u->length == 0) return;
    while (n > 0) {
        if (u->pos == u->length) {
            u->rec += tinyc_record_bytes(u);
            u->channel++;
            tinyc_begin_channel(u);
        }
        const uint32_t take = (u->length - u->pos) < n ? (u->length - u->pos) : n;
        const uint32_t pos = u->pos;
        uint32_t i;
        switch (u->mode) {
        case TINYC_PACK_LUT:
            for (i = 0; i < take; ++i) out[i] = (int8_t)u->book[tinyc_field(u->bits, (pos + i) * b, b)];
            break;
        case TINYC_PACK_SPARSE_LUT:
            for (i = 0; i < take; ++i) {
                const uint32_t e = pos + i;
                if ((u->bitmap[e >> 3] >> (e & 7u)) & 1u) {
                    out[i] = (int8_t)u->book[tinyc_field(u->bits, u->nz * b, b)];
                    u->nz++;
                } else {
                    out[i] = 0;
                }
            }
            break;
        case TINYC_PACK_SIGN: {
            const int8_t plus = (int8_t)b, minus = (int8_t)(-(int32_t)b);
            for (i = 0; i < take; ++i) {
                const uint32_t e = pos + i;
                out[i] = ((u->bits[e >> 3] >> (e & 7u)) & 1u) ? plus : minus;
            }
            break;
        }
        default:
            memcpy(out, u->bits + pos, take);
            break;
        }
        u->pos += take;
        out += take;
        n -= take;
    }
}
