/* The smallest firmware: proves the toolchain, startup, linker script, console and exit path. */
#include "tinyc_port.h"

int main(void) {
    port_puts("hello from tinyc on " TINYC_BOARD_ID "\n");
    return 0;
}
