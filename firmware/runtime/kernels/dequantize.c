/* DEQUANTIZE int8 -> float32 at the model's output edge: scale * (q - zero_point), in double then
 * narrowed, as TFLite's reference Dequantize. */
#include "tinyc_rt.h"

void tinyc_ref_dequantize_s8_f32(const tinyc_dequantize_params_t *p, const int8_t *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (float)(p->scale * (double)((int32_t)input[i] - p->zero_point));
    }
}
