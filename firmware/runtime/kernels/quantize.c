/* QUANTIZE float32 -> int8 at the model's input edge: round(x / scale) + zero_point in float, as
 * TFLite's AffineQuantize. */
#include "tinyc_rt.h"

void tinyc_ref_quantize_f32_s8(const tinyc_quantize_params_t *p, const float *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        float q = input[i] / p->scale;
        if (q > 1.0e9f) q = 1.0e9f;
        if (q < -1.0e9f) q = -1.0e9f;
        const int32_t v = (int32_t)tinyc_roundf(q) + p->zero_point;
        output[i] = (int8_t)tinyc_clamp32(v, -128, 127);
    }
}
