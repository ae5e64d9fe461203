/* The input window of one output position, as the portable convolution kernels walk it
 * (kernels/conv2d.c, conv2d_packed.c, depthwise_conv2d.c, depthwise_conv2d_packed.c): which taps
 * fall on the image and which in the padding, and the int8 dot product over the ones on it. */
#ifndef TINYC_CONV_WINDOW_H
#define TINYC_CONV_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "tinyc_quant.h"

/* The geometry the walk needs, the fields CONV_2D's and DEPTHWISE_CONV_2D's parameters share. */
typedef struct {
    int32_t in_h, in_w, in_c, k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w, in_offset;
} tinyc_conv_window_t;

/* A tinyc_conv_window_t initializer from a tinyc_conv_params_t or tinyc_dwconv_params_t pointer. */
#define TINYC_CONV_WINDOW(p)                                                                                 \
    {(p)->in_h, (p)->in_w, (p)->in_c, (p)->k_h, (p)->k_w, (p)->stride_h, (p)->stride_w, (p)->dil_h, (p)->dil_w, \
     (p)->pad_h, (p)->pad_w, (p)->in_offset}

/* The sum over output position (oy, ox)'s k_h x k_w window of (input + in_offset) * weight, `depth`
 * channels a tap, before bias and requantization. `image` is one batch of an in_h x in_w x in_c NHWC
 * input, advanced to the window's first channel; tap (ky, kx) reads pixel
 * (oy * stride_h - pad_h + ky * dil_h, ox * stride_w - pad_w + kx * dil_w) and its weights start at
 * filter + (ky * k_w + kx) * tap_stride. A tap off the image lies in the padding and adds nothing, as
 * in TFLite (whose padding value is the input's zero point). */
TINYC_INLINE int32_t tinyc_conv_window_s8(const tinyc_conv_window_t *g, const int8_t *image, int32_t oy, int32_t ox,
                                          const int8_t *filter, int32_t tap_stride, int32_t depth)
{
    const int32_t in_y0 = oy * g->stride_h - g->pad_h;
    const int32_t in_x0 = ox * g->stride_w - g->pad_w;
    int32_t acc = 0;
    for (int32_t ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = in_y0 + g->dil_h * ky;
        if (iy < 0 || iy >= g->in_h) continue;
        for (int32_t kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = in_x0 + g->dil_w * kx;
            if (ix < 0 || ix >= g->in_w) continue;
            const int8_t *in = image + ((size_t)iy * g->in_w + ix) * g->in_c;
            const int8_t *w = filter + ((size_t)ky * g->k_w + kx) * tap_stride;
            for (int32_t c = 0; c < depth; ++c) {
                acc += ((int32_t)in[c] + g->in_offset) * (int32_t)w[c];
            }
        }
    }
    return acc;
}

#endif
