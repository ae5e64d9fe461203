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

/* The ring of a convolution over `io`: input rows of in_row bytes, output rows of out_row bytes,
 * `ring` holding ring_rows input rows (the generator's ring_rows for this geometry). */
static inline tinyc_ring_t tinyc_ring_init(int8_t *io, int8_t *ring, int32_t ring_rows, size_t in_row, size_t out_row,
                                           int32_t in_h, int32_t out_h, int32_t pad_h, int32_t stride_h)
{
    tinyc_ring_t r;
    r.io = io;
    r.ring = ring;
    r.in_row = in_row;
    r.out_row = out_row;
    r.in_h = in_h;
    r.out_h = out_h;
    r.pad_h = pad_h;
    r.stride_h = stride_h;
    r.ring_rows = ring_rows;
    r.saved = 0;
    return r;
}

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
