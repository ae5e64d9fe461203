/* The matrix multiply behind CONV_2D and FULLY_CONNECTED, int8, Helium (MVE): 4 output channels x 2
 * pixels per pass, VMLADAVA.S8 over 16-byte chunks of the weight rows and the columns, the last chunk
 * of a column tail-predicated (VCTP.8), the requantization four channels per vector.
 *
 * Per 16-byte chunk of a 4x2 block: 2 column loads, 4 weight loads, 8 VMLADAVA = 128 MACs.
 *
 * Included by conv2d_arm_mve.c and fully_connected_arm_mve.c (only the ops a model uses are copied
 * into its sources): the entry points are weak definitions, so a model with both keeps one copy.
 * Bit-identical to tinyc_ref_conv2d_s8 / tinyc_ref_fully_connected_s8 (and the in-place reference
 * kernels) for the calls the generator hands over (tinyc/codegen/specialize_mve.py). */
#ifndef TINYC_MVE_MATMUL_H
#define TINYC_MVE_MATMUL_H

#if !defined(__ARM_FEATURE_MVE) || !(__ARM_FEATURE_MVE & 1)
#error "the arm_mve kernels need Helium (MVE integer instructions): build with -mcpu=cortex-m55"
#endif

#include <arm_mve.h>

#include "inplace_rows.h"
#include "tinyc_rt.h"
#include "tinyc_rt_arm_mve.h"

/* n bytes, any n >= 0 and alignment: whole 16-byte chunks, then one predicated chunk. */
static inline void mve_copy8(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 16; n -= 16, src += 16, dst += 16) vstrbq_s8(dst, vldrbq_s8(src));
    if (n > 0) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
    }
}

static inline void mve_fill8(int8_t *dst, int32_t n, int8x16_t v)
{
    for (; n >= 16; n -= 16, dst += 16) vstrbq_s8(dst, v);
    if (n > 0) vstrbq_p_s8(dst, v, vctp8q((uint32_t)n));
}

/* Requantize 4 channels' accumulators (bias included) and store the lanes `pred` keeps. */
static inline void mve_requant_store(int32x4_t acc, int32x4_t mult, int32x4_t add, int32x4_t nsh, int32x4_t lo,
                                     int32x4_t hi, int8_t *out, mve_pred16_t pred)
{
    int32x4_t v = vrmulhq_s32(vshlq_n_s32(acc, 1), mult);
    v = vaddq_s32(v, vshrq_n_s32(v, 31));
    v = vshlq_s32(vaddq_s32(v, add), nsh);
    v = vminq_s32(vmaxq_s32(v, lo), hi);
    vstrbq_p_s32(out, v, pred);
}

/* The 4x2 block in assembly: GCC 12 cannot hold the eight VMLADAVA accumulators (even registers only) and
 * the pointers without moves, and reloads the block's state around every group. tinyc_mve_mm4x2(ctx):
 * every output channel of two pixels whose zero-padded columns (ctx->chunks whole 16-byte chunks, >= 1)
 * are at x0 and x1, in the fast requantization form; ctx->bias, q, o0, o1 are advanced (the caller sets
 * them per call). Per group of 4 channels: the first chunk VMLADAV (no accumulator to clear), the rest
 * VMLADAVA two chunks per loop pass (6 loads, 8 VMLADAVA per chunk, every load post-incremented), then
 * four VMOVs move the 8 sums into two vectors and the requantization runs on both (VQRDMULH(acc, m) is
 * VRMULH(2 acc, m) for |acc| < 2^30, which the generator's proof requires), the store predicated by
 * VCTP.32 of the channels left (out_c need not be a multiple of 4). Registers: sums in r0 r2 r4 r6 r8 r10
 * r12 lr (VMLADAVA takes even registers), x0 r1, x1 r3, weights r5, chunk count r7, ctx r9, channels left
 * r11; act_min/act_max in q4/q5. Weak: conv2d_arm_mve.c and fully_connected_arm_mve.c both include it. */
typedef struct {
    const int8_t *x0, *x1;   /* 0, 4: the two columns */
    const int8_t *w;         /* 8: packed weights (tinyc_arm_mve_matmul_s8's layout) */
    const int32_t *bias;     /* 12: advanced by the kernel */
    const tinyc_mve_q4_t *q; /* 16: advanced */
    int8_t *o0, *o1;         /* 20, 24: the two pixels' outputs, advanced */
    int32_t out_c;           /* 28 */
    int32_t chunks;          /* 32: whole 16-byte chunks per column, >= 1 */
    int32_t act_min, act_max; /* 36, 40 */
    /* 44, 48: when not NULL, column j is first gathered into x_j from the k_h rows rows_j[ky] + off_j,
     * seg bytes each (tail-predicated copies: no byte past a row is read, none past col_len written) */
    const int8_t *const *rows0, *const *rows1;
    int32_t kh, seg;          /* 52, 56 */
    int32_t off0, off1;       /* 60, 64 */
    /* 68: 0: the k_h rows are copied; 1 / 2: the window (from rows_j[0] + off_j) is gathered by a table of
     * 8-bit (16 per chunk) / 16-bit (8 per gather) byte offsets at 72, 76 table vectors */
    int32_t mode;
    const void *table;
    int32_t tvecs;
} mve_mm_ctx_t;

void tinyc_mve_mm4x2(mve_mm_ctx_t *ctx);

#define MVE_MM_CHUNK(op)                                                                                    \
    "vldrb.u8 q0, [r1], #16\n\t"                                                                            \
    "vldrb.u8 q1, [r3], #16\n\t"                                                                            \
    "vldrb.u8 q2, [r5], #16\n\t" op ".s8 r0, q2, q0\n\t" op ".s8 r2, q2, q1\n\t"                           \
    "vldrb.u8 q3, [r5], #16\n\t" op ".s8 r4, q3, q0\n\t" op ".s8 r6, q3, q1\n\t"                           \
    "vldrb.u8 q2, [r5], #16\n\t" op ".s8 r8, q2, q0\n\t" op ".s8 r10, q2, q1\n\t"                          \
    "vldrb.u8 q3, [r5], #16\n\t" op ".s8 r12, q3, q0\n\t" op ".s8 lr, q3, q1\n\t"

__asm__(
    "\t.pushsection .text.tinyc_mve_mm4x2,\"ax\",%progbits\n"
    "\t.syntax unified\n"
    "\t.thumb\n"
    "\t.p2align 2\n"
    "\t.weak tinyc_mve_mm4x2\n"
    "\t.type tinyc_mve_mm4x2, %function\n"
    "\t.thumb_func\n"
    "tinyc_mve_mm4x2:\n\t"
    "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
    "vpush {d8-d11}\n\t"
    "mov r9, r0\n\t"
    "ldrd r0, r2, [r9, #36]\n\t"
    "vdup.32 q4, r0\n\t"
    "vdup.32 q5, r2\n\t"
    "ldr r4, [r9, #44]\n\t"
    "cbz r4, 4f\n\t"
    "ldr r6, [r9, #60]\n\t"
    "ldr r7, [r9, #0]\n\t"
    "bl 6f\n"
    "4:\n\t"
    "ldr r4, [r9, #48]\n\t"
    "cbz r4, 5f\n\t"
    "ldr r6, [r9, #64]\n\t"
    "ldr r7, [r9, #4]\n\t"
    "bl 6f\n"
    "5:\n\t"
    "ldr r5, [r9, #8]\n\t"
    "ldr r11, [r9, #28]\n"
    "1:\n\t"
    "ldrd r1, r3, [r9, #0]\n\t"
    "ldr r7, [r9, #32]\n\t"
    MVE_MM_CHUNK("vmladav")
    "subs r7, r7, #1\n\t"
    "beq 3f\n\t"
    "tst r7, #1\n\t"
    "beq 2f\n\t"
    MVE_MM_CHUNK("vmladava")
    "subs r7, r7, #1\n\t"
    "beq 3f\n"
    "2:\n\t"
    MVE_MM_CHUNK("vmladava")
    MVE_MM_CHUNK("vmladava")
    "subs r7, r7, #2\n\t"
    "bne 2b\n"
    "3:\n\t"
    "vmov q0[2], q0[0], r0, r8\n\t"
    "vmov q0[3], q0[1], r4, r12\n\t"
    "vmov q1[2], q1[0], r2, r10\n\t"
    "vmov q1[3], q1[1], r6, lr\n\t"
    "ldrd r0, r2, [r9, #12]\n\t"
    "vldrw.u32 q2, [r0], #16\n\t"
    "vadd.i32 q0, q0, q2\n\t"
    "vadd.i32 q1, q1, q2\n\t"
    "vldrw.u32 q2, [r2], #16\n\t"
    "vqrdmulh.s32 q0, q0, q2\n\t"
    "vqrdmulh.s32 q1, q1, q2\n\t"
    "vshr.s32 q3, q0, #31\n\t"
    "vadd.i32 q0, q0, q3\n\t"
    "vshr.s32 q3, q1, #31\n\t"
    "vadd.i32 q1, q1, q3\n\t"
    "vldrw.u32 q2, [r2], #16\n\t"
    "vadd.i32 q0, q0, q2\n\t"
    "vadd.i32 q1, q1, q2\n\t"
    "vldrw.u32 q2, [r2], #16\n\t"
    "vshl.s32 q0, q0, q2\n\t"
    "vshl.s32 q1, q1, q2\n\t"
    "strd r0, r2, [r9, #12]\n\t"
    "vmax.s32 q0, q0, q4\n\t"
    "vmax.s32 q1, q1, q4\n\t"
    "vmin.s32 q0, q0, q5\n\t"
    "vmin.s32 q1, q1, q5\n\t"
    "ldrd r0, r2, [r9, #20]\n\t"
    "vctp.32 r11\n\t"
    "vpstt\n\t"
    "vstrbt.32 q0, [r0], #4\n\t"
    "vstrbt.32 q1, [r2], #4\n\t"
    "strd r0, r2, [r9, #20]\n\t"
    "subs r11, r11, #4\n\t"
    "bgt 1b\n\t"
    "vpop {d8-d11}\n\t"
    "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n"
    /* the gather: rows r4, offset r6, column r7; a DLSTP/LETP copy per row (3 instructions per chunk) */
    "6:\n\t"
    "mov r12, lr\n\t"
    "ldr r3, [r9, #68]\n\t"
    "cbnz r3, 9f\n\t"
    "ldrd r10, r11, [r9, #52]\n"
    "7:\n\t"
    "ldr r0, [r4], #4\n\t"
    "add r0, r0, r6\n\t"
    "mov r2, r7\n\t"
    "dlstp.8 lr, r11\n"
    "8:\n\t"
    "vldrb.u8 q0, [r0], #16\n\t"
    "vstrb.8 q0, [r2], #16\n\t"
    "letp lr, 8b\n\t"
    "add r7, r7, r11\n\t"
    "subs r10, r10, #1\n\t"
    "bne 7b\n\t"
    "bx r12\n"
    /* by the offset table: one gather and one store per 16 (8-bit offsets) or 8 bytes (16-bit) */
    "9:\n\t"
    "ldr r0, [r4]\n\t"
    "add r0, r0, r6\n\t"
    "ldrd r2, lr, [r9, #72]\n\t"
    "cmp r3, #1\n\t"
    "dls lr, lr\n\t"
    "bne 11f\n"
    "10:\n\t"
    "vldrb.u8 q1, [r2], #16\n\t"
    "vldrb.u8 q0, [r0, q1]\n\t"
    "vstrb.8 q0, [r7], #16\n\t"
    "le lr, 10b\n\t"
    "bx r12\n"
    "11:\n\t"
    "vldrh.u16 q1, [r2], #16\n\t"
    "vldrb.u16 q0, [r0, q1]\n\t"
    "vstrb.16 q0, [r7], #8\n\t"
    "le lr, 11b\n\t"
    "bx r12\n"
    "\t.size tinyc_mve_mm4x2, .-tinyc_mve_mm4x2\n"
    "\t.popsection\n");

/* Every output channel of two pixels whose columns (k bytes: col_len, or col_len16 when the columns are
 * zero-padded) are at c0 and c1. A last partial chunk is read with tail-predicated loads. */
static void mve_cols2(const tinyc_mve_conv_params_t *p, int32_t k, const int8_t *w, const int32_t *bias,
                      const tinyc_mve_q4_t *q, const int8_t *c0, const int8_t *c1, int8_t *o0, int8_t *o1)
{
    const int32_t oc = p->out_c;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    for (int32_t g = 0; g < oc; g += 4, bias += 4, ++q) {
        int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0, a20 = 0, a21 = 0, a30 = 0, a31 = 0; /* row, column */
        const int8_t *x0 = c0, *x1 = c1;
        int32_t n = k;
        for (; n >= 16; n -= 16, x0 += 16, x1 += 16, w += 64) {
            const int8x16_t v0 = vldrbq_s8(x0), v1 = vldrbq_s8(x1);
            int8x16_t wr = vldrbq_s8(w);
            a00 = vmladavaq_s8(a00, wr, v0);
            a01 = vmladavaq_s8(a01, wr, v1);
            wr = vldrbq_s8(w + 16);
            a10 = vmladavaq_s8(a10, wr, v0);
            a11 = vmladavaq_s8(a11, wr, v1);
            wr = vldrbq_s8(w + 32);
            a20 = vmladavaq_s8(a20, wr, v0);
            a21 = vmladavaq_s8(a21, wr, v1);
            wr = vldrbq_s8(w + 48);
            a30 = vmladavaq_s8(a30, wr, v0);
            a31 = vmladavaq_s8(a31, wr, v1);
        }
        if (n > 0) { /* a last partial chunk: weight rows are zero-padded to col_len16 */
            const mve_pred16_t tp = vctp8q((uint32_t)n);
            const int8x16_t v0 = vldrbq_z_s8(x0, tp), v1 = vldrbq_z_s8(x1, tp);
            int8x16_t wr = vldrbq_s8(w);
            a00 = vmladavaq_s8(a00, wr, v0);
            a01 = vmladavaq_s8(a01, wr, v1);
            wr = vldrbq_s8(w + 16);
            a10 = vmladavaq_s8(a10, wr, v0);
            a11 = vmladavaq_s8(a11, wr, v1);
            wr = vldrbq_s8(w + 32);
            a20 = vmladavaq_s8(a20, wr, v0);
            a21 = vmladavaq_s8(a21, wr, v1);
            wr = vldrbq_s8(w + 48);
            a30 = vmladavaq_s8(a30, wr, v0);
            a31 = vmladavaq_s8(a31, wr, v1);
            w += 64;
        }
        const int32x4_t b = vldrwq_s32(bias);
        const int32x4_t mult = vldrwq_s32(q->mult), add = vldrwq_s32(q->add), nsh = vldrwq_s32(q->neg_rshift);
        const mve_pred16_t keep = vctp32q((uint32_t)(oc - g));
        int32x4_t acc = vsetq_lane_s32(a30, vsetq_lane_s32(a20, vsetq_lane_s32(a10, vdupq_n_s32(a00), 1), 2), 3);
        mve_requant_store(vaddq_s32(acc, b), mult, add, nsh, lo, hi, o0 + g, keep);
        acc = vsetq_lane_s32(a31, vsetq_lane_s32(a21, vsetq_lane_s32(a11, vdupq_n_s32(a01), 1), 2), 3);
        mve_requant_store(vaddq_s32(acc, b), mult, add, nsh, lo, hi, o1 + g, keep);
    }
}

/* Every output channel of one pixel (FULLY_CONNECTED with one batch, an odd last pixel). */
static void mve_cols1(const tinyc_mve_conv_params_t *p, int32_t k, const int8_t *w, const int32_t *bias,
                      const tinyc_mve_q4_t *q, const int8_t *c0, int8_t *o0)
{
    const int32_t oc = p->out_c;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    for (int32_t g = 0; g < oc; g += 4, bias += 4, ++q) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const int8_t *x0 = c0;
        int32_t n = k;
        for (; n >= 16; n -= 16, x0 += 16, w += 64) {
            const int8x16_t v0 = vldrbq_s8(x0);
            a0 = vmladavaq_s8(a0, vldrbq_s8(w), v0);
            a1 = vmladavaq_s8(a1, vldrbq_s8(w + 16), v0);
            a2 = vmladavaq_s8(a2, vldrbq_s8(w + 32), v0);
            a3 = vmladavaq_s8(a3, vldrbq_s8(w + 48), v0);
        }
        if (n > 0) {
            const int8x16_t v0 = vldrbq_z_s8(x0, vctp8q((uint32_t)n));
            a0 = vmladavaq_s8(a0, vldrbq_s8(w), v0);
            a1 = vmladavaq_s8(a1, vldrbq_s8(w + 16), v0);
            a2 = vmladavaq_s8(a2, vldrbq_s8(w + 32), v0);
            a3 = vmladavaq_s8(a3, vldrbq_s8(w + 48), v0);
            w += 64;
        }
        const int32x4_t acc = vsetq_lane_s32(a3, vsetq_lane_s32(a2, vsetq_lane_s32(a1, vdupq_n_s32(a0), 1), 2), 3);
        mve_requant_store(vaddq_s32(acc, vldrwq_s32(bias)), vldrwq_s32(q->mult), vldrwq_s32(q->add),
                          vldrwq_s32(q->neg_rshift), lo, hi, o0 + g, vctp32q((uint32_t)(oc - g)));
    }
}

/* The general form (a tinyc_mve_qx4_t at qx) of 4 channels' accumulators; store the lanes `pred` keeps. */
static inline void mve_requant_store_x(int32x4_t acc, const int32_t *qx, int32_t zp, int32x4_t lo, int32x4_t hi,
                                       int8_t *out, mve_pred16_t pred)
{
    int32x4_t v = vrmulhq_s32(vshlq_s32(acc, vldrwq_s32(qx + 4)), vldrwq_s32(qx));
    v = vaddq_s32(v, vldrwq_s32(qx + 8));
    v = vaddq_s32(v, vshrq_n_s32(v, 31));
    v = vshlq_s32(vaddq_s32(v, vldrwq_s32(qx + 12)), vldrwq_s32(qx + 16));
    v = vaddq_n_s32(v, zp);
    v = vminq_s32(vmaxq_s32(v, lo), hi);
    vstrbq_p_s32(out, v, pred);
}

/* mve_cols2 for a layer in the general requantization form (tinyc_mve_qx4_t records at q4). */
static void mve_cols2_x(const tinyc_mve_conv_params_t *p, int32_t k, const int8_t *w, const int32_t *bias,
                      const tinyc_mve_q4_t *q4, const int8_t *c0, const int8_t *c1, int8_t *o0, int8_t *o1)
{
    const int32_t oc = p->out_c;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int32_t *qx = (const int32_t *)(const void *)q4;
    for (int32_t g = 0; g < oc; g += 4, bias += 4, qx += 20) {
        int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0, a20 = 0, a21 = 0, a30 = 0, a31 = 0; /* row, column */
        const int8_t *x0 = c0, *x1 = c1;
        int32_t n = k;
        for (; n >= 16; n -= 16, x0 += 16, x1 += 16, w += 64) {
            const int8x16_t v0 = vldrbq_s8(x0), v1 = vldrbq_s8(x1);
            int8x16_t wr = vldrbq_s8(w);
            a00 = vmladavaq_s8(a00, wr, v0);
            a01 = vmladavaq_s8(a01, wr, v1);
            wr = vldrbq_s8(w + 16);
            a10 = vmladavaq_s8(a10, wr, v0);
            a11 = vmladavaq_s8(a11, wr, v1);
            wr = vldrbq_s8(w + 32);
            a20 = vmladavaq_s8(a20, wr, v0);
            a21 = vmladavaq_s8(a21, wr, v1);
            wr = vldrbq_s8(w + 48);
            a30 = vmladavaq_s8(a30, wr, v0);
            a31 = vmladavaq_s8(a31, wr, v1);
        }
        if (n > 0) { /* a last partial chunk: weight rows are zero-padded to col_len16 */
            const mve_pred16_t tp = vctp8q((uint32_t)n);
            const int8x16_t v0 = vldrbq_z_s8(x0, tp), v1 = vldrbq_z_s8(x1, tp);
            int8x16_t wr = vldrbq_s8(w);
            a00 = vmladavaq_s8(a00, wr, v0);
            a01 = vmladavaq_s8(a01, wr, v1);
            wr = vldrbq_s8(w + 16);
            a10 = vmladavaq_s8(a10, wr, v0);
            a11 = vmladavaq_s8(a11, wr, v1);
            wr = vldrbq_s8(w + 32);
            a20 = vmladavaq_s8(a20, wr, v0);
            a21 = vmladavaq_s8(a21, wr, v1);
            wr = vldrbq_s8(w + 48);
            a30 = vmladavaq_s8(a30, wr, v0);
            a31 = vmladavaq_s8(a31, wr, v1);
            w += 64;
        }
        const int32x4_t b = vldrwq_s32(bias);
        const mve_pred16_t keep = vctp32q((uint32_t)(oc - g));
        int32x4_t acc = vsetq_lane_s32(a30, vsetq_lane_s32(a20, vsetq_lane_s32(a10, vdupq_n_s32(a00), 1), 2), 3);
        mve_requant_store_x(vaddq_s32(acc, b), qx, p->out_zp, lo, hi, o0 + g, keep);
        acc = vsetq_lane_s32(a31, vsetq_lane_s32(a21, vsetq_lane_s32(a11, vdupq_n_s32(a01), 1), 2), 3);
        mve_requant_store_x(vaddq_s32(acc, b), qx, p->out_zp, lo, hi, o1 + g, keep);
    }
}

/* mve_cols1 for a layer in the general requantization form. */
static void mve_cols1_x(const tinyc_mve_conv_params_t *p, int32_t k, const int8_t *w, const int32_t *bias,
                      const tinyc_mve_q4_t *q4, const int8_t *c0, int8_t *o0)
{
    const int32_t oc = p->out_c;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int32_t *qx = (const int32_t *)(const void *)q4;
    for (int32_t g = 0; g < oc; g += 4, bias += 4, qx += 20) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const int8_t *x0 = c0;
        int32_t n = k;
        for (; n >= 16; n -= 16, x0 += 16, w += 64) {
            const int8x16_t v0 = vldrbq_s8(x0);
            a0 = vmladavaq_s8(a0, vldrbq_s8(w), v0);
            a1 = vmladavaq_s8(a1, vldrbq_s8(w + 16), v0);
            a2 = vmladavaq_s8(a2, vldrbq_s8(w + 32), v0);
            a3 = vmladavaq_s8(a3, vldrbq_s8(w + 48), v0);
        }
        if (n > 0) {
            const int8x16_t v0 = vldrbq_z_s8(x0, vctp8q((uint32_t)n));
            a0 = vmladavaq_s8(a0, vldrbq_s8(w), v0);
            a1 = vmladavaq_s8(a1, vldrbq_s8(w + 16), v0);
            a2 = vmladavaq_s8(a2, vldrbq_s8(w + 32), v0);
            a3 = vmladavaq_s8(a3, vldrbq_s8(w + 48), v0);
            w += 64;
        }
        const int32x4_t acc = vsetq_lane_s32(a3, vsetq_lane_s32(a2, vsetq_lane_s32(a1, vdupq_n_s32(a0), 1), 2), 3);
        mve_requant_store_x(vaddq_s32(acc, vldrwq_s32(bias)), qx, p->out_zp, lo, hi, o0 + g,
                            vctp32q((uint32_t)(oc - g)));
    }
}

/* The requantization form's column functions, chosen once per call (a layer's channels share one form). */
typedef void (*mve_cols2_fn)(const tinyc_mve_conv_params_t *, int32_t, const int8_t *, const int32_t *,
                             const tinyc_mve_q4_t *, const int8_t *, const int8_t *, int8_t *, int8_t *);
typedef void (*mve_cols1_fn)(const tinyc_mve_conv_params_t *, int32_t, const int8_t *, const int32_t *,
                             const tinyc_mve_q4_t *, const int8_t *, int8_t *);
/* mve_cols2 through the assembly block: k a multiple of 16. */
static void mve_cols2_asm(const tinyc_mve_conv_params_t *p, int32_t k, const int8_t *w, const int32_t *bias,
                          const tinyc_mve_q4_t *q, const int8_t *c0, const int8_t *c1, int8_t *o0, int8_t *o1)
{
    mve_mm_ctx_t c;
    c.x0 = c0;
    c.x1 = c1;
    c.w = w;
    c.bias = bias;
    c.q = q;
    c.o0 = o0;
    c.o1 = o1;
    c.out_c = p->out_c;
    c.chunks = k >> 4;
    c.act_min = p->act_min;
    c.act_max = p->act_max;
    c.rows0 = c.rows1 = NULL;
    c.mode = 0;
    tinyc_mve_mm4x2(&c);
}

#define MVE_COLS2(p) ((p)->general ? mve_cols2_x : mve_cols2)
#define MVE_COLS1(p) ((p)->general ? mve_cols1_x : mve_cols1)

/* One im2col column of output pixel column ox whose k_h input rows are at rows[ky] (NULL: padding),
 * into `col` (col_len bytes; the taps outside the input hold the input zero point). */
static void mve_gather(const tinyc_mve_conv_params_t *p, const int8_t *const *rows, int32_t ox, int8_t *col)
{
    const int32_t ic = p->in_c, kw = p->k_w, ix0 = ox * p->stride_w - p->pad_w, row = kw * ic;
    const int8x16_t pad = vdupq_n_s8((int8_t)p->pad_value);
    if (p->dil_w == 1 && ix0 >= 0 && ix0 + kw <= p->in_w) { /* the columns inside: whole rows or padding */
        const size_t off = (size_t)ix0 * ic;
        if ((row & 15) == 0) {
            for (int32_t ky = 0; ky < p->k_h; ++ky) {
                const int8_t *s = rows[ky];
                if (!s) {
                    for (int32_t n = row >> 4; n > 0; --n, col += 16) vstrbq_s8(col, pad);
                    continue;
                }
                s += off;
                for (int32_t n = row >> 4; n > 0; --n, col += 16, s += 16) vstrbq_s8(col, vldrbq_s8(s));
            }
            return;
        }
        for (int32_t ky = 0; ky < p->k_h; ++ky, col += row) {
            if (rows[ky]) mve_copy8(col, rows[ky] + off, row);
            else mve_fill8(col, row, pad);
        }
        return;
    }
    for (int32_t ky = 0; ky < p->k_h; ++ky, col += row) {
        const int8_t *src = rows[ky];
        if (!src) {
            mve_fill8(col, row, pad);
        } else if (p->dil_w == 1) { /* padding, the taps inside (contiguous), padding */
            const int32_t kx0 = ix0 < 0 ? tinyc_min32(-ix0, kw) : 0;
            const int32_t kx1 = tinyc_max32(kx0, tinyc_min32(kw, p->in_w - ix0));
            mve_fill8(col, kx0 * ic, pad);
            mve_copy8(col + kx0 * ic, src + (ix0 + kx0) * ic, (kx1 - kx0) * ic);
            mve_fill8(col + kx1 * ic, (kw - kx1) * ic, pad);
        } else {
            for (int32_t kx = 0; kx < kw; ++kx) {
                const int32_t ix = ix0 + kx * p->dil_w;
                if (ix < 0 || ix >= p->in_w) mve_fill8(col + kx * ic, ic, pad);
                else mve_copy8(col + kx * ic, src + (size_t)ix * ic, ic);
            }
        }
    }
}

#define TINYC_MVE_MAX_KH 16

/* The input rows of output row oy (NULL outside the input). */
static void mve_rows(const tinyc_mve_conv_params_t *p, const int8_t *in_b, int32_t oy, const int8_t **rows)
{
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        rows[ky] = iy >= 0 && iy < p->in_h ? in_b + (size_t)iy * p->in_w * p->in_c : NULL;
    }
}

/* The fast requantization form: pixel pairs through tinyc_mve_mm4x2, columns read in place (1x1
 * unpadded, in_c a multiple of 16), gathered by the assembly (a window inside the input, dilation 1
 * across: k_h rows of k_w * in_c contiguous bytes) or by mve_gather (windows over the padding), into
 * `scratch` (2 * col_len16 bytes); an odd last pixel through mve_cols1. The chunks past col_len hold
 * whatever was there: they meet the weight rows' zero padding. */
static void mve_matmul_fast(const tinyc_mve_conv_params_t *p, const int8_t *input, const int8_t *packed_filter,
                            const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output, int8_t *scratch,
                            int direct)
{
    const int32_t pixels = p->out_h * p->out_w, oc = p->out_c, k16 = p->col_len16, ic = p->in_c;
    const int32_t kh = p->k_h, ow = p->out_w, kw = p->k_w, in_w = p->in_w;
    const size_t in_row = (size_t)in_w * ic, step = (size_t)p->stride_w * ic;
    const int mode = direct ? 0 : p->gather_mode;
    /* windows inside the input the assembly gathers (out_w 1: the row arrays would turn over within a pair) */
    const int fast_cols = (p->dil_w == 1 || mode) && ow > 1;
    const int32_t span = (kw - 1) * p->dil_w + 1;
    const int8_t *rows[2][TINYC_MVE_MAX_KH]; /* the current output row's input rows, and the previous one's */
    mve_mm_ctx_t c;
    c.w = packed_filter;
    c.out_c = oc;
    c.chunks = k16 >> 4;
    c.act_min = p->act_min;
    c.act_max = p->act_max;
    c.kh = kh;
    c.seg = kw * ic;
    c.mode = mode;
    if (mode) { /* the window's byte offsets from its first byte, after the columns (and their 16 spare bytes) */
        uint8_t *t8 = (uint8_t *)(scratch + 2 * k16 + 16);
        uint16_t *t16 = (uint16_t *)(void *)t8;
        for (int32_t k = 0; k < k16; ++k) {
            const int32_t kk = k < p->col_len ? k : 0, ci = kk % ic, kx = kk / ic % kw, ky = kk / (ic * kw);
            const int32_t off = ky * p->dil_h * (int32_t)in_row + kx * p->dil_w * ic + ci;
            if (mode == 1) t8[k] = (uint8_t)off;
            else t16[k] = (uint16_t)off;
        }
        c.table = t8;
        c.tvecs = mode == 1 ? k16 >> 4 : k16 >> 3;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * in_row;
        int8_t *o = output + (size_t)b * pixels * oc;
        int32_t oy = 0, ox = 0, inside_y = 0, ix0 = -p->pad_w, cur = 0;
        if (!direct) {
            mve_rows(p, in_b, 0, rows[0]);
            inside_y = rows[0][0] && rows[0][kh - 1];
        }
        for (int32_t px = 0; px < pixels; px += 2, o += 2 * oc) {
            const int32_t ncols = px + 1 < pixels ? 2 : 1;
            const int8_t *x[2] = {scratch, scratch + k16};
            const int8_t *const *g[2] = {NULL, NULL};
            int32_t off[2] = {0, 0};
            for (int32_t j = 0; j < ncols; ++j) {
                if (direct) {
                    x[j] = in_b + (size_t)oy * p->stride_h * in_row + (size_t)ox * step;
                } else if (inside_y && fast_cols && ix0 >= 0 && ix0 + span <= in_w) {
                    g[j] = rows[cur];
                    off[j] = ix0 * ic;
                } else {
                    mve_gather(p, rows[cur], ox, scratch + j * k16);
                }
                ix0 += p->stride_w;
                if (++ox == ow) {
                    ox = 0;
                    ix0 = -p->pad_w;
                    if (++oy < p->out_h && !direct) {
                        cur ^= 1;
                        mve_rows(p, in_b, oy, rows[cur]);
                        inside_y = rows[cur][0] && rows[cur][kh - 1];
                    }
                }
            }
            if (ncols == 2) {
                c.x0 = x[0];
                c.x1 = x[1];
                c.bias = bias;
                c.q = q;
                c.o0 = o;
                c.o1 = o + oc;
                c.rows0 = g[0];
                c.rows1 = g[1];
                c.off0 = off[0];
                c.off1 = off[1];
                tinyc_mve_mm4x2(&c);
            } else {
                if (g[0]) mve_gather(p, g[0], ox == 0 ? ow - 1 : ox - 1, scratch);
                mve_cols1(p, k16, packed_filter, bias, q, x[0], o);
            }
        }
    }
}

#if defined(__GNUC__)
__attribute__((weak))
#endif
void tinyc_arm_mve_matmul_s8(const tinyc_mve_conv_params_t *p, const int8_t *input, const int8_t *packed_filter,
                             const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *output, int8_t *scratch)
{
    const int32_t pixels = p->out_h * p->out_w, oc = p->out_c, k16 = p->col_len16;
    const mve_cols1_fn cols1 = MVE_COLS1(p);
    const int direct = p->k_h == 1 && p->k_w == 1 && p->pad_h == 0 && p->pad_w == 0; /* column = input pixel */
    const int8_t *rows[TINYC_MVE_MAX_KH];
    int32_t k = p->col_len;
    if (!p->general && (!direct || (k & 15) == 0) && pixels > 1) {
        mve_matmul_fast(p, input, packed_filter, bias, q, output, scratch, direct);
        return;
    }
    if (!direct) { /* gathered columns: zero tails, so every chunk is whole */
        mve_fill8(scratch + k, k16 - k, vdupq_n_s8(0));
        mve_fill8(scratch + k16 + k, k16 - k, vdupq_n_s8(0));
        k = k16;
    }
    const mve_cols2_fn cols2 = p->general ? mve_cols2_x : (k & 15) ? mve_cols2 : mve_cols2_asm;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * p->in_w * p->in_c;
        int8_t *out_b = output + (size_t)b * pixels * oc;
        int32_t oy = 0, ox = 0, rows_oy = -1;
        for (int32_t px = 0; px < pixels; px += 2) {
            const int32_t ncols = px + 1 < pixels ? 2 : 1;
            const int8_t *c[2];
            for (int32_t j = 0; j < ncols; ++j) {
                if (direct) {
                    c[j] = in_b + ((size_t)oy * p->stride_h * p->in_w + (size_t)ox * p->stride_w) * p->in_c;
                } else {
                    if (rows_oy != oy) {
                        mve_rows(p, in_b, oy, rows);
                        rows_oy = oy;
                    }
                    mve_gather(p, rows, ox, scratch + j * k16);
                    c[j] = scratch + j * k16;
                }
                if (++ox == p->out_w) {
                    ox = 0;
                    ++oy;
                }
            }
            int8_t *o = out_b + (size_t)px * oc;
            if (ncols == 2) cols2(p, k, packed_filter, bias, q, c[0], c[1], o, o + oc);
            else cols1(p, k, packed_filter, bias, q, c[0], o);
        }
    }
}

/* In place: each pixel pair is copied into `scratch` before its outputs are stored, so an output may
 * only overwrite input bytes of pixels already copied: first to last when out_c <= in_c (outputs of
 * pixels < px + 2 end at (px + 2) * out_c <= (px + 2) * in_c), last to first otherwise (outputs of
 * pixels >= px start at px * out_c >= px * in_c). Predicated stores write no byte past a pixel's
 * out_c outputs. */
TINYC_INLINE void mve_pointwise_inplace(const tinyc_mve_conv_params_t *p, int8_t *io, const int8_t *packed_filter,
                                        const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *scratch,
                                        mve_cols2_fn cols2, mve_cols1_fn cols1)
{
    const int32_t pixels = p->out_h * p->out_w, ic = p->in_c, oc = p->out_c, k16 = p->col_len16;
    int8_t *c0 = scratch, *c1 = scratch + k16;
    mve_fill8(c0 + ic, k16 - ic, vdupq_n_s8(0)); /* zero tails: every chunk is whole */
    mve_fill8(c1 + ic, k16 - ic, vdupq_n_s8(0));
    if (oc <= ic) {
        for (int32_t px = 0; px < pixels; px += 2) {
            int8_t *o = io + (size_t)px * oc;
            mve_copy8(c0, io + (size_t)px * ic, ic);
            if (px + 1 < pixels) {
                mve_copy8(c1, io + (size_t)(px + 1) * ic, ic);
                cols2(p, k16, packed_filter, bias, q, c0, c1, o, o + oc);
            } else {
                cols1(p, k16, packed_filter, bias, q, c0, o);
            }
        }
        return;
    }
    for (int32_t end = pixels; end > 0; end -= 2) {
        const int32_t px = end >= 2 ? end - 2 : 0;
        int8_t *o = io + (size_t)px * oc;
        mve_copy8(c0, io + (size_t)px * ic, ic);
        if (end >= 2) {
            mve_copy8(c1, io + (size_t)(px + 1) * ic, ic);
            cols2(p, k16, packed_filter, bias, q, c0, c1, o, o + oc);
        } else {
            cols1(p, k16, packed_filter, bias, q, c0, o);
        }
    }
}

/* mve_pointwise_inplace in the fast form: the assembly copies each pixel pair into `scratch` (a one-row
 * gather of in_c bytes) before any of its outputs is stored. */
static void mve_pointwise_inplace_fast(const tinyc_mve_conv_params_t *p, int8_t *io, const int8_t *packed_filter,
                                       const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *scratch)
{
    const int32_t pixels = p->out_h * p->out_w, ic = p->in_c, oc = p->out_c, k16 = p->col_len16;
    const int8_t *src[2];
    mve_mm_ctx_t c;
    c.w = packed_filter;
    c.out_c = oc;
    c.chunks = k16 >> 4;
    c.act_min = p->act_min;
    c.act_max = p->act_max;
    c.kh = 1;
    c.seg = ic;
    c.off0 = c.off1 = 0;
    c.mode = 0;
    const int up = oc <= ic; /* first to last; else last to first */
    for (int32_t i = 0; i + 1 < pixels; i += 2) {
        const int32_t px = up ? i : pixels - 2 - i;
        src[0] = io + (size_t)px * ic;
        src[1] = src[0] + ic;
        c.rows0 = &src[0];
        c.rows1 = &src[1];
        c.x0 = scratch;
        c.x1 = scratch + k16;
        c.bias = bias;
        c.q = q;
        c.o0 = io + (size_t)px * oc;
        c.o1 = c.o0 + oc;
        tinyc_mve_mm4x2(&c);
    }
    if (pixels & 1) { /* the last pixel (first to last), or the first */
        const int32_t px = up ? pixels - 1 : 0;
        mve_copy8(scratch, io + (size_t)px * ic, ic);
        mve_cols1(p, k16, packed_filter, bias, q, scratch, io + (size_t)px * oc);
    }
}

#if defined(__GNUC__)
__attribute__((weak))
#endif
void tinyc_arm_mve_pointwise_inplace_s8(const tinyc_mve_conv_params_t *p, int8_t *io, const int8_t *packed_filter,
                                        const int32_t *bias, const tinyc_mve_q4_t *q, int8_t *scratch)
{
    if (p->general) mve_pointwise_inplace(p, io, packed_filter, bias, q, scratch, mve_cols2_x, mve_cols1_x);
    else mve_pointwise_inplace_fast(p, io, packed_filter, bias, q, scratch);
}

/* In place with the row ring: before output row oy is stored, the input rows it overwrites that later
 * rows still read are saved in `ring` (inplace_rows.h), and the row's columns are gathered from every
 * input row as it was. Pixels are paired within a row. */
TINYC_INLINE void mve_conv_rows_inplace(const tinyc_mve_conv_params_t *p, int32_t ring_rows, int8_t *io,
                                        const int8_t *packed_filter, const int32_t *bias, const tinyc_mve_q4_t *q,
                                        int8_t *scratch, int8_t *ring, mve_cols2_fn cols2, mve_cols1_fn cols1)
{
    const int32_t k16 = p->col_len16, oc = p->out_c;
    int8_t *c0 = scratch, *c1 = scratch + k16;
    const int8_t *rows[TINYC_MVE_MAX_KH];
    tinyc_ring_t r;
    mve_fill8(c0 + p->col_len, k16 - p->col_len, vdupq_n_s8(0)); /* zero tails: every chunk is whole */
    mve_fill8(c1 + p->col_len, k16 - p->col_len, vdupq_n_s8(0));
    r.io = io;
    r.ring = ring;
    r.in_row = (size_t)p->in_w * p->in_c;
    r.out_row = (size_t)p->out_w * oc;
    r.in_h = p->in_h;
    r.out_h = p->out_h;
    r.pad_h = p->pad_h;
    r.stride_h = p->stride_h;
    r.ring_rows = ring_rows;
    r.saved = 0;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        int8_t *o = io + (size_t)oy * r.out_row;
        tinyc_ring_advance(&r, oy);
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            rows[ky] = iy >= 0 && iy < p->in_h ? tinyc_ring_row(&r, iy) : NULL;
        }
        for (int32_t ox = 0; ox < p->out_w; ox += 2) {
            mve_gather(p, rows, ox, c0);
            if (ox + 1 < p->out_w) {
                mve_gather(p, rows, ox + 1, c1);
                cols2(p, k16, packed_filter, bias, q, c0, c1, o + (size_t)ox * oc, o + (size_t)(ox + 1) * oc);
            } else {
                cols1(p, k16, packed_filter, bias, q, c0, o + (size_t)ox * oc);
            }
        }
    }
}

/* mve_conv_rows_inplace in the fast form: pixel pairs through tinyc_mve_mm4x2, whose assembly gathers the
 * columns of windows inside the input (mve_gather the others, before the call). */
static void mve_conv_rows_inplace_fast(const tinyc_mve_conv_params_t *p, int32_t ring_rows, int8_t *io,
                                       const int8_t *packed_filter, const int32_t *bias, const tinyc_mve_q4_t *q,
                                       int8_t *scratch, int8_t *ring)
{
    const int32_t k16 = p->col_len16, oc = p->out_c, ic = p->in_c, kw = p->k_w, kh = p->k_h;
    const int8_t *rows[TINYC_MVE_MAX_KH];
    tinyc_ring_t r = tinyc_ring_init(io, ring, ring_rows, (size_t)p->in_w * ic, (size_t)p->out_w * oc, p->in_h,
                                     p->out_h, p->pad_h, p->stride_h);
    mve_mm_ctx_t c;
    c.w = packed_filter;
    c.out_c = oc;
    c.chunks = k16 >> 4;
    c.act_min = p->act_min;
    c.act_max = p->act_max;
    c.kh = kh;
    c.seg = kw * ic;
    c.mode = 0;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h;
        int8_t *o = io + (size_t)oy * r.out_row;
        int inside_y = 1;
        tinyc_ring_advance(&r, oy);
        for (int32_t ky = 0; ky < kh; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            rows[ky] = iy >= 0 && iy < p->in_h ? tinyc_ring_row(&r, iy) : NULL;
            inside_y &= rows[ky] != NULL;
        }
        const int fast = inside_y && p->dil_w == 1;
        for (int32_t ox = 0; ox < p->out_w; ox += 2, o += 2 * oc) {
            const int32_t ix0 = ox * p->stride_w - p->pad_w, ix1 = ix0 + p->stride_w;
            if (ox + 1 == p->out_w) {
                mve_gather(p, rows, ox, scratch);
                mve_cols1(p, k16, packed_filter, bias, q, scratch, o);
                break;
            }
            c.rows0 = c.rows1 = NULL;
            if (fast && ix0 >= 0 && ix0 + kw <= p->in_w) {
                c.rows0 = rows;
                c.off0 = ix0 * ic;
            } else {
                mve_gather(p, rows, ox, scratch);
            }
            if (fast && ix1 >= 0 && ix1 + kw <= p->in_w) {
                c.rows1 = rows;
                c.off1 = ix1 * ic;
            } else {
                mve_gather(p, rows, ox + 1, scratch + k16);
            }
            c.x0 = scratch;
            c.x1 = scratch + k16;
            c.bias = bias;
            c.q = q;
            c.o0 = o;
            c.o1 = o + oc;
            tinyc_mve_mm4x2(&c);
        }
    }
}

#if defined(__GNUC__)
__attribute__((weak))
#endif
void tinyc_arm_mve_conv_rows_inplace_s8(const tinyc_mve_conv_params_t *p, int32_t ring_rows, int8_t *io,
                                        const int8_t *packed_filter, const int32_t *bias, const tinyc_mve_q4_t *q,
                                        int8_t *scratch, int8_t *ring)
{
    if (p->general) mve_conv_rows_inplace(p, ring_rows, io, packed_filter, bias, q, scratch, ring, mve_cols2_x,
                                          mve_cols1_x);
    else mve_conv_rows_inplace_fast(p, ring_rows, io, packed_filter, bias, q, scratch, ring);
}

#endif /* TINYC_MVE_MATMUL_H */
