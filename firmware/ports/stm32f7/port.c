/* Port for the STM32F7 (RM0385): console on the USART the board routes to its ST-LINK
 * virtual COM port, timing from the DWT cycle counter.
 * This first version runs the core from the 16 MHz HSI it resets on; the PLL set-up to the
 * rated clock comes with the real-board ports. */
#include "tinyc_port.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC_BASE 0x40023800u
#define RCC_AHB1ENR REG(RCC_BASE + 0x30)
#define RCC_APB1ENR REG(RCC_BASE + 0x40)
#define GPIOD_BASE 0x40020C00u
#define GPIOD_MODER REG(GPIOD_BASE + 0x00)
#define GPIOD_AFRH REG(GPIOD_BASE + 0x24)
#define USART3_BASE 0x40004800u
#define USART_CR1 REG(USART3_BASE + 0x00)
#define USART_BRR REG(USART3_BASE + 0x0C)
#define USART_ISR REG(USART3_BASE + 0x1C)
#define USART_RDR REG(USART3_BASE + 0x24)
#define USART_TDR REG(USART3_BASE + 0x28)
#define DEMCR REG(0xE000EDFCu)
#define DWT_CTRL REG(0xE0001000u)
#define DWT_CYCCNT REG(0xE0001004u)
#define DWT_LAR REG(0xE0001FB0u)

#define HSI_HZ 16000000u
#ifndef TINYC_BAUD
#define TINYC_BAUD 115200u
#endif

static uint32_t cyc_hi, cyc_last;

void port_init(void) {
    RCC_AHB1ENR |= 1u << 3;  /* GPIODEN */
    RCC_APB1ENR |= 1u << 18; /* USART3EN */
    (void)RCC_APB1ENR;
    /* PD8 (TX), PD9 (RX): alternate function 7 */
    GPIOD_MODER = (GPIOD_MODER & ~(0xFu << 16)) | (0xAu << 16);
    GPIOD_AFRH = (GPIOD_AFRH & ~0xFFu) | 0x77u;
    USART_BRR = (HSI_HZ + TINYC_BAUD / 2) / TINYC_BAUD;
    USART_CR1 = (1u << 3) | (1u << 2) | 1u; /* TE, RE, UE */
    DEMCR |= 1u << 24;                      /* TRCENA */
    DWT_LAR = 0xC5ACCE55u;                  /* unlock (needed on the M7) */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;
}

void port_putc(uint8_t c) {
    while (!(USART_ISR & (1u << 7))) { /* TXE */
    }
    USART_TDR = c;
}

uint64_t port_ticks(void) {
    uint32_t now = DWT_CYCCNT;
    if (now < cyc_last) cyc_hi++;
    cyc_last = now;
    return ((uint64_t)cyc_hi << 32) | now;
}

uint32_t port_tick_hz(void) { return HSI_HZ; }

/* A span counts core cycles from zero; 2^32 cycles (about 20 s at 216 MHz) is the longest. */
static uint32_t span_start;
void port_span_begin(void) { span_start = DWT_CYCCNT; }
uint64_t port_span_end(void) { return (uint32_t)(DWT_CYCCNT - span_start); }

int port_getc(int32_t timeout_ms) {
    uint64_t limit = timeout_ms < 0 ? UINT64_MAX : port_ticks() + (uint64_t)timeout_ms * (HSI_HZ / 1000u);
    while (!(USART_ISR & (1u << 5))) { /* RXNE */
        if (port_ticks() > limit) return -1;
    }
    return (int)(USART_RDR & 0xFF);
}
