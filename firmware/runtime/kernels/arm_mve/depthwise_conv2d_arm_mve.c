/* DEPTHWISE_CONV_2D, int8, depth multiplier 1, channels % 4 == 0, dilation 1, Helium (MVE): four
 * channels per vector (VLDRB.S32 widens input and weight bytes to 32-bit lanes, VMUL + VADD), the
 * input offset folded into the bias by the generator, so a tap inside the input adds x * w and a tap
 * in the padding adds -in_offset * w (VMLA by scalar): the sum is the reference's
 * bias + sum over inside taps of (x + in_offset) * w. Two horizontally adjacent output pixels whose
 * windows lie inside the input share each weight load. The requantization is the matmul's
 * (tinyc_rt_arm_mve.h), proven exact per channel by tinyc/codegen/specialize_mve.py. */
#if !defined(__ARM_FEATURE_MVE) || !(__ARM_FEATURE_MVE & 1)
#error "the arm_mve kernels need Helium (MVE integer instructions): build with -mcpu=cortex-m55"
#endif

#include <arm_mve.h>

#include "tinyc_rt.h"
#include "tinyc_rt_arm_mve.h"

static inline void dw_store(int32x4_t acc, const tinyc_mve_q4_t *q, int32x4_t lo, int32x4_t hi, int8_t *out)
{
    int32x4_t v = vrmulhq_s32(vshlq_n_s32(acc, 1), vldrwq_s32(q->mult));
    v = vaddq_s32(v, vshrq_n_s32(v, 31));
    v = vshlq_s32(vaddq_s32(v, vldrwq_s32(q->add)), vldrwq_s32(q->neg_rshift));
    vstrbq_s32(out, vminq_s32(vmaxq_s32(v, lo), hi));
}

void tinyc_arm_mve_depthwise_conv_s8(const tinyc_mve_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output)
{
    const int32_t c_n = p->channels, kh = p->k_h, kw = p->k_w, in_w = p->in_w, in_h = p->in_h;
    const int32_t neg_off = -p->in_offset;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const size_t in_row = (size_t)in_w * c_n, xstep = (size_t)p->stride_w * c_n;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * in_h * in_row;
        int8_t *o = output + (size_t)b * p->out_h * p->out_w * c_n;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int32_t ky0 = iy0 < 0 ? tinyc_min32(-iy0, kh) : 0;
            const int32_t ky1 = tinyc_max32(ky0, tinyc_min32(kh, in_h - iy0));
            for (int32_t ox = 0; ox < p->out_w;) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int32_t kx0 = ix0 < 0 ? tinyc_min32(-ix0, kw) : 0;
                const int32_t kx1 = tinyc_max32(kx0, tinyc_min32(kw, in_w - ix0));
                const int inside = ky0 == 0 && ky1 == kh && kx0 == 0 && kx1 == kw;
                const int8_t *x0 = in_b + (ptrdiff_t)iy0 * (ptrdiff_t)in_row + (ptrdiff_t)ix0 * c_n;
                if (inside && ox + 1 < p->out_w && ix0 + p->stride_w + kw <= in_w) {
                    /* two pixels, every tap inside */
                    const int8_t *x1 = x0 + xstep;
                    for (int32_t g = 0; g < c_n; g += 4) {
                        int32x4_t a0 = vldrwq_s32(bias + g), a1 = a0;
                        const int8_t *w = filter + g;
                        for (int32_t ky = 0; ky < kh; ++ky) {
                            const int8_t *r0 = x0 + (size_t)ky * in_row + g, *r1 = x1 + (size_t)ky * in_row + g;
                            for (int32_t kx = 0; kx < kw; ++kx, w += c_n, r0 += c_n, r1 += c_n) {
                                const int32x4_t wv = vldrbq_s32(w);
                                a0 = vaddq_s32(a0, vmulq_s32(vldrbq_s32(r0), wv));
                                a1 = vaddq_s32(a1, vmulq_s32(vldrbq_s32(r1), wv));
                            }
                        }
                        dw_store(a0, q + (g >> 2), lo, hi, o + g);
                        dw_store(a1, q + (g >> 2), lo, hi, o + c_n + g);
                    }
                    o += 2 * c_n;
                    ox += 2;
                    continue;
                }
                for (int32_t g = 0; g < c_n; g += 4) {
                    int32x4_t a0 = vldrwq_s32(bias + g);
                    const int8_t *wg = filter + g;
                    if (!inside) { /* padded taps: -in_offset * w, undoing the folded offset */
                        for (int32_t ky = 0; ky < kh; ++ky) {
                            for (int32_t kx = 0; kx < kw; ++kx) {
                                if (ky >= ky0 && ky < ky1 && kx >= kx0 && kx < kx1) continue;
                                a0 = vmlaq_n_s32(a0, vldrbq_s32(wg + (size_t)(ky * kw + kx) * c_n), neg_off);
                            }
                        }
                    }
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *r0 = x0 + (ptrdiff_t)ky * (ptrdiff_t)in_row + (ptrdiff_t)kx0 * c_n + g;
                        const int8_t *w = wg + (size_t)(ky * kw + kx0) * c_n;
                        for (int32_t kx = kx0; kx < kx1; ++kx, w += c_n, r0 += c_n) {
                            a0 = vaddq_s32(a0, vmulq_s32(vldrbq_s32(r0), vldrbq_s32(w)));
                        }
                    }
                    dw_store(a0, q + (g >> 2), lo, hi, o + g);
                }
                o += c_n;
                ++ox;
            }
        }
    }
}
