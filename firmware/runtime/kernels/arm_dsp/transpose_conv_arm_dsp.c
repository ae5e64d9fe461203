/* TRANSPOSE_CONV (int8), Arm DSP set. Output pixel (oy, ox) is reached by the kernel taps ky = (oy + pad_h)
 * mod stride_h (+ stride_h ...) and kx likewise: its "phase". The generator stores the weights per phase,
 * each output channel's taps of that phase back to back (tap-major, then input channel) and zero-padded to
 * len4 bytes (a multiple of 4); `phases` holds (byte offset, len4) per phase. Per output pixel the taps'
 * input channels are gathered into `scratch` (the zero point where a tap falls outside the input, so it adds
 * 0), widened to int16 with the input offset added (SXTAB16, in the lane order SXTB16 unpacks the weights
 * in), then two output channels at a time take 4 SMLAD per 4 bytes. The int32 sums are those of
 * tinyc_ref_transpose_conv_s8 (exact: the verifier bounds every accumulator); requantization is the
 * reference's. */
#include <string.h>

#include "tinyc_ops.h"
#include "tinyc_rt_arm_dsp.h"

static int8_t tc_out(const tinyc_transpose_conv_params_t *p, int32_t acc, int32_t m, int32_t s)
{
    return (int8_t)tinyc_clamp32(tinyc_requant(acc, m, s) + p->out_offset, p->act_min, p->act_max);
}

void tinyc_dsp_transpose_conv_s8(const tinyc_transpose_conv_params_t *p, const int8_t *input, const int8_t *weights,
                                 const int32_t *bias, const int32_t *multipliers, const int32_t *shifts,
                                 const int32_t *phases, int32_t *scratch, int8_t *output)
{
    const int32_t ic = p->in_c, sh = p->stride_h, sw = p->stride_w, oc_n = p->out_c;
    const int8_t zp = (int8_t)(-p->in_offset);
    const uint32_t off2 = ((uint32_t)p->in_offset & 0xFFFFu) * 0x10001u;
    tinyc_word_t *col = (tinyc_word_t *)scratch;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * ic;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t ry = (oy + p->pad_h) % sh;
            for (int32_t ox = 0; ox < p->out_w; ++ox, output += oc_n) {
                const int32_t rx = (ox + p->pad_w) % sw, ph = ry * sw + rx;
                const int8_t *wp = weights + phases[2 * ph];
                const int32_t len4 = phases[2 * ph + 1], chunks = len4 >> 2;
                int8_t *tmp = (int8_t *)(col + 2 * chunks);
                int8_t *t = tmp;
                for (int32_t ky = ry; ky < p->k_h; ky += sh) {
                    const int32_t ty = oy + p->pad_h - ky, iy = ty / sh; /* ty is a multiple of sh */
                    const int row_in = ty >= 0 && iy < p->in_h;
                    for (int32_t kx = rx; kx < p->k_w; kx += sw, t += ic) {
                        const int32_t tx = ox + p->pad_w - kx, ix = tx / sw;
                        if (row_in && tx >= 0 && ix < p->in_w) {
                            memcpy(t, in_b + ((size_t)iy * p->in_w + ix) * ic, (size_t)ic);
                        } else {
                            memset(t, zp, (size_t)ic);
                        }
                    }
                }
                while (t < tmp + len4) *t++ = zp;
                for (int32_t q = 0; q < chunks; ++q) {
                    const uint32_t w = tinyc_ld32(tmp + 4 * q);
                    col[2 * q] = (uint32_t)tinyc_sxtab16((int32_t)off2, w);
                    col[2 * q + 1] = (uint32_t)tinyc_sxtab16_ror8((int32_t)off2, w);
                }
                int32_t oc = 0;
                for (; oc + 1 < oc_n; oc += 2) {
                    const int8_t *w0 = wp + (size_t)oc * len4, *w1 = w0 + len4;
                    int32_t a0 = bias ? bias[oc] : 0, a1 = bias ? bias[oc + 1] : 0;
                    for (int32_t q = 0; q < chunks; ++q) {
                        const int32_t c0 = (int32_t)col[2 * q], c1 = (int32_t)col[2 * q + 1];
                        const uint32_t u = tinyc_ld32(w0 + 4 * q), v = tinyc_ld32(w1 + 4 * q);
                        a0 = tinyc_smlad(tinyc_sxtb16(u), c0, a0);
                        a0 = tinyc_smlad(tinyc_sxtb16_ror8(u), c1, a0);
                        a1 = tinyc_smlad(tinyc_sxtb16(v), c0, a1);
                        a1 = tinyc_smlad(tinyc_sxtb16_ror8(v), c1, a1);
                    }
                    output[oc] = tc_out(p, a0, multipliers[oc], shifts[oc]);
                    output[oc + 1] = tc_out(p, a1, multipliers[oc + 1], shifts[oc + 1]);
                }
                if (oc < oc_n) {
                    const int8_t *w0 = wp + (size_t)oc * len4;
                    int32_t a0 = bias ? bias[oc] : 0;
                    for (int32_t q = 0; q < chunks; ++q) {
                        const uint32_t u = tinyc_ld32(w0 + 4 * q);
                        a0 = tinyc_smlad(tinyc_sxtb16(u), (int32_t)col[2 * q], a0);
                        a0 = tinyc_smlad(tinyc_sxtb16_ror8(u), (int32_t)col[2 * q + 1], a0);
                    }
                    output[oc] = tc_out(p, a0, multipliers[oc], shifts[oc]);
                }
            }
        }
    }
}
