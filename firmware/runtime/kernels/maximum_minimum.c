/* MAXIMUM and MINIMUM, int8: the larger (smaller) of the two raw inputs, broadcast; the converter gives inputs and
 * output one quantization, so no rescaling (TFLite Micro's MaximumMinimumBroadcastSlow). */
#include "tinyc_ops.h"
#include "broadcast.h"

static inline int8_t pick(int32_t minimum, int8_t a, int8_t b)
{
    return minimum ? (a < b ? a : b) : (a > b ? a : b);
}

void tinyc_ref_maximum_minimum_s8(const tinyc_maximum_minimum_params_t *p, const int8_t *in1, const int8_t *in2,
                                  int8_t *output)
{
    if (p->flat) {
        for (int32_t i = 0; i < p->size; ++i) output[i] = pick(p->minimum, in1[i], in2[i]);
        return;
    }
    TINYC_FOR_EACH_BROADCAST(p, i1, i2, o, output[o] = pick(p->minimum, in1[i1], in2[i2]));
}
