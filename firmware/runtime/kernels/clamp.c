/* Standalone RELU6 / RELU_N1_TO_1 on int8 (TFLite Micro clamps without rescaling). */
#include "tinyc_rt.h"

void tinyc_ref_clamp_s8(int32_t size, int32_t lo, int32_t hi, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < size; ++i) output[i] = (int8_t)tinyc_clamp32(input[i], lo, hi);
}
