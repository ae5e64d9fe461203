/* DEPTHWISE_CONV_2D with packed weights (docs/compressed-weights.md), int8, Arm DSP extension: the filter decoded
 * once, at start-up (tinyc_model_init(), --weights packed-ram), into the layout tinyc_arm_dsp_depthwise_conv_s8
 * reads (tinyc/codegen/specialize.py, pack_depthwise_wide / pack_depthwise_weights), which then runs on it on
 * every inference. The blob holds one record of k_h * k_w taps per channel; each is decoded into `row` and
 * scattered: the common loop's layout (tinyc_dsp_dw_common, as the kernel decides) per group of 4 channels and tap the int16 values 2 w in lanes (c0, c2, c1, c3); else per group
 * of 4 channels and tap the 4 bytes, then the last channels % 4 one after the other. Per-call decoding stays
 * on the portable kernel (tinyc_ref_depthwise_conv2d_packed_s8). */
#include "tinyc_rt.h"
#include "tinyc_rt_arm_dsp.h"
#include "tinyc_packed_rows.h"

void tinyc_arm_dsp_decode_dw_packed_s8(const tinyc_dsp_dwconv_params_t *p, const uint8_t *filter, int8_t *decoded,
                                       int8_t *row)
{
    const int32_t C = p->channels, taps = p->k_h * p->k_w, c4 = C & ~3;
    const int wide = tinyc_dsp_dw_common(p);
    static const uint8_t lane[4] = {0, 2, 1, 3};
    if (row == NULL) row = decoded + (size_t)C * taps * (wide ? 2 : 1);
    tinyc_pk_rows_t r;
    tinyc_pk_rows_init(&r, C, (uint32_t)taps, filter);
    for (int32_t c = 0; c < C; ++c) {
        tinyc_pk_next_row(&r, row);
        const int32_t g = c >> 2;
        if (wide) {
            int16_t *w = (int16_t *)decoded + (size_t)g * taps * 4 + lane[c & 3];
            for (int32_t t = 0; t < taps; ++t) w[4 * t] = (int16_t)(2 * row[t]);
        } else if (c < c4) {
            int8_t *w = decoded + (size_t)g * taps * 4 + (c & 3);
            for (int32_t t = 0; t < taps; ++t) w[4 * t] = row[t];
        } else {
            int8_t *w = decoded + (size_t)c4 * taps + (size_t)(c - c4) * taps;
            for (int32_t t = 0; t < taps; ++t) w[t] = row[t];
        }
    }
}
