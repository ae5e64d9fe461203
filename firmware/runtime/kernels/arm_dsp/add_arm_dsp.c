/* ADD, int8, same-shape inputs, Arm DSP extension. TFLite rescales each input to a common scale
 * ((x + offset) << 20, then MultiplyByQuantizedMultiplier) before the output requantization; an int8
 * input has only 256 values, so the generator tabulates that first step per input (exactly, with the
 * reference arithmetic, doubled for SMMULR: 1 KB of flash each) and the kernel does two loads and one fast requantization
 * (tinyc_dsp_requant, proven exact by the generator) per element. Bit-identical to tinyc_ref_add_s8
 * for the calls tinyc/codegen/specialize.py hands over. */
#include "tinyc_rt.h"
#include "tinyc_rt_arm_dsp.h"

void tinyc_arm_dsp_add_s8(const tinyc_dsp_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output,
                          const int32_t *table1, const int32_t *table2)
{
    const int32_t *t1 = table1 + 128, *t2 = table2 + 128; /* indexed by the signed input */
#if defined(__GNUC__)
    __asm__("" : "+r"(t1), "+r"(t2)); /* keep the biased bases: index with the signed byte as it is */
#endif
    const tinyc_dsp_q_t q = {p->out_mult, p->out_add, p->out_rshift};
    const int32_t lo = p->act_min, hi = p->act_max;
    int8_t *const end = output + p->size;
    while (output != end) {
        const int32_t s2 = t1[*in1++] + t2[*in2++]; /* twice the sum: the tables hold doubled values */
        int32_t v = tinyc_smmulr(s2, q.mult);
        v = (v + (v >> 31) + q.add) >> q.rshift;
        *output++ = (int8_t)tinyc_dsp_clamp(v, lo, hi);
    }
}
