/* Port for the STM32F4 family (RM0090 / RM0368) as QEMU models it (netduinoplus2, STM32F405):
 * console on the USART at the board file's address (SR/DR register layout, unlike the F7's
 * ISR/RDR/TDR), timing from SysTick, whose spans are exactly repeatable under -icount.
 * Real F4 boards need the clock tree and the console pins' alternate functions set up, which
 * belongs with the real-board ports: real.c (issue 7). */
#include "tinyc_port.h"

/* Real boards (nucleo-f401re) use real.c: clock tree, console pins, DWT timing (issue 7). */
#ifdef TINYC_EMULATED

#ifndef TINYC_UART_BASE
#error "TINYC_UART_BASE must be set from the board file"
#endif

#define REG(addr) (*(volatile uint32_t *)(addr))
#define RCC_BASE 0x40023800u
#define RCC_APB1ENR REG(RCC_BASE + 0x40)
#define RCC_APB2ENR REG(RCC_BASE + 0x44)
#define USART_SR REG(TINYC_UART_BASE + 0x00)
#define USART_DR REG(TINYC_UART_BASE + 0x04)
#define USART_BRR REG(TINYC_UART_BASE + 0x08)
#define USART_CR1 REG(TINYC_UART_BASE + 0x0C)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)
#define CR1_UE (1u << 13)
#define CR1_TE (1u << 3)
#define CR1_RE (1u << 2)
#define HSI_HZ 16000000u
#ifndef TINYC_BAUD
#define TINYC_BAUD 115200u
#endif

#ifndef TINYC_TICK_HZ
#error "TINYC_TICK_HZ must be set from the board file"
#endif

void systick_start(void);
uint64_t systick_ticks(void);
void systick_span_begin(void);
uint64_t systick_span_end(void);

static void usart_clock_on(void) {
    switch (TINYC_UART_BASE) {
    case 0x40011000u: RCC_APB2ENR |= 1u << 4; break;  /* USART1 */
    case 0x40011400u: RCC_APB2ENR |= 1u << 5; break;  /* USART6 */
    case 0x40004400u: RCC_APB1ENR |= 1u << 17; break; /* USART2 */
    case 0x40004800u: RCC_APB1ENR |= 1u << 18; break; /* USART3 */
    default: break;
    }
    (void)RCC_APB2ENR;
}

void port_init(void) {
    usart_clock_on();
    USART_BRR = (HSI_HZ + TINYC_BAUD / 2) / TINYC_BAUD;
    USART_CR1 = CR1_UE | CR1_TE | CR1_RE; /* QEMU drops received bytes until UE and RE are set */
    systick_start();
}

void port_putc(uint8_t c) {
    while (!(USART_SR & SR_TXE)) {
    }
    USART_DR = c;
}

uint64_t port_ticks(void) { return systick_ticks(); }
uint32_t port_tick_hz(void) { return TINYC_TICK_HZ; }
void port_span_begin(void) { systick_span_begin(); }
uint64_t port_span_end(void) { return systick_span_end(); }

int port_getc(int32_t timeout_ms) {
    uint64_t limit = timeout_ms < 0 ? UINT64_MAX : port_ticks() + (uint64_t)timeout_ms * (port_tick_hz() / 1000u);
    while (!(USART_SR & SR_RXNE)) {
        if (timeout_ms >= 0 && port_ticks() > limit) return -1;
    }
    return (int)(USART_DR & 0xFF);
}
#endif /* TINYC_EMULATED */
