/* DEPTHWISE_CONV_2D, int8, depth multiplier 1, channels % 4 == 0, Arm DSP extension: four channels
 * per 32-bit load, unpacked to int16 pairs with the input offset added in the same instruction
 * (SXTAB16), one 16x16+32 MAC per tap and channel. Taps outside the input are skipped, as in the
 * reference, so the bias is the model's own. Interior 3x3 windows take an unrolled path.
 * Bit-identical to tinyc_ref_depthwise_conv2d_s8 for the calls tinyc/codegen/specialize.py hands over. */
#include "tinyc_rt.h"
#include "tinyc_rt_arm_dsp.h"

#define DW_TAP(xp, wp)                                                                   \
    do {                                                                                 \
        const uint32_t xr_ = tinyc_ld32(xp), wr_ = tinyc_ld32(wp);                       \
        const int32_t xe_ = tinyc_sxtab16(off2, xr_), xo_ = tinyc_sxtab16_ror8(off2, xr_); \
        const int32_t we_ = tinyc_sxtb16(wr_), wo_ = tinyc_sxtb16_ror8(wr_);             \
        a0 = tinyc_smlabb(xe_, we_, a0);                                                 \
        a2 = tinyc_smlatt(xe_, we_, a2);                                                 \
        a1 = tinyc_smlabb(xo_, wo_, a1);                                                 \
        a3 = tinyc_smlatt(xo_, wo_, a3);                                                 \
    } while (0)

static inline void store4(int8_t *o, const tinyc_dsp_q_t *q, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                          int32_t lo, int32_t hi)
{
    o[0] = (int8_t)tinyc_dsp_requant(a0, q, lo, hi);
    o[1] = (int8_t)tinyc_dsp_requant(a1, q + 1, lo, hi);
    o[2] = (int8_t)tinyc_dsp_requant(a2, q + 2, lo, hi);
    o[3] = (int8_t)tinyc_dsp_requant(a3, q + 3, lo, hi);
}

void tinyc_arm_dsp_depthwise_conv_s8(const tinyc_dsp_dwconv_params_t *p, const int8_t *input, const int8_t *filter,
                                     const int32_t *bias, const tinyc_dsp_q_t *q, int8_t *output)
{
    const int32_t C = p->channels, lo = p->act_min, hi = p->act_max;
    const int32_t off2 = (int32_t)(((uint32_t)p->in_offset & 0xFFFFu) | ((uint32_t)p->in_offset << 16));
    const size_t row = (size_t)p->in_w * C;
    const int fast3x3 = p->k_h == 3 && p->k_w == 3 && p->dil_h == 1 && p->dil_w == 1;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int32_t ky0 = iy0 < 0 ? (-iy0 + p->dil_h - 1) / p->dil_h : 0;
            int32_t ky1 = p->k_h;
            while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dil_h >= p->in_h) --ky1;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int8_t *o = output + (((size_t)b * p->out_h + oy) * p->out_w + ox) * C;
                if (fast3x3 && ky0 == 0 && ky1 == 3 && ix0 >= 0 && ix0 + 3 <= p->in_w) {
                    const int8_t *w = filter;
                    for (int32_t c = 0; c < C; c += 4, w += 4) {
                        int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
                        const int8_t *x = in_b + (size_t)iy0 * row + (size_t)ix0 * C + c;
                        DW_TAP(x, w);
                        DW_TAP(x + C, w + C);
                        DW_TAP(x + 2 * C, w + 2 * C);
                        x += row;
                        DW_TAP(x, w + 3 * C);
                        DW_TAP(x + C, w + 4 * C);
                        DW_TAP(x + 2 * C, w + 5 * C);
                        x += row;
                        DW_TAP(x, w + 6 * C);
                        DW_TAP(x + C, w + 7 * C);
                        DW_TAP(x + 2 * C, w + 8 * C);
                        store4(o + c, q + c, a0, a1, a2, a3, lo, hi);
                    }
                    continue;
                }
                const int32_t kx0 = ix0 < 0 ? (-ix0 + p->dil_w - 1) / p->dil_w : 0;
                int32_t kx1 = p->k_w;
                while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dil_w >= p->in_w) --kx1;
                for (int32_t c = 0; c < C; c += 4) {
                    int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        const int8_t *xr = in_b + (size_t)(iy0 + ky * p->dil_h) * row + c;
                        const int8_t *wr = filter + (size_t)ky * p->k_w * C + c;
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            DW_TAP(xr + (size_t)(ix0 + kx * p->dil_w) * C, wr + (size_t)kx * C);
                        }
                    }
                    store4(o + c, q + c, a0, a1, a2, a3, lo, hi);
                }
            }
        }
    }
}
