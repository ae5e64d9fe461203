/* DEPTHWISE_CONV_2D with packed weights (docs/compressed-weights.md), int8, Helium: the filter decoded once, at
 * start-up (tinyc_model_init(), --weights packed-ram), into the layout tinyc_arm_mve_depthwise_conv_s8 reads:
 * the model's own [k_h * k_w][C]. The blob holds one record of k_h * k_w taps per channel; each is decoded into
 * `row` and scattered down its column. Per-call decoding stays on the portable kernel
 * (tinyc_ref_depthwise_conv2d_packed_s8). */
#include "tinyc_rt.h"
#include "tinyc_rt_arm_mve.h"
#include "tinyc_packed_rows.h"

void tinyc_arm_mve_decode_dw_packed_s8(const tinyc_mve_dwconv_params_t *p, const uint8_t *filter, int8_t *decoded,
                                       int8_t *row)
{
    const int32_t C = p->channels, taps = p->k_h * p->k_w;
    if (row == NULL) row = decoded + (size_t)C * taps;
    tinyc_pk_rows_t r;
    tinyc_pk_rows_init(&r, C, (uint32_t)taps, filter);
    for (int32_t c = 0; c < C; ++c) {
        tinyc_pk_next_row(&r, row);
        for (int32_t t = 0; t < taps; ++t) decoded[(size_t)t * C + c] = row[t];
    }
}
