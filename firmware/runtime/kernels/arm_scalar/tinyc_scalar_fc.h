/* The one-batch matrix-vector product of fully_connected_arm_scalar.c, shared with the scalar LSTM's gates
 * (unidirectional_sequence_lstm_arm_scalar.c): rows in blocks of four interleaved by column ([block][k4][4],
 * unsigned bytes w + 128 as in tinyc_scalar_matmul.h) against an input widened to int32 ([k4], zeros past its
 * length). Per four columns: one LDM of the input, then per weight one LDRB and one MLA (ARMv7-M) or LDRB,
 * MULS and ADD (ARMv6-M); corr[0] (-128 * the input's sum) is added to every row's bias. */
#ifndef TINYC_SCALAR_FC_H
#define TINYC_SCALAR_FC_H

#include "tinyc_rt.h"
#include "tinyc_rt_arm_scalar.h"

/* The one-batch blocks' arguments (the offsets the assembly reads). */
typedef struct {
    const uint8_t *w;      /* [blocks][k4][4], advanced */
    const int32_t *cols;   /* the input widened, [k4] */
    int32_t k4;
    const int32_t *bias;   /* [4 * blocks], advanced */
    const int32_t *bias_end;
    int32_t *acc;          /* [4 * blocks], advanced */
    int32_t corr[4];       /* corr[0]: -128 * the input's sum */
} fc_args_t;

#if TINYC_SCALAR_V7M
__attribute__((naked, noinline, unused)) static void fc_blocks(fc_args_t *a __attribute__((unused)))
{
#define FC_K(X)                                                                                      \
    "ldrb   r2, [r1], #1\n\t"                                                                          \
    "mla    r8, r2, " X ", r8\n\t"                                                                     \
    "ldrb   r2, [r1], #1\n\t"                                                                          \
    "mla    r9, r2, " X ", r9\n\t"                                                                     \
    "ldrb   r2, [r1], #1\n\t"                                                                          \
    "mla    r10, r2, " X ", r10\n\t"                                                                   \
    "ldrb   r2, [r1], #1\n\t"                                                                          \
    "mla    r11, r2, " X ", r11\n\t"
    __asm__ volatile(
        "push   {r0, r4-r11, lr}\n\t"
        "ldr    r1, [r0, #0]\n\t"   /* w */
        "ldr    r3, [r0, #12]\n\t"  /* bias */
        "ldr    r0, [r0, #20]\n\t"  /* acc */
        "1:\n\t"
        "ldr    r2, [sp]\n\t"
        "ldr    r12, [r2, #4]\n\t"  /* x */
        "ldr    lr, [r2, #8]\n\t"   /* k4 */
        "add    lr, r12, lr, lsl #2\n\t"
        "ldr    r2, [r2, #24]\n\t"  /* corr */
        "ldmia  r3!, {r8-r11}\n\t"
        "add    r8, r8, r2\n\t"
        "add    r9, r9, r2\n\t"
        "add    r10, r10, r2\n\t"
        "add    r11, r11, r2\n\t"
        "2:\n\t"
        "ldmia  r12!, {r4-r7}\n\t"
        FC_K("r4") FC_K("r5") FC_K("r6") FC_K("r7")
        "cmp    r12, lr\n\t"
        "bne    2b\n\t"
        "stmia  r0!, {r8-r11}\n\t"
        "ldr    r2, [sp]\n\t"
        "ldr    r2, [r2, #16]\n\t"  /* the blocks' bias end */
        "cmp    r3, r2\n\t"
        "bne    1b\n\t"
        "pop    {r0, r4-r11, pc}\n\t");
#undef FC_K
}
#elif TINYC_SCALAR_V6M
__attribute__((naked, noinline, unused)) static void fc_blocks(fc_args_t *a __attribute__((unused)))
{
#define FC_K(X, O0, O1, O2, O3)                                                                      \
    "ldrb   r0, [r1, #" O0 "]\n\t"                                                                     \
    "muls   r0, " X ", r0\n\t"                                                                         \
    "add    r8, r0\n\t"                                                                                \
    "ldrb   r0, [r1, #" O1 "]\n\t"                                                                     \
    "muls   r0, " X ", r0\n\t"                                                                         \
    "add    r9, r0\n\t"                                                                                \
    "ldrb   r0, [r1, #" O2 "]\n\t"                                                                     \
    "muls   r0, " X ", r0\n\t"                                                                         \
    "add    r10, r0\n\t"                                                                               \
    "ldrb   r0, [r1, #" O3 "]\n\t"                                                                     \
    "muls   r0, " X ", r0\n\t"                                                                         \
    "add    r11, r0\n\t"
    __asm__ volatile(
        ".syntax unified\n\t"
        "push   {r4-r7, lr}\n\t"
        "mov    r4, r8\n\t"
        "mov    r5, r9\n\t"
        "mov    r6, r10\n\t"
        "mov    r7, r11\n\t"
        "push   {r0, r4-r7}\n\t"
        "ldr    r1, [r0, #0]\n\t"   /* w */
        "1:\n\t"
        "ldr    r3, [sp]\n\t"
        "ldr    r2, [r3, #4]\n\t"   /* x */
        "ldr    r0, [r3, #8]\n\t"   /* k4 */
        "lsls   r0, r0, #2\n\t"
        "adds   r0, r0, r2\n\t"
        "mov    r12, r0\n\t"
        "ldr    r0, [r3, #12]\n\t"  /* bias */
        "ldm    r0!, {r4-r7}\n\t"
        "str    r0, [r3, #12]\n\t"
        "ldr    r0, [r3, #24]\n\t"  /* corr */
        "adds   r4, r4, r0\n\t"
        "mov    r8, r4\n\t"
        "adds   r5, r5, r0\n\t"
        "mov    r9, r5\n\t"
        "adds   r6, r6, r0\n\t"
        "mov    r10, r6\n\t"
        "adds   r7, r7, r0\n\t"
        "mov    r11, r7\n\t"
        "2:\n\t"
        "ldm    r2!, {r4-r7}\n\t"
        FC_K("r4", "0", "1", "2", "3") FC_K("r5", "4", "5", "6", "7")
        FC_K("r6", "8", "9", "10", "11") FC_K("r7", "12", "13", "14", "15")
        "adds   r1, #16\n\t"
        "cmp    r2, r12\n\t"
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
        "ldr    r4, [r3, #16]\n\t"
        "cmp    r0, r4\n\t"
        "bne    1b\n\t"
        "pop    {r0, r4-r7}\n\t"
        "mov    r8, r4\n\t"
        "mov    r9, r5\n\t"
        "mov    r10, r6\n\t"
        "mov    r11, r7\n\t"
        "pop    {r4-r7, pc}\n\t");
#undef FC_K
}
#else
__attribute__((unused)) static void fc_blocks(fc_args_t *a)
{
    const uint8_t *w = a->w;
    int32_t *acc = a->acc;
    for (const int32_t *b = a->bias; b != a->bias_end; b += 4, acc += 4) {
        uint32_t s0 = (uint32_t)(b[0] + a->corr[0]), s1 = (uint32_t)(b[1] + a->corr[0]);
        uint32_t s2 = (uint32_t)(b[2] + a->corr[0]), s3 = (uint32_t)(b[3] + a->corr[0]);
        for (int32_t k = 0; k < a->k4; ++k, w += 4) {
            const uint32_t x = (uint32_t)a->cols[k];
            s0 += w[0] * x;
            s1 += w[1] * x;
            s2 += w[2] * x;
            s3 += w[3] * x;
        }
        acc[0] = (int32_t)s0;
        acc[1] = (int32_t)s1;
        acc[2] = (int32_t)s2;
        acc[3] = (int32_t)s3;
    }
}
#endif

#endif /* TINYC_SCALAR_FC_H */
