/* FULLY_CONNECTED with one batch, int8, for cores without the DSP extension (ARMv6-M, ARMv7-M).
 *
 * The input is widened once into the scratch as int32 (k4 values, zeros past col_len); the weight rows come
 * in blocks of four interleaved by column ([block][k4][4 rows], unsigned bytes w + 128 as in
 * tinyc_scalar_matmul.h), the last out_c % 4 rows plain ([k4] each). Per four columns: one LDM of the input,
 * then per weight one LDRB and one MLA (ARMv7-M) or LDRB, MULS and ADD (ARMv6-M). The correction
 * -128 * sum(x) of the unsigned weights is one value for every row. Several batches run the convolution
 * kernel (conv2d_arm_scalar.c) as a 1x1 convolution over them. Bit-identical to tinyc_ref_fully_connected_s8
 * for the calls tinyc/codegen/specialize_arm_scalar.py hands over. */
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
__attribute__((naked, noinline)) static void fc_blocks(fc_args_t *a __attribute__((unused)))
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
__attribute__((naked, noinline)) static void fc_blocks(fc_args_t *a __attribute__((unused)))
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
static void fc_blocks(fc_args_t *a)
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

void tinyc_arm_scalar_fc_s8(const tinyc_scalar_conv_params_t *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias, const void *q, int8_t *output, int32_t *scratch)
{
    const int32_t k = p->col_len, k4 = (k + 3) & ~3, out_c = p->out_c, blocks = out_c / 4;
    const uint8_t *w = (const uint8_t *)filter;
    int32_t sum = 0;
    for (int32_t i = 0; i < k; ++i) sum += input[i];
    const int32_t corr = (int32_t)((uint32_t)sum * (uint32_t)-128);
    int32_t *acc;
    if (p->pointwise) { /* the input widened into the scratch (pointwise: 1), then the blocks' loop */
        int32_t *x = scratch;
        acc = scratch + k4;
        for (int32_t i = 0; i < k; ++i) x[i] = input[i];
        for (int32_t i = k; i < k4; ++i) x[i] = 0;
        if (blocks) {
            fc_args_t m;
            m.w = w;
            m.cols = x;
            m.k4 = k4;
            m.bias = bias;
            m.bias_end = bias + 4 * blocks;
            m.acc = acc;
            m.corr[0] = corr;
            fc_blocks(&m);
        }
    } else { /* a long input (pointwise: 0) is read as it is: the scratch holds the accumulators only */
        acc = scratch;
        const uint8_t *wb = w;
        for (int32_t oc = 0; oc < 4 * blocks; oc += 4) {
            uint32_t s0 = (uint32_t)(bias[oc] + corr), s1 = (uint32_t)(bias[oc + 1] + corr);
            uint32_t s2 = (uint32_t)(bias[oc + 2] + corr), s3 = (uint32_t)(bias[oc + 3] + corr);
            for (int32_t i = 0; i < k; ++i, wb += 4) {
                const uint32_t x = (uint32_t)(int32_t)input[i];
                s0 += wb[0] * x;
                s1 += wb[1] * x;
                s2 += wb[2] * x;
                s3 += wb[3] * x;
            }
            wb += (size_t)4 * (k4 - k);
            acc[oc] = (int32_t)s0;
            acc[oc + 1] = (int32_t)s1;
            acc[oc + 2] = (int32_t)s2;
            acc[oc + 3] = (int32_t)s3;
        }
    }
    w += (size_t)4 * blocks * k4;
    for (int32_t oc = 4 * blocks; oc < out_c; ++oc, w += k4) {
        uint32_t s = (uint32_t)(bias[oc] + corr);
        for (int32_t i = 0; i < k; ++i) s += w[i] * (uint32_t)(int32_t)input[i];
        acc[oc] = (int32_t)s;
    }
    /* requantize: one "pixel", acc[oc] */
    const int32_t lo = p->act_min, hi = p->act_max;
    if (!p->general) {
        const tinyc_scalar_q_t *qq = (const tinyc_scalar_q_t *)q;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            output[oc] = (int8_t)tinyc_clamp32(tinyc_scalar_requant(acc[oc], qq + oc), lo, hi);
        }
    } else {
        const tinyc_scalar_qx_t *qq = (const tinyc_scalar_qx_t *)q;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            output[oc] = (int8_t)tinyc_clamp32(tinyc_scalar_requant_x(acc[oc], qq + oc, p->out_zp), lo, hi);
        }
    }
}
