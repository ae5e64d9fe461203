/* SOFTMAX, int8 in and out (output scale 1/256, zero point -128): TFLite Micro's integer algorithm,
 * exp() in Q5.26 fixed point, sums in Q12.19, a Newton-Raphson reciprocal. */
#include "tinyc_rt.h"

static int32_t scaled_diff(const tinyc_softmax_params_t *p, int32_t diff)
{
    /* MultiplyByQuantizedMultiplierGreaterThanOne: left shift, then the rounding doubling high mul. */
    return tinyc_srdhm((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
}

void tinyc_ref_softmax_s8(const tinyc_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->outer; ++i) {
        const int8_t *in = input + (size_t)i * p->depth;
        int8_t *out = output + (size_t)i * p->depth;
        int32_t max_in_row = -128;
        for (int32_t c = 0; c < p->depth; ++c) max_in_row = tinyc_max32(max_in_row, in[c]);

        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t e = tinyc_fx_exp_on_negative_values(scaled_diff(p, diff), 5);
                sum_of_exps += tinyc_rdbpot(e, 12);
            }
        }

        const int headroom_plus_one = tinyc_clz32((uint32_t)sum_of_exps);
        const int num_bits_over_unit = 12 - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = tinyc_fx_one_over_one_plus_x(shifted_sum_minus_one);

        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t e = tinyc_fx_exp_on_negative_values(scaled_diff(p, diff), 5);
                const int32_t unsat = tinyc_rdbpot(tinyc_srdhm(shifted_scale, e), num_bits_over_unit + 31 - 8);
                out[c] = (int8_t)tinyc_clamp32(unsat - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}
