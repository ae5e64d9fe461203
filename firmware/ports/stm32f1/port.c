/* Port for the STM32F101/102/103/105/107 (RM0008 rev 21): the core at the board's rated clock from
 * the PLL fed by the board's crystal (HSE; the HSI/2 path tops out at 64 MHz), the console on the
 * board's USART, core-cycle timing from DWT->CYCCNT (cortex-m/dwt.c; the Cortex-M3 has it).
 *
 * Board facts come from the board file through -D flags (tinyc/deploy/portdefs.py): TINYC_HSE_HZ
 * from cpu.crystal. Every register and bit is named with its SVD path for tests/test_svd_ports.py. */
#include "tinyc_mmio.h"
#include "tinyc_port.h"

#define RCC_BASE 0x40021000u /* svd: RCC */
#define RCC_CR 0x40021000u /* svd: RCC.CR */
#define RCC_CR_HSEON (1u << 16) /* svd: RCC.CR.HSEON */
#define RCC_CR_HSERDY (1u << 17) /* svd: RCC.CR.HSERDY */
#define RCC_CR_PLLON (1u << 24) /* svd: RCC.CR.PLLON */
#define RCC_CR_PLLRDY (1u << 25) /* svd: RCC.CR.PLLRDY */
#define RCC_CFGR 0x40021004u /* svd: RCC.CFGR */
#define RCC_CFGR_SW (0x3u << 0) /* svd: RCC.CFGR.SW */
#define RCC_CFGR_SWS (0x3u << 2) /* svd: RCC.CFGR.SWS */
#define RCC_CFGR_HPRE (0xFu << 4) /* svd: RCC.CFGR.HPRE */
#define RCC_CFGR_PPRE1 (0x7u << 8) /* svd: RCC.CFGR.PPRE1 */
#define RCC_CFGR_PPRE2 (0x7u << 11) /* svd: RCC.CFGR.PPRE2 */
#define RCC_CFGR_PLLSRC (1u << 16) /* svd: RCC.CFGR.PLLSRC */
#define RCC_CFGR_PLLXTPRE (1u << 17) /* svd: RCC.CFGR.PLLXTPRE */
#define RCC_CFGR_PLLMUL (0xFu << 18) /* svd: RCC.CFGR.PLLMUL */
#define RCC_APB2ENR 0x40021018u /* svd: RCC.APB2ENR */
#define RCC_APB2ENR_IOPAEN (1u << 2) /* svd: RCC.APB2ENR.IOPAEN */
#define RCC_APB2ENR_IOPBEN (1u << 3) /* svd: RCC.APB2ENR.IOPBEN */
#define RCC_APB2ENR_IOPCEN (1u << 4) /* svd: RCC.APB2ENR.IOPCEN */
#define RCC_APB2ENR_USART1EN (1u << 14) /* svd: RCC.APB2ENR.USART1EN */
#define RCC_APB1ENR 0x4002101Cu /* svd: RCC.APB1ENR */
#define RCC_APB1ENR_USART2EN (1u << 17) /* svd: RCC.APB1ENR.USART2EN */
#define RCC_APB1ENR_USART3EN (1u << 18) /* svd: RCC.APB1ENR.USART3EN */

#define FLASH_ACR 0x40022000u /* svd: FLASH.ACR */
#define FLASH_ACR_LATENCY (0x7u << 0) /* svd: FLASH.ACR.LATENCY */
#define FLASH_ACR_PRFTBE (1u << 4) /* svd: FLASH.ACR.PRFTBE */

#define GPIOA_BASE 0x40010800u /* svd: GPIOA */
#define GPIOB_BASE 0x40010C00u /* svd: GPIOB */
#define GPIOC_BASE 0x40011000u /* svd: GPIOC */
#define GPIO_CRL 0x00u /* svd-offset: GPIOA.CRL */
#define GPIO_CRL_MODE0 (0x3u << 0) /* svd: GPIOA.CRL.MODE0 */
#define GPIO_CRL_CNF0 (0x3u << 2) /* svd: GPIOA.CRL.CNF0 */
#define GPIO_CRH 0x04u /* svd-offset: GPIOA.CRH */
#define GPIO_BSRR 0x10u /* svd-offset: GPIOA.BSRR */

#define USART1_BASE 0x40013800u /* svd: USART1 */
#define USART2_BASE 0x40004400u /* svd: USART2 */
#define USART3_BASE 0x40004800u /* svd: USART3 */
#include "stm32_usart_sr.h" /* USART_* register offsets and bits (stm32-common) */

/* Clock plan (RM0008 7.2): SYSCLK = HSE * PLLMUL (2..16), AHB /1, APB1 /2 (at most 36 MHz),
 * APB2 /1; flash wait states (3.3.3): 0 up to 24 MHz, 1 up to 48 MHz, 2 up to 72 MHz. */
#ifndef TINYC_HSE_HZ
#error "stm32f1 port: the board file needs cpu.crystal (the HSE crystal, e.g. \"8 MHz\")"
#endif
#define PLL_MUL (TINYC_CLOCK_HZ / TINYC_HSE_HZ)
#if PLL_MUL * TINYC_HSE_HZ != TINYC_CLOCK_HZ || PLL_MUL < 2 || PLL_MUL > 16 || TINYC_CLOCK_HZ > 72000000
#error "stm32f1 port: cpu.clock must be crystal * 2..16 and at most 72 MHz"
#endif
#if TINYC_CLOCK_HZ <= 24000000
#define FLASH_WS 0u
#elif TINYC_CLOCK_HZ <= 48000000
#define FLASH_WS 1u
#else
#define FLASH_WS 2u
#endif
#define APB1_DIV (TINYC_CLOCK_HZ > 36000000 ? 2u : 1u)
#define PCLK1_HZ (TINYC_CLOCK_HZ / APB1_DIV)
#define PCLK2_HZ TINYC_CLOCK_HZ

#include "tinyc_family.h" /* the board's clock plan and console instance (family.toml) */
/* console: from family.toml through tinyc_family.h (tinyc/deploy/family.py). */
#define STM32_GPIO_PORTS 3u /* ports A-C */
#define STM32_GPIO_EN(p) RCC_APB2ENR_IOP##p##EN /* the RCC bit that clocks port p */
#include "stm32_console.h" /* USART bring-up, port_putc, port_getc (the pins are set up below) */

void dwt_start(void);

static void clock_init(void) {
    mmio_modify(RCC_CR, 0, RCC_CR_HSEON);
    mmio_wait_set(RCC_CR, RCC_CR_HSERDY);
    MMIO32(FLASH_ACR) = FIELD(FLASH_ACR_LATENCY, FLASH_WS) | FLASH_ACR_PRFTBE;
    mmio_modify(RCC_CFGR,
                RCC_CFGR_HPRE | RCC_CFGR_PPRE1 | RCC_CFGR_PPRE2 | RCC_CFGR_PLLSRC | RCC_CFGR_PLLXTPRE | RCC_CFGR_PLLMUL,
                FIELD(RCC_CFGR_PPRE1, APB1_DIV == 2u ? 4u : 0u) /* 0b100: /2 */ | RCC_CFGR_PLLSRC /* HSE */ |
                    FIELD(RCC_CFGR_PLLMUL, PLL_MUL - 2u));
    mmio_modify(RCC_CR, 0, RCC_CR_PLLON);
    mmio_wait_set(RCC_CR, RCC_CR_PLLRDY);
    mmio_modify(RCC_CFGR, RCC_CFGR_SW, FIELD(RCC_CFGR_SW, 2u)); /* PLL */
    while ((MMIO32(RCC_CFGR) & RCC_CFGR_SWS) != FIELD(RCC_CFGR_SWS, 2u)) {
    }
}

/* CRL/CRH hold 4 bits per pin: MODE (speed, 0 = input) and CNF. */
static void pin_config(unsigned port, unsigned pin, uint32_t mode, uint32_t cnf) {
    uint32_t base = gpio_base[port];
    MMIO32(RCC_APB2ENR) |= gpio_en[port];
    (void)MMIO32(RCC_APB2ENR);
    uint32_t cr = base + (pin < 8u ? GPIO_CRL : GPIO_CRH);
    unsigned shift = 4u * (pin & 7u);
    mmio_modify(cr, (GPIO_CRL_MODE0 | GPIO_CRL_CNF0) << shift,
                (FIELD(GPIO_CRL_MODE0, mode) | FIELD(GPIO_CRL_CNF0, cnf)) << shift);
}

void port_init(void) {
    clock_init();
    pin_config(TINYC_TX_PORT, TINYC_TX_PIN, 3u /* output 50 MHz */, 2u /* alternate push-pull */);
    pin_config(TINYC_RX_PORT, TINYC_RX_PIN, 0u /* input */, 2u /* with pull-up/down */);
    MMIO32(gpio_base[TINYC_RX_PORT] + GPIO_BSRR) = 1u << TINYC_RX_PIN; /* pull up: an open RX idles high */
    stm32_usart_on();
    dwt_start();
}
