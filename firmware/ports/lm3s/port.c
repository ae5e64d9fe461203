/* Port for the TI Stellaris LM3S (LM3S6965): console on the PL011 UART named by the board file,
 * timing from SysTick (the Cortex-M3 here has no usable cycle counter under QEMU). */
#include "tinyc_port.h"

#ifndef TINYC_UART_BASE
#error "TINYC_UART_BASE must be set from the board file"
#endif
#ifndef TINYC_TICK_HZ
#error "TINYC_TICK_HZ must be set from the board file"
#endif

#define REG(addr) (*(volatile uint32_t *)(addr))
#define SYSCTL_RCGC1 REG(0x400FE104u)
#define SYSCTL_RCGC2 REG(0x400FE108u)
#define UART_DR REG(TINYC_UART_BASE + 0x00)
#define UART_FR REG(TINYC_UART_BASE + 0x18)
#define UART_IBRD REG(TINYC_UART_BASE + 0x24)
#define UART_FBRD REG(TINYC_UART_BASE + 0x28)
#define UART_LCRH REG(TINYC_UART_BASE + 0x2C)
#define UART_CTL REG(TINYC_UART_BASE + 0x30)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)

void systick_start(void);
uint64_t systick_ticks(void);
void systick_span_begin(void);
uint64_t systick_span_end(void);

void port_init(void) {
    SYSCTL_RCGC1 |= 0x7u; /* UART0..2 clocks */
    SYSCTL_RCGC2 |= 0x1u; /* GPIOA (UART0 pins) */
    UART_CTL = 0;
    UART_IBRD = 27; /* 115200 baud from 50 MHz: 27 + 8/64 */
    UART_FBRD = 8;
    UART_LCRH = 0x70; /* 8 bits, FIFOs on */
    UART_CTL = (1u << 9) | (1u << 8) | 1u; /* RXE, TXE, UARTEN */
    systick_start();
}

void port_putc(uint8_t c) {
    while (UART_FR & FR_TXFF) {
    }
    UART_DR = c;
}

int port_getc(int32_t timeout_ms) {
    uint64_t limit = timeout_ms < 0 ? UINT64_MAX : systick_ticks() + (uint64_t)timeout_ms * (TINYC_TICK_HZ / 1000u);
    while (UART_FR & FR_RXFE) {
        if (timeout_ms >= 0 && systick_ticks() > limit) return -1;
    }
    return (int)(UART_DR & 0xFF);
}

uint64_t port_ticks(void) { return systick_ticks(); }
uint32_t port_tick_hz(void) { return TINYC_TICK_HZ; }
void port_span_begin(void) { systick_span_begin(); }
uint64_t port_span_end(void) { return systick_span_end(); }
