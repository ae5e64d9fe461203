/* TANH, int8 (output scale 1/128, zero point 0): TFLite Micro's integer algorithm. The input goes to Q4.27,
 * tanh(x) = (1 - e^-2|x|) / (1 + e^-2|x|) in gemmlowp fixed point, sign restored, saturating outside the
 * input radius. */
#include "tinyc_ops.h"

/* (1 - a) / (1 + a) for a in [0, 1], a and result Q0.31: Newton-Raphson on 1 / (1 + a) in Q2.29, as gemmlowp's
 * one_minus_x_over_one_plus_x_for_x_in_0_1. */
static int32_t one_minus_x_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + tinyc_srdhm(half_den, -1010580540); /* 48/17 - 32/17 d, Q2.29 */
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus = ((int32_t)1 << 29) - tinyc_srdhm(half_den, x);
        x = x + tinyc_sat_lshift(tinyc_srdhm(x, one_minus), 2);
    }
    return tinyc_sat_lshift(x - ((int32_t)1 << 29), 2);
}

void tinyc_ref_tanh_s8(const tinyc_tanh_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->in_zero_point;
        if (x <= -p->input_range_radius) {
            output[i] = -128;
        } else if (x >= p->input_range_radius) {
            output[i] = 127;
        } else {
            const int32_t q4 = tinyc_requant(x, p->input_multiplier, p->input_left_shift);
            int32_t r = 0;
            if (q4 != 0) {
                /* -|x| with 4 integer bits is -2|x| with 5: exp(-2|x|) */
                const int32_t t = one_minus_x_over_one_plus_x(tinyc_fx_exp_on_negative_values(q4 < 0 ? q4 : -q4, 5));
                r = q4 < 0 ? -t : t;
            }
            output[i] = (int8_t)tinyc_clamp32(tinyc_rdbpot(r, 31 - 7), -128, 127);
        }
    }
}
