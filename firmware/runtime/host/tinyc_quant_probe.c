/* Host probe for the fixed-point primitives: reads lines "op a b c" and prints one result per line.
 * Ops: requant x m shift | srdhm a b | rdbpot x e | exp a bits | recip a | roundf bits. */
#include <stdio.h>
#include <string.h>

#include "tinyc_quant.h"

int main(void)
{
    char op[16];
    long long a, b, c;
    while (scanf("%15s %lld %lld %lld", op, &a, &b, &c) == 4) {
        if (!strcmp(op, "requant")) {
            printf("%ld\n", (long)tinyc_requant((int32_t)a, (int32_t)b, (int32_t)c));
        } else if (!strcmp(op, "srdhm")) {
            printf("%ld\n", (long)tinyc_srdhm((int32_t)a, (int32_t)b));
        } else if (!strcmp(op, "rdbpot")) {
            printf("%ld\n", (long)tinyc_rdbpot((int32_t)a, (int)b));
        } else if (!strcmp(op, "exp")) {
            printf("%ld\n", (long)tinyc_fx_exp_on_negative_values((int32_t)a, (int)b));
        } else if (!strcmp(op, "recip")) {
            printf("%ld\n", (long)tinyc_fx_one_over_one_plus_x((int32_t)a));
        } else if (!strcmp(op, "roundf")) {
            uint32_t bits = (uint32_t)a;
            float f;
            memcpy(&f, &bits, 4);
            const float r = tinyc_roundf(f);
            memcpy(&bits, &r, 4);
            printf("%lu\n", (unsigned long)bits);
        } else {
            return 2;
        }
    }
    return 0;
}
