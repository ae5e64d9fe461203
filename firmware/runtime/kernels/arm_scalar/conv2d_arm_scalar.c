/* CONV_2D (and FULLY_CONNECTED over several batches, as a 1x1 convolution), int8, for cores without the
 * DSP extension (ARMv6-M, ARMv7-M): im2col columns of four output pixels widened to int32 in the scratch,
 * then the register-blocked matrix multiply of tinyc_scalar_matmul.h (one output channel x four pixels per
 * pass). Bit-identical to tinyc_ref_conv2d_s8 (and the in-place reference kernels) for the calls
 * tinyc/codegen/specialize_arm_scalar.py hands over: the input offset is in the bias, so a padded tap holds
 * the input zero point (pad_value) and adds nothing. */
#include "inplace_rows.h"
#include "tinyc_scalar_matmul.h"

/* The columns of output pixels (oy[j], ox[j]), j < 4, read from `image` or through `ring`. */
static void gather(const tinyc_scalar_conv_params_t *p, const int8_t *image, const tinyc_ring_t *ring,
                   const int32_t *oy, const int32_t *ox, int32_t k4, int32_t *cols, int32_t *corr)
{
    const int32_t in_c = p->in_c, pad = p->pad_value;
    const size_t in_row = (size_t)p->in_w * in_c;
    for (int32_t j = 0; j < 4; ++j) {
        int32_t *c = cols + j;
        int32_t sum = 0;
        const int32_t iy0 = oy[j] * p->stride_h - p->pad_h, ix0 = ox[j] * p->stride_w - p->pad_w;
        for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = iy0 + ky * p->dil_h;
            const int8_t *row = NULL;
            if (iy >= 0 && iy < p->in_h) row = ring ? tinyc_ring_row(ring, iy) : image + (size_t)iy * in_row;
            if (row != NULL && p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w) {
                /* the window's row lies on the image: k_w * in_c contiguous bytes */
                const int8_t *s = row + (size_t)ix0 * in_c;
                const int8_t *e = s + (size_t)p->k_w * in_c;
                while (s != e) {
                    const int32_t v = *s++;
                    *c = v;
                    c += 4;
                    sum += v;
                }
                continue;
            }
            for (int32_t kx = 0; kx < p->k_w; ++kx) {
                const int32_t ix = ix0 + kx * p->dil_w;
                if (row == NULL || ix < 0 || ix >= p->in_w) {
                    for (int32_t i = 0; i < in_c; ++i, c += 4) *c = pad;
                    sum += pad * in_c;
                } else {
                    const int8_t *s = row + (size_t)ix * in_c;
                    for (int32_t i = 0; i < in_c; ++i, c += 4) {
                        const int32_t v = s[i];
                        *c = v;
                        sum += v;
                    }
                }
            }
        }
        for (int32_t k = p->col_len; k < k4; ++k, c += 4) *c = 0;
        corr[j] = (int32_t)((uint32_t)sum * (uint32_t)-128);
    }
}

/* The columns of four pixels of a 1x1 stride-1 unpadded convolution: pixel j's in_c bytes at s[j]. */
static void gather_pointwise(int32_t in_c, int32_t k4, const int8_t *s0, const int8_t *s1, const int8_t *s2,
                             const int8_t *s3, int32_t *cols, int32_t *corr)
{
    int32_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    int32_t *c = cols;
    for (int32_t i = 0; i < in_c; ++i, c += 4) {
        const int32_t v0 = s0[i], v1 = s1[i], v2 = s2[i], v3 = s3[i];
        c[0] = v0;
        c[1] = v1;
        c[2] = v2;
        c[3] = v3;
        t0 += v0;
        t1 += v1;
        t2 += v2;
        t3 += v3;
    }
    for (int32_t k = in_c; k < k4; ++k, c += 4) c[0] = c[1] = c[2] = c[3] = 0;
    corr[0] = (int32_t)((uint32_t)t0 * (uint32_t)-128);
    corr[1] = (int32_t)((uint32_t)t1 * (uint32_t)-128);
    corr[2] = (int32_t)((uint32_t)t2 * (uint32_t)-128);
    corr[3] = (int32_t)((uint32_t)t3 * (uint32_t)-128);
}

/* Multiply the gathered columns by every output channel and store pixels [0, n) at out (out_c apart). */
static void multiply_store(const tinyc_scalar_conv_params_t *p, const int8_t *filter, const int32_t *bias,
                           const void *q, tinyc_scalar_mm_t *m, int32_t k4, int32_t *cols, int32_t *acc,
                           int8_t *out, int32_t n)
{
    m->w = (const uint8_t *)filter;
    m->cols = cols;
    m->k4 = k4;
    m->bias = bias;
    m->bias_end = bias + p->out_c;
    m->acc = acc;
    tinyc_scalar_mm4(m);
    tinyc_scalar_store(p, q, acc, out, n, p->out_c);
}

/* Pointwise columns of pixels [px, px + n) of `src` (n <= 4; missing pixels repeat the last one). */
static void gather_pixels(const tinyc_scalar_conv_params_t *p, const int8_t *src, int32_t n, int32_t k4,
                          int32_t *cols, int32_t *corr)
{
    const size_t c = (size_t)p->in_c;
    const int8_t *s1 = src + (n > 1 ? c : 0), *s2 = src + (n > 2 ? 2 * c : (n - 1) * c);
    const int8_t *s3 = src + (n > 3 ? 3 * c : (n - 1) * c);
    gather_pointwise(p->in_c, k4, src, s1, s2, s3, cols, corr);
}

void tinyc_arm_scalar_conv_s8(const tinyc_scalar_conv_params_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, const void *q, int8_t *output, int32_t *scratch)
{
    const int32_t k4 = (p->col_len + 3) & ~3;
    int32_t *cols = scratch, *acc = scratch + 4 * k4;
    const int32_t n = p->out_h * p->out_w;
    tinyc_scalar_mm_t m;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image = input + (size_t)b * p->in_h * p->in_w * p->in_c;
        int8_t *out = output + (size_t)b * n * p->out_c;
        int32_t y = 0, x = 0;
        for (int32_t px = 0; px < n; px += 4) {
            const int32_t cnt = n - px < 4 ? n - px : 4;
            if (p->pointwise) {
                gather_pixels(p, image + (size_t)px * p->in_c, cnt, k4, cols, m.corr);
            } else {
                int32_t oy[4], ox[4];
                for (int32_t j = 0; j < 4; ++j) {
                    if (j < cnt) {
                        oy[j] = y;
                        ox[j] = x;
                        if (++x == p->out_w) {
                            x = 0;
                            ++y;
                        }
                    } else {
                        oy[j] = oy[cnt - 1];
                        ox[j] = ox[cnt - 1];
                    }
                }
                gather(p, image, NULL, oy, ox, k4, cols, m.corr);
            }
            multiply_store(p, filter, bias, q, &m, k4, cols, acc, out + (size_t)px * p->out_c, cnt);
        }
    }
}

void tinyc_arm_scalar_pointwise_inplace_s8(const tinyc_scalar_conv_params_t *p, int8_t *io, const int8_t *filter,
                                           const int32_t *bias, const void *q, int32_t *scratch)
{
    const int32_t k4 = (p->col_len + 3) & ~3;
    int32_t *cols = scratch, *acc = scratch + 4 * k4;
    const int32_t n = p->in_h * p->in_w;
    const int backward = p->out_c > p->in_c;
    tinyc_scalar_mm_t m;
    for (int32_t g = 0; 4 * g < n; ++g) {
        int32_t px, cnt;
        if (backward) {
            px = n - 4 * (g + 1) > 0 ? n - 4 * (g + 1) : 0;
            cnt = n - 4 * g - px;
        } else {
            px = 4 * g;
            cnt = n - px < 4 ? n - px : 4;
        }
        gather_pixels(p, io + (size_t)px * p->in_c, cnt, k4, cols, m.corr);
        multiply_store(p, filter, bias, q, &m, k4, cols, acc, io + (size_t)px * p->out_c, cnt);
    }
}

void tinyc_arm_scalar_conv_rows_inplace_s8(const tinyc_scalar_conv_params_t *p, int32_t ring_rows, int8_t *io,
                                           const int8_t *filter, const int32_t *bias, const void *q,
                                           int32_t *scratch, int8_t *ring)
{
    const int32_t k4 = (p->col_len + 3) & ~3;
    int32_t *cols = scratch, *acc = scratch + 4 * k4;
    tinyc_ring_t r = tinyc_ring_init(io, ring, ring_rows, (size_t)p->in_w * p->in_c, (size_t)p->out_w * p->out_c,
                                     p->in_h, p->out_h, p->pad_h, p->stride_h);
    tinyc_scalar_mm_t m;
    for (int32_t oy = 0; oy < p->out_h; ++oy) {
        tinyc_ring_advance(&r, oy);
        int8_t *out = io + (size_t)oy * r.out_row;
        for (int32_t ox = 0; ox < p->out_w; ox += 4) {
            const int32_t cnt = p->out_w - ox < 4 ? p->out_w - ox : 4;
            int32_t ys[4], xs[4];
            for (int32_t j = 0; j < 4; ++j) {
                ys[j] = oy;
                xs[j] = ox + (j < cnt ? j : cnt - 1);
            }
            gather(p, NULL, &r, ys, xs, k4, cols, m.corr);
            multiply_store(p, filter, bias, q, &m, k4, cols, acc, out + (size_t)ox * p->out_c, cnt);
        }
    }
}
