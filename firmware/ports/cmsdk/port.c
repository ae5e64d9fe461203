/* Port for Arm's CMSDK-based FPGA images as QEMU models them (mps2-an385/an386/an500,
 * mps3-an547): CMSDK APB UART console and SysTick timing. The UART base address and the
 * SysTick rate come from the board file through -D flags. */
#include "tinyc_port.h"

#ifndef TINYC_UART_BASE
#error "TINYC_UART_BASE must be set from the board file"
#endif
#ifndef TINYC_TICK_HZ
#error "TINYC_TICK_HZ must be set from the board file"
#endif

#define UART_DATA (*(volatile uint32_t *)(TINYC_UART_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(TINYC_UART_BASE + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(TINYC_UART_BASE + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(TINYC_UART_BASE + 0x10))
#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
/* Under QEMU every UART status read takes the emulator's global lock, which its I/O thread needs
 * to hand over the next received byte: polling flat out slows the link down several times. A real
 * CMSDK UART holds one byte (87 us at 115200 baud), so silicon polls without a pause. */
#ifdef TINYC_EMULATED
#define POLL_BACKOFF 1000
#else
#define POLL_BACKOFF 0
#endif

void systick_start(void);
uint64_t systick_ticks(void);
void systick_span_begin(void);
uint64_t systick_span_end(void);

void port_init(void) {
    UART_BAUDDIV = 16; /* ignored by QEMU, must be >= 16 on the FPGA */
    UART_CTRL = 0x3;   /* TX and RX enable */
    systick_start();
}

void port_putc(uint8_t c) {
    while (UART_STATE & STATE_TX_FULL) {
    }
    UART_DATA = c;
}

int port_getc(int32_t timeout_ms) {
    uint64_t limit = timeout_ms < 0 ? UINT64_MAX
                                    : systick_ticks() + (uint64_t)timeout_ms * (TINYC_TICK_HZ / 1000u);
    while (!(UART_STATE & STATE_RX_FULL)) {
        if (timeout_ms >= 0 && systick_ticks() > limit) return -1;
        for (volatile int i = 0; i < POLL_BACKOFF; i++) {
        }
    }
    return (int)(UART_DATA & 0xFF);
}

uint64_t port_ticks(void) { return systick_ticks(); }
void port_span_begin(void) { systick_span_begin(); }
uint64_t port_span_end(void) { return systick_span_end(); }
uint32_t port_tick_hz(void) { return TINYC_TICK_HZ; }
