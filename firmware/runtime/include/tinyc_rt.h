/* tinyc runtime: int8 kernels following the TFLite int8 quantization specification.
 *
 * One file per operator in kernels/<op>.c holds the portable reference version, named
 * tinyc_ref_<op>. The generated model calls each kernel through a TINYC_<OP> macro: an optimized
 * variant for a core (kernels/arm_dsp/, kernels/arm_mve/) overrides the macro from its own header,
 * which the code generator includes when the board has that core. Every constant a kernel needs
 * (multipliers, shifts, offsets, activation bounds) is computed by the code generator and stored in
 * flash; kernels never allocate and use no libc beyond memcpy/memset.
 *
 * Tensors are NHWC, row-major, as in TFLite. Offsets follow TFLite's sign conventions:
 * `*_offset` fields hold the value added to a raw int8 (so -zero_point for inputs, +zero_point for
 * outputs). */
#ifndef TINYC_RT_H
#define TINYC_RT_H

#include <stddef.h>
#include <stdint.h>

#include "tinyc_quant.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TINYC_MAX_DIMS 6

typedef struct {
    int32_t batches, in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w, filter_in_c; /* filter_in_c < in_c for grouped convolution */
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_offset, out_offset, act_min, act_max;
} tinyc_conv_params_t;

typedef struct {
    int32_t batches, in_h, in_w, in_c;
    int32_t out_h, out_w, out_c, depth_multiplier;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t in_offset, out_offset, act_min, act_max;
} tinyc_dwconv_params_t;

typedef struct {
    int32_t batches, accum_depth, out_depth;
    int32_t in_offset, filter_offset, out_offset, act_min, act_max;
    int32_t per_channel; /* multiplier/shift arrays hold out_depth entries, else one */
} tinyc_fc_params_t;

typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t act_min, act_max;
} tinyc_pool_params_t;

/* Elementwise binary ops broadcast over up to 6 dims: out_dims, and each input's element strides
 * (0 along a broadcast dim). `flat` is non-zero when both inputs have the output's shape. */
typedef struct {
    int32_t flat, size;
    int32_t out_dims[TINYC_MAX_DIMS];
    int32_t in1_strides[TINYC_MAX_DIMS], in2_strides[TINYC_MAX_DIMS];
    int32_t left_shift;
    int32_t in1_offset, in1_multiplier, in1_shift;
    int32_t in2_offset, in2_multiplier, in2_shift;
    int32_t out_offset, out_multiplier, out_shift;
    int32_t act_min, act_max;
} tinyc_binary_params_t;

typedef struct {
    int32_t outer, depth;
    int32_t input_multiplier, input_left_shift, diff_min;
} tinyc_softmax_params_t;

typedef struct {
    int32_t size, in_zero_point, input_range_radius, input_multiplier, input_left_shift;
} tinyc_logistic_params_t;

typedef struct {
    int32_t dims[4];                 /* input, extended to 4 dims */
    int32_t before[4], after[4];     /* padding per dim */
    int32_t pad_value;
} tinyc_pad_params_t;

typedef struct {
    int32_t outer;       /* product of dims before the axis */
    int32_t out_stride;  /* output elements per outer step (axis * inner) */
    int32_t num_inputs;
} tinyc_concat_params_t;

typedef struct {
    int32_t in_dims[4];    /* input, extended to 4 dims */
    int32_t reduce[4];     /* 1 where the dim is reduced */
    int32_t num_reduced;   /* elements summed per output */
    int32_t in_zero_point, out_zero_point, multiplier, shift;
} tinyc_mean_params_t;

typedef struct {
    int32_t size, in_offset, out_offset, multiplier, shift, act_min, act_max;
} tinyc_requant_params_t;

typedef struct {
    int32_t size, zero_point;
    float scale;
} tinyc_quantize_params_t;

typedef struct {
    int32_t size, zero_point;
    double scale;
} tinyc_dequantize_params_t;

void tinyc_ref_conv2d_s8(const tinyc_conv_params_t *p, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, const int32_t *multiplier, const int32_t *shift, int8_t *output);
void tinyc_ref_depthwise_conv2d_s8(const tinyc_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                   const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                                   int8_t *output);
void tinyc_ref_fully_connected_s8(const tinyc_fc_params_t *p, const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                                  int8_t *output);
void tinyc_ref_avg_pool_s8(const tinyc_pool_params_t *p, const int8_t *input, int8_t *output);
void tinyc_ref_max_pool_s8(const tinyc_pool_params_t *p, const int8_t *input, int8_t *output);
void tinyc_ref_add_s8(const tinyc_binary_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output);
void tinyc_ref_mul_s8(const tinyc_binary_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output);
void tinyc_ref_softmax_s8(const tinyc_softmax_params_t *p, const int8_t *input, int8_t *output);
void tinyc_ref_logistic_s8(const tinyc_logistic_params_t *p, const int8_t *input, int8_t *output);
/* the same LOGISTIC as the generator's 256-entry table (p->size only) */
void tinyc_ref_logistic_lut_s8(const tinyc_logistic_params_t *p, const int8_t *input, const int8_t *table,
                               int8_t *output);
void tinyc_ref_copy(const void *input, void *output, uint32_t bytes);
void tinyc_ref_pad_s8(const tinyc_pad_params_t *p, const int8_t *input, int8_t *output);
void tinyc_ref_concat_s8(const tinyc_concat_params_t *p, const int8_t *const *inputs, const int32_t *in_strides,
                         int8_t *output);
void tinyc_ref_mean_s8(const tinyc_mean_params_t *p, const int8_t *input, int8_t *output);
void tinyc_ref_requant_s8(const tinyc_requant_params_t *p, const int8_t *input, int8_t *output);
void tinyc_ref_clamp_s8(int32_t size, int32_t lo, int32_t hi, const int8_t *input, int8_t *output);
void tinyc_ref_quantize_f32_s8(const tinyc_quantize_params_t *p, const float *input, int8_t *output);
void tinyc_ref_dequantize_s8_f32(const tinyc_dequantize_params_t *p, const int8_t *input, float *output);

/* Optimized variants override these before this point (see kernels/arm_dsp/tinyc_rt_arm_dsp.h). */
#if defined(TINYC_KERNELS_ARM_DSP)
#include "tinyc_rt_arm_dsp.h"
#endif
#if defined(TINYC_KERNELS_ARM_MVE)
#include "tinyc_rt_arm_mve.h"
#endif
#if defined(TINYC_KERNELS_ARM_SCALAR)
#include "tinyc_rt_arm_scalar.h"
#endif

#ifndef TINYC_CONV2D_S8
#define TINYC_CONV2D_S8 tinyc_ref_conv2d_s8
#endif
#ifndef TINYC_DEPTHWISE_CONV2D_S8
#define TINYC_DEPTHWISE_CONV2D_S8 tinyc_ref_depthwise_conv2d_s8
#endif
#ifndef TINYC_FULLY_CONNECTED_S8
#define TINYC_FULLY_CONNECTED_S8 tinyc_ref_fully_connected_s8
#endif
#ifndef TINYC_AVG_POOL_S8
#define TINYC_AVG_POOL_S8 tinyc_ref_avg_pool_s8
#endif
#ifndef TINYC_MAX_POOL_S8
#define TINYC_MAX_POOL_S8 tinyc_ref_max_pool_s8
#endif
#ifndef TINYC_ADD_S8
#define TINYC_ADD_S8 tinyc_ref_add_s8
#endif
#ifndef TINYC_MUL_S8
#define TINYC_MUL_S8 tinyc_ref_mul_s8
#endif
#ifndef TINYC_SOFTMAX_S8
#define TINYC_SOFTMAX_S8 tinyc_ref_softmax_s8
#endif
#ifndef TINYC_LOGISTIC_S8
#define TINYC_LOGISTIC_S8 tinyc_ref_logistic_s8
#endif
#ifndef TINYC_LOGISTIC_LUT_S8
#define TINYC_LOGISTIC_LUT_S8 tinyc_ref_logistic_lut_s8
#endif
#ifndef TINYC_COPY
#define TINYC_COPY tinyc_ref_copy
#endif
#ifndef TINYC_PAD_S8
#define TINYC_PAD_S8 tinyc_ref_pad_s8
#endif
#ifndef TINYC_CONCAT_S8
#define TINYC_CONCAT_S8 tinyc_ref_concat_s8
#endif
#ifndef TINYC_MEAN_S8
#define TINYC_MEAN_S8 tinyc_ref_mean_s8
#endif
#ifndef TINYC_REQUANT_S8
#define TINYC_REQUANT_S8 tinyc_ref_requant_s8
#endif
#ifndef TINYC_CLAMP_S8
#define TINYC_CLAMP_S8 tinyc_ref_clamp_s8
#endif
#ifndef TINYC_QUANTIZE_F32_S8
#define TINYC_QUANTIZE_F32_S8 tinyc_ref_quantize_f32_s8
#endif
#ifndef TINYC_DEQUANTIZE_S8_F32
#define TINYC_DEQUANTIZE_S8_F32 tinyc_ref_dequantize_s8_f32
#endif

/* In-place kernels (tinyc/model/inplace.py): the output overwrites the input `io`, with the scratch
 * the memory plan reserves for them. An optimized kernel set may define these macros only with a
 * kernel that is safe in place; the generator calls them only for layers the plan runs in place. */
void tinyc_ref_conv2d_inplace_s8(const tinyc_conv_params_t *p, int32_t ring_rows, int8_t *io, const int8_t *filter,
                                 const int32_t *bias, const int32_t *multiplier, const int32_t *shift, int8_t *ring);
void tinyc_ref_conv2d_pointwise_inplace_s8(const tinyc_conv_params_t *p, int8_t *io, const int8_t *filter,
                                           const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                                           int8_t *pixel);
void tinyc_ref_depthwise_conv2d_inplace_s8(const tinyc_dwconv_params_t *p, int32_t ring_rows, int8_t *io,
                                           const int8_t *filter, const int32_t *bias, const int32_t *multiplier,
                                           const int32_t *shift, int8_t *scratch);
#ifndef TINYC_CONV2D_INPLACE_S8
#define TINYC_CONV2D_INPLACE_S8 tinyc_ref_conv2d_inplace_s8
#endif
#ifndef TINYC_CONV2D_POINTWISE_INPLACE_S8
#define TINYC_CONV2D_POINTWISE_INPLACE_S8 tinyc_ref_conv2d_pointwise_inplace_s8
#endif
#ifndef TINYC_DEPTHWISE_CONV2D_INPLACE_S8
#define TINYC_DEPTHWISE_CONV2D_INPLACE_S8 tinyc_ref_depthwise_conv2d_inplace_s8
#endif
/* The elementwise reference kernels read element i before writing element i: they run in place as
 * they are (output == one operand of the output's shape). */
#ifndef TINYC_ADD_INPLACE_S8
#define TINYC_ADD_INPLACE_S8 tinyc_ref_add_s8
#endif
#ifndef TINYC_MUL_INPLACE_S8
#define TINYC_MUL_INPLACE_S8 tinyc_ref_mul_s8
#endif
#ifndef TINYC_REQUANT_INPLACE_S8
#define TINYC_REQUANT_INPLACE_S8 tinyc_ref_requant_s8
#endif
#ifndef TINYC_CLAMP_INPLACE_S8
#define TINYC_CLAMP_INPLACE_S8 tinyc_ref_clamp_s8
#endif

#ifdef __cplusplus
}
#endif

#endif /* TINYC_RT_H */
