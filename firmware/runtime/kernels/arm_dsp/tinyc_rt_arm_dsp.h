/* tinyc runtime, Arm DSP-extension kernels (Cortex-M4/M7/M33): SIMD MACs two at a time (SMLAD on
 * int16 pairs unpacked from int8 with SXTB16) and a two-instruction requantization.
 *
 * These kernels are specialized at generation time (tinyc/codegen/specialize.py): the generator
 * re-packs the weights for the kernel's access pattern, folds the input zero point into the bias,
 * and proves, per output channel, that the fast requantization below equals TFLite's
 * MultiplyByQuantizedMultiplier for every possible input; a call it cannot prove keeps the
 * reference kernel. Off-target (the host build) the intrinsics are portable C models of the
 * instructions, so the same kernel code runs under the sanitizers against TFLite Micro. */
#ifndef TINYC_RT_ARM_DSP_H
#define TINYC_RT_ARM_DSP_H

#include <stdint.h>
#include <string.h>

#include "tinyc_quant.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- the DSP instructions used, and their portable C models -------------------------------------- */

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define TINYC_DSP_NATIVE 1
TINYC_INLINE int32_t tinyc_sxtb16(uint32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}
TINYC_INLINE int32_t tinyc_sxtb16_ror8(uint32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
TINYC_INLINE int32_t tinyc_sxtab16(int32_t a, uint32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(x));
    return r;
}
TINYC_INLINE int32_t tinyc_sxtab16_ror8(int32_t a, uint32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}
TINYC_INLINE int32_t tinyc_smlad(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
TINYC_INLINE int32_t tinyc_smlabb(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
TINYC_INLINE int32_t tinyc_smlatt(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
/* (a * b + 2^31) >> 32: the rounded high word of the signed 64-bit product. */
TINYC_INLINE int32_t tinyc_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* acc + ((a * b + 2^31) >> 32), the 64-bit sum taken before the shift. */
TINYC_INLINE int32_t tinyc_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
#define TINYC_DSP_NATIVE 0
TINYC_INLINE int32_t tinyc_lo16(int32_t x) { return (int32_t)(int16_t)(uint16_t)((uint32_t)x & 0xFFFFu); }
TINYC_INLINE int32_t tinyc_hi16(int32_t x) { return (int32_t)(int16_t)(uint16_t)((uint32_t)x >> 16); }
TINYC_INLINE int32_t tinyc_pack16(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}
TINYC_INLINE int32_t tinyc_sxtb16(uint32_t x)
{
    return tinyc_pack16((int8_t)(uint8_t)(x & 0xFFu), (int8_t)(uint8_t)((x >> 16) & 0xFFu));
}
TINYC_INLINE int32_t tinyc_sxtb16_ror8(uint32_t x) { return tinyc_sxtb16((x >> 8) | (x << 24)); }
TINYC_INLINE int32_t tinyc_sxtab16(int32_t a, uint32_t x)
{
    const int32_t e = tinyc_sxtb16(x); /* each halfword wraps mod 2^16, as the instruction */
    return tinyc_pack16(tinyc_lo16(a) + tinyc_lo16(e), tinyc_hi16(a) + tinyc_hi16(e));
}
TINYC_INLINE int32_t tinyc_sxtab16_ror8(int32_t a, uint32_t x) { return tinyc_sxtab16(a, (x >> 8) | (x << 24)); }
TINYC_INLINE int32_t tinyc_smlad(int32_t a, int32_t b, int32_t acc)
{
    const uint32_t p = (uint32_t)(tinyc_lo16(a) * tinyc_lo16(b)) + (uint32_t)(tinyc_hi16(a) * tinyc_hi16(b));
    return (int32_t)(p + (uint32_t)acc); /* wraps mod 2^32 (the instruction only sets Q) */
}
TINYC_INLINE int32_t tinyc_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)(tinyc_lo16(a) * tinyc_lo16(b)) + (uint32_t)acc);
}
TINYC_INLINE int32_t tinyc_smlatt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)(tinyc_hi16(a) * tinyc_hi16(b)) + (uint32_t)acc);
}
TINYC_INLINE int32_t tinyc_smmulr(int32_t a, int32_t b)
{
    const int64_t p = (int64_t)a * (int64_t)b + ((int64_t)1 << 31);
    return (int32_t)(p >> 32); /* arithmetic shift (gcc), as the instruction */
}
TINYC_INLINE int32_t tinyc_smmlar(int32_t a, int32_t b, int32_t acc)
{
    const int64_t p = (int64_t)((uint64_t)(uint32_t)acc << 32) + (int64_t)a * (int64_t)b + ((int64_t)1 << 31);
    return (int32_t)(p >> 32);
}
#endif

/* The hand-scheduled loops need up to 14 free registers: only when optimizing, and without a frame
 * pointer in the kernels even when the project asks for one (-fno-omit-frame-pointer) elsewhere. */
#if TINYC_DSP_NATIVE && defined(__GNUC__) && defined(__OPTIMIZE__)
#define TINYC_DSP_ASM 1
#pragma GCC optimize("omit-frame-pointer")
#else
#define TINYC_DSP_ASM 0
#endif

/* Word loads and stores that may be unaligned (LDR/STR handle that on these cores). */
TINYC_INLINE uint32_t tinyc_ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
TINYC_INLINE void tinyc_st32(void *p, uint32_t v) { memcpy(p, &v, 4); }

/* Aligned words that may alias int8/int16 data (scratch written as int16, weights stored as int8). */
#if defined(__GNUC__)
typedef uint32_t __attribute__((may_alias)) tinyc_word_t;
#else
typedef uint32_t tinyc_word_t;
#endif

/* --- requantization ----------------------------------------------------------------------------- */

/* Requantization constants of one output channel (or of all, for per-tensor quantization). */
typedef struct {
    int32_t mult;  /* TFLite's Q0.31 multiplier */
    int32_t add;   /* 2^(rshift-1) + output zero point * 2^rshift */
    int32_t rshift; /* -shift, >= 1 */
} tinyc_dsp_q_t;

/* Branch-free clamp (the compiler's version branches and spills in the kernels' epilogues). */
TINYC_INLINE int32_t tinyc_dsp_clamp(int32_t v, int32_t lo, int32_t hi)
{
#if TINYC_DSP_NATIVE && defined(__GNUC__)
    __asm__("cmp %0, %1\n\tit lt\n\tmovlt %0, %1\n\tcmp %0, %2\n\tit gt\n\tmovgt %0, %2"
            : "+r"(v) : "r"(lo), "r"(hi) : "cc");
    return v;
#else
    return v < lo ? lo : (v > hi ? hi : v);
#endif
}

/* Saturate to int8: the whole clamp when the activation range is [-128, 127] (no activation, or a
 * ReLU whose output zero point is -128, as in every MLPerf Tiny model). */
TINYC_INLINE int32_t tinyc_dsp_ssat8(int32_t v)
{
#if TINYC_DSP_NATIVE && defined(__GNUC__)
    __asm__("ssat %0, #8, %1" : "=r"(v) : "r"(v));
    return v;
#else
    return v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
}

/* TFLite's MultiplyByQuantizedMultiplier(acc, mult, -rshift) + zero point, clamped, for |acc| < 2^30
 * and rshift >= 1 (the generator proves both for every channel it hands to these kernels):
 * SaturatingRoundingDoublingHighMul(acc, m) = floor((acc*m + 2^30) / 2^31) = SMMULR(2*acc, m), and
 * RoundingDivideByPOT(v, e) (ties away from zero) = floor((v + 2^(e-1) - [v < 0]) / 2^e). */
TINYC_INLINE int32_t tinyc_dsp_requant(int32_t acc, const tinyc_dsp_q_t *q, int32_t lo, int32_t hi)
{
    int32_t v = tinyc_smmulr((int32_t)((uint32_t)acc << 1), q->mult); /* wraps for a constant channel (mult 0) */
    v = (v + (v >> 31) + q->add) >> q->rshift;
    return tinyc_dsp_clamp(v, lo, hi);
}

/* The same for the activation range [-128, 127]. */
TINYC_INLINE int32_t tinyc_dsp_requant_full(int32_t acc, const tinyc_dsp_q_t *q)
{
    int32_t v = tinyc_smmulr((int32_t)((uint32_t)acc << 1), q->mult); /* wraps for a constant channel (mult 0) */
    v = (v + (v >> 31) + q->add) >> q->rshift;
    return tinyc_dsp_ssat8(v);
}

/* The general form, for a layer where some channel is not exact in the fast one (tinyc/codegen/requant.py:
 * a left shift or none, a right shift too large to fold the zero point into `add`, ...): per channel
 * v = SMMLAR(acc << lsh, mult, bias); out = ((v + (v >> 31) + add) >> rshift) + the layer's zero point.
 * A right shift r >= 1 has lsh = 1, bias = 0, add = 2^(r-1) (the fast form without the zero point); no
 * right shift has lsh = 1 + left shift, rshift = 0 and bias = -add = 256, which keeps v >= 0 wherever the
 * output is not clamped to its minimum. The generator proves every channel on every reachable
 * accumulator; a kernel's parameters say which form its table holds (`general`). */
typedef struct {
    int32_t mult, lsh, bias, add, rshift;
} tinyc_dsp_qx_t;

TINYC_INLINE int32_t tinyc_dsp_requant_x(int32_t acc, const tinyc_dsp_qx_t *q, int32_t zp, int32_t lo, int32_t hi)
{
    int32_t v = tinyc_smmlar((int32_t)((uint32_t)acc << q->lsh), q->mult, q->bias);
    v = ((v + (v >> 31) + q->add) >> q->rshift) + zp;
    return tinyc_dsp_clamp(v, lo, hi);
}

/* --- kernels --------------------------------------------------------------------------------------- */

/* CONV_2D (groups of 1) and FULLY_CONNECTED as a matrix multiply: columns of the (implicit) im2col
 * matrix are built two output pixels at a time in int16 in `scratch`, then multiplied by two output
 * channels at a time. Weights are pre-packed by the generator: rows padded to col_len4 (a multiple of
 * 4) and paired, chunk by chunk (4 bytes of row oc, 4 bytes of row oc+1). */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t col_len, col_len4;  /* k_h * k_w * in_c, and rounded up to a multiple of 4 */
    int32_t natural;            /* in_c % 4 != 0: columns are gathered as int8 before widening */
    int32_t pad_value;          /* the input zero point: (zp + in_offset) * w = 0 for a padded tap */
    int32_t act_min, act_max;
    int32_t general, out_zp;    /* q holds tinyc_dsp_qx_t records, and the zero point added after them */
    int32_t fused;              /* weight rows in fused pairs (tinyc_dsp_matmul.h, mac_2x2m), bias (b0, b0 + 256 b1) */
    int32_t vec, seg;           /* tinyc_arm_dsp_fc_s8: input read as it is (1) or widened into scratch (2);
                                 * chunks per segment of row-1 sums (0: one) */
} tinyc_dsp_conv_params_t;

void tinyc_arm_dsp_matmul_s8(const tinyc_dsp_conv_params_t *p, const int8_t *input, const int8_t *packed_filter,
                             const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *output, int16_t *scratch);

/* CONV_2D / FULLY_CONNECTED with packed weights (conv2d_packed_arm_dsp.c): the blob decoded into `decoded`
 * (word aligned: out_c * col_len4 bytes in the matmul's layout, then two rows) once per call, then
 * tinyc_arm_dsp_matmul_s8 on it. */
void tinyc_arm_dsp_matmul_packed_s8(const tinyc_dsp_conv_params_t *p, const int8_t *input, const uint8_t *filter,
                                    const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *output, int16_t *scratch,
                                    int8_t *decoded);

/* The same filter decoded once, at start-up (tinyc_model_init(), --weights packed-ram): `decoded` (word
 * aligned, out_c * col_len4 bytes) then stays the filter TINYC_DSP_CONV_S8 reads on every inference, or with
 * the parameters of a one-batch FULLY_CONNECTED (vec), TINYC_DSP_FC_S8. `rows` (word aligned, two rows of
 * col_len4 bytes) is where the row decoders work; NULL: past the layout. */
void tinyc_arm_dsp_decode_packed_s8(const tinyc_dsp_conv_params_t *p, const uint8_t *filter, int8_t *decoded,
                                    int8_t *rows);

/* FULLY_CONNECTED with one batch (fully_connected_arm_dsp.c): fused 4-row blocks; more batches run the
 * matmul (TINYC_DSP_CONV_S8) as a 1x1 convolution over them. */
void tinyc_arm_dsp_fc_s8(const tinyc_dsp_conv_params_t *p, const int8_t *input, const int8_t *packed_filter,
                         const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *output, int16_t *scratch);

/* 1x1 stride-1 unpadded CONV_2D in place (batch 1): the matmul over pixel pairs, in the order that never
 * overwrites an input pixel before it is read (tinyc_dsp_matmul.h). */
void tinyc_arm_dsp_pointwise_inplace_s8(const tinyc_dsp_conv_params_t *p, int8_t *io, const int8_t *packed_filter,
                                        const int32_t *bias, const tinyc_dsp_q_t *q, int16_t *scratch);

/* CONV_2D in place with the plan's row ring (batch 1, groups of 1): the matmul, columns read through
 * the ring (tinyc_dsp_matmul.h). */
void tinyc_arm_dsp_conv_rows_inplace_s8(const tinyc_dsp_conv_params_t *p, int32_t ring_rows, int8_t *io,
                                        const int8_t *packed_filter, const int32_t *bias, const tinyc_dsp_q_t *q,
                                        int16_t *scratch, int8_t *ring);

/* DEPTHWISE_CONV_2D: four channels per word, the input offset added while unpacking (SXTAB16); weights
 * packed [C/4][k_h*k_w][4] by the generator, the last C % 4 channels after them [C % 4][k_h*k_w] (run one
 * at a time); scratch holds k_h*k_w tap pointers and a row of C zero-point bytes. `channels` counts the
 * output channels: with a depth multiplier `mult` > 1, output channel c reads input channel c / mult, and
 * the k_h input rows of each output row are expanded to `channels` bytes per pixel in the scratch. */
typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_offset, act_min, act_max;
    int32_t general, out_zp; /* q holds tinyc_dsp_qx_t records (see tinyc_dsp_requant_x) */
    int32_t mult;            /* depth multiplier; 0 or 1: none */
} tinyc_dsp_dwconv_params_t;

/* The depthwise common loop's case: depth multiplier 1, channels % 4 == 0 and the fast form. Its weights are
 * widened and doubled (pack_depthwise_wide), any other case's are bytes (pack_depthwise_weights). */
static inline int tinyc_dsp_dw_common(const tinyc_dsp_dwconv_params_t *p)
{
    return !p->general && p->mult <= 1 && (p->channels & 3) == 0;
}

void tinyc_arm_dsp_depthwise_conv_s8(const tinyc_dsp_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *output, void *scratch);

/* A packed depthwise filter decoded once, at start-up (depthwise_conv2d_packed_arm_dsp.c, --weights packed-ram),
 * into the layout tinyc_arm_dsp_depthwise_conv_s8 reads with the same parameters (`decoded`, word aligned);
 * `row` (k_h * k_w bytes) is where each channel is decoded first, NULL: past the layout. */
void tinyc_arm_dsp_decode_dw_packed_s8(const tinyc_dsp_dwconv_params_t *p, const uint8_t *filter, int8_t *decoded,
                                       int8_t *row);

/* DEPTHWISE_CONV_2D in place (batch 1, depthwise_conv2d_arm_dsp.c). Rows scheme: the normal kernel's
 * weights, bias and `scratch` (which also holds k_h row pointers), the plan's row ring in `ring`.
 * Plane scheme: weights [C][k_h*k_w], the input offset folded into the bias, the plan's plane buffer. */
void tinyc_arm_dsp_depthwise_rows_inplace_s8(const tinyc_dsp_dwconv_params_t *p, int32_t ring_rows, int8_t *io,
                                             const int8_t *filter, const int32_t *bias, const tinyc_dsp_q_t *q,
                                             void *scratch, int8_t *ring);
void tinyc_arm_dsp_depthwise_plane_inplace_s8(const tinyc_dsp_dwconv_params_t *p, int8_t *io, const int8_t *filter,
                                              const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *plane);

/* ADD of two int8 tensors: table_i[x + 128] is twice input i's value x rescaled to the common scale
 * (TFLite's (x + offset) << 20 then MultiplyByQuantizedMultiplier); the output is
 * tinyc_dsp_requant((table1[a] + table2[b]) / 2) (or the general form, `general`). Same-shape inputs, or
 * with `bcast` the output walked in row-major order over out_dims, each input by its element strides (0
 * along a broadcast dimension). */
typedef struct {
    int32_t size;
    int32_t out_mult, out_add, out_rshift, act_min, act_max;
    int32_t general, out_lsh, out_bias, out_zp;
    int32_t bcast;
    int32_t out_dims[6], in1_strides[6], in2_strides[6];
} tinyc_dsp_add_params_t;

void tinyc_arm_dsp_add_s8(const tinyc_dsp_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output,
                          const int32_t *table1, const int32_t *table2);

/* AVERAGE_POOL_2D: the reference kernel's parameters, windows summed four channels at a time in int16
 * lanes (windows of at most 256 values, as the generator checks), the last channels one at a time. */
void tinyc_arm_dsp_avg_pool_s8(const tinyc_pool_params_t *p, const int8_t *input, int8_t *output);
#define TINYC_DSP_AVG_POOL_S8 tinyc_arm_dsp_avg_pool_s8

#define TINYC_DSP_ADD_S8 tinyc_arm_dsp_add_s8
#define TINYC_DSP_CONV_S8 tinyc_arm_dsp_matmul_s8 /* conv2d_arm_dsp.c */
#define TINYC_DSP_FC_S8 tinyc_arm_dsp_fc_s8       /* fully_connected_arm_dsp.c */
#define TINYC_DSP_CONV_PACKED_S8 tinyc_arm_dsp_matmul_packed_s8 /* conv2d_packed_arm_dsp.c */
#define TINYC_DSP_DECODE_PACKED_S8 tinyc_arm_dsp_decode_packed_s8 /* conv2d_packed_arm_dsp.c */
#define TINYC_DSP_DECODE_DW_PACKED_S8 tinyc_arm_dsp_decode_dw_packed_s8 /* depthwise_conv2d_packed_arm_dsp.c */
#define TINYC_DSP_DEPTHWISE_CONV_S8 tinyc_arm_dsp_depthwise_conv_s8
#define TINYC_DSP_DEPTHWISE_ROWS_INPLACE_S8 tinyc_arm_dsp_depthwise_rows_inplace_s8
#define TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8 tinyc_arm_dsp_depthwise_plane_inplace_s8
#define TINYC_DSP_CONV_ROWS_INPLACE_S8 tinyc_arm_dsp_conv_rows_inplace_s8 /* conv2d_arm_dsp.c */
#define TINYC_DSP_ADD_INPLACE_S8 tinyc_arm_dsp_add_s8 /* reads element i of both inputs before writing it */
#define TINYC_DSP_CONV_POINTWISE_INPLACE_S8 tinyc_arm_dsp_pointwise_inplace_s8 /* conv2d_arm_dsp.c */

#ifdef __cplusplus
}
#endif

#endif /* TINYC_RT_ARM_DSP_H */
