/* Walks a (up to) 6-dim output in row-major order, tracking each input's element offset. */
#ifndef TINYC_BROADCAST_H
#define TINYC_BROADCAST_H
#include "tinyc_rt.h"

#define TINYC_FOR_EACH_BROADCAST(p, i1, i2, o, BODY)                                                   \
    do {                                                                                               \
        int32_t idx_[TINYC_MAX_DIMS] = {0, 0, 0, 0, 0, 0};                                             \
        int32_t i1 = 0, i2 = 0;                                                                        \
        for (int32_t o = 0; o < (p)->size; ++o) {                                                      \
            BODY;                                                                                      \
            for (int d_ = TINYC_MAX_DIMS - 1; d_ >= 0; --d_) {                                         \
                i1 += (p)->in1_strides[d_];                                                            \
                i2 += (p)->in2_strides[d_];                                                            \
                if (++idx_[d_] < (p)->out_dims[d_]) break;                                             \
                i1 -= (p)->in1_strides[d_] * (p)->out_dims[d_];                                        \
                i2 -= (p)->in2_strides[d_] * (p)->out_dims[d_];                                        \
                idx_[d_] = 0;                                                                          \
            }                                                                                          \
        }                                                                                              \
    } while (0)

#endif
