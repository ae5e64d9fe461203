/* CONV_2D (and FULLY_CONNECTED over several batches, as a 1x1 convolution), int8, for cores without the
 * DSP extension (ARMv6-M, ARMv7-M): im2col columns of a block of output pixels (six on ARMv7-M, four on
 * ARMv6-M), K in chunks of at most col_chunk values, then the register-blocked matrix multiply of
 * tinyc_scalar_matmul.h. Bit-identical to tinyc_ref_conv2d_s8 (and the in-place reference kernels) for the
 * calls tinyc/codegen/specialize_arm_scalar.py hands over: the input offset is in the bias, so a padded tap
 * holds the input zero point (pad_value) and adds nothing.
 *
 * Scratch: the columns (16 * col_chunk bytes), the accumulators (PX * 4 * out_c bytes), then the input row
 * pointers of the block's output rows (PX * k_h pointers). */
#include "inplace_rows.h"
#include "tinyc_scalar_matmul.h"

#define PX TINYC_SCALAR_PX

typedef struct {
    const tinyc_scalar_conv_params_t *p;
    const int8_t *image;       /* the batch's input (NULL: through the ring) */
    const tinyc_ring_t *ring;
    const int8_t **rows;       /* [PX][k_h]: the input rows of each distinct output row of the block */
    int32_t row_oy[PX];        /* which output row each set of rows is for */
    int32_t nrows;
    const int8_t *const *prow[PX]; /* per pixel: its output row's input rows */
    int32_t ix0[PX];           /* per pixel: its window's first input column */
    const int8_t *src[PX];     /* pointwise: per pixel its in_c bytes */
} block_t;

#if TINYC_SCALAR_V7M
#define STRIDE 3 /* words per value of K: three pairs */
#else
#define STRIDE 4
#endif

/* Copy n values of s (or n pad values v where s is NULL) to c[0], c[STRIDE], ...: set, or (add) added
 * shifted left by 23 (the odd pixel of an ARMv7-M pair). Returns their sum. */
static inline int32_t put(const int8_t *s, int32_t v, int32_t n, int32_t *c, int add)
{
    int32_t sum = 0;
    if (s == NULL) {
        if (add) {
            for (int32_t i = 0; i < n; ++i, c += STRIDE) *c = (int32_t)((uint32_t)*c + ((uint32_t)v << 23));
        } else {
            for (int32_t i = 0; i < n; ++i, c += STRIDE) *c = v;
        }
        return v * n;
    }
    const int8_t *e = s + n;
    if (add) {
        while (s != e) {
            const int32_t x = *s++;
            *c = (int32_t)((uint32_t)*c + ((uint32_t)x << 23));
            c += STRIDE;
            sum += x;
        }
    } else {
        while (s != e) {
            const int32_t x = *s++;
            *c = x;
            c += STRIDE;
            sum += x;
        }
    }
    return sum;
}

/* Values [r, r + n) of kernel row ky of pixel j's column to c[0], c[STRIDE], ... (see put). Returns their
 * sum. */
static int32_t seg(const block_t *b, int32_t j, int32_t ky, int32_t r, int32_t n, int32_t *c, int add)
{
    const tinyc_scalar_conv_params_t *p = b->p;
    const int32_t in_c = p->in_c, ix0 = b->ix0[j];
    const int8_t *row = b->prow[j][ky];
    if (row == NULL) return put(NULL, p->pad_value, n, c, add);
    if (p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w) { /* the window's row on the image */
        return put(row + (size_t)ix0 * in_c + r, 0, n, c, add);
    }
    int32_t kx = 0, ic = 0, sum = 0;
    if (r) {
        kx = r / in_c;
        ic = r - kx * in_c;
    }
    for (; n > 0; ++kx, ic = 0) {
        const int32_t ix = ix0 + kx * p->dil_w;
        const int32_t m = in_c - ic < n ? in_c - ic : n;
        sum += put((ix < 0 || ix >= p->in_w) ? NULL : row + (size_t)ix * in_c + ic, p->pad_value, m, c, add);
        c += STRIDE * m;
        n -= m;
    }
    return sum;
}

#if TINYC_SCALAR_V7M
/* n values of s0 and s1 as pairs s0[i] + s1[i] * 2^23 to c[0], c[3], ...; their sums added to sums[0, 1]. */
static inline void put_pair(const int8_t *s0, const int8_t *s1, int32_t n, int32_t *c, int32_t *sums)
{
    int32_t t0 = 0, t1 = 0;
    for (const int8_t *e = s0 + n; s0 != e; c += 3) {
        const int32_t x0 = *s0++, x1 = *s1++;
        *c = (int32_t)((uint32_t)x0 + ((uint32_t)x1 << 23));
        t0 += x0;
        t1 += x1;
    }
    sums[0] += t0;
    sums[1] += t1;
}

/* Values [k0, k1) of pixels j and j + 1 (k >= col_len: 0) as pairs to c[0], c[3], ...; their sums added
 * to sums[j], sums[j + 1]. */
static void gather_pair(const block_t *b, int32_t j, int32_t k0, int32_t k1, int32_t *c, int32_t *sums)
{
    const tinyc_scalar_conv_params_t *p = b->p;
    const int32_t kk = p->col_len < k1 ? p->col_len : k1;
    int32_t k = k0;
    if (p->pointwise) {
        put_pair(b->src[j] + k0, b->src[j + 1] + k0, kk - k0, c, sums + j);
        c += 3 * (kk - k0);
        k = kk;
    } else if (k < kk) {
        const int32_t in_c = p->in_c, row_len = p->k_w * in_c;
        const int32_t ix0 = b->ix0[j], ix1 = b->ix0[j + 1];
        const int inside = p->dil_w == 1 && ix0 >= 0 && ix0 + p->k_w <= p->in_w && ix1 >= 0 &&
                           ix1 + p->k_w <= p->in_w;
        int32_t ky = 0, r = 0;
        if (k0) {
            ky = k0 / row_len;
            r = k0 - ky * row_len;
        }
        for (; k < kk; ++ky, r = 0) {
            const int32_t n = row_len - r < kk - k ? row_len - r : kk - k;
            const int8_t *row0 = b->prow[j][ky], *row1 = b->prow[j + 1][ky];
            if (inside && row0 != NULL && row1 != NULL) {
                put_pair(row0 + (size_t)ix0 * in_c + r, row1 + (size_t)ix1 * in_c + r, n, c, sums + j);
            } else {
                sums[j] += seg(b, j, ky, r, n, c, 0);
                sums[j + 1] += seg(b, j + 1, ky, r, n, c, 1);
            }
            c += 3 * n;
            k += n;
        }
    }
    for (; k < k1; ++k, c += 3) *c = 0;
}
#else
/* Values [k0, k1) of pixel j's column (k >= col_len: 0) to c[0], c[4], ...; returns their sum. */
static int32_t gather_px(const block_t *b, int32_t j, int32_t k0, int32_t k1, int32_t *c)
{
    const tinyc_scalar_conv_params_t *p = b->p;
    const int32_t kk = p->col_len < k1 ? p->col_len : k1;
    int32_t sum = 0, k = k0;
    if (p->pointwise) {
        sum = put(b->src[j] + k0, 0, kk - k0, c, 0);
        c += STRIDE * (kk - k0);
        k = kk;
    } else if (k < kk) {
        const int32_t row_len = p->k_w * p->in_c;
        int32_t ky = 0, r = 0;
        if (k0) {
            ky = k0 / row_len;
            r = k0 - ky * row_len;
        }
        for (; k < kk; ++ky, r = 0) {
            const int32_t n = row_len - r < kk - k ? row_len - r : kk - k;
            sum += seg(b, j, ky, r, n, c, 0);
            c += STRIDE * n;
            k += n;
        }
    }
    for (; k < k1; ++k, c += STRIDE) *c = 0;
    return sum;
}
#endif

/* The input rows (or NULL in the padding) of output row oy. */
static void rows_of(const block_t *b, int32_t oy, const int8_t **rows)
{
    const tinyc_scalar_conv_params_t *p = b->p;
    const size_t in_row = (size_t)p->in_w * p->in_c;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = oy * p->stride_h - p->pad_h + ky * p->dil_h;
        rows[ky] = (iy < 0 || iy >= p->in_h) ? NULL : b->ring ? tinyc_ring_row(b->ring, iy) : b->image + (size_t)iy * in_row;
    }
}

/* Pixel j of the block is output pixel (oy, ox). */
static void place(block_t *b, int32_t j, int32_t oy, int32_t ox)
{
    const tinyc_scalar_conv_params_t *p = b->p;
    b->ix0[j] = ox * p->stride_w - p->pad_w;
    if (b->nrows == 0 || b->row_oy[b->nrows - 1] != oy) {
        rows_of(b, oy, b->rows + (size_t)b->nrows * p->k_h);
        b->row_oy[b->nrows++] = oy;
    }
    b->prow[j] = b->rows + (size_t)(b->nrows - 1) * p->k_h;
}

/* Multiply the block (pixels [0, n) real, the others repeating the last one) by every output channel, K
 * chunk by chunk, and store its pixels at out[j * out_c]. */
static void block_run(const block_t *b, tinyc_ring_t *ring, int32_t oy_last, const int8_t *filter,
                      const int32_t *bias, const void *q, int32_t *cols, int32_t *acc, int8_t *out, int32_t n)
{
    const tinyc_scalar_conv_params_t *p = b->p;
    const int32_t k4 = (p->col_len + 3) & ~3, kc = p->col_chunk;
    int32_t sums[PX] = {0};
    int32_t nch = 0;
    for (int32_t k0 = 0; k0 < k4; k0 += kc, ++nch) {
        const int32_t k1 = k4 - k0 < kc ? k4 : k0 + kc, len = k1 - k0;
#if TINYC_SCALAR_V7M
        for (int32_t j = 0; j < PX; j += 2) gather_pair(b, j, k0, k1, cols + j / 2, sums);
#else
        for (int32_t j = 0; j < PX; ++j) sums[j] += gather_px(b, j, k0, k1, cols + j);
#endif
        tinyc_scalar_mm_t m;
        m.w = (const uint8_t *)filter + k0;
        m.cols = cols;
        m.kc = len;
        m.wskip = k4 - len;
        m.bias = k0 == 0 ? bias : NULL;
        m.acc = acc;
        m.acc_end = acc + (size_t)PX * p->out_c;
        tinyc_scalar_mm(&m);
    }
    int32_t corr[PX];
    for (int32_t j = 0; j < PX; ++j) {
        corr[j] = (int32_t)((uint32_t)sums[j] * (uint32_t)-128);
#if TINYC_SCALAR_V7M
        if (!(j & 1)) corr[j] = (int32_t)((uint32_t)corr[j] - (uint32_t)nch * (uint32_t)TINYC_SCALAR_FIELD_BIAS);
#endif
    }
    (void)nch;
    if (ring != NULL) tinyc_ring_advance(ring, oy_last); /* save what the store overwrites and is read later */
    const int32_t lo = p->act_min, hi = p->act_max, out_c = p->out_c;
    if (!p->general) {
        const tinyc_scalar_q_t *qq = (const tinyc_scalar_q_t *)q;
        for (int32_t j = 0; j < n; ++j) {
            const int32_t cj = corr[j];
            const int32_t *a = acc + j;
            int8_t *o = out + (size_t)j * out_c;
            if (lo == -128 && hi == 127) {
                for (int32_t oc = 0; oc < out_c; ++oc, a += PX) {
                    o[oc] = (int8_t)tinyc_clamp32(tinyc_scalar_requant(*a + cj, qq + oc), -128, 127);
                }
            } else {
                for (int32_t oc = 0; oc < out_c; ++oc, a += PX) {
                    o[oc] = (int8_t)tinyc_clamp32(tinyc_scalar_requant(*a + cj, qq + oc), lo, hi);
                }
            }
        }
    } else {
        const tinyc_scalar_qx_t *qq = (const tinyc_scalar_qx_t *)q;
        for (int32_t j = 0; j < n; ++j) {
            const int32_t cj = corr[j];
            const int32_t *a = acc + j;
            int8_t *o = out + (size_t)j * out_c;
            for (int32_t oc = 0; oc < out_c; ++oc, a += PX) {
                o[oc] = (int8_t)tinyc_clamp32(tinyc_scalar_requant_x(*a + cj, qq + oc, p->out_zp), lo, hi);
            }
        }
    }
}

static void block_init(block_t *b, const tinyc_scalar_conv_params_t *p, const int8_t *image, const tinyc_ring_t *ring,
                       int32_t *scratch, int32_t **cols, int32_t **acc)
{
    *cols = scratch;
    *acc = scratch + 4 * p->col_chunk;
    b->p = p;
    b->image = image;
    b->ring = ring;
    b->rows = (const int8_t **)(void *)(*acc + (size_t)PX * p->out_c);
    b->nrows = 0;
}

/* Pointwise (1x1, stride 1, unpadded): pixels [px, px + n) of src. */
/* The columns of the block's next ``cnt`` output pixels from (*y, *x) on, row-major (the last one repeated up to
 * PX); advances (*y, *x) past them and returns the row of the block's last pixel. */
static int32_t place_block(block_t *b, int32_t cnt, int32_t out_w, int32_t *y, int32_t *x)
{
    b->nrows = 0;
    int32_t ly = *y, lx = *x;
    for (int32_t j = 0; j < PX; ++j) {
        if (j < cnt) {
            ly = *y;
            lx = *x;
            if (++*x == out_w) {
                *x = 0;
                ++*y;
            }
        }
        place(b, j, ly, lx);
    }
    return ly;
}

static void place_pointwise(block_t *b, const int8_t *src, int32_t n)
{
    const size_t c = (size_t)b->p->in_c;
    for (int32_t j = 0; j < PX; ++j) b->src[j] = src + (size_t)(j < n ? j : n - 1) * c;
}

void tinyc_arm_scalar_conv_s8(const tinyc_scalar_conv_params_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, const void *q, int8_t *output, int32_t *scratch)
{
    const int32_t n = p->out_h * p->out_w;
    int32_t *cols, *acc;
    block_t b;
    for (int32_t bt = 0; bt < p->batches; ++bt) {
        const int8_t *image = input + (size_t)bt * p->in_h * p->in_w * p->in_c;
        int8_t *out = output + (size_t)bt * n * p->out_c;
        block_init(&b, p, image, NULL, scratch, &cols, &acc);
        int32_t y = 0, x = 0;
        for (int32_t px = 0; px < n; px += PX) {
            const int32_t cnt = n - px < PX ? n - px : PX;
            if (p->pointwise) {
                place_pointwise(&b, image + (size_t)px * p->in_c, cnt);
            } else {
                place_block(&b, cnt, p->out_w, &y, &x);
            }
            block_run(&b, NULL, 0, filter, bias, q, cols, acc, out + (size_t)px * p->out_c, cnt);
        }
    }
}

void tinyc_arm_scalar_pointwise_inplace_s8(const tinyc_scalar_conv_params_t *p, int8_t *io, const int8_t *filter,
                                           const int32_t *bias, const void *q, int32_t *scratch)
{
    const int32_t n = p->in_h * p->in_w;
    const int backward = p->out_c > p->in_c;
    int32_t *cols, *acc;
    block_t b;
    block_init(&b, p, io, NULL, scratch, &cols, &acc);
    for (int32_t g = 0; PX * g < n; ++g) {
        int32_t px, cnt;
        if (backward) {
            px = n - PX * (g + 1) > 0 ? n - PX * (g + 1) : 0;
            cnt = n - PX * g - px;
        } else {
            px = PX * g;
            cnt = n - px < PX ? n - px : PX;
        }
        place_pointwise(&b, io + (size_t)px * p->in_c, cnt);
        block_run(&b, NULL, 0, filter, bias, q, cols, acc, io + (size_t)px * p->out_c, cnt);
    }
}

/* Blocks run across output rows: a block's columns are all gathered before its outputs are stored, and the
 * ring saves what the block's last output row overwrites just before the store. */
void tinyc_arm_scalar_conv_rows_inplace_s8(const tinyc_scalar_conv_params_t *p, int32_t ring_rows, int8_t *io,
                                           const int8_t *filter, const int32_t *bias, const void *q,
                                           int32_t *scratch, int8_t *ring)
{
    tinyc_ring_t r = tinyc_ring_init(io, ring, ring_rows, (size_t)p->in_w * p->in_c, (size_t)p->out_w * p->out_c,
                                     p->in_h, p->out_h, p->pad_h, p->stride_h);
    int32_t *cols, *acc;
    block_t b;
    block_init(&b, p, NULL, &r, scratch, &cols, &acc);
    const int32_t n = p->out_h * p->out_w;
    int32_t y = 0, x = 0;
    for (int32_t px = 0; px < n; px += PX) {
        const int32_t cnt = n - px < PX ? n - px : PX;
        const int32_t ly = place_block(&b, cnt, p->out_w, &y, &x);
        block_run(&b, &r, ly, filter, bias, q, cols, acc, io + (size_t)px * p->out_c, cnt);
    }
}
