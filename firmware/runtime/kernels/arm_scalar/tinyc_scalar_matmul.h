/* The scalar matrix multiply of conv2d_arm_scalar.c (CONV_2D, FULLY_CONNECTED over several batches).
 *
 * Weights are stored by the generator as unsigned bytes u = w + 128 (LDRB needs no sign extension; ARMv6-M
 * has no LDRSB with an immediate offset), rows [out_c][k4], k4 = K rounded up to 4 (padding weight 0, byte
 * 128, against column value 0). So sum_k w[k] x[k] = sum_k u[k] x[k] - 128 sum_k x[k]: the correction is per
 * output pixel, computed while the columns are gathered, and added with the bias when the pixel is stored.
 * The arithmetic is modulo 2^32 and the true accumulator fits in int32 (the generator proves the
 * requantization on its range), so the result is exact.
 *
 * K is taken in chunks of at most TINYC_SCALAR_KC values (the generator's col_chunk), so the columns of a
 * block of pixels take 16 * col_chunk bytes of scratch whatever K is; the accumulators acc[out_c][PX] carry
 * the sums from one chunk to the next.
 *
 * ARMv7-M: six pixels a block, packed in pairs into one word per value, x0 + x1 * 2^23 (cols [kc][3]); one
 * LDRB of a weight feeds three SMLALs, each two multiply-accumulates in one 64-bit accumulator: the low 23
 * bits hold sum u x0 + 2^22 (|sum u x0| <= 128 * 255 * 128 < 2^22, hence chunks of at most 128 values), the
 * bits above it sum u x1. Per four values of K: 4 LDRB + 4 LDM + 12 SMLAL for 24 multiply-accumulates.
 * ARMv6-M (no long multiply) and the host: four pixels a block, one int32 per value (cols [kc][4]): per
 * value one LDRB, one LDM, 4 MULS + 4 ADD (accumulators in r8-r11). */
#ifndef TINYC_SCALAR_MATMUL_H
#define TINYC_SCALAR_MATMUL_H

#include "tinyc_rt.h"
#include "tinyc_rt_arm_scalar.h"

#if TINYC_SCALAR_V7M
#define TINYC_SCALAR_PX 6
#define TINYC_SCALAR_FIELD_BIAS ((int32_t)1 << 22) /* the even pixel's field starts at 2^22 in each chunk */
#else
#define TINYC_SCALAR_PX 4
#endif

typedef struct {
    const uint8_t *w;      /* 0: row 0's weights of this chunk; advanced by k4 per output channel */
    const int32_t *cols;   /* 4: the chunk's columns */
    int32_t kc;            /* 8: the chunk's values (a multiple of 4) */
    int32_t wskip;         /* 12: k4 - kc, from the end of a row's chunk to the next row's */
    const int32_t *bias;   /* 16: the first chunk: the biases (advanced); later chunks: NULL (accumulate) */
    int32_t *acc;          /* 20: [out_c][PX], advanced (ARMv6-M) */
    int32_t *acc_end;      /* 24 */
} tinyc_scalar_mm_t;

#if TINYC_SCALAR_V7M
#define TINYC_MM_K                                                                                             \
    "ldrb   r2, [r1], #1\n\t"                                                                                  \
    "ldmia  r3!, {r10-r12}\n\t"                                                                                \
    "smlal  r4, r5, r10, r2\n\t"                                                                               \
    "smlal  r6, r7, r11, r2\n\t"                                                                               \
    "smlal  r8, r9, r12, r2\n\t"
__attribute__((naked, noinline, unused)) static void tinyc_scalar_mm(tinyc_scalar_mm_t *a __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r0, r4-r11, lr}\n\t"
        "ldr    r1, [r0, #0]\n\t"   /* w */
        "ldr    r0, [r0, #20]\n\t"  /* acc */
        "1:\n\t"
        "mov    r4, #0x400000\n\t"
        "movs   r5, #0\n\t"
        "mov    r6, r4\n\t"
        "movs   r7, #0\n\t"
        "mov    r8, r4\n\t"
        "movs   r9, #0\n\t"
        "ldr    r2, [sp]\n\t"
        "ldr    r3, [r2, #4]\n\t"   /* cols */
        "ldr    lr, [r2, #8]\n\t"   /* kc */
        "add    lr, lr, lr, lsl #1\n\t"
        "add    lr, r3, lr, lsl #2\n\t" /* the chunk's end: cols + 12 kc bytes */
        "2:\n\t"
        TINYC_MM_K TINYC_MM_K TINYC_MM_K TINYC_MM_K
        "cmp    r3, lr\n\t"
        "bne    2b\n\t"
        "ldr    r2, [sp]\n\t"
        "ldr    r3, [r2, #12]\n\t"  /* wskip */
        "add    r1, r1, r3\n\t"
        "ldr    r3, [r2, #16]\n\t"  /* bias, or NULL */
        /* the pairs: even = the low 23 bits, odd = the bits above them */
        "lsl    r5, r5, #9\n\t"
        "orr    r5, r5, r4, lsr #23\n\t"
        "ubfx   r4, r4, #0, #23\n\t"
        "lsl    r7, r7, #9\n\t"
        "orr    r7, r7, r6, lsr #23\n\t"
        "ubfx   r6, r6, #0, #23\n\t"
        "lsl    r9, r9, #9\n\t"
        "orr    r9, r9, r8, lsr #23\n\t"
        "ubfx   r8, r8, #0, #23\n\t"
        "cbz    r3, 4f\n\t"
        "ldr    r10, [r3], #4\n\t"
        "str    r3, [r2, #16]\n\t"
        "add    r4, r4, r10\n\t"
        "add    r5, r5, r10\n\t"
        "add    r6, r6, r10\n\t"
        "add    r7, r7, r10\n\t"
        "add    r8, r8, r10\n\t"
        "add    r9, r9, r10\n\t"
        "b      5f\n\t"
        "4:\n\t"
        "ldmia  r0, {r2, r3, r10, r11, r12, lr}\n\t"
        "add    r4, r4, r2\n\t"
        "add    r5, r5, r3\n\t"
        "add    r6, r6, r10\n\t"
        "add    r7, r7, r11\n\t"
        "add    r8, r8, r12\n\t"
        "add    r9, r9, lr\n\t"
        "5:\n\t"
        "stmia  r0!, {r4-r9}\n\t"
        "ldr    r2, [sp]\n\t"
        "ldr    r2, [r2, #24]\n\t"  /* acc_end */
        "cmp    r0, r2\n\t"
        "bne    1b\n\t"
        "pop    {r0, r4-r11, pc}\n\t");
}
#undef TINYC_MM_K
#elif TINYC_SCALAR_V6M
#define TINYC_MM_K(O)                                                                                          \
    "ldrb   r0, [r1, #" O "]\n\t"                                                                               \
    "ldm    r2!, {r4-r7}\n\t"                                                                                  \
    "muls   r4, r0, r4\n\t"                                                                                    \
    "add    r8, r4\n\t"                                                                                        \
    "muls   r5, r0, r5\n\t"                                                                                    \
    "add    r9, r5\n\t"                                                                                        \
    "muls   r6, r0, r6\n\t"                                                                                    \
    "add    r10, r6\n\t"                                                                                       \
    "muls   r7, r0, r7\n\t"                                                                                    \
    "add    r11, r7\n\t"
__attribute__((naked, noinline, unused)) static void tinyc_scalar_mm(tinyc_scalar_mm_t *a __attribute__((unused)))
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
        "ldr    r0, [r3, #8]\n\t"   /* kc */
        "lsls   r0, r0, #4\n\t"
        "adds   r0, r0, r2\n\t"
        "mov    r12, r0\n\t"        /* the chunk's end: cols + 16 kc bytes */
        "ldr    r0, [r3, #16]\n\t"  /* bias, or NULL */
        "cmp    r0, #0\n\t"
        "beq    3f\n\t"
        "ldm    r0!, {r7}\n\t"
        "str    r0, [r3, #16]\n\t"
        "mov    r8, r7\n\t"
        "mov    r9, r7\n\t"
        "mov    r10, r7\n\t"
        "mov    r11, r7\n\t"
        "b      2f\n\t"
        "3:\n\t"
        "ldr    r0, [r3, #20]\n\t"  /* acc: the sums so far */
        "ldm    r0!, {r4-r7}\n\t"
        "mov    r8, r4\n\t"
        "mov    r9, r5\n\t"
        "mov    r10, r6\n\t"
        "mov    r11, r7\n\t"
        "2:\n\t"
        TINYC_MM_K("0") TINYC_MM_K("1") TINYC_MM_K("2") TINYC_MM_K("3")
        "adds   r1, r1, #4\n\t"
        "cmp    r2, r12\n\t"
        "bne    2b\n\t"
        "ldr    r3, [sp]\n\t"
        "ldr    r0, [r3, #12]\n\t"  /* wskip */
        "adds   r1, r1, r0\n\t"
        "ldr    r0, [r3, #20]\n\t"  /* acc */
        "mov    r4, r8\n\t"
        "mov    r5, r9\n\t"
        "mov    r6, r10\n\t"
        "mov    r7, r11\n\t"
        "stm    r0!, {r4-r7}\n\t"
        "str    r0, [r3, #20]\n\t"
        "ldr    r4, [r3, #24]\n\t"  /* acc_end */
        "cmp    r0, r4\n\t"
        "bne    1b\n\t"
        "pop    {r0, r4-r7}\n\t"
        "mov    r8, r4\n\t"
        "mov    r9, r5\n\t"
        "mov    r10, r6\n\t"
        "mov    r11, r7\n\t"
        "pop    {r4-r7, pc}\n\t");
}
#undef TINYC_MM_K
#else
#if defined(__GNUC__)
__attribute__((unused))
#endif
static void tinyc_scalar_mm(tinyc_scalar_mm_t *a)
{
    const uint8_t *w = a->w;
    const int32_t *b = a->bias;
    for (int32_t *acc = a->acc; acc != a->acc_end; acc += 4, w += a->wskip) {
        uint32_t s0, s1, s2, s3;
        if (b != NULL) {
            s0 = s1 = s2 = s3 = (uint32_t)*b++;
        } else {
            s0 = (uint32_t)acc[0], s1 = (uint32_t)acc[1], s2 = (uint32_t)acc[2], s3 = (uint32_t)acc[3];
        }
        const int32_t *c = a->cols;
        for (int32_t k = 0; k < a->kc; ++k, c += 4) {
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
    }
}
#endif

#endif /* TINYC_SCALAR_MATMUL_H */
