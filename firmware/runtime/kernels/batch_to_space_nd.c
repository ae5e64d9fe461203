/* BATCH_TO_SPACE_ND, int8 (NHWC; rank-3 NHC as NH1C): input batch ib is pixel offset (ib / out_b) of every
 * block of output batch ib % out_b; pixels that land in the crops are dropped. Every output pixel is written
 * (the output's size is the blocks' minus the crops). */
#include <string.h>

#include "tinyc_ops.h"

void tinyc_ref_batch_to_space_s8(const tinyc_batch_to_space_params_t *p, const int8_t *input, int8_t *output)
{
    const size_t depth = (size_t)p->depth;
    for (int32_t ib = 0; ib < p->in_b; ++ib) {
        const int32_t ob = ib % p->out_b, shift = ib / p->out_b;
        const int32_t dy = shift / p->block_w, dx = shift % p->block_w;
        for (int32_t iy = 0; iy < p->in_h; ++iy) {
            const int32_t oy = iy * p->block_h + dy - p->crop_top;
            if (oy < 0 || oy >= p->out_h) continue;
            for (int32_t ix = 0; ix < p->in_w; ++ix) {
                const int32_t ox = ix * p->block_w + dx - p->crop_left;
                if (ox < 0 || ox >= p->out_w) continue;
                memcpy(output + (((size_t)ob * (size_t)p->out_h + (size_t)oy) * (size_t)p->out_w + (size_t)ox) * depth,
                       input + (((size_t)ib * (size_t)p->in_h + (size_t)iy) * (size_t)p->in_w + (size_t)ix) * depth,
                       depth);
            }
        }
    }
}
