/* SPACE_TO_BATCH_ND, int8 (NHWC; a rank-3 NHC tensor arrives as NH1C): output batch ob takes the pixels at
 * offset (ob / in_b) of every block_h x block_w block of batch ob % in_b's grid, padded by pad_top/pad_left;
 * pixels in the padding are pad_value. */
#include <string.h>

#include "tinyc_ops.h"

void tinyc_ref_space_to_batch_s8(const tinyc_space_to_batch_params_t *p, const int8_t *input, int8_t *output)
{
    const size_t depth = (size_t)p->depth;
    for (int32_t ob = 0; ob < p->out_b; ++ob) {
        const int32_t b = ob % p->in_b, shift = ob / p->in_b;
        const int32_t dy = shift / p->block_w, dx = shift % p->block_w;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy = oy * p->block_h + dy - p->pad_top;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix = ox * p->block_w + dx - p->pad_left;
                if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                    memset(output, p->pad_value, depth);
                } else {
                    memcpy(output, input + (((size_t)b * (size_t)p->in_h + (size_t)iy) * (size_t)p->in_w + (size_t)ix) * depth,
                           depth);
                }
                output += depth;
            }
        }
    }
}
