/* AVERAGE_POOL_2D, int8, Helium (MVE): four channels per vector (VLDRB.S32, the last C % 4 predicated),
 * the window summed in 32-bit lanes, then TFLite's rounded division (acc > 0 ? (acc + count/2) / count :
 * (acc - count/2) / count, truncating) without a divide per channel: |q| = floor(m / count) with
 * m = |acc| + count/2 <= 128.5 count is VMULH.U32(m, R), R = ceil(2^32 / count) from one scalar UDIV per
 * output pixel. That is exact: m * R / 2^32 exceeds m / count by less than m / 2^32 <= 128.5 count / 2^32,
 * below 1 / count for count <= 4096 (the generator checks the window), while the fraction of m / count is
 * at most 1 - 1/count, so the floor never moves.
 * Bit-identical to tinyc_ref_avg_pool_s8. */
#if !defined(__ARM_FEATURE_MVE) || !(__ARM_FEATURE_MVE & 1)
#error "the arm_mve kernels need Helium (MVE integer instructions): build with -mcpu=cortex-m55"
#endif

#include <arm_mve.h>

#include "tinyc_rt.h"
#include "tinyc_rt_arm_mve.h"

void tinyc_arm_mve_avg_pool_s8(const tinyc_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t C = p->channels;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            const int32_t fy0 = tinyc_max32(0, -y0), fy1 = tinyc_min32(p->k_h, p->in_h - y0);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                const int32_t fx0 = tinyc_max32(0, -x0), fx1 = tinyc_min32(p->k_w, p->in_w - x0);
                if (fy1 <= fy0 || fx1 <= fx0) return; /* TFLite rejects this shape, as the reference */
                const uint32_t count = (uint32_t)((fy1 - fy0) * (fx1 - fx0));
                const uint32_t recip = count > 1 ? 0xFFFFFFFFu / count + 1u : 0u; /* ceil(2^32 / count) */
                int8_t *o = output + (((size_t)b * p->out_h + oy) * p->out_w + ox) * C;
                for (int32_t c = 0; c < C; c += 4) {
                    const mve_pred16_t keep = vctp32q((uint32_t)(C - c));
                    int32x4_t acc = vdupq_n_s32(0);
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int8_t *x = in_b + ((size_t)(y0 + fy) * p->in_w + (size_t)(x0 + fx0)) * C + c;
                        for (int32_t fx = fx0; fx < fx1; ++fx, x += C) acc = vaddq_s32(acc, vldrbq_z_s32(x, keep));
                    }
                    int32x4_t q = acc;
                    if (count > 1) {
                        const uint32x4_t m = vreinterpretq_u32_s32(vaddq_n_s32(vabsq_s32(acc), (int32_t)(count / 2)));
                        const int32x4_t mag = vreinterpretq_s32_u32(vmulhq_u32(m, vdupq_n_u32(recip)));
                        q = vpselq_s32(vnegq_s32(mag), mag, vcmpltq_n_s32(acc, 0));
                    }
                    vstrbq_p_s32(o + c, vminq_s32(vmaxq_s32(q, lo), hi), keep);
                }
            }
        }
    }
}
