/* CONV_2D with packed weights: each output channel's filter is decoded once into `scratch`, then
 * every output position of that channel is computed with the reference arithmetic. */
#include "tinyc_conv_window.h"
#include "tinyc_unpack.h"

void tinyc_ref_conv2d_packed_s8(const tinyc_conv_params_t *p, const int8_t *input, const uint8_t *filter,
                                const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                                int8_t *output, int8_t *scratch)
{
    const int32_t groups = p->in_c / p->filter_in_c;
    const int32_t filters_per_group = p->out_c / groups;
    const tinyc_conv_window_t g = TINYC_CONV_WINDOW(p);
    const uint32_t length = (uint32_t)(p->k_h * p->k_w * p->filter_in_c);
    tinyc_unpacker_t u;
    tinyc_unpack_init(&u, filter);
    for (int32_t oc = 0; oc < p->out_c; ++oc) {
        tinyc_unpack_next(&u, scratch, length);
        const int32_t group = oc / filters_per_group;
        for (int32_t b = 0; b < p->batches; ++b) {
            const int8_t *image = input + (size_t)b * p->in_h * p->in_w * p->in_c + (size_t)group * p->filter_in_c;
            for (int32_t oy = 0; oy < p->out_h; ++oy) {
                for (int32_t ox = 0; ox < p->out_w; ++ox) {
                    int32_t acc = tinyc_conv_window_s8(&g, image, oy, ox, scratch, p->filter_in_c,
                                                       p->filter_in_c);
                    if (bias) acc += bias[oc];
                    acc = tinyc_requant(acc, multiplier[oc], shift[oc]) + p->out_offset;
                    output[(((size_t)b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] =
                        (int8_t)tinyc_clamp32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
