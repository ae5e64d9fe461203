/* Host test driver for a generated model: reads a batch of inputs on stdin and writes the outputs.
 *
 * stdin:  uint32 count (little endian), then `count` records, each all inputs' bytes in order.
 * stdout: `count` records, each all outputs' bytes in order. Exit code 0 on success.
 * The inputs are refilled before every inference (an inference may overwrite them). */
#include <stdio.h>
#include <string.h>

#include "tinyc_model.h"

int main(void)
{
    unsigned char head[4];
    if (fread(head, 1, 4, stdin) != 4) return 2;
    const uint32_t count = (uint32_t)head[0] | ((uint32_t)head[1] << 8) | ((uint32_t)head[2] << 16)
                           | ((uint32_t)head[3] << 24);
    if (tinyc_model_init(NULL) != 0) return 5;
    for (uint32_t n = 0; n < count; ++n) {
        for (int i = 0; i < TINYC_MODEL_NUM_INPUTS; ++i) {
            const tinyc_tensor_t *t = tinyc_model_input(i);
            if (fread(t->data, 1, t->bytes, stdin) != t->bytes) return 3;
        }
        if (tinyc_model_invoke() != 0) return 4;
        for (int i = 0; i < TINYC_MODEL_NUM_OUTPUTS; ++i) {
            const tinyc_tensor_t *t = tinyc_model_output(i);
            if (fwrite(t->data, 1, t->bytes, stdout) != t->bytes) return 5;
        }
    }
    return fflush(stdout) == 0 ? 0 : 6;
}
