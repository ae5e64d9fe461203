/* CONV_2D / FULLY_CONNECTED with packed weights (docs/compressed-weights.md), int8, Helium (MVE).
 *
 * The filter is decoded once per call, row (output channel) by row, straight into where the matrix multiply
 * reads it (tinyc/codegen/specialize_mve.py, pack_mve_weights: groups of 4 rows, chunk q of each row in turn,
 * rows past out_c zero): 4-bit codebook indices and sign bits 16 weights per vector gather, other records by
 * the C decoders of tinyc_packed_rows.h into a temporary of col_len16 bytes past the layout, then copied. Then the dense kernel runs on the
 * decoded filter, so every weight is decoded once per inference and reused for every output pixel. Bias and
 * requantization are the generator's, proven on the weights the blob decodes to. Bit-identical to
 * tinyc_ref_conv2d_packed_s8 / tinyc_ref_fully_connected_packed_s8. */
#include "tinyc_mve_matmul.h"
#include "tinyc_packed_rows.h"

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
    static const uint8_t lane_byte[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t lane_bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t offs = vld1q_u8(lane_byte), bits = vld1q_u8(lane_bit);
    const int8x16_t plus = vdupq_n_s8((int8_t)m), minus = vdupq_n_s8((int8_t)-(int32_t)m), zero = vdupq_n_s8(0);
    for (int32_t q = 0; q < k16; q += 16, dst += 64) {
        const mve_pred16_t live = vctp8q((uint32_t)(len - q));
        const uint8x16_t b = vldrbq_gather_offset_z_u8(rec + q / 8, offs, live);
        const int8x16_t w = vpselq_s8(plus, minus, vcmpneq_u8(vandq_u8(b, bits), vdupq_n_u8(0)) /* not vcmpneq_n_u8 (..., 0): GCC 12.2 ICE */);
        vst1q_s8(dst, vpselq_s8(w, zero, live));
    }
    return ((uint32_t)len + 7) / 8;
}

static void mve_decode_filter(const tinyc_mve_conv_params_t *p, const uint8_t *blob, int8_t *decoded)
{
    const int32_t k = p->col_len, k16 = p->col_len16, step = 4 * k16, oc4 = (p->out_c + 3) & ~3;
    int8_t *row = decoded + (size_t)oc4 * k16;
    tinyc_pk_rows_t r;
    tinyc_pk_rows_init(&r, p->out_c, (uint32_t)k, blob);
    const int lut4 = r.fast && r.mode == TINYC_PACK_LUT && r.bm == 4, sign = r.fast && r.mode == TINYC_PACK_SIGN;
    mve_fill8(row + k, k16 - k, vdupq_n_s8(0));
    for (int32_t oc = 0; oc < oc4; ++oc) {
        int8_t *dst = decoded + (size_t)(oc >> 2) * step + (oc & 3) * 16;
        if (oc >= p->out_c) { /* the last group's missing rows */
            for (int32_t q = 0; q < k16; q += 16, dst += 64) vst1q_s8(dst, vdupq_n_s8(0));
        } else if (lut4) {
            r.rec += mve_lut4_row(r.rec, r.k, k, k16, dst);
        } else if (sign) {
            r.rec += mve_sign_row(r.rec, r.bm, k, k16, dst);
        } else { /* other records (SPARSE_LUT, other index widths, a streamed blob): decoded in C, copied */
            tinyc_pk_next_row(&r, row);
            for (int32_t q = 0; q < k16; q += 16, dst += 64) vst1q_s8(dst, vld1q_s8(row + q));
        }
    }
}

void tinyc_arm_mve_matmul_packed_s8(const tinyc_mve_conv_params_t *p, const int8_t *input, const uint8_t *filter,
                                    const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output, int8_t *scratch,
                                    int8_t *decoded)
{
    mve_decode_filter(p, filter, decoded);
    tinyc_arm_mve_matmul_s8(p, input, decoded, bias, q, output, scratch);
}
