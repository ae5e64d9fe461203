/* LOGISTIC, int8 (output scale 1/256, zero point -128): TFLite Micro's integer algorithm, input in
 * Q4.27, 1/(1+exp(-x)) in gemmlowp fixed point, saturating outside the input radius. */
#include "tinyc_rt.h"

void tinyc_ref_logistic_s8(const tinyc_logistic_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->in_zero_point;
        if (x <= -p->input_range_radius) {
            output[i] = -128;
        } else if (x >= p->input_range_radius) {
            output[i] = 127;
        } else {
            const int32_t q4 = tinyc_requant(x, p->input_multiplier, p->input_left_shift);
            int32_t r;
            if (q4 == 0) {
                r = 1 << 30; /* one half */
            } else {
                const int32_t abs_q4 = q4 > 0 ? q4 : -q4;
                const int32_t pos = tinyc_fx_one_over_one_plus_x(tinyc_fx_exp_on_negative_values(-abs_q4, 4));
                r = q4 > 0 ? pos : INT32_MAX - pos;
            }
            const int32_t q23 = tinyc_rdbpot(r, 31 - 8);
            output[i] = (int8_t)tinyc_clamp32(q23 - 128, -128, 127);
        }
    }
}

/* The same function as a 256-entry table indexed by the input byte, built by the generator with the arithmetic
 * above (tinyc/codegen/fixed_point.py): the layers long enough to pay for the table's 256 bytes of flash. */
void tinyc_ref_logistic_lut_s8(const tinyc_logistic_params_t *p, const int8_t *input, const int8_t *table,
                               int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) output[i] = table[(uint8_t)input[i]];
}
