/* tinyc runtime, Helium (M-profile Vector Extension, MVE) kernels for the Cortex-M55.
 *
 * The M55 also has the DSP extension, so this set is a chain: a call the generator hands to an MVE
 * kernel (tinyc/codegen/specialize_mve.py) uses it, the others keep their Arm DSP specialization
 * (tinyc_rt_arm_dsp.h) or the reference kernel. Like the DSP set, the generator re-packs the weights
 * for the kernel's access pattern, folds the input zero point into the bias, and proves per output
 * channel that the requantization below equals TFLite's MultiplyByQuantizedMultiplier on every
 * input the layer can see; a call it cannot prove keeps the DSP or reference kernel.
 *
 * Requantization, four channels per vector: VRMULH.S32 is (a*b + 2^31) >> 32 per lane, SMMULR's
 * arithmetic, so the DSP set's proof carries over lane by lane (|acc| < 2^30, rshift >= 1):
 * v = VRMULH(2*acc, mult); v = (v + (v >> 31) + add) >> rshift (VSHL by -rshift: arithmetic, no
 * rounding); clamp; VSTRB.32 stores the low byte of each lane. */
#ifndef TINYC_RT_ARM_MVE_H
#define TINYC_RT_ARM_MVE_H

#include <stdint.h>

#include "tinyc_quant.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CONV_2D (groups of 1) and FULLY_CONNECTED as a matrix multiply, 4 output channels x 2 pixels per
 * pass: VMLADAVA.S8 multiplies 16 int8 pairs and adds them to a scalar accumulator. Weights are
 * packed by the generator in groups of 4 rows (out_c padded to a multiple of 4 with zero rows), each
 * row padded to col_len16 bytes, interleaved by 16-byte chunk (chunk q of rows 4g..4g+3, then chunk
 * q+1...). Columns are read straight from the input (1x1 convolutions, FULLY_CONNECTED) or gathered
 * as int8 into `scratch` (2 * col_len16 bytes), the last chunk with tail-predicated loads. The input
 * offset is in the bias: padded taps hold the input zero point (pad_value), which contributes 0. */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t col_len, col_len16; /* k_h * k_w * in_c, and rounded up to a multiple of 16 */
    int32_t pad_value;          /* the input zero point */
    int32_t act_min, act_max;
    int32_t general, out_zp;    /* q holds tinyc_mve_qx4_t records, and the zero point added after them */
    int32_t gather_mode;        /* windows inside the input gathered by a table of 8-bit (1) or 16-bit (2)
                                   byte offsets built in `scratch` after the columns (0: row copies) */
} tinyc_mve_conv_params_t;

/* Requantization constants of 4 output channels: mult[4], add[4], -rshift[4] (see above). */
typedef struct {
    int32_t mult[4];
    int32_t add[4];
    int32_t neg_rshift[4];
} tinyc_mve_q4_t;

/* The general form (tinyc/codegen/requant.py, the DSP set's tinyc_dsp_requant_x) for 4 channels, used by a
 * layer whose `general` parameter is set: v = VRMULH(acc << lsh, mult) + bias;
 * v = ((v + (v >> 31) + add) >> rshift) + the layer's zero point. */
typedef struct {
    int32_t mult[4];
    int32_t lsh[4];
    int32_t bias[4];
    int32_t add[4];
    int32_t neg_rshift[4];
} tinyc_mve_qx4_t;

void tinyc_arm_mve_matmul_s8(const tinyc_mve_conv_params_t *p, const int8_t *input, const int8_t *packed_filter,
                             const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output, int8_t *scratch);

/* CONV_2D / FULLY_CONNECTED with packed weights (conv2d_packed_arm_mve.c): the blob decoded into `decoded`
 * (out_c rounded up to 4 rows of col_len16 bytes in the matmul's layout, then one row) once per call, then
 * tinyc_arm_mve_matmul_s8 on it. */
void tinyc_arm_mve_matmul_packed_s8(const tinyc_mve_conv_params_t *p, const int8_t *input, const uint8_t *filter,
                                    const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output, int8_t *scratch,
                                    int8_t *decoded);

/* The same filter decoded once, at start-up (tinyc_model_init(), --weights packed-ram): `decoded` (word
 * aligned, out_c rounded up to 4 rows of col_len16 bytes) then stays the filter TINYC_MVE_CONV_S8 reads on
 * every inference. `row` (col_len16 bytes) is where the C row decoder works; NULL: past the
 * layout. */
void tinyc_arm_mve_decode_packed_s8(const tinyc_mve_conv_params_t *p, const uint8_t *filter, int8_t *decoded,
                                    int8_t *row);

/* 1x1 stride-1 unpadded CONV_2D in place (batch 1): each pixel pair is copied to `scratch` before its
 * outputs are stored, first to last when out_c <= in_c, last to first otherwise (as the DSP kernel). */
void tinyc_arm_mve_pointwise_inplace_s8(const tinyc_mve_conv_params_t *p, int8_t *io, const int8_t *packed_filter,
                                        const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *scratch);

/* CONV_2D in place with the plan's row ring (batch 1, k_h <= 16): columns gathered through the ring
 * (inplace_rows.h). */
void tinyc_arm_mve_conv_rows_inplace_s8(const tinyc_mve_conv_params_t *p, int32_t ring_rows, int8_t *io,
                                        const int8_t *packed_filter, const int32_t *bias, const tinyc_mve_q4_t *q,
                                        int8_t *scratch, int8_t *ring);

/* DEPTHWISE_CONV_2D: 4 channels per vector (VLDRB.S32 widens input and weight bytes; the last C % 4
 * channels predicated), the input offset folded into the bias, a tap in the padding reading a row of
 * input zero points; weights in the model's [taps][C] order; `scratch` holds 5 bytes per channel (C
 * rounded up to 4; depthwise_conv2d_arm_mve.c). `channels` counts the output channels: with a depth
 * multiplier `mult` > 1 the input rows of an output row are expanded to `channels` bytes per pixel in the
 * scratch first (output channel c reads input channel c / mult). */
typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_offset, act_min, act_max;
    int32_t general, out_zp; /* q holds tinyc_mve_qx4_t records */
    int32_t mult;            /* depth multiplier; 0 or 1: none */
    int32_t band;            /* 3x3 a channel at a time over a ring of three padded lines in `scratch`
                                (depthwise_conv2d_arm_mve.c's dwb_conv; 0: four channels per vector) */
} tinyc_mve_dwconv_params_t;

void tinyc_arm_mve_depthwise_conv_s8(const tinyc_mve_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output, void *scratch);

/* A packed depthwise filter decoded once, at start-up (depthwise_conv2d_packed_arm_mve.c, --weights packed-ram),
 * into the [k_h * k_w][C] weights tinyc_arm_mve_depthwise_conv_s8 reads; `row` (k_h * k_w bytes) is where each
 * channel is decoded first, NULL: past the layout. */
void tinyc_arm_mve_decode_dw_packed_s8(const tinyc_mve_dwconv_params_t *p, const uint8_t *filter, int8_t *decoded,
                                       int8_t *row);

/* The same in place with the plan's row ring (batch 1; the "rows" scheme of tinyc/model/inplace.py). */
void tinyc_arm_mve_depthwise_rows_inplace_s8(const tinyc_mve_dwconv_params_t *p, int32_t ring_rows, int8_t *io,
                                             const int8_t *filter, const int32_t *bias, const tinyc_mve_q4_t *q,
                                             void *scratch, int8_t *ring);

/* The same in place with the plan's plane buffer (the "plane" scheme: batch 1, in_h * in_w bytes), 3x3,
 * dilation 1: a channel at a time over a ring of three padded lines in that buffer, the lines along the rows
 * or (along_h) the columns, stride 1 or 2 along them; weights [C][9], the model's bias, q: (mult, add,
 * rshift) per channel. */
typedef struct {
    int32_t in_h, in_w, channels, out_h, out_w, stride_h, stride_w, pad_h, pad_w, along_h;
    int32_t in_offset, act_min, act_max;
} tinyc_mve_dwplane_params_t;

void tinyc_arm_mve_depthwise_plane_inplace_s8(const tinyc_mve_dwplane_params_t *p, int8_t *io, const int8_t *filter,
                                              const int32_t *bias, const int32_t *q, int8_t *plane);

/* ADD of two int8 tensors (same shape, or broadcast: `bcast`), four elements per vector (add_arm_mve.c):
 * each input rescaled as TFLite does ((x + offset) << lshift, VQRDMULH, a rounding right shift >= 1), the sum requantized. */
typedef struct {
    int32_t size;
    int32_t in1_offset, in1_lshift, in1_mult, in1_half, in1_rshift; /* half = 2^(rshift-1) */
    int32_t in2_offset, in2_lshift, in2_mult, in2_half, in2_rshift;
    int32_t out_mult, out_add, out_rshift, act_min, act_max;
    int32_t general, out_lsh, out_bias, out_zp; /* the output in the general form */
    int32_t bcast;                              /* broadcast: the output walked over out_dims by strides */
    int32_t out_dims[6], in1_strides[6], in2_strides[6];
} tinyc_mve_add_params_t;

void tinyc_arm_mve_add_s8(const tinyc_mve_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output);

/* AVERAGE_POOL_2D: the reference kernel's parameters, four channels per vector (avg_pool_arm_mve.c). */
void tinyc_arm_mve_avg_pool_s8(const tinyc_pool_params_t *p, const int8_t *input, int8_t *output);

#define TINYC_MVE_AVG_POOL_S8 tinyc_arm_mve_avg_pool_s8
#define TINYC_MVE_ADD_S8 tinyc_arm_mve_add_s8
#define TINYC_MVE_ADD_INPLACE_S8 tinyc_arm_mve_add_s8 /* reads elements i..i+3 of both inputs before writing them */
#define TINYC_MVE_CONV_S8 tinyc_arm_mve_matmul_s8 /* conv2d_arm_mve.c */
#define TINYC_MVE_FC_S8 tinyc_arm_mve_matmul_s8   /* fully_connected_arm_mve.c */
#define TINYC_MVE_CONV_PACKED_S8 tinyc_arm_mve_matmul_packed_s8 /* conv2d_packed_arm_mve.c */
#define TINYC_MVE_DECODE_PACKED_S8 tinyc_arm_mve_decode_packed_s8 /* conv2d_packed_arm_mve.c */
#define TINYC_MVE_DECODE_DW_PACKED_S8 tinyc_arm_mve_decode_dw_packed_s8 /* depthwise_conv2d_packed_arm_mve.c */
#define TINYC_MVE_CONV_POINTWISE_INPLACE_S8 tinyc_arm_mve_pointwise_inplace_s8
#define TINYC_MVE_CONV_ROWS_INPLACE_S8 tinyc_arm_mve_conv_rows_inplace_s8
#define TINYC_MVE_DEPTHWISE_CONV_S8 tinyc_arm_mve_depthwise_conv_s8
#define TINYC_MVE_DEPTHWISE_ROWS_INPLACE_S8 tinyc_arm_mve_depthwise_rows_inplace_s8
#define TINYC_MVE_DEPTHWISE_PLANE_INPLACE_S8 tinyc_arm_mve_depthwise_plane_inplace_s8

#ifdef __cplusplus
}
#endif

#endif /* TINYC_RT_ARM_MVE_H */
