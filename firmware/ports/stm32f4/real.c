/* Real STM32F4 boards (RM0368 rev 5 for the F401; RM0090 for the F405/F407 clock plan): the core at
 * the board's rated clock from the PLL fed by the 16 MHz HSI (no board crystal needed), the
 * console on the USART the board routes to its ST-LINK virtual COM port (SR/DR layout), core-cycle
 * timing from DWT->CYCCNT (cortex-m/dwt.c). Under QEMU (TINYC_EMULATED) port.c is used instead:
 * QEMU models neither the PLL nor its ready flags.
 *
 * Board facts come from the board file through -D flags (tinyc/deploy/portdefs.py), the clock plan and
 * console instance from family.toml through tinyc_family.h (tinyc/deploy/family.py). Every register
 * and bit is named with its SVD path (STM32F401xE.svd) for tests/test_svd_ports.py; F[a-b] names
 * a field the SVD splits into single bits Fa..Fb. */
#ifndef TINYC_EMULATED
#include "tinyc_mmio.h"
#include "tinyc_port.h"

#define RCC_BASE 0x40023800u /* svd: RCC */
#define RCC_CR 0x40023800u /* svd: RCC.CR */
#define RCC_CR_HSION (1u << 0) /* svd: RCC.CR.HSION */
#define RCC_CR_HSIRDY (1u << 1) /* svd: RCC.CR.HSIRDY */
#define RCC_CR_PLLON (1u << 24) /* svd: RCC.CR.PLLON */
#define RCC_CR_PLLRDY (1u << 25) /* svd: RCC.CR.PLLRDY */
#define RCC_PLLCFGR 0x40023804u /* svd: RCC.PLLCFGR */
#define RCC_PLLCFGR_PLLM (0x3Fu << 0) /* svd: RCC.PLLCFGR.PLLM[0-5] */
#define RCC_PLLCFGR_PLLN (0x1FFu << 6) /* svd: RCC.PLLCFGR.PLLN[0-8] */
#define RCC_PLLCFGR_PLLP (0x3u << 16) /* svd: RCC.PLLCFGR.PLLP[0-1] */
#define RCC_PLLCFGR_PLLSRC (1u << 22) /* svd: RCC.PLLCFGR.PLLSRC */
#define RCC_PLLCFGR_PLLQ (0xFu << 24) /* svd: RCC.PLLCFGR.PLLQ[0-3] */
#define RCC_CFGR 0x40023808u /* svd: RCC.CFGR */
#define RCC_CFGR_SW (0x3u << 0) /* svd: RCC.CFGR.SW[0-1] */
#define RCC_CFGR_SWS (0x3u << 2) /* svd: RCC.CFGR.SWS[0-1] */
#define RCC_CFGR_HPRE (0xFu << 4) /* svd: RCC.CFGR.HPRE */
#define RCC_CFGR_PPRE1 (0x7u << 10) /* svd: RCC.CFGR.PPRE1 */
#define RCC_CFGR_PPRE2 (0x7u << 13) /* svd: RCC.CFGR.PPRE2 */
#define RCC_AHB1ENR 0x40023830u /* svd: RCC.AHB1ENR */
#define RCC_AHB1ENR_GPIOAEN (1u << 0) /* svd: RCC.AHB1ENR.GPIOAEN */
#define RCC_AHB1ENR_GPIOBEN (1u << 1) /* svd: RCC.AHB1ENR.GPIOBEN */
#define RCC_AHB1ENR_GPIOCEN (1u << 2) /* svd: RCC.AHB1ENR.GPIOCEN */
#define RCC_AHB1ENR_GPIODEN (1u << 3) /* svd: RCC.AHB1ENR.GPIODEN */
#define RCC_AHB1ENR_GPIOEEN (1u << 4) /* svd: RCC.AHB1ENR.GPIOEEN */
#define RCC_APB1ENR 0x40023840u /* svd: RCC.APB1ENR */
#define RCC_APB1ENR_USART2EN (1u << 17) /* svd: RCC.APB1ENR.USART2EN */
#define RCC_APB2ENR 0x40023844u /* svd: RCC.APB2ENR */
#define RCC_APB2ENR_USART1EN (1u << 4) /* svd: RCC.APB2ENR.USART1EN */
#define RCC_APB2ENR_USART6EN (1u << 5) /* svd: RCC.APB2ENR.USART6EN */

#define FLASH_ACR 0x40023C00u /* svd: FLASH.ACR */
#define FLASH_ACR_LATENCY (0x7u << 0) /* svd: FLASH.ACR.LATENCY */
#define FLASH_ACR_PRFTEN (1u << 8) /* svd: FLASH.ACR.PRFTEN */
#define FLASH_ACR_ICEN (1u << 9) /* svd: FLASH.ACR.ICEN */
#define FLASH_ACR_DCEN (1u << 10) /* svd: FLASH.ACR.DCEN */

#define GPIOA_BASE 0x40020000u /* svd: GPIOA */
#define GPIOB_BASE 0x40020400u /* svd: GPIOB */
#define GPIOC_BASE 0x40020800u /* svd: GPIOC */
#define GPIOD_BASE 0x40020C00u /* svd: GPIOD */
#define GPIOE_BASE 0x40021000u /* svd: GPIOE */
#define GPIO_MODER 0x00u /* svd-offset: GPIOA.MODER */
#define GPIO_MODER_PIN0 (0x3u << 0) /* svd: GPIOA.MODER.MODER0 */
#define GPIO_OSPEEDR 0x08u /* svd-offset: GPIOA.OSPEEDR */
#define GPIO_PUPDR 0x0Cu /* svd-offset: GPIOA.PUPDR */
#define GPIO_AFRL 0x20u /* svd-offset: GPIOA.AFRL */
#define GPIO_AFRL_PIN0 (0xFu << 0) /* svd: GPIOA.AFRL.AFRL0 */
#define GPIO_AFRH 0x24u /* svd-offset: GPIOA.AFRH */

#define USART1_BASE 0x40011000u /* svd: USART1 */
#define USART2_BASE 0x40004400u /* svd: USART2 */
#define USART6_BASE 0x40011400u /* svd: USART6 */
#include "stm32_usart_sr.h" /* USART_* register offsets and bits (stm32-common) */

/* The board's clock plan (PLL_M/N/P/Q, FLASH_WS, APB1_DIV, APB2_DIV) and console instance (CON_BASE,
 * CON_ENR, CON_EN, CON_CLK_HZ, CON_AF) come from family.toml through the header tinyc generates. */
#include "tinyc_family.h"
#define PCLK1_HZ (TINYC_CLOCK_HZ / APB1_DIV)
#define PCLK2_HZ (TINYC_CLOCK_HZ / APB2_DIV)
#define PPRE_CODE(div) ((div) == 1u ? 0u : (div) == 2u ? 4u : (div) == 4u ? 5u : (div) == 8u ? 6u : 7u)

#define STM32_GPIO_PORTS 5u /* ports A-E */
#define STM32_GPIO_EN(p) RCC_AHB1ENR_GPIO##p##EN /* the RCC bit that clocks port p */
#define STM32_GPIO_ENR RCC_AHB1ENR
#include "stm32_console.h" /* pins, USART bring-up, port_putc, port_getc */

void dwt_start(void);

static void clock_init(void) {
    mmio_modify(RCC_CR, 0, RCC_CR_HSION);
    mmio_wait_set(RCC_CR, RCC_CR_HSIRDY);
    /* PLLSRC = 0: HSI; the reserved bits keep their reset values */
    mmio_modify(RCC_PLLCFGR,
                RCC_PLLCFGR_PLLM | RCC_PLLCFGR_PLLN | RCC_PLLCFGR_PLLP | RCC_PLLCFGR_PLLSRC | RCC_PLLCFGR_PLLQ,
                FIELD(RCC_PLLCFGR_PLLM, PLL_M) | FIELD(RCC_PLLCFGR_PLLN, PLL_N) |
                    FIELD(RCC_PLLCFGR_PLLP, PLL_P / 2u - 1u) | FIELD(RCC_PLLCFGR_PLLQ, PLL_Q));
    mmio_modify(RCC_CR, 0, RCC_CR_PLLON);
    mmio_wait_set(RCC_CR, RCC_CR_PLLRDY);
    MMIO32(FLASH_ACR) = FIELD(FLASH_ACR_LATENCY, FLASH_WS) | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    while ((MMIO32(FLASH_ACR) & FLASH_ACR_LATENCY) != FIELD(FLASH_ACR_LATENCY, FLASH_WS)) {
    }
    mmio_modify(RCC_CFGR, RCC_CFGR_HPRE | RCC_CFGR_PPRE1 | RCC_CFGR_PPRE2,
                FIELD(RCC_CFGR_PPRE1, PPRE_CODE(APB1_DIV)) | FIELD(RCC_CFGR_PPRE2, PPRE_CODE(APB2_DIV)));
    mmio_modify(RCC_CFGR, RCC_CFGR_SW, FIELD(RCC_CFGR_SW, 2u)); /* PLL */
    while ((MMIO32(RCC_CFGR) & RCC_CFGR_SWS) != FIELD(RCC_CFGR_SWS, 2u)) {
    }
}

void port_init(void) {
    clock_init();
    stm32_console_init();
    dwt_start();
}
#endif /* !TINYC_EMULATED */
