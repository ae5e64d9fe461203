/* tinyc runtime, scalar Arm kernels for the cores without the DSP extension: ARMv6-M (Cortex-M0, M0+, M1)
 * and ARMv7-M (Cortex-M3).
 *
 * Specialized at generation time (tinyc/codegen/specialize_arm_scalar.py): the input zero point is folded
 * into the bias (bias' = bias + in_offset * sum(w)), so the kernels multiply raw int8 inputs; the
 * requantization is the DSP set's fast form (or its general form), proven exact per output channel on every
 * reachable accumulator by tinyc/codegen/requant.py, computed here without SMMULR (SMULL on ARMv7-M, four
 * 16-bit MULS on ARMv6-M, which has no long multiply). A call the generator cannot prove keeps the reference
 * kernel.
 *
 * The convolution is a matrix multiply over im2col columns of a block of output pixels, K in chunks of at
 * most col_chunk values (tinyc_scalar_matmul.h): on ARMv7-M six pixels packed in pairs per word feed three
 * SMLALs per weight (two multiply-accumulates each), on ARMv6-M four int32 columns feed four MULS + ADD per
 * weight; the weights keep the model's [out_c][K] layout (unsigned bytes w + 128). Off-target
 * (the host build) the same kernels run as portable C. */
#ifndef TINYC_RT_ARM_SCALAR_H
#define TINYC_RT_ARM_SCALAR_H

#include <stdint.h>
#include <string.h>

#include "tinyc_quant.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(__OPTIMIZE__) && defined(__thumb__) && \
    (defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__))
#define TINYC_SCALAR_V7M 1
#else
#define TINYC_SCALAR_V7M 0
#endif
#if defined(__GNUC__) && defined(__OPTIMIZE__) && defined(__thumb__) && defined(__ARM_ARCH_6M__)
#define TINYC_SCALAR_V6M 1
#else
#define TINYC_SCALAR_V6M 0
#endif

/* (a * m + 2^31) >> 32 (SMMULR) for 0 <= m < 2^31. ARMv6-M has no long multiply: the product is built from
 * four 16 x 16 bit products, each of which fits in 32 bits (al, ml unsigned; ah signed; mh < 2^15):
 * a*m + 2^31 = hh 2^32 + (hl + lh + 2^15) 2^16 + ll, and the low 16 bits of ll never carry. */
TINYC_INLINE int32_t tinyc_scalar_smmulr(int32_t a, int32_t m)
{
#if TINYC_SCALAR_V6M
    const uint32_t al = (uint32_t)a & 0xFFFFu, ml = (uint32_t)m & 0xFFFFu, mh = (uint32_t)m >> 16;
    const int32_t ah = a >> 16;
    const uint32_t ll = al * ml, lh = al * mh;
    const int32_t hl = ah * (int32_t)ml, hh = ah * (int32_t)mh;
    const uint32_t mid = ((uint32_t)hl & 0xFFFFu) + lh + (ll >> 16) + 0x8000u;
    return hh + (hl >> 16) + (int32_t)(mid >> 16);
#else
    return (int32_t)(((int64_t)a * (int64_t)m + ((int64_t)1 << 31)) >> 32);
#endif
}

/* Per output channel requantization, the DSP set's fast form (tinyc/codegen/requant.py):
 * v = SMMULR(2 acc, mult); out = (v + (v >> 31) + add) >> rshift (the zero point folded into add). */
typedef struct {
    int32_t mult, add, rshift;
} tinyc_scalar_q_t;

/* The general form: v = bias + SMMULR(acc << lsh, mult); out = ((v + (v >> 31) + add) >> rshift) + zp. */
typedef struct {
    int32_t mult, lsh, bias, add, rshift;
} tinyc_scalar_qx_t;

TINYC_INLINE int32_t tinyc_scalar_requant(int32_t acc, const tinyc_scalar_q_t *q)
{
    int32_t v = tinyc_scalar_smmulr((int32_t)((uint32_t)acc << 1), q->mult);
    return (v + (v >> 31) + q->add) >> q->rshift;
}

TINYC_INLINE int32_t tinyc_scalar_requant_x(int32_t acc, const tinyc_scalar_qx_t *q, int32_t zp)
{
    int32_t v = (int32_t)((uint32_t)q->bias + (uint32_t)tinyc_scalar_smmulr((int32_t)((uint32_t)acc << q->lsh),
                                                                              q->mult));
    return ((v + (v >> 31) + q->add) >> q->rshift) + zp;
}

/* CONV_2D (groups of 1) and FULLY_CONNECTED with several batches as a matrix multiply. `col_len` = k_h *
 * k_w * in_c; `pad_value` is the input zero point (a padded tap then adds nothing once the offset is in the
 * bias); `pointwise`: 1x1, stride 1, no padding (columns are the input pixels). The bias holds the folded
 * offset; `q` holds tinyc_scalar_q_t records, or tinyc_scalar_qx_t with `general` (zero point out_zp). */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t col_len, pad_value, act_min, act_max;
    int32_t general, out_zp, pointwise;
    int32_t col_chunk; /* the values of K per pass (a multiple of 4, at most TINYC_SCALAR_KC) */
} tinyc_scalar_conv_params_t;

#define TINYC_SCALAR_KC 128 /* ARMv7-M's paired fields hold 128 products of 255 * 128 */

/* Scratch: 16 * col_chunk bytes of columns, 24 * out_c bytes of accumulators, then 6 * k_h row pointers. */
void tinyc_arm_scalar_conv_s8(const tinyc_scalar_conv_params_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, const void *q, int8_t *output, int32_t *scratch);

/* 1x1 stride-1 unpadded CONV_2D in place (batch 1): pixels in groups of four, gathered into the scratch
 * before their outputs are stored, first to last when out_c <= in_c, else last to first. */
void tinyc_arm_scalar_pointwise_inplace_s8(const tinyc_scalar_conv_params_t *p, int8_t *io, const int8_t *filter,
                                           const int32_t *bias, const void *q, int32_t *scratch);

/* CONV_2D in place with the plan's row ring (batch 1): columns gathered through the ring, groups of pixels
 * within one output row. */
void tinyc_arm_scalar_conv_rows_inplace_s8(const tinyc_scalar_conv_params_t *p, int32_t ring_rows, int8_t *io,
                                           const int8_t *filter, const int32_t *bias, const void *q,
                                           int32_t *scratch, int8_t *ring);

/* FULLY_CONNECTED, one batch: rows in blocks of four interleaved by column ([block][k4][4 rows], the last
 * out_c % 4 rows plain after them); with `pointwise` the input is widened once into `scratch` (4 * k4 bytes,
 * then out_c accumulators), else (a long input) read as it is (scratch: the accumulators). */
void tinyc_arm_scalar_fc_s8(const tinyc_scalar_conv_params_t *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias, const void *q, int8_t *output, int32_t *scratch);

/* DEPTHWISE_CONV_2D: channels in groups of four, weights widened to int32 by the generator
 * ([C/4][k_h * k_w][4], the last C % 4 channels [C % 4][k_h * k_w] after them), the input offset folded
 * into the bias, a padded tap skipped. `mult`: depth multiplier (0 or 1: none): output channel c reads input
 * channel c / mult. Scratch: k_h * k_w tap pointers. */
typedef struct {
    int32_t batches, in_h, in_w, in_c, channels, out_h, out_w;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_zp, act_min, act_max; /* in_zp: the input zero point (-in_offset), a padded tap's value */
    int32_t general, out_zp, mult;
} tinyc_scalar_dwconv_params_t;

void tinyc_arm_scalar_depthwise_conv_s8(const tinyc_scalar_dwconv_params_t *p, const int8_t *input,
                                        const int32_t *filter, const int32_t *bias, const void *q, int8_t *output,
                                        void *scratch);

/* DEPTHWISE_CONV_2D in place (batch 1). Rows scheme: the normal kernel's loop with tap pointers into the
 * plan's row ring. Plane scheme: four channels at a time copied into the scratch as one image with a border
 * of input zero points (depthwise_conv2d_arm_scalar.c), weights as the normal kernel's. */
void tinyc_arm_scalar_depthwise_rows_inplace_s8(const tinyc_scalar_dwconv_params_t *p, int32_t ring_rows, int8_t *io,
                                                const int32_t *filter, const int32_t *bias, const void *q,
                                                void *scratch, int8_t *ring);
void tinyc_arm_scalar_depthwise_plane_inplace_s8(const tinyc_scalar_dwconv_params_t *p, int8_t *io,
                                                 const int32_t *filter, const int32_t *bias, const void *q,
                                                 void *scratch, int8_t *plane);

#define TINYC_SCALAR_CONV_S8 tinyc_arm_scalar_conv_s8 /* conv2d_arm_scalar.c */
#define TINYC_SCALAR_CONV_POINTWISE_INPLACE_S8 tinyc_arm_scalar_pointwise_inplace_s8
#define TINYC_SCALAR_CONV_ROWS_INPLACE_S8 tinyc_arm_scalar_conv_rows_inplace_s8
#define TINYC_SCALAR_FC_S8 tinyc_arm_scalar_fc_s8 /* fully_connected_arm_scalar.c */
#define TINYC_SCALAR_DEPTHWISE_CONV_S8 tinyc_arm_scalar_depthwise_conv_s8
#define TINYC_SCALAR_DEPTHWISE_ROWS_INPLACE_S8 tinyc_arm_scalar_depthwise_rows_inplace_s8
#define TINYC_SCALAR_DEPTHWISE_PLANE_INPLACE_S8 tinyc_arm_scalar_depthwise_plane_inplace_s8

#ifdef __cplusplus
}
#endif

#endif /* TINYC_RT_ARM_SCALAR_H */
