/* Packed weights (docs/compressed-weights.md): a streaming decoder and the kernels that use it.
 *
 * A packed weight tensor stays in flash in tinyc's packed format (RAW / LUT / SPARSE_LUT / SIGN per
 * channel, the layout tinyc/model/packing.py writes). The kernels below decode one output
 * channel's weights at a time into a caller-provided scratch buffer (RAM: at most one channel, never
 * the whole tensor) and compute every output position of that channel before decoding the next. The
 * arithmetic is the reference kernels', so outputs are bit-identical to the dense versions. */
#ifndef TINYC_UNPACK_H
#define TINYC_UNPACK_H

#include <stdint.h>

#include "tinyc_rt.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { TINYC_PACK_RAW = 0, TINYC_PACK_LUT = 1, TINYC_PACK_SPARSE_LUT = 2, TINYC_PACK_SIGN = 3 };

#define TINYC_PACK_HEADER_BYTES 12u

/* Decoder state: the elements of a blob in stream order (channel after channel, each in its own
 * element order), read in pieces of any size. */
typedef struct {
    const uint8_t *rec;    /* current channel record */
    const uint8_t *book;   /* its codebook (LUT, SPARSE_LUT) */
    const uint8_t *bitmap; /* its non-zero bitmap (SPARSE_LUT) */
    const uint8_t *bits;   /* its element stream: raw bytes, indices or signs */
    uint32_t channels, length;
    uint32_t channel, pos, nz; /* current channel, element within it, non-zeros read (SPARSE_LUT) */
    uint16_t k;
    uint8_t mode, bm;          /* mode; index bits (LUT, SPARSE_LUT) or magnitude (SIGN) */
} tinyc_unpacker_t;

/* Read the 12-byte header of `blob` and position the decoder on its first element. */
void tinyc_unpack_init(tinyc_unpacker_t *u, const uint8_t *blob);
/* Decode the next `n` elements (crossing channel records as needed) into `out`. */
void tinyc_unpack_next(tinyc_unpacker_t *u, int8_t *out, uint32_t n);

/* Same parameters as the dense kernels; `filter` is a packed blob, `scratch` holds one channel:
 * k_h*k_w*filter_in_c (CONV_2D), k_h*k_w (DEPTHWISE_CONV_2D, blob channels along the output
 * channel axis), accum_depth (FULLY_CONNECTED) bytes. */
void tinyc_ref_conv2d_packed_s8(const tinyc_conv_params_t *p, const int8_t *input, const uint8_t *filter,
                                const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                                int8_t *output, int8_t *scratch);
void tinyc_ref_depthwise_conv2d_packed_s8(const tinyc_dwconv_params_t *p, const int8_t *input,
                                          const uint8_t *filter, const int32_t *bias, const int32_t *multiplier,
                                          const int32_t *shift, int8_t *output, int8_t *scratch);
void tinyc_ref_fully_connected_packed_s8(const tinyc_fc_params_t *p, const int8_t *input, const uint8_t *filter,
                                         const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                                         int8_t *output, int8_t *scratch);

#ifndef TINYC_CONV2D_PACKED_S8
#define TINYC_CONV2D_PACKED_S8 tinyc_ref_conv2d_packed_s8
#endif
#ifndef TINYC_DEPTHWISE_CONV2D_PACKED_S8
#define TINYC_DEPTHWISE_CONV2D_PACKED_S8 tinyc_ref_depthwise_conv2d_packed_s8
#endif
#ifndef TINYC_FULLY_CONNECTED_PACKED_S8
#define TINYC_FULLY_CONNECTED_PACKED_S8 tinyc_ref_fully_connected_packed_s8
#endif

#ifdef __cplusplus
}
#endif

#endif /* TINYC_UNPACK_H */
