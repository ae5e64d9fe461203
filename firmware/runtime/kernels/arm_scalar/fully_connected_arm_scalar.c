/* FULLY_CONNECTED with one batch, int8, for cores without the DSP extension (ARMv6-M, ARMv7-M).
 *
 * The input is widened once into the scratch as int32 (k4 values, zeros past col_len); the weight rows come
 * in blocks of four interleaved by column ([block][k4][4 rows], unsigned bytes w + 128 as in
 * tinyc_scalar_matmul.h), the last out_c % 4 rows plain ([k4] each). Per four columns: one LDM of the input,
 * then per weight one LDRB and one MLA (ARMv7-M) or LDRB, MULS and ADD (ARMv6-M). The correction
 * -128 * sum(x) of the unsigned weights is one value for every row. Several batches run the convolution
 * kernel (conv2d_arm_scalar.c) as a 1x1 convolution over them. Bit-identical to tinyc_ref_fully_connected_s8
 * for the calls tinyc/codegen/specialize_arm_scalar.py hands over. */
#include "tinyc_rt.h"
#include "tinyc_rt_arm_scalar.h"
#include "tinyc_scalar_fc.h"

void tinyc_arm_scalar_fc_s8(const tinyc_scalar_conv_params_t *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias, const void *q, int8_t *output, int32_t *scratch)
{
    const int32_t k = p->col_len, k4 = (k + 3) & ~3, out_c = p->out_c, blocks = out_c / 4;
    const uint8_t *w = (const uint8_t *)filter;
    int32_t sum = 0;
    for (int32_t i = 0; i < k; ++i) sum += input[i];
    const int32_t corr = (int32_t)((uint32_t)sum * (uint32_t)-128);
    int32_t *acc;
    if (p->pointwise) { /* the input widened into the scratch (pointwise: 1), then the blocks' loop */
        int32_t *x = scratch;
        acc = scratch + k4;
        for (int32_t i = 0; i < k; ++i) x[i] = input[i];
        for (int32_t i = k; i < k4; ++i) x[i] = 0;
        if (blocks) {
            fc_args_t m;
            m.w = w;
            m.cols = x;
            m.k4 = k4;
            m.bias = bias;
            m.bias_end = bias + 4 * blocks;
            m.acc = acc;
            m.corr[0] = corr;
            fc_blocks(&m);
        }
    } else { /* a long input (pointwise: 0) is read as it is: the scratch holds the accumulators only */
        acc = scratch;
        const uint8_t *wb = w;
        for (int32_t oc = 0; oc < 4 * blocks; oc += 4) {
            uint32_t s0 = (uint32_t)(bias[oc] + corr), s1 = (uint32_t)(bias[oc + 1] + corr);
            uint32_t s2 = (uint32_t)(bias[oc + 2] + corr), s3 = (uint32_t)(bias[oc + 3] + corr);
            for (int32_t i = 0; i < k; ++i, wb += 4) {
                const uint32_t x = (uint32_t)(int32_t)input[i];
                s0 += wb[0] * x;
                s1 += wb[1] * x;
                s2 += wb[2] * x;
                s3 += wb[3] * x;
            }
            wb += (size_t)4 * (k4 - k);
            acc[oc] = (int32_t)s0;
            acc[oc + 1] = (int32_t)s1;
            acc[oc + 2] = (int32_t)s2;
            acc[oc + 3] = (int32_t)s3;
        }
    }
    w += (size_t)4 * blocks * k4;
    for (int32_t oc = 4 * blocks; oc < out_c; ++oc, w += k4) {
        uint32_t s = (uint32_t)(bias[oc] + corr);
        for (int32_t i = 0; i < k; ++i) s += w[i] * (uint32_t)(int32_t)input[i];
        acc[oc] = (int32_t)s;
    }
    /* requantize: one "pixel", acc[oc] */
    const int32_t lo = p->act_min, hi = p->act_max;
    if (!p->general) {
        const tinyc_scalar_q_t *qq = (const tinyc_scalar_q_t *)q;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            output[oc] = (int8_t)tinyc_clamp32(tinyc_scalar_requant(acc[oc], qq + oc), lo, hi);
        }
    } else {
        const tinyc_scalar_qx_t *qq = (const tinyc_scalar_qx_t *)q;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            output[oc] = (int8_t)tinyc_clamp32(tinyc_scalar_requant_x(acc[oc], qq + oc, p->out_zp), lo, hi);
        }
    }
}
