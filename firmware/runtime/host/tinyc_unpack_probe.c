/* Host probe for the packed-weight decoder: reads "<chunk> <blob bytes...>" from stdin (a 4-byte
 * little-endian chunk size, then the blob) and writes every element in stream order, decoded `chunk`
 * elements at a time (so reads that straddle channel records are exercised too). */
#include <stdio.h>
#include <stdlib.h>

#include "tinyc_unpack.h"

int main(void)
{
    uint8_t head[4];
    if (fread(head, 1, 4, stdin) != 4) return 2;
    const uint32_t chunk = (uint32_t)head[0] | (uint32_t)head[1] << 8 | (uint32_t)head[2] << 16
                           | (uint32_t)head[3] << 24;
    size_t cap = 1 << 16, size = 0;
    uint8_t *blob = malloc(cap);
    if (!blob) return 3;
    for (;;) {
        if (size == cap) {
            uint8_t *bigger = realloc(blob, cap *= 2);
            if (!bigger) return 3;
            blob = bigger;
        }
        const size_t got = fread(blob + size, 1, cap - size, stdin);
        if (got == 0) break;
        size += got;
    }
    /* An exactly sized copy, so the sanitizer catches any read past the blob's end. */
    uint8_t *exact = malloc(size ? size : 1);
    if (!exact || size < TINYC_PACK_HEADER_BYTES || chunk == 0) return 4;
    for (size_t i = 0; i < size; ++i) exact[i] = blob[i];
    free(blob);
    tinyc_unpacker_t u;
    tinyc_unpack_init(&u, exact);
    uint32_t left = u.channels * u.length;
    int8_t *out = malloc(chunk);
    if (!out) return 3;
    while (left > 0) {
        const uint32_t n = left < chunk ? left : chunk;
        tinyc_unpack_next(&u, out, n);
        fwrite(out, 1, n, stdout);
        left -= n;
    }
    free(out);
    free(exact);
    return 0;
}
