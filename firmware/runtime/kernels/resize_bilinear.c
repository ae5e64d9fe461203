/* RESIZE_BILINEAR (int8): TFLite's integer interpolation. The generator's table holds, per output row then
 * per output column, (lower index, upper index, upper weight w in 1/1024); the four products of a pixel sum to
 * value * 2^20 and are rounded half away from zero (TFLite's double rounding) back to int8. The sum fits int32:
 * the generator checks 128 * (|1024 - wy| + |wy|) * (|1024 - wx| + |wx|) + 2^19 < 2^31. */
#include "tinyc_ops.h"

void tinyc_ref_resize_bilinear_s8(const tinyc_resize_bilinear_params_t *p, const int8_t *input, const int32_t *table,
                                  int8_t *output)
{
    const int32_t c = p->channels;
    const size_t in_row = (size_t)p->in_w * c;
    const int32_t *cols = table + 3 * p->out_h;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * in_row;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const int8_t *r0 = in_b + (size_t)table[3 * y] * in_row, *r1 = in_b + (size_t)table[3 * y + 1] * in_row;
            const int32_t wy = table[3 * y + 2];
            for (int32_t x = 0; x < p->out_w; ++x) {
                const int32_t *col = cols + 3 * x, wx = col[2];
                const int32_t f00 = (1024 - wy) * (1024 - wx), f10 = wy * (1024 - wx);
                const int32_t f01 = (1024 - wy) * wx, f11 = wy * wx;
                const int8_t *a = r0 + (size_t)col[0] * c, *bb = r1 + (size_t)col[0] * c;
                const int8_t *d = r0 + (size_t)col[1] * c, *e = r1 + (size_t)col[1] * c;
                for (int32_t ch = 0; ch < c; ++ch) {
                    const int32_t v = a[ch] * f00 + bb[ch] * f10 + d[ch] * f01 + e[ch] * f11;
                    *output++ = (int8_t)((v + (v > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
                }
            }
        }
    }
}
