/* RESIZE_NEAREST_NEIGHBOR (int8): each output pixel copies the channels of the input pixel the generator
 * chose (TFLite's float32 index rule, evaluated at generation time): table = out_h row indices, then out_w
 * column indices. An output row whose source row repeats the previous one is copied from that row. */
#include <string.h>

#include "tinyc_ops.h"

void tinyc_ref_resize_nearest_s8(const tinyc_resize_nearest_params_t *p, const int8_t *input, const int32_t *table,
                                 int8_t *output)
{
    const int32_t c = p->channels;
    const size_t in_row = (size_t)p->in_w * c, out_row = (size_t)p->out_w * c;
    const int32_t *cols = table + p->out_h;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * p->in_h * in_row;
        for (int32_t y = 0; y < p->out_h; ++y, output += out_row) {
            if (y > 0 && table[y] == table[y - 1]) {
                memcpy(output, output - out_row, out_row);
                continue;
            }
            const int8_t *src = in_b + (size_t)table[y] * in_row;
            for (int32_t x = 0; x < p->out_w; ++x) {
                memcpy(output + (size_t)x * c, src + (size_t)cols[x] * c, (size_t)c);
            }
        }
    }
}
