/* TRANSPOSE_CONV (int8, per-channel weights [out_c, k_h, k_w, in_c]). TFLite Micro scatters each input pixel
 * times the filter into an int32 image of the output; here each output pixel gathers the taps that reach it
 * (input row iy feeds output row iy * stride_h - pad_h + ky), the same exact int32 sums, then bias,
 * requantization and clamp as TFLite's reference. No scratch. */
#include "tinyc_ops.h"

void tinyc_ref_transpose_conv_s8(const tinyc_transpose_conv_params_t *p, const int8_t *input, const int8_t *weights,
                                 const int32_t *bias, const int32_t *multipliers, const int32_t *shifts,
                                 int8_t *output)
{
    const int32_t ic = p->in_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * ic;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t ty = oy + p->pad_h - ky;
                        if (ty < 0 || ty % p->stride_h || ty / p->stride_h >= p->in_h) continue;
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t tx = ox + p->pad_w - kx;
                            if (tx < 0 || tx % p->stride_w || tx / p->stride_w >= p->in_w) continue;
                            const int8_t *x = in_b + ((size_t)(ty / p->stride_h) * p->in_w + tx / p->stride_w) * ic;
                            const int8_t *w = weights + (((size_t)oc * p->k_h + ky) * p->k_w + kx) * ic;
                            for (int32_t c = 0; c < ic; ++c) acc += (x[c] + p->in_offset) * w[c];
                        }
                    }
                    if (bias) acc += bias[oc];
                    acc = tinyc_requant(acc, multipliers[oc], shifts[oc]) + p->out_offset;
                    *output++ = (int8_t)tinyc_clamp32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
