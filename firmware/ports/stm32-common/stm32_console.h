/* The console code every STM32 real-board port shares: the console pins' alternate function and
 * the USART's bring-up, put and get. What differs between families are facts (register addresses,
 * bit positions, which RCC register clocks what), so each family's port.c defines them, SVD-annotated
 * where tests/test_svd_ports.py looks for them (the .c files of firmware/ports/<family>), and then includes this
 * file once, after those definitions:
 *
 *   CON_BASE, CON_ENR, CON_EN      the console USART's base and the RCC enable register and bit
 *   CON_CLK_HZ                     its kernel clock, for the oversampling-by-16 divider, or CON_BRR
 *                                  (the BRR value itself, e.g. the LPUART's 256 * f / baud)
 *   USART_CR1, USART_CR1_UE/TE/RE, USART_BRR
 *   one register layout:           USART_ISR, USART_ISR_TXE/RXNE/ORE, USART_ICR, USART_ICR_ORECF,
 *                                  USART_RDR, USART_TDR (F7, L4, H7), or
 *                                  USART_SR, USART_SR_TXE/RXNE/ORE, USART_DR (F1, F4)
 *   where the GPIOs have alternate-function registers (all but the F1), for stm32_console_init:
 *     GPIO_MODER, GPIO_MODER_PIN0, GPIO_OSPEEDR, GPIO_PUPDR, GPIO_AFRL, GPIO_AFRL_PIN0, GPIO_AFRH,
 *     CON_AF (the console pins' alternate function), STM32_GPIO_ENR (the RCC register that clocks
 *     the GPIO ports);
 *   for every port: STM32_GPIO_PORTS and STM32_GPIO_EN(p), from which this file builds the tables
 *   gpio_base[] and gpio_en[] (port A, B, ...: base, enable bit).
 *
 * It defines port_putc and port_getc, and the static stm32_console_init (pins and USART) or, for a
 * port that sets up its pins itself, stm32_usart_on (the USART alone). */
#ifndef TINYC_STM32_CONSOLE_H
#define TINYC_STM32_CONSOLE_H

#include "tinyc_mmio.h"
#include "tinyc_port.h"

/* Every real STM32 board times with DWT->CYCCNT and names console pins on the chip's GPIO ports: the port
 * defines STM32_GPIO_PORTS (how many, from A) and STM32_GPIO_EN(p) (the RCC enable bit of port p, a
 * token-pasting macro over its SVD-checked names); the tables gpio_base[] and gpio_en[] follow. */
#ifndef TINYC_USE_DWT
#error "stm32 port: build with TINYC_USE_DWT (tinyc/deploy/portdefs.py sets it for real boards)"
#endif
#if !defined(TINYC_TX_PORT) || !defined(TINYC_RX_PORT) || TINYC_TX_PORT >= STM32_GPIO_PORTS || \
    TINYC_RX_PORT >= STM32_GPIO_PORTS
#error "stm32 port: console.tx_pin/rx_pin in the board file must name pins on the chip's GPIO ports (A-C on the F1, A-E on the F4, A-G on the F7/H7/L4)"
#endif
#define STM32_GPIO_BASE(p) GPIO##p##_BASE
#if STM32_GPIO_PORTS == 3
#define STM32_GPIO_EACH(X) X(A), X(B), X(C)
#elif STM32_GPIO_PORTS == 5
#define STM32_GPIO_EACH(X) X(A), X(B), X(C), X(D), X(E)
#elif STM32_GPIO_PORTS == 7
#define STM32_GPIO_EACH(X) X(A), X(B), X(C), X(D), X(E), X(F), X(G)
#else
#error "stm32 port: STM32_GPIO_PORTS must be 3, 5 or 7; add the list for another count here"
#endif
static const uint32_t gpio_base[] = {STM32_GPIO_EACH(STM32_GPIO_BASE)};
static const uint32_t gpio_en[] = {STM32_GPIO_EACH(STM32_GPIO_EN)};

#ifndef CON_BRR
#define CON_BRR ((CON_CLK_HZ + TINYC_BAUD / 2u) / TINYC_BAUD) /* oversampling by 16 */
#endif

/* The console USART clocked, 8N1 at TINYC_BAUD, transmitter and receiver on. */
static void stm32_usart_on(void) {
    MMIO32(CON_ENR) |= CON_EN;
    (void)MMIO32(CON_ENR); /* the enable takes effect after a bus cycle */
    MMIO32(CON_BASE + USART_CR1) = 0;
    MMIO32(CON_BASE + USART_BRR) = CON_BRR;
    MMIO32(CON_BASE + USART_CR1) = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

#ifdef GPIO_AFRL
static void stm32_pin_af(unsigned port, unsigned pin, unsigned pull_up) {
    uint32_t base = gpio_base[port];
    MMIO32(STM32_GPIO_ENR) |= gpio_en[port];
    (void)MMIO32(STM32_GPIO_ENR);
    uint32_t afr = base + (pin < 8u ? GPIO_AFRL : GPIO_AFRH);
    mmio_modify(afr, GPIO_AFRL_PIN0 << (4u * (pin & 7u)), CON_AF << (4u * (pin & 7u)));
    mmio_modify(base + GPIO_OSPEEDR, GPIO_MODER_PIN0 << (2u * pin), 2u << (2u * pin)); /* high speed */
    mmio_modify(base + GPIO_PUPDR, GPIO_MODER_PIN0 << (2u * pin), (pull_up ? 1u : 0u) << (2u * pin));
    mmio_modify(base + GPIO_MODER, GPIO_MODER_PIN0 << (2u * pin), 2u << (2u * pin)); /* alternate */
}

/* The console pins on their alternate function, then the USART. */
static void stm32_console_init(void) {
    stm32_pin_af(TINYC_TX_PORT, TINYC_TX_PIN, 0);
    stm32_pin_af(TINYC_RX_PORT, TINYC_RX_PIN, 1); /* an unconnected RX idles high, not as noise */
    stm32_usart_on();
}
#endif

/* The two register layouts: status, data and the receive condition. With ISR/RDR/TDR an overrun
 * is cleared through ICR (else reception stops); with SR/DR, reading SR then DR returns the byte
 * and clears an overrun, so an overrun counts as a byte received. */
#if defined(USART_ISR)
#define CON_STATUS USART_ISR
#define CON_TXE USART_ISR_TXE
#define CON_RX_READY USART_ISR_RXNE
#define CON_RX USART_RDR
#define CON_TX USART_TDR
#elif defined(USART_SR)
#define CON_STATUS USART_SR
#define CON_TXE USART_SR_TXE
#define CON_RX_READY (USART_SR_RXNE | USART_SR_ORE)
#define CON_RX USART_DR
#define CON_TX USART_DR
#else
#error "stm32_console.h: the port defines neither USART_ISR (ISR/RDR/TDR layout) nor USART_SR (SR/DR layout)"
#endif

void port_putc(uint8_t c) {
    mmio_wait_set(CON_BASE + CON_STATUS, CON_TXE);
    MMIO32(CON_BASE + CON_TX) = c;
}

int port_getc(int32_t timeout_ms) {
    uint64_t limit = timeout_ms < 0 ? UINT64_MAX : port_ticks() + (uint64_t)timeout_ms * (TINYC_CLOCK_HZ / 1000u);
    for (;;) {
        uint32_t status = MMIO32(CON_BASE + CON_STATUS);
        if (status & CON_RX_READY) return (int)(MMIO32(CON_BASE + CON_RX) & 0xFFu);
#ifdef USART_ISR
        if (status & USART_ISR_ORE) MMIO32(CON_BASE + USART_ICR) = USART_ICR_ORECF;
#endif
        if (port_ticks() > limit) return -1;
    }
}

#endif
