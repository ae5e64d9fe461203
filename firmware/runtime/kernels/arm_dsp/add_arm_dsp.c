/* ADD, int8, Arm DSP extension. TFLite rescales each input to a common scale ((x + offset) << 20, then
 * MultiplyByQuantizedMultiplier) before the output requantization; an int8 input has only 256 values, so
 * the generator tabulates that first step per input (exactly, with the reference arithmetic, doubled for
 * SMMULR: 1 KB of flash each) and the kernel does two loads and one requantization per element: the fast
 * form (tinyc_dsp_requant) or the general one (tinyc_dsp_requant_x), whichever the generator proved exact
 * on every sum the tables can give. Same-shape inputs run flat; broadcast inputs walk the output in
 * row-major order, the innermost dimension in a loop of its own. Element i of both inputs is read before
 * output element i is written, so it runs in place too. Bit-identical to tinyc_ref_add_s8 for the calls
 * tinyc/codegen/specialize.py hands over. */
#include "tinyc_rt.h"
#include "tinyc_rt_arm_dsp.h"

/* n outputs from inputs stepping s1 and s2 elements (0: broadcast). */
TINYC_INLINE void add_run(const tinyc_dsp_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output,
                          const int32_t *t1, const int32_t *t2, int32_t n, int32_t s1, int32_t s2, const int general)
{
    const int32_t lo = p->act_min, hi = p->act_max;
    if (general) {
        const tinyc_dsp_qx_t q = {p->out_mult, p->out_lsh, p->out_bias, p->out_add, p->out_rshift};
        const int32_t zp = p->out_zp;
        for (int32_t i = 0; i < n; ++i, in1 += s1, in2 += s2) {
            const int32_t sum = (t1[*in1] + t2[*in2]) >> 1; /* the tables hold doubled values */
            output[i] = (int8_t)tinyc_dsp_requant_x(sum, &q, zp, lo, hi);
        }
        return;
    }
    const tinyc_dsp_q_t q = {p->out_mult, p->out_add, p->out_rshift};
    for (int32_t i = 0; i < n; ++i, in1 += s1, in2 += s2) {
        const int32_t s = t1[*in1] + t2[*in2];
        int32_t v = tinyc_smmulr(s, q.mult);
        v = (v + (v >> 31) + q.add) >> q.rshift;
        output[i] = (int8_t)tinyc_dsp_clamp(v, lo, hi);
    }
}

/* The output in row-major order over out_dims, each input by its strides: the outer five dimensions
 * walked like TINYC_FOR_EACH_BROADCAST, the innermost as one run. */
static void add_bcast(const tinyc_dsp_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output,
                      const int32_t *t1, const int32_t *t2, const int general)
{
    const int32_t n = p->out_dims[5], s1 = p->in1_strides[5], s2 = p->in2_strides[5];
    int32_t idx[5] = {0, 0, 0, 0, 0};
    int32_t i1 = 0, i2 = 0;
    if (n <= 0) return;
    for (int32_t o = 0; o < p->size; o += n) {
        if (general) add_run(p, in1 + i1, in2 + i2, output + o, t1, t2, n, s1, s2, 1);
        else add_run(p, in1 + i1, in2 + i2, output + o, t1, t2, n, s1, s2, 0);
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

void tinyc_arm_dsp_add_s8(const tinyc_dsp_add_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output,
                          const int32_t *table1, const int32_t *table2)
{
    const int32_t *t1 = table1 + 128, *t2 = table2 + 128; /* indexed by the signed input */
#if defined(__GNUC__)
    __asm__("" : "+r"(t1), "+r"(t2)); /* keep the biased bases: index with the signed byte as it is */
#endif
    if (p->bcast) {
        add_bcast(p, in1, in2, output, t1, t2, p->general);
        return;
    }
    if (p->general) {
        add_run(p, in1, in2, output, t1, t2, p->size, 1, 1, 1);
        return;
    }
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
