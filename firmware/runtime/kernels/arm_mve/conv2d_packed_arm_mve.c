/* CONV_2D / FULLY_CONNECTED with packed weights (docs/compressed-weights.md), int8, Helium (MVE).
 *
 * The filter is decoded once per call, row (output channel) by row, straight into where the matrix multiply
 * reads it (tinyc/codegen/specialize_mve.py, pack_mve_weights: groups of 4 rows, chunk q of each row in turn,
 * rows past out_c zero): 4-bit codebook indices (LUT, SPARSE_LUT) and sign bits 16 weights per vector
 * gather, other records by the C decoders of tinyc_packed_rows.h into a temporary of col_len16 bytes past the
 * layout, then copied. Then the dense kernel runs on the decoded filter, so every weight is decoded once per
 * inference and reused for every output pixel. Bias and requantization are the generator's, proven on the
 * weights the blob decodes to. Bit-identical to tinyc_ref_conv2d_packed_s8 / tinyc_ref_fully_connected_packed_s8. */
#include "tinyc_mve_matmul.h"
#include "tinyc_packed_rows.h"

/* Lane j of 16 reads bit j % 8 of byte j / 8: a bitmap's or sign record's 16 bits as lanes. */
static const uint8_t lane_byte[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
static const uint8_t lane_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};

/* One row of 4-bit codebook indices (a LUT record: k codebook bytes, then two indices per byte, low nibble
 * first) straight into its 16-byte chunks of the layout (`dst`, 64 bytes apart): 8 index bytes widened to
 * halfwords become 16 byte offsets (low nibble, high nibble << 8) and one gather reads the codebook; lanes at
 * or past `len` read nothing and are zero. Returns the record's bytes. */
static uint32_t mve_lut4_row(const uint8_t *rec, uint32_t k, int32_t len, int32_t k16, int8_t *dst)
{
    const int8_t *book = (const int8_t *)rec;
    const uint8_t *s = rec + k;
    for (int32_t q = 0; q < k16; q += 16, dst += 64) {
        const int32_t n = len - q;
        const uint16x8_t v = vldrbq_z_u16(s + q / 2, vctp16q((uint32_t)(n + 1) / 2));
        const uint16x8_t idx = vorrq_u16(vandq_u16(v, vdupq_n_u16(15)), vshlq_n_u16(vshrq_n_u16(v, 4), 8));
        vst1q_s8(dst, vldrbq_gather_offset_z_s8(book, vreinterpretq_u8_u16(idx), vctp8q((uint32_t)n)));
    }
    return k + ((uint32_t)len + 1) / 2;
}

/* One row of sign bits (a SIGN record: bit i of byte i / 8 set: +m, else -m) into its chunks: each lane
 * gathers its byte, tests its bit; lanes at or past `len` are zero. */
static uint32_t mve_sign_row(const uint8_t *rec, uint32_t m, int32_t len, int32_t k16, int8_t *dst)
{
    const uint8x16_t offs = vld1q_u8(lane_byte), bits = vld1q_u8(lane_bit);
    const int8x16_t plus = vdupq_n_s8((int8_t)m), minus = vdupq_n_s8((int8_t)-(int32_t)m), zero = vdupq_n_s8(0);
    for (int32_t q = 0; q < k16; q += 16, dst += 64) {
        const mve_pred16_t live = vctp8q((uint32_t)(len - q));
        const uint8x16_t b = vldrbq_gather_offset_z_u8(rec + q / 8, offs, live);
        /* vcmpneq_u8 against a zero vector: vcmpneq_n_u8 (..., 0) is an internal compiler error in GCC 12.2 */
        const int8x16_t w = vpselq_s8(plus, minus, vcmpneq_u8(vandq_u8(b, bits), vdupq_n_u8(0)));
        vst1q_s8(dst, vpselq_s8(w, zero, live));
    }
    return ((uint32_t)len + 7) / 8;
}

/* One row of a SPARSE_LUT record with 4-bit indices (k codebook bytes, a bitmap of the non-zero weights, then
 * the non-zeros' indices, two per byte, low nibble first) into its chunks. Per 16 weights: each lane gathers
 * its bitmap byte and tests its bit; the count of set lanes before it (a byte-wise prefix within each word by
 * one multiply, across the 4 words by whole-vector shifts) locates its nibble in the index stream, then two
 * gathers read the nibble and the codebook; clear lanes and lanes past `len` are zero. */
static uint32_t mve_sparse4_row(const uint8_t *rec, uint32_t k, int32_t len, int32_t k16, int8_t *dst)
{
    const int8_t *book = (const int8_t *)rec;
    const uint8_t *bitmap = rec + k, *s = bitmap + ((uint32_t)len + 7) / 8;
    const uint8x16_t offs = vld1q_u8(lane_byte), bits = vld1q_u8(lane_bit), one = vdupq_n_u8(1);
    uint32_t nz = 0;
    for (int32_t q = 0; q < k16; q += 16, dst += 64) {
        const mve_pred16_t live = vctp8q((uint32_t)(len - q));
        const uint8x16_t b = vldrbq_gather_offset_z_u8(bitmap + q / 8, offs, live);
        const mve_pred16_t set = vcmpneq_u8(vandq_u8(b, bits), vdupq_n_u8(0));
        const uint32x4_t flag = vreinterpretq_u32_u8(vpselq_u8(one, vdupq_n_u8(0), set));
        const uint32x4_t incl = vmulq_n_u32(flag, 0x01010101u); /* byte j: set lanes 0..j of its word */
        uint32x4_t t = vshrq_n_u32(incl, 24), u;                 /* each word's count */
        uint32_t carry = 0;
        u = vshlcq_u32(t, &carry, 32);
        t = vaddq_u32(t, u); /* words: t0, t0+t1, t1+t2, t2+t3 */
        carry = 0;
        u = vshlcq_u32(t, &carry, 32);
        carry = 0;
        u = vshlcq_u32(u, &carry, 32);
        t = vaddq_u32(t, u); /* inclusive totals per word */
        const uint32_t count = vgetq_lane_u32(t, 3);
        carry = 0;
        const uint32x4_t before = vshlcq_u32(t, &carry, 32); /* set lanes of the earlier words */
        const uint8x16_t at = vaddq_u8(vreinterpretq_u8_u32(vaddq_u32(vsubq_u32(incl, flag),
                                                                        vmulq_n_u32(before, 0x01010101u))),
                                       vdupq_n_u8((uint8_t)(nz & 1u)));
        const int8x16_t shift = vnegq_s8(vreinterpretq_s8_u8(vshlq_n_u8(vandq_u8(at, one), 2)));
        const mve_pred16_t m = set & live;
        const uint8x16_t ib = vldrbq_gather_offset_z_u8(s + (nz >> 1), vshrq_n_u8(at, 1), m);
        const uint8x16_t idx = vandq_u8(vshlq_u8(ib, shift), vdupq_n_u8(15));
        vst1q_s8(dst, vldrbq_gather_offset_z_s8(book, idx, m));
        nz += count;
    }
    return k + ((uint32_t)len + 7) / 8 + (nz + 1) / 2;
}

static void mve_decode_filter(const tinyc_mve_conv_params_t *p, const uint8_t *blob, int8_t *decoded, int8_t *row)
{
    const int32_t k = p->col_len, k16 = p->col_len16, step = 4 * k16, oc4 = (p->out_c + 3) & ~3;
    tinyc_pk_rows_t r;
    tinyc_pk_rows_init(&r, p->out_c, (uint32_t)k, blob);
    const int lut4 = r.fast && r.mode == TINYC_PACK_LUT && r.bm == 4, sign = r.fast && r.mode == TINYC_PACK_SIGN;
    const int sparse4 = r.fast && r.mode == TINYC_PACK_SPARSE_LUT && r.bm == 4;
    mve_fill8(row + k, k16 - k, vdupq_n_s8(0));
    for (int32_t oc = 0; oc < oc4; ++oc) {
        int8_t *dst = decoded + (size_t)(oc >> 2) * step + (oc & 3) * 16;
        if (oc >= p->out_c) { /* the last group's missing rows */
            for (int32_t q = 0; q < k16; q += 16, dst += 64) vst1q_s8(dst, vdupq_n_s8(0));
        } else if (lut4) {
            r.rec += mve_lut4_row(r.rec, r.k, k, k16, dst);
        } else if (sign) {
            r.rec += mve_sign_row(r.rec, r.bm, k, k16, dst);
        } else if (sparse4) {
            r.rec += mve_sparse4_row(r.rec, r.k, k, k16, dst);
        } else { /* other index widths, a streamed blob: decoded in C, copied */
            tinyc_pk_next_row(&r, row);
            for (int32_t q = 0; q < k16; q += 16, dst += 64) vst1q_s8(dst, vld1q_s8(row + q));
        }
    }
}

void tinyc_arm_mve_matmul_packed_s8(const tinyc_mve_conv_params_t *p, const int8_t *input, const uint8_t *filter,
                                    const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output, int8_t *scratch,
                                    int8_t *decoded)
{
    mve_decode_filter(p, filter, decoded, decoded + (size_t)((p->out_c + 3) & ~3) * p->col_len16);
    tinyc_arm_mve_matmul_s8(p, input, decoded, bias, q, output, scratch);
}

void tinyc_arm_mve_decode_packed_s8(const tinyc_mve_conv_params_t *p, const uint8_t *filter, int8_t *decoded,
                                    int8_t *row)
{
    mve_decode_filter(p, filter, decoded,
                      row != NULL ? row : decoded + (size_t)((p->out_c + 3) & ~3) * p->col_len16);
}
