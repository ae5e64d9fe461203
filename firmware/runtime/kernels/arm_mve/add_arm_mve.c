/* ADD, int8, same-shape inputs, Helium (MVE): four elements per vector with TFLite's arithmetic.
 * Each input: (x + offset) << 20, then MultiplyByQuantizedMultiplier with a right shift e >= 1 (an
 * input TFLite scales with no right shift, as by 2^30 / 2^31 = 1/2, takes << 21 and e = 1 instead,
 * when that gives the same value for all 256 inputs):
 * VQRDMULH is exactly SaturatingRoundingDoublingHighMul (floor((a*m + 2^30) / 2^31); it saturates only
 * for a = m = INT32_MIN, and m >= 0), and RoundingDivideByPOT (ties away from zero) is
 * (v + (v >> 31) + 2^(e-1)) >> e. The sum is requantized as the matmul does (VRMULH of twice the sum,
 * tinyc_rt_arm_mve.h; or its general form), proven exact by tinyc/codegen/specialize_mve.py, which also
 * checks the input step against the reference on all 256 values of each input. Element i of both inputs is read before
 * output element i is written (four at a time), so it also runs in place. */
#if !defined(__ARM_FEATURE_MVE) || !(__ARM_FEATURE_MVE & 1)
#error "the arm_mve kernels need Helium (MVE integer instructions): build with -mcpu=cortex-m55"
#endif

#include <arm_mve.h>

#include "tinyc_rt.h"
#include "tinyc_rt_arm_mve.h"

TINYC_INLINE int32x4_t add_rescale(int32x4_t x, int32_t off, int32_t lshift, int32_t mult, int32_t half,
                                   int32_t neg_e)
{
    int32x4_t v = vqrdmulhq_n_s32(vshlq_r_s32(vaddq_n_s32(x, off), lshift), mult);
    v = vaddq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), half);
    return vshlq_r_s32(v, neg_e);
}

void tinyc_arm_mve_add_s8(const tinyc_mve_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    const int32_t off1 = p->in1_offset, l1 = p->in1_lshift, m1 = p->in1_mult, h1 = p->in1_half, e1 = -p->in1_rshift;
    const int32_t off2 = p->in2_offset, l2 = p->in2_lshift, m2 = p->in2_mult, h2 = p->in2_half, e2 = -p->in2_rshift;
    const int32_t om = p->out_mult, oadd = p->out_add, oe = -p->out_rshift;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    if (p->general) { /* the output in the general form (tinyc_rt_arm_mve.h) */
        const int32_t ol = p->out_lsh, ob = p->out_bias, zp = p->out_zp;
        for (int32_t n = p->size; n > 0; n -= 4, in1 += 4, in2 += 4, output += 4) {
            const mve_pred16_t keep = vctp32q((uint32_t)n);
            const int32x4_t a = add_rescale(vldrbq_z_s32(in1, keep), off1, l1, m1, h1, e1);
            const int32x4_t b = add_rescale(vldrbq_z_s32(in2, keep), off2, l2, m2, h2, e2);
            int32x4_t v = vaddq_n_s32(vrmulhq_s32(vshlq_r_s32(vaddq_s32(a, b), ol), vdupq_n_s32(om)), ob);
            v = vshlq_r_s32(vaddq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), oadd), oe);
            vstrbq_p_s32(output, vminq_s32(vmaxq_s32(vaddq_n_s32(v, zp), lo), hi), keep);
        }
        return;
    }
    for (int32_t n = p->size; n > 0; n -= 4, in1 += 4, in2 += 4, output += 4) {
        const mve_pred16_t keep = vctp32q((uint32_t)n);
        const int32x4_t a = add_rescale(vldrbq_z_s32(in1, keep), off1, l1, m1, h1, e1);
        const int32x4_t b = add_rescale(vldrbq_z_s32(in2, keep), off2, l2, m2, h2, e2);
        int32x4_t v = vrmulhq_s32(vshlq_n_s32(vaddq_s32(a, b), 1), vdupq_n_s32(om));
        v = vshlq_r_s32(vaddq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), oadd), oe);
        vstrbq_p_s32(output, vminq_s32(vmaxq_s32(v, lo), hi), keep);
    }
}
