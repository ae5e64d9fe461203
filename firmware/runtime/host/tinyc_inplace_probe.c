/* Host probe for the in-place kernels (tests/test_inplace.py): each case runs the normal kernel into a
 * separate output and the in-place kernel over a copy of its input, in buffers of exactly the sizes
 * the generator plans (the tensor: max(input, output) bytes; the scratch: what tinyc.model.inplace
 * says), so the sanitizers catch any access outside them. Writes both outputs.
 *
 * stdin, little-endian int32 fields per case: kind (0 conv rows, 1 conv pixel, 2 depthwise), ring_rows,
 * scratch bytes, in bytes, out bytes, filter bytes, channels (out_c), then the 20 fields of the params
 * struct, then the input, the filter, bias/multiplier/shift (channels int32 each). A kind of -1 ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyc_rt.h"

static int read_all(void *p, size_t n) { return fread(p, 1, n, stdin) == n; }

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) exit(9);
    return p;
}

int main(void) {
    for (;;) {
        int32_t h[7];
        if (!read_all(h, sizeof h[0])) return 2;
        if (h[0] < 0) break;
        if (!read_all(h + 1, sizeof h - sizeof h[0])) return 3;
        const int32_t kind = h[0], ring_rows = h[1];
        const size_t scratch_n = (size_t)h[2], in_n = (size_t)h[3], out_n = (size_t)h[4], f_n = (size_t)h[5];
        const size_t ch = (size_t)h[6];
        int32_t params[20];
        if (!read_all(params, sizeof params)) return 4;
        int8_t *input = xmalloc(in_n), *filter = xmalloc(f_n);
        int32_t *bias = xmalloc(4 * ch), *mult = xmalloc(4 * ch), *shift = xmalloc(4 * ch);
        if (!read_all(input, in_n) || !read_all(filter, f_n) || !read_all(bias, 4 * ch) || !read_all(mult, 4 * ch) ||
            !read_all(shift, 4 * ch))
            return 5;
        const size_t io_n = in_n > out_n ? in_n : out_n;
        int8_t *ref = xmalloc(out_n), *io = xmalloc(io_n), *scratch = scratch_n ? xmalloc(scratch_n) : NULL;
        memset(io, 0x5a, io_n);
        memcpy(io, input, in_n);
        if (kind == 2) {
            tinyc_dwconv_params_t p;
            memcpy(&p, params, sizeof p);
            tinyc_ref_depthwise_conv2d_s8(&p, input, filter, bias, mult, shift, ref);
            tinyc_ref_depthwise_conv2d_inplace_s8(&p, ring_rows, io, filter, bias, mult, shift, scratch);
        } else {
            tinyc_conv_params_t p;
            memcpy(&p, params, sizeof p);
            tinyc_ref_conv2d_s8(&p, input, filter, bias, mult, shift, ref);
            if (kind == 1)
                tinyc_ref_conv2d_pointwise_inplace_s8(&p, io, filter, bias, mult, shift, scratch);
            else
                tinyc_ref_conv2d_inplace_s8(&p, ring_rows, io, filter, bias, mult, shift, scratch);
        }
        fwrite(ref, 1, out_n, stdout);
        fwrite(io, 1, out_n, stdout);
        free(input), free(filter), free(bias), free(mult), free(shift), free(ref), free(io), free(scratch);
    }
    return fflush(stdout) == 0 ? 0 : 6;
}
