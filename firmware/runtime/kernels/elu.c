/* ELU. int8: a 256-entry table indexed by the input byte, the one TFLite Micro builds at Prepare (tinyc builds it
 * at generation time). float32 (the converter leaves a Keras ELU in float between DEQUANTIZE and QUANTIZE): the
 * input is one of the 256 values its DEQUANTIZE can write, found by binary search among them, and the output is
 * TFLite's float ELU of it, computed at generation time: exact without libm. */
#include <string.h>

#include "tinyc_ops.h"

void tinyc_ref_elu_s8(const tinyc_elu_params_t *p, const int8_t *input, const int8_t *table, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) output[i] = table[(uint8_t)input[i]];
}

static float as_float(int32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Float tensors and tables arrive as their int32_t bit patterns (see elu.py). */
void tinyc_ref_elu_f32(const tinyc_elu_params_t *p, const int32_t *input, const int32_t *keys, const int32_t *values,
                       int32_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const float x = as_float(input[i]);
        int32_t lo = 0, hi = 255; /* keys ascend: the last key <= x */
        while (lo < hi) {
            const int32_t mid = (lo + hi + 1) >> 1;
            if (as_float(keys[mid]) <= x) lo = mid; else hi = mid - 1;
        }
        output[i] = values[lo];
    }
}
