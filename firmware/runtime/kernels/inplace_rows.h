/* The row ring of the in-place convolutions (tinyc/model/inplace.py, "rows" scheme).
 *
 * The output overwrites the input tensor `io` from its start, one output row (out_row bytes) at a
 * time. Before output row oy is written, every input row (in_row bytes) that it overlaps and that
 * output row oy or a later one still reads is copied into slot r % ring_rows of the ring; rows below
 * `saved` are read from the ring from then on. Row r is last read by output row
 * min(out_h - 1, (r + pad_h) / stride_h). The generator sizes the ring by simulating this schedule. */
#ifndef TINYC_INPLACE_ROWS_H
#define TINYC_INPLACE_ROWS_H

#include <string.h>

#include "tinyc_rt.h"

typedef struct {
    int8_t *io, *ring;
    size_t in_row, out_row;
    int32_t in_h, out_h, pad_h, stride_h, ring_rows;
    int32_t saved; /* input rows [0, saved) are overwritten (or about to be) */
} tinyc_ring_t;

/* Save what output row oy is about to overwrite. */
static inline void tinyc_ring_advance(tinyc_ring_t *r, int32_t oy)
{
    const size_t end = (size_t)(oy + 1) * r->out_row;
    int32_t clob = (int32_t)((end + r->in_row - 1) / r->in_row);
    if (clob > r->in_h) clob = r->in_h;
    for (; r->saved < clob; ++r->saved) {
        int32_t last = (r->saved + r->pad_h) / r->stride_h;
        if (last > r->out_h - 1) last = r->out_h - 1;
        if (last >= oy) {
            memcpy(r->ring + (size_t)(r->saved % r->ring_rows) * r->in_row, r->io + (size_t)r->saved * r->in_row,
                   r->in_row);
        }
    }
}

/* Input row iy as it was before the kernel started. */
static inline const int8_t *tinyc_ring_row(const tinyc_ring_t *r, int32_t iy)
{
    return iy < r->saved ? r->ring + (size_t)(iy % r->ring_rows) * r->in_row : r->io + (size_t)iy * r->in_row;
}

#endif
