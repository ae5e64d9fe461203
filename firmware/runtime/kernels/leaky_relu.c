/* LEAKY_RELU, int8: x - zp rescaled to the output by in/out scale where x >= zp, by alpha * in/out scale below,
 * as TFLite Micro's QuantizeLeakyRelu. */
#include "tinyc_ops.h"

void tinyc_ref_leaky_relu_s8(const tinyc_leaky_relu_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->in_zero_point;
        const int32_t v = x >= 0 ? tinyc_requant(x, p->identity_multiplier, p->identity_shift)
                                 : tinyc_requant(x, p->alpha_multiplier, p->alpha_shift);
        output[i] = (int8_t)tinyc_clamp32(v + p->out_zero_point, -128, 127);
    }
}
