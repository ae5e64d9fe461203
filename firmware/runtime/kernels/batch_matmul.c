/* BATCH_MATMUL (int8, per tensor): out[b][i][j] = requant(sum_k (a[b][i][k] + a_offset) * (b[b][k][j] + b_offset)),
 * as TFLite Micro's reference (which multiplies rhs^T by lhs^T; the int32 sums are the same). The operands are
 * read through strides: a transposed operand (adj_x / adj_y) needs no copy, a broadcast batch has stride 0. */
#include "tinyc_ops.h"

void tinyc_ref_batch_matmul_s8(const tinyc_batch_matmul_params_t *p, const int8_t *input, const int8_t *input2,
                               int8_t *output)
{
    for (int32_t b0 = 0; b0 < p->batch_dims[0]; ++b0) {
        for (int32_t b1 = 0; b1 < p->batch_dims[1]; ++b1) {
            for (int32_t b2 = 0; b2 < p->batch_dims[2]; ++b2) {
                const int8_t *a = input + (size_t)b0 * p->a_batch_strides[0] + (size_t)b1 * p->a_batch_strides[1]
                                  + (size_t)b2 * p->a_batch_strides[2];
                const int8_t *bm = input2 + (size_t)b0 * p->b_batch_strides[0] + (size_t)b1 * p->b_batch_strides[1]
                                   + (size_t)b2 * p->b_batch_strides[2];
                for (int32_t i = 0; i < p->rows; ++i) {
                    const int8_t *ar = a + (size_t)i * p->a_row_stride;
                    for (int32_t j = 0; j < p->cols; ++j) {
                        const int8_t *bc = bm + (size_t)j * p->b_col_stride;
                        int32_t acc = 0;
                        for (int32_t k = 0; k < p->depth; ++k) {
                            acc += (ar[(size_t)k * p->a_k_stride] + p->a_offset)
                                   * (bc[(size_t)k * p->b_k_stride] + p->b_offset);
                        }
                        acc = tinyc_requant(acc, p->multiplier, p->shift) + p->out_offset;
                        *output++ = (int8_t)tinyc_clamp32(acc, -128, 127);
                    }
                }
            }
        }
    }
}
