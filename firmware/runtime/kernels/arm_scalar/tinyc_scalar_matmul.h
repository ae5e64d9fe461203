/* The scalar matrix multiply shared by conv2d_arm_scalar.c and fully_connected_arm_scalar.c.
 *
 * Weights are stored by the generator as unsigned bytes w + 128 (LDRB needs no sign extension, on ARMv6-M
 * that saves an SXTB per weight), so sum_k w[k] x[k] = sum_k (w[k] + 128) x[k] - 128 sum_k x[k]: the
 * correction is per column (per output pixel), computed once while the columns are gathered and shared by
 * every output channel. The arithmetic is modulo 2^32 and the true accumulator fits in int32 (the generator
 * proves the requantization on its range), so the result is exact.
 *
 * tinyc_scalar_mm4: for each output channel oc of [0, out_c) and each of the four columns j,
 *   acc[4 oc + j] = bias[oc] + corr[j] + sum_k wu[oc][k] * cols[4 k + j]
 * over k in [0, k4), k4 a multiple of 4 (rows padded with the weight 0, stored 128; padded column values
 * are 0). ARMv7-M: per four k, four LDRB + four LDM + 16 MLA. ARMv6-M: four LDRB + four LDM + 16 MULS +
 * 16 ADD (accumulators in r8-r11). */
#ifndef TINYC_SCALAR_MATMUL_H
#define TINYC_SCALAR_MATMUL_H

#include "tinyc_rt.h"
#include "tinyc_rt_arm_scalar.h"

typedef struct {
    const uint8_t *w;      /* [out_c][k4], advanced */
    const int32_t *cols;   /* [k4][4] */
    int32_t k4;
    const int32_t *bias;   /* [out_c], advanced */
    const int32_t *bias_end;
    int32_t *acc;          /* [out_c][4], advanced */
    int32_t corr[4];       /* -128 * sum of each column */
} tinyc_scalar_mm_t;

#if TINYC_SCALAR_V7M
__attribute__((naked, noinline, unused)) static void tinyc_scalar_mm4(tinyc_scalar_mm_t *a __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r0, r4-r11, lr}\n\t"
        "ldr    r1, [r0, #0]\n\t"   /* w */
        "ldr    r3, [r0, #12]\n\t"  /* bias */
        "ldr    r0, [r0, #20]\n\t"  /* acc */
        "1:\n\t"
        "ldr    r2, [sp]\n\t"
        "ldr    r12, [r2, #4]\n\t"  /* cols */
        "ldr    lr, [r2, #8]\n\t"   /* k4 */
        "add    lr, lr, r1\n\t"     /* the row's end */
        "ldr    r4, [r3], #4\n\t"
        "ldrd   r8, r9, [r2, #24]\n\t"
        "ldrd   r10, r11, [r2, #32]\n\t"
        "add    r8, r8, r4\n\t"
        "add    r9, r9, r4\n\t"
        "add    r10, r10, r4\n\t"
        "add    r11, r11, r4\n\t"
        "2:\n\t"
        "ldrb   r2, [r1], #1\n\t"
        "ldmia  r12!, {r4-r7}\n\t"
        "mla    r8, r2, r4, r8\n\t"
        "mla    r9, r2, r5, r9\n\t"
        "mla    r10, r2, r6, r10\n\t"
        "mla    r11, r2, r7, r11\n\t"
        "ldrb   r2, [r1], #1\n\t"
        "ldmia  r12!, {r4-r7}\n\t"
        "mla    r8, r2, r4, r8\n\t"
        "mla    r9, r2, r5, r9\n\t"
        "mla    r10, r2, r6, r10\n\t"
        "mla    r11, r2, r7, r11\n\t"
        "ldrb   r2, [r1], #1\n\t"
        "ldmia  r12!, {r4-r7}\n\t"
        "mla    r8, r2, r4, r8\n\t"
        "mla    r9, r2, r5, r9\n\t"
        "mla    r10, r2, r6, r10\n\t"
        "mla    r11, r2, r7, r11\n\t"
        "ldrb   r2, [r1], #1\n\t"
        "ldmia  r12!, {r4-r7}\n\t"
        "mla    r8, r2, r4, r8\n\t"
        "mla    r9, r2, r5, r9\n\t"
        "mla    r10, r2, r6, r10\n\t"
        "mla    r11, r2, r7, r11\n\t"
        "cmp    r1, lr\n\t"
        "bne    2b\n\t"
        "stmia  r0!, {r8-r11}\n\t"
        "ldr    r2, [sp]\n\t"
        "ldr    r2, [r2, #16]\n\t"  /* bias_end */
        "cmp    r3, r2\n\t"
        "bne    1b\n\t"
        "pop    {r0, r4-r11, pc}\n\t");
}
#elif TINYC_SCALAR_V6M
__attribute__((naked, noinline, unused)) static void tinyc_scalar_mm4(tinyc_scalar_mm_t *a __attribute__((unused)))
{
    __asm__ volatile(
        ".syntax unified\n\t"
        "push   {r4-r7, lr}\n\t"
        "mov    r4, r8\n\t"
        "mov    r5, r9\n\t"
        "mov    r6, r10\n\t"
        "mov    r7, r11\n\t"
        "push   {r0, r4-r7}\n\t"    /* sp[0]: the arguments */
        "ldr    r1, [r0, #0]\n\t"   /* w */
        "1:\n\t"
        "ldr    r3, [sp]\n\t"
        "ldr    r2, [r3, #4]\n\t"   /* cols */
        "ldr    r0, [r3, #8]\n\t"   /* k4 */
        "adds   r0, r0, r1\n\t"
        "mov    r12, r0\n\t"        /* the row's end */
        "ldr    r0, [r3, #12]\n\t"  /* bias */
        "ldm    r0!, {r7}\n\t"
        "str    r0, [r3, #12]\n\t"
        "adds   r3, #24\n\t"
        "ldm    r3!, {r4-r6}\n\t"   /* corr[0..2] */
        "ldr    r3, [r3]\n\t"       /* corr[3] */
        "adds   r4, r4, r7\n\t"
        "mov    r8, r4\n\t"
        "adds   r5, r5, r7\n\t"
        "mov    r9, r5\n\t"
        "adds   r6, r6, r7\n\t"
        "mov    r10, r6\n\t"
        "adds   r3, r3, r7\n\t"
        "mov    r11, r3\n\t"
        "2:\n\t"
        "ldrb   r0, [r1, #0]\n\t"
        "ldm    r2!, {r4-r7}\n\t"
        "muls   r4, r0, r4\n\t"
        "add    r8, r4\n\t"
        "muls   r5, r0, r5\n\t"
        "add    r9, r5\n\t"
        "muls   r6, r0, r6\n\t"
        "add    r10, r6\n\t"
        "muls   r7, r0, r7\n\t"
        "add    r11, r7\n\t"
        "ldrb   r0, [r1, #1]\n\t"
        "ldm    r2!, {r4-r7}\n\t"
        "muls   r4, r0, r4\n\t"
        "add    r8, r4\n\t"
        "muls   r5, r0, r5\n\t"
        "add    r9, r5\n\t"
        "muls   r6, r0, r6\n\t"
        "add    r10, r6\n\t"
        "muls   r7, r0, r7\n\t"
        "add    r11, r7\n\t"
        "ldrb   r0, [r1, #2]\n\t"
        "ldm    r2!, {r4-r7}\n\t"
        "muls   r4, r0, r4\n\t"
        "add    r8, r4\n\t"
        "muls   r5, r0, r5\n\t"
        "add    r9, r5\n\t"
        "muls   r6, r0, r6\n\t"
        "add    r10, r6\n\t"
        "muls   r7, r0, r7\n\t"
        "add    r11, r7\n\t"
        "ldrb   r0, [r1, #3]\n\t"
        "ldm    r2!, {r4-r7}\n\t"
        "muls   r4, r0, r4\n\t"
        "add    r8, r4\n\t"
        "muls   r5, r0, r5\n\t"
        "add    r9, r5\n\t"
        "muls   r6, r0, r6\n\t"
        "add    r10, r6\n\t"
        "muls   r7, r0, r7\n\t"
        "add    r11, r7\n\t"
        "adds   r1, r1, #4\n\t"
        "cmp    r1, r12\n\t"
        "bne    2b\n\t"
        "ldr    r3, [sp]\n\t"
        "ldr    r0, [r3, #20]\n\t"  /* acc */
        "mov    r4, r8\n\t"
        "mov    r5, r9\n\t"
        "mov    r6, r10\n\t"
        "mov    r7, r11\n\t"
        "stm    r0!, {r4-r7}\n\t"
        "str    r0, [r3, #20]\n\t"
        "ldr    r0, [r3, #12]\n\t"
        "ldr    r4, [r3, #16]\n\t"  /* bias_end */
        "cmp    r0, r4\n\t"
        "bne    1b\n\t"
        "pop    {r0, r4-r7}\n\t"
        "mov    r8, r4\n\t"
        "mov    r9, r5\n\t"
        "mov    r10, r6\n\t"
        "mov    r11, r7\n\t"
        "pop    {r4-r7, pc}\n\t");
}
#else
#if defined(__GNUC__)
__attribute__((unused))
#endif
static void tinyc_scalar_mm4(tinyc_scalar_mm_t *a)
{
    const uint8_t *w = a->w;
    int32_t *acc = a->acc;
    for (const int32_t *b = a->bias; b != a->bias_end; ++b) {
        uint32_t s0 = (uint32_t)(*b + a->corr[0]), s1 = (uint32_t)(*b + a->corr[1]);
        uint32_t s2 = (uint32_t)(*b + a->corr[2]), s3 = (uint32_t)(*b + a->corr[3]);
        const int32_t *c = a->cols;
        for (int32_t k = 0; k < a->k4; ++k, c += 4) {
            const uint32_t wk = *w++;
            s0 += wk * (uint32_t)c[0];
            s1 += wk * (uint32_t)c[1];
            s2 += wk * (uint32_t)c[2];
            s3 += wk * (uint32_t)c[3];
        }
        acc[0] = (int32_t)s0;
        acc[1] = (int32_t)s1;
        acc[2] = (int32_t)s2;
        acc[3] = (int32_t)s3;
        acc += 4;
    }
}
#endif

/* Requantize acc[out_c][4] (columns 0 .. n-1) into out[j * out_stride + oc]. */
static inline void tinyc_scalar_store(const tinyc_scalar_conv_params_t *p, const void *qv, const int32_t *acc,
                                      int8_t *out, int32_t n, int32_t out_stride)
{
    const int32_t lo = p->act_min, hi = p->act_max;
    if (!p->general && lo == -128 && hi == 127) { /* the clamp is a saturation (SSAT on ARMv7-M) */
        const tinyc_scalar_q_t *q = (const tinyc_scalar_q_t *)qv;
        for (int32_t oc = 0; oc < p->out_c; ++oc, ++q, acc += 4) {
            int8_t *o = out + oc;
            for (int32_t j = 0; j < n; ++j, o += out_stride) {
                *o = (int8_t)tinyc_clamp32(tinyc_scalar_requant(acc[j], q), -128, 127);
            }
        }
    } else if (!p->general) {
        const tinyc_scalar_q_t *q = (const tinyc_scalar_q_t *)qv;
        for (int32_t oc = 0; oc < p->out_c; ++oc, ++q, acc += 4) {
            int8_t *o = out + oc;
            for (int32_t j = 0; j < n; ++j, o += out_stride) {
                *o = (int8_t)tinyc_clamp32(tinyc_scalar_requant(acc[j], q), lo, hi);
            }
        }
    } else {
        const tinyc_scalar_qx_t *q = (const tinyc_scalar_qx_t *)qv;
        for (int32_t oc = 0; oc < p->out_c; ++oc, ++q, acc += 4) {
            int8_t *o = out + oc;
            for (int32_t j = 0; j < n; ++j, o += out_stride) {
                *o = (int8_t)tinyc_clamp32(tinyc_scalar_requant_x(acc[j], q, p->out_zp), lo, hi);
            }
        }
    }
}

#endif /* TINYC_SCALAR_MATMUL_H */
