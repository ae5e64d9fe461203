/* tinyc fit's latency profile (tinyc/fit/profile.py): one inference of a model generated with per-layer
 * profiling on (tinyc_model_invoke() adds each layer's ticks of tinyc_profile_clock() to tinyc_layer_ticks[],
 * the same path as the harness's PROFILE command), on seeded pseudo-random inputs, then one line per layer:
 * "OP <operator index> <kernel> <ticks>", then FIT-PROFILE-END, and exit. */
#include <stdint.h>

#include "tinyc_model.h"
#include "tinyc_port.h"

uint64_t tinyc_profile_clock(void) { return port_ticks(); }

static void put_u32(uint32_t v)
{
    char buf[12];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n) port_putc((uint8_t)buf[--n]);
}

int main(void)
{
    uint32_t lcg = 12345u;
    (void)tinyc_model_init(NULL); /* start-up work (packed-ram filters), before the profiled inference */
    for (int i = 0; i < TINYC_MODEL_NUM_INPUTS; ++i) {
        const tinyc_tensor_t *t = tinyc_model_input(i);
        for (uint32_t k = 0; k < t->bytes; ++k) {
            lcg = lcg * 1664525u + 1013904223u;
            ((uint8_t *)t->data)[k] = (uint8_t)(lcg >> 24);
        }
    }
    for (int l = 0; l < TINYC_MODEL_NUM_LAYERS; ++l) tinyc_layer_ticks[l] = 0;
    port_span_begin(); /* restarts the timer: host I/O before it does not move the first layer's count */
    tinyc_model_invoke();
    for (int l = 0; l < TINYC_MODEL_NUM_LAYERS; ++l) {
        port_puts("OP ");
        put_u32(tinyc_layer_op[l]);
        port_puts(" ");
        port_puts(tinyc_layer_kernel[l]);
        port_puts(" ");
        put_u32((uint32_t)tinyc_layer_ticks[l]);
        port_puts("\n");
    }
    port_puts("FIT-PROFILE-END\n");
    port_exit(0x42);
    return 0;
}
