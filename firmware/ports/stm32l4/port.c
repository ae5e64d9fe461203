/* Port for the STM32L4 (RM0351 rev 9 for the L47x/L48x, RM0432 rev 9 for the L4R/L4S): the core at
 * the board's rated clock from the PLL fed by the 16 MHz HSI16, the console on the (LP)UART the
 * board routes to its ST-LINK virtual COM port, core-cycle timing from DWT->CYCCNT (cortex-m/dwt.c).
 *
 * Board facts come from the board file through -D flags (tinyc/deploy/portdefs.py). Registers
 * and bits are named with their SVD path for tests/test_svd_ports.py; the few that only the
 * L4R/L4S has are marked "rm0432:" instead (no SVD for that line ships in a pinned package). */
#include "tinyc_mmio.h"
#include "tinyc_port.h"

#define RCC_BASE 0x40021000u /* svd: RCC */
#define RCC_CR 0x40021000u /* svd: RCC.CR */
#define RCC_CR_HSION (1u << 8) /* svd: RCC.CR.HSION */
#define RCC_CR_HSIRDY (1u << 10) /* svd: RCC.CR.HSIRDY */
#define RCC_CR_PLLON (1u << 24) /* svd: RCC.CR.PLLON */
#define RCC_CR_PLLRDY (1u << 25) /* svd: RCC.CR.PLLRDY */
#define RCC_CFGR 0x40021008u /* svd: RCC.CFGR */
#define RCC_CFGR_SW (0x3u << 0) /* svd: RCC.CFGR.SW */
#define RCC_CFGR_SWS (0x3u << 2) /* svd: RCC.CFGR.SWS */
#define RCC_CFGR_HPRE (0xFu << 4) /* svd: RCC.CFGR.HPRE */
#define RCC_CFGR_PPRE1 (0x7u << 8) /* svd: RCC.CFGR.PPRE1 */
#define RCC_CFGR_PPRE2 (0x7u << 11) /* svd: RCC.CFGR.PPRE2 */
#define RCC_PLLCFGR 0x4002100Cu /* svd: RCC.PLLCFGR */
#define RCC_PLLCFGR_PLLSRC (0x3u << 0) /* svd: RCC.PLLCFGR.PLLSRC */
#define RCC_PLLCFGR_PLLM (0x7u << 4) /* svd: RCC.PLLCFGR.PLLM */
#define RCC_PLLCFGR_PLLN (0x7Fu << 8) /* svd: RCC.PLLCFGR.PLLN */
#define RCC_PLLCFGR_PLLREN (1u << 24) /* svd: RCC.PLLCFGR.PLLREN */
#define RCC_PLLCFGR_PLLR (0x3u << 25) /* svd: RCC.PLLCFGR.PLLR */
#define RCC_AHB2ENR 0x4002104Cu /* svd: RCC.AHB2ENR */
#define RCC_AHB2ENR_GPIOAEN (1u << 0) /* svd: RCC.AHB2ENR.GPIOAEN */
#define RCC_AHB2ENR_GPIOBEN (1u << 1) /* svd: RCC.AHB2ENR.GPIOBEN */
#define RCC_AHB2ENR_GPIOCEN (1u << 2) /* svd: RCC.AHB2ENR.GPIOCEN */
#define RCC_AHB2ENR_GPIODEN (1u << 3) /* svd: RCC.AHB2ENR.GPIODEN */
#define RCC_AHB2ENR_GPIOEEN (1u << 4) /* svd: RCC.AHB2ENR.GPIOEEN */
#define RCC_AHB2ENR_GPIOFEN (1u << 5) /* svd: RCC.AHB2ENR.GPIOFEN */
#define RCC_AHB2ENR_GPIOGEN (1u << 6) /* svd: RCC.AHB2ENR.GPIOGEN */
#define RCC_APB1ENR1 0x40021058u /* svd: RCC.APB1ENR1 */
#define RCC_APB1ENR1_USART2EN (1u << 17) /* svd: RCC.APB1ENR1.USART2EN */
#define RCC_APB1ENR1_USART3EN (1u << 18) /* svd: RCC.APB1ENR1.USART3EN */
#define RCC_APB1ENR1_PWREN (1u << 28) /* svd: RCC.APB1ENR1.PWREN */
#define RCC_APB1ENR2 0x4002105Cu /* svd: RCC.APB1ENR2 */
#define RCC_APB1ENR2_LPUART1EN (1u << 0) /* svd: RCC.APB1ENR2.LPUART1EN */
#define RCC_APB2ENR 0x40021060u /* svd: RCC.APB2ENR */
#define RCC_APB2ENR_USART1EN (1u << 14) /* svd: RCC.APB2ENR.USART1EN */

#define PWR_CR1 0x40007000u /* svd: PWR.CR1 */
#define PWR_CR1_VOS (0x3u << 9) /* svd: PWR.CR1.VOS */
#define PWR_CR2 0x40007004u /* svd: PWR.CR2 */
#define PWR_CR2_IOSV (1u << 9) /* svd: PWR.CR2.IOSV */
#define PWR_SR2 0x40007014u /* svd: PWR.SR2 */
#define PWR_SR2_VOSF (1u << 10) /* svd: PWR.SR2.VOSF */
#define PWR_CR5 0x40007080u /* rm0432: PWR.CR5 (L4R/L4S only) */
#define PWR_CR5_R1MODE (1u << 8) /* rm0432: PWR.CR5.R1MODE */

#define FLASH_ACR 0x40022000u /* svd: Flash.ACR */
#define FLASH_ACR_LATENCY (0x7u << 0) /* svd: Flash.ACR.LATENCY */
#define FLASH_ACR_LATENCY_L4R (0xFu << 0) /* rm0432: FLASH.ACR.LATENCY (4 bits on the L4R/L4S) */
#define FLASH_ACR_PRFTEN (1u << 8) /* svd: Flash.ACR.PRFTEN */
#define FLASH_ACR_ICEN (1u << 9) /* svd: Flash.ACR.ICEN */
#define FLASH_ACR_DCEN (1u << 10) /* svd: Flash.ACR.DCEN */

#define GPIOA_BASE 0x48000000u /* svd: GPIOA */
#define GPIOB_BASE 0x48000400u /* svd: GPIOB */
#define GPIOC_BASE 0x48000800u /* svd: GPIOC */
#define GPIOD_BASE 0x48000C00u /* svd: GPIOD */
#define GPIOE_BASE 0x48001000u /* svd: GPIOE */
#define GPIOF_BASE 0x48001400u /* svd: GPIOF */
#define GPIOG_BASE 0x48001800u /* svd: GPIOG */
#define GPIO_MODER 0x00u /* svd-offset: GPIOA.MODER */
#define GPIO_MODER_PIN0 (0x3u << 0) /* svd: GPIOA.MODER.MODER0 */
#define GPIO_OSPEEDR 0x08u /* svd-offset: GPIOA.OSPEEDR */
#define GPIO_PUPDR 0x0Cu /* svd-offset: GPIOA.PUPDR */
#define GPIO_AFRL 0x20u /* svd-offset: GPIOA.AFRL */
#define GPIO_AFRL_PIN0 (0xFu << 0) /* svd: GPIOA.AFRL.AFRL0 */
#define GPIO_AFRH 0x24u /* svd-offset: GPIOA.AFRH */

#define USART1_BASE 0x40013800u /* svd: USART1 */
#define USART2_BASE 0x40004400u /* svd: USART2 */
#define USART3_BASE 0x40004800u /* svd: USART3 */
#define LPUART1_BASE 0x40008000u /* svd: LPUART1 */
#include "stm32_usart_isr.h" /* USART_* register offsets and bits (stm32-common) */
/* The LPUART has the same layout at the same offsets (checked separately). */
#define LPUART_CR1 0x00u /* svd-offset: LPUART1.CR1 */
#define LPUART_BRR 0x0Cu /* svd-offset: LPUART1.BRR */
#define LPUART_ISR 0x1Cu /* svd-offset: LPUART1.ISR */
#define LPUART_ICR 0x20u /* svd-offset: LPUART1.ICR */
#define LPUART_RDR 0x24u /* svd-offset: LPUART1.RDR */
#define LPUART_TDR 0x28u /* svd-offset: LPUART1.TDR */
#define LPUART_CR1_UE (1u << 0) /* svd: LPUART1.CR1.UE */
#define LPUART_CR1_RE (1u << 2) /* svd: LPUART1.CR1.RE */
#define LPUART_CR1_TE (1u << 3) /* svd: LPUART1.CR1.TE */
#define LPUART_ISR_ORE (1u << 3) /* svd: LPUART1.ISR.ORE */
#define LPUART_ISR_RXNE (1u << 5) /* svd: LPUART1.ISR.RXNE */
#define LPUART_ISR_TXE (1u << 7) /* svd: LPUART1.ISR.TXE */
#define LPUART_ICR_ORECF (1u << 3) /* svd: LPUART1.ICR.ORECF */
_Static_assert(LPUART_CR1 == USART_CR1 && LPUART_BRR == USART_BRR && LPUART_ISR == USART_ISR &&
                   LPUART_ICR == USART_ICR && LPUART_RDR == USART_RDR && LPUART_TDR == USART_TDR,
               "LPUART and USART register layouts differ");
_Static_assert(LPUART_CR1_UE == USART_CR1_UE && LPUART_CR1_RE == USART_CR1_RE && LPUART_CR1_TE == USART_CR1_TE &&
                   LPUART_ISR_ORE == USART_ISR_ORE && LPUART_ISR_RXNE == USART_ISR_RXNE &&
                   LPUART_ISR_TXE == USART_ISR_TXE && LPUART_ICR_ORECF == USART_ICR_ORECF,
               "LPUART and USART bits differ");

/* Clock plans: PLL input HSI16/M = 8 MHz (4-16 MHz), VCO = 8 MHz * N (64-344 MHz), SYSCLK = VCO / R.
 * Wait states: RM0351 table 9 (range 1, 80 MHz: 4 WS); RM0432 table 12 (boost, 120 MHz: 5 WS). */
#define HSI16_HZ 16000000u
#include "tinyc_family.h" /* the board's clock plan and console instance (family.toml) */
/* clock: from family.toml through tinyc_family.h (tinyc/deploy/family.py). */
/* APB1 and APB2 run at SYSCLK (their maximum is the core clock on the L4). */
#define PCLK1_HZ TINYC_CLOCK_HZ
#define PCLK2_HZ TINYC_CLOCK_HZ

/* The console (board file: console.uart): USART1-3 on alternate function 7, LPUART1 on AF8
 * (DS10198 table 17, DS12023 table 16). LPUART's BRR is 256 * f / baud. */
#if defined(TINYC_UART_USART1)
#define CON_BASE USART1_BASE
#define CON_ENR RCC_APB2ENR
#define CON_EN RCC_APB2ENR_USART1EN
#define CON_CLK_HZ PCLK2_HZ
#define CON_AF 7u
#elif defined(TINYC_UART_USART2)
#define CON_BASE USART2_BASE
#define CON_ENR RCC_APB1ENR1
#define CON_EN RCC_APB1ENR1_USART2EN
#define CON_CLK_HZ PCLK1_HZ
#define CON_AF 7u
#elif defined(TINYC_UART_USART3)
#define CON_BASE USART3_BASE
#define CON_ENR RCC_APB1ENR1
#define CON_EN RCC_APB1ENR1_USART3EN
#define CON_CLK_HZ PCLK1_HZ
#define CON_AF 7u
#elif defined(TINYC_UART_LPUART1)
#define CON_BASE LPUART1_BASE
#define CON_ENR RCC_APB1ENR2
#define CON_EN RCC_APB1ENR2_LPUART1EN
#define CON_BRR ((uint32_t)(((uint64_t)PCLK1_HZ * 256u + TINYC_BAUD / 2u) / TINYC_BAUD))
#define CON_AF 8u
#else
#error "stm32l4 port: console.uart in the board file must be USART1, USART2, USART3 or LPUART1"
#endif
#define STM32_GPIO_PORTS 7u /* ports A-G */
#define STM32_GPIO_EN(p) RCC_AHB2ENR_GPIO##p##EN /* the RCC bit that clocks port p */
#define STM32_GPIO_ENR RCC_AHB2ENR
#include "stm32_console.h" /* pins, USART bring-up, port_putc, port_getc */

void dwt_start(void);

static void delay_cycles(uint32_t n) {
    for (volatile uint32_t i = 0; i < n; i++) {
    }
}

static void clock_init(void) {
    MMIO32(RCC_APB1ENR1) |= RCC_APB1ENR1_PWREN;
    (void)MMIO32(RCC_APB1ENR1);
    mmio_modify(PWR_CR1, PWR_CR1_VOS, FIELD(PWR_CR1_VOS, 1u)); /* range 1 */
    mmio_wait_clear(PWR_SR2, PWR_SR2_VOSF);
    mmio_modify(RCC_CR, 0, RCC_CR_HSION);
    mmio_wait_set(RCC_CR, RCC_CR_HSIRDY);
    mmio_modify(RCC_PLLCFGR,
                RCC_PLLCFGR_PLLSRC | RCC_PLLCFGR_PLLM | RCC_PLLCFGR_PLLN | RCC_PLLCFGR_PLLR | RCC_PLLCFGR_PLLREN,
                FIELD(RCC_PLLCFGR_PLLSRC, 2u) /* HSI16 */ | FIELD(RCC_PLLCFGR_PLLM, PLL_M - 1u) |
                    FIELD(RCC_PLLCFGR_PLLN, PLL_N) | FIELD(RCC_PLLCFGR_PLLR, PLL_R / 2u - 1u) |
                    RCC_PLLCFGR_PLLREN);
    mmio_modify(RCC_CR, 0, RCC_CR_PLLON);
    mmio_wait_set(RCC_CR, RCC_CR_PLLRDY);
#if BOOST
    /* RM0432 5.1.8: above 80 MHz, go through AHB/2 for at least 1 us around the switch. */
    mmio_modify(RCC_CFGR, RCC_CFGR_HPRE, FIELD(RCC_CFGR_HPRE, 8u)); /* 0b1000: /2 */
    mmio_modify(PWR_CR5, PWR_CR5_R1MODE, 0);                         /* boost mode */
    MMIO32(FLASH_ACR) = FIELD(FLASH_ACR_LATENCY_L4R, FLASH_WS) | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    while ((MMIO32(FLASH_ACR) & FLASH_ACR_LATENCY_L4R) != FIELD(FLASH_ACR_LATENCY_L4R, FLASH_WS)) {
    }
#else
    MMIO32(FLASH_ACR) = FIELD(FLASH_ACR_LATENCY, FLASH_WS) | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    while ((MMIO32(FLASH_ACR) & FLASH_ACR_LATENCY) != FIELD(FLASH_ACR_LATENCY, FLASH_WS)) {
    }
#endif
    mmio_modify(RCC_CFGR, RCC_CFGR_PPRE1 | RCC_CFGR_PPRE2, 0); /* APB1, APB2 /1 */
    mmio_modify(RCC_CFGR, RCC_CFGR_SW, FIELD(RCC_CFGR_SW, 3u)); /* PLL */
    while ((MMIO32(RCC_CFGR) & RCC_CFGR_SWS) != FIELD(RCC_CFGR_SWS, 3u)) {
    }
#if BOOST
    delay_cycles(TINYC_CLOCK_HZ / 2u / 1000000u * 2u); /* > 1 us at SYSCLK/2 */
    mmio_modify(RCC_CFGR, RCC_CFGR_HPRE, 0);
#else
    (void)delay_cycles;
#endif
}

void port_init(void) {
    clock_init();
    if (TINYC_TX_PORT == 6 || TINYC_RX_PORT == 6) {
        /* PG2-PG15 are powered from VDDIO2, which stays isolated until IOSV is set. */
        mmio_modify(PWR_CR2, 0, PWR_CR2_IOSV);
    }
    stm32_console_init();
    dwt_start();
}
