/* ADD, int8, Helium (MVE): four elements per vector with TFLite's arithmetic (same-shape inputs, or with
 * `bcast` broadcast ones, a run of the innermost dimension at a time).
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

/* n outputs from inputs stepping s1 and s2 elements (1, or 0: a broadcast value), either output form. */
TINYC_INLINE void add_run(const tinyc_mve_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output,
                          int32_t n, int32_t s1, int32_t s2)
{
    const int32_t off1 = p->in1_offset, l1 = p->in1_lshift, m1 = p->in1_mult, h1 = p->in1_half, e1 = -p->in1_rshift;
    const int32_t off2 = p->in2_offset, l2 = p->in2_lshift, m2 = p->in2_mult, h2 = p->in2_half, e2 = -p->in2_rshift;
    const int32_t om = p->out_mult, oadd = p->out_add, oe = -p->out_rshift;
    const int32_t ol = p->general ? p->out_lsh : 1, ob = p->general ? p->out_bias : 0, zp = p->general ? p->out_zp : 0;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int32x4_t b1 = vdupq_n_s32(*in1), b2 = vdupq_n_s32(*in2); /* a broadcast input's one value */
    for (; n > 0; n -= 4, in1 += 4 * s1, in2 += 4 * s2, output += 4) {
        const mve_pred16_t keep = vctp32q((uint32_t)n);
        const int32x4_t a = add_rescale(s1 ? vldrbq_z_s32(in1, keep) : b1, off1, l1, m1, h1, e1);
        const int32x4_t b = add_rescale(s2 ? vldrbq_z_s32(in2, keep) : b2, off2, l2, m2, h2, e2);
        int32x4_t v = vaddq_n_s32(vrmulhq_s32(vshlq_r_s32(vaddq_s32(a, b), ol), vdupq_n_s32(om)), ob);
        v = vshlq_r_s32(vaddq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), oadd), oe);
        vstrbq_p_s32(output, vminq_s32(vmaxq_s32(vaddq_n_s32(v, zp), lo), hi), keep);
    }
}

/* Broadcast inputs: the output in row-major order over out_dims, the outer five dimensions walked as
 * TINYC_FOR_EACH_BROADCAST does, the innermost as one run (each input's stride there is 1 or 0). */
static void add_bcast(const tinyc_mve_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    const int32_t n = p->out_dims[5], s1 = p->in1_strides[5], s2 = p->in2_strides[5];
    int32_t idx[5] = {0, 0, 0, 0, 0};
    int32_t i1 = 0, i2 = 0;
    if (n <= 0) return;
    for (int32_t o = 0; o < p->size; o += n) {
        add_run(p, in1 + i1, in2 + i2, output + o, n, s1, s2);
        for (int d = 4; d >= 0; --d) {
            i1 += p->in1_strides[d];
            i2 += p->in2_strides[d];
            if (++idx[d] < p->out_dims[d]) break;
            i1 -= p->in1_strides[d] * p->out_dims[d];
            i2 -= p->in2_strides[d] * p->out_dims[d];
            idx[d] = 0;
        }
    }
}

void tinyc_arm_mve_add_s8(const tinyc_mve_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    if (p->bcast) {
        add_bcast(p, in1, in2, output);
        return;
    }
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
