/* LOG_SOFTMAX, int8 (output scale 16/256, zero point 127): per row of the last axis, TFLite Micro's integer
 * algorithm. Differences to the row's maximum go to Q5.26, their exps are summed in Q12.19, the log of the sum
 * (gemmlowp-style fixed point, Q5.26) is subtracted and the result shifted to the output; differences too
 * negative to matter give -128. */
#include "tinyc_ops.h"

/* log(x) for x >= 1, x in Q12.19, result in Q5.26: TFLite's log_x_for_x_greater_than_or_equal_to_1 with
 * <OutputIntegerBits 5, InputIntegerBits 12> (accumulated with 6 integer bits). */
static int32_t sat_add(int32_t a, int32_t b)
{
    return (int32_t)((int64_t)a + b > INT32_MAX ? INT32_MAX : ((int64_t)a + b < INT32_MIN ? INT32_MIN : a + b));
}

static int32_t sat_sub(int32_t a, int32_t b)
{
    const int64_t d = (int64_t)a - b;
    return (int32_t)(d > INT32_MAX ? INT32_MAX : (d < INT32_MIN ? INT32_MIN : d));
}

static int32_t sat_pot(int32_t x, int exponent)
{
    return exponent == 0 ? x : tinyc_sat_lshift(x, exponent);
}

static int32_t half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

static int32_t log_q5(int32_t input)
{
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t shifted_quarter = 1 << 23; /* 1/4 in Q6.25 */
    const int za_headroom_plus_1 = tinyc_clz32((uint32_t)input);
    const int32_t r_a_tmp = sat_pot(input, za_headroom_plus_1 - 1);
    const int32_t r_a = sat_pot(tinyc_srdhm(r_a_tmp, sqrt_half), 1);
    const int32_t za_pow2_adj = sat_add(sat_pot(12 - za_headroom_plus_1, 31 - 6), shifted_quarter);
    const int32_t z_b = tinyc_srdhm(input, sqrt_half);
    const int zb_headroom = tinyc_clz32((uint32_t)z_b) - 1;
    const int32_t r_b = sat_pot(input, zb_headroom);
    const int32_t zb_pow2_adj = sat_sub(sat_pot(12 - zb_headroom, 31 - 6), shifted_quarter);
    const int32_t r = r_a < r_b ? r_a : r_b;
    const int32_t z_pow2_adj = za_pow2_adj > zb_pow2_adj ? za_pow2_adj : zb_pow2_adj;
    const int32_t pp = half_sum(r, sqrt_sqrt_half);
    int32_t q = r - sqrt_sqrt_half;
    q = q + q;
    const int32_t common_sq = tinyc_srdhm(q, q);
    const int32_t num = tinyc_srdhm(q, r) + tinyc_srdhm(tinyc_srdhm(q, common_sq), alpha_n);
    const int32_t denom_minus_one = tinyc_srdhm(pp, alpha_i + q + tinyc_srdhm(alpha_d, common_sq))
                                    + tinyc_srdhm(alpha_f, q);
    const int32_t recip_denom = tinyc_fx_one_over_one_plus_x(denom_minus_one);
    const int32_t num_scaled = tinyc_rdbpot(num, 6); /* Q0.31 -> Q6.25 */
    return tinyc_sat_lshift(tinyc_srdhm(z_pow2_adj, log_2) + tinyc_srdhm(num_scaled, recip_denom), 1);
}

void tinyc_ref_log_softmax_s8(const tinyc_log_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *x = input + o * p->depth;
        int8_t *y = output + o * p->depth;
        int32_t max = -128;
        for (int32_t i = 0; i < p->depth; ++i) max = x[i] > max ? x[i] : max;
        int32_t sum_q12 = 0;
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t diff = x[i] - max;
            if (diff >= p->diff_min) {
                const int32_t d5 = tinyc_requant(diff, p->input_multiplier, p->input_left_shift);
                sum_q12 += tinyc_rdbpot(tinyc_fx_exp_on_negative_values(d5, 5), 12);
            }
        }
        const int32_t log_sum = log_q5(sum_q12);
        const int32_t shifted = (int32_t)((uint32_t)log_sum + 0x80000000u); /* + INT32_MIN */
        const int32_t adjusted_min = tinyc_max32(p->diff_min - 1, tinyc_requant(shifted, p->reverse_scaling_divisor,
                                                                                -p->reverse_scaling_right_shift));
        for (int32_t i = 0; i < p->depth; ++i) {
            const int32_t diff = x[i] - max;
            if (diff > adjusted_min) {
                const int32_t d5 = tinyc_requant(diff, p->input_multiplier, p->input_left_shift);
                y[i] = (int8_t)tinyc_clamp32(tinyc_rdbpot(d5 - log_sum, 31 - 5 - 4) + 127, -128, 127);
            } else {
                y[i] = -128;
            }
        }
    }
}
