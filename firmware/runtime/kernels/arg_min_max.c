/* ARG_MAX and ARG_MIN, int8 in, int32 indices out: along one axis, the first index of the largest (smallest)
 * value, as TFLite Micro's ArgMinMax (ties keep the earlier index). */
#include "tinyc_ops.h"

void tinyc_ref_arg_min_max_s8(const tinyc_arg_min_max_params_t *p, const int8_t *input, int32_t *output)
{
    for (int32_t outer = 0; outer < p->outer; ++outer) {
        for (int32_t inner = 0; inner < p->inner; ++inner) {
            const int8_t *x = input + outer * p->axis_size * p->inner + inner;
            int8_t best = x[0];
            int32_t index = 0;
            for (int32_t i = 1; i < p->axis_size; ++i) {
                const int8_t v = x[i * p->inner];
                if (p->minimum ? v < best : v > best) {
                    best = v;
                    index = i;
                }
            }
            output[outer * p->inner + inner] = index;
        }
    }
}
