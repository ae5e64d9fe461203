#include "tinyc_port.h"

void port_puts(const char *s) {
    while (*s) port_putc((uint8_t)*s++);
}
