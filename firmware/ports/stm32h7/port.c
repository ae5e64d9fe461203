/* Port for the STM32H742/743/750/753 (RM0433 rev 7): the LDO supply locked in, voltage scale 0
 * (480 MHz, silicon revision V) or 1 (400 MHz), PLL1 from the 64 MHz HSI, the console on the
 * USART the board routes to its ST-LINK virtual COM port, core-cycle timing from DWT->CYCCNT.
 *
 * Board facts come from the board file through -D flags (tinyc/deploy/portdefs.py). Registers and
 * bits are named with their SVD path (STM32H743x.svd), though no pinned package ships that SVD:
 * the port is marked unverified (board file svd_note). */
#include "tinyc_mmio.h"
#include "tinyc_port.h"

#define PWR_CR3 0x5802480Cu /* svd: PWR.CR3 */
#define PWR_CR3_BYPASS (1u << 0) /* svd: PWR.CR3.BYPASS */
#define PWR_CR3_LDOEN (1u << 1) /* svd: PWR.CR3.LDOEN */
#define PWR_CR3_SCUEN (1u << 2) /* svd: PWR.CR3.SCUEN */
#define PWR_CSR1 0x58024804u /* svd: PWR.CSR1 */
#define PWR_CSR1_ACTVOSRDY (1u << 13) /* svd: PWR.CSR1.ACTVOSRDY */
#define PWR_D3CR 0x58024818u /* svd: PWR.D3CR */
#define PWR_D3CR_VOSRDY (1u << 13) /* svd: PWR.D3CR.VOSRDY */
#define PWR_D3CR_VOS (0x3u << 14) /* svd: PWR.D3CR.VOS */
#define SYSCFG_PWRCR 0x5800042Cu /* svd: SYSCFG.PWRCR */
#define SYSCFG_PWRCR_ODEN (1u << 0) /* svd: SYSCFG.PWRCR.ODEN */

#define RCC_CR 0x58024400u /* svd: RCC.CR */
#define RCC_CR_HSION (1u << 0) /* svd: RCC.CR.HSION */
#define RCC_CR_HSIRDY (1u << 2) /* svd: RCC.CR.HSIRDY */
#define RCC_CR_HSIDIV (0x3u << 3) /* svd: RCC.CR.HSIDIV */
#define RCC_CR_PLL1ON (1u << 24) /* svd: RCC.CR.PLL1ON */
#define RCC_CR_PLL1RDY (1u << 25) /* svd: RCC.CR.PLL1RDY */
#define RCC_CFGR 0x58024410u /* svd: RCC.CFGR */
#define RCC_CFGR_SW (0x7u << 0) /* svd: RCC.CFGR.SW */
#define RCC_CFGR_SWS (0x7u << 3) /* svd: RCC.CFGR.SWS */
#define RCC_D1CFGR 0x58024418u /* svd: RCC.D1CFGR */
#define RCC_D1CFGR_HPRE (0xFu << 0) /* svd: RCC.D1CFGR.HPRE */
#define RCC_D1CFGR_D1PPRE (0x7u << 4) /* svd: RCC.D1CFGR.D1PPRE */
#define RCC_D1CFGR_D1CPRE (0xFu << 8) /* svd: RCC.D1CFGR.D1CPRE */
#define RCC_D2CFGR 0x5802441Cu /* svd: RCC.D2CFGR */
#define RCC_D2CFGR_D2PPRE1 (0x7u << 4) /* svd: RCC.D2CFGR.D2PPRE1 */
#define RCC_D2CFGR_D2PPRE2 (0x7u << 8) /* svd: RCC.D2CFGR.D2PPRE2 */
#define RCC_D3CFGR 0x58024420u /* svd: RCC.D3CFGR */
#define RCC_D3CFGR_D3PPRE (0x7u << 4) /* svd: RCC.D3CFGR.D3PPRE */
#define RCC_PLLCKSELR 0x58024428u /* svd: RCC.PLLCKSELR */
#define RCC_PLLCKSELR_PLLSRC (0x3u << 0) /* svd: RCC.PLLCKSELR.PLLSRC */
#define RCC_PLLCKSELR_DIVM1 (0x3Fu << 4) /* svd: RCC.PLLCKSELR.DIVM1 */
#define RCC_PLLCFGR 0x5802442Cu /* svd: RCC.PLLCFGR */
#define RCC_PLLCFGR_PLL1FRACEN (1u << 0) /* svd: RCC.PLLCFGR.PLL1FRACEN */
#define RCC_PLLCFGR_PLL1VCOSEL (1u << 1) /* svd: RCC.PLLCFGR.PLL1VCOSEL */
#define RCC_PLLCFGR_PLL1RGE (0x3u << 2) /* svd: RCC.PLLCFGR.PLL1RGE */
#define RCC_PLLCFGR_DIVP1EN (1u << 16) /* svd: RCC.PLLCFGR.DIVP1EN */
#define RCC_PLLCFGR_DIVQ1EN (1u << 17) /* svd: RCC.PLLCFGR.DIVQ1EN */
#define RCC_PLLCFGR_DIVR1EN (1u << 18) /* svd: RCC.PLLCFGR.DIVR1EN */
#define RCC_PLL1DIVR 0x58024430u /* svd: RCC.PLL1DIVR */
#define RCC_PLL1DIVR_DIVN1 (0x1FFu << 0) /* svd: RCC.PLL1DIVR.DIVN1 */
#define RCC_PLL1DIVR_DIVP1 (0x7Fu << 9) /* svd: RCC.PLL1DIVR.DIVP1 */
#define RCC_PLL1DIVR_DIVQ1 (0x7Fu << 16) /* svd: RCC.PLL1DIVR.DIVQ1 */
#define RCC_PLL1DIVR_DIVR1 (0x7Fu << 24) /* svd: RCC.PLL1DIVR.DIVR1 */
#define RCC_AHB4ENR 0x580244E0u /* svd: RCC.AHB4ENR */
#define RCC_AHB4ENR_GPIOAEN (1u << 0) /* svd: RCC.AHB4ENR.GPIOAEN */
#define RCC_AHB4ENR_GPIOBEN (1u << 1) /* svd: RCC.AHB4ENR.GPIOBEN */
#define RCC_AHB4ENR_GPIOCEN (1u << 2) /* svd: RCC.AHB4ENR.GPIOCEN */
#define RCC_AHB4ENR_GPIODEN (1u << 3) /* svd: RCC.AHB4ENR.GPIODEN */
#define RCC_AHB4ENR_GPIOEEN (1u << 4) /* svd: RCC.AHB4ENR.GPIOEEN */
#define RCC_AHB4ENR_GPIOFEN (1u << 5) /* svd: RCC.AHB4ENR.GPIOFEN */
#define RCC_AHB4ENR_GPIOGEN (1u << 6) /* svd: RCC.AHB4ENR.GPIOGEN */
#define RCC_APB1LENR 0x580244E8u /* svd: RCC.APB1LENR */
#define RCC_APB1LENR_USART2EN (1u << 17) /* svd: RCC.APB1LENR.USART2EN */
#define RCC_APB1LENR_USART3EN (1u << 18) /* svd: RCC.APB1LENR.USART3EN */
#define RCC_APB2ENR 0x580244F0u /* svd: RCC.APB2ENR */
#define RCC_APB2ENR_USART1EN (1u << 4) /* svd: RCC.APB2ENR.USART1EN */
#define RCC_APB4ENR 0x580244F4u /* svd: RCC.APB4ENR */
#define RCC_APB4ENR_SYSCFGEN (1u << 1) /* svd: RCC.APB4ENR.SYSCFGEN */

#define FLASH_ACR 0x52002000u /* svd: Flash.ACR */
#define FLASH_ACR_LATENCY (0xFu << 0) /* svd: Flash.ACR.LATENCY */
#define FLASH_ACR_WRHIGHFREQ (0x3u << 4) /* svd: Flash.ACR.WRHIGHFREQ */

#define GPIOA_BASE 0x58020000u /* svd: GPIOA */
#define GPIOB_BASE 0x58020400u /* svd: GPIOB */
#define GPIOC_BASE 0x58020800u /* svd: GPIOC */
#define GPIOD_BASE 0x58020C00u /* svd: GPIOD */
#define GPIOE_BASE 0x58021000u /* svd: GPIOE */
#define GPIOF_BASE 0x58021400u /* svd: GPIOF */
#define GPIOG_BASE 0x58021800u /* svd: GPIOG */
#define GPIO_MODER 0x00u /* svd-offset: GPIOA.MODER */
#define GPIO_MODER_PIN0 (0x3u << 0) /* svd: GPIOA.MODER.MODER0 */
#define GPIO_OSPEEDR 0x08u /* svd-offset: GPIOA.OSPEEDR */
#define GPIO_PUPDR 0x0Cu /* svd-offset: GPIOA.PUPDR */
#define GPIO_AFRL 0x20u /* svd-offset: GPIOA.AFRL */
#define GPIO_AFRL_PIN0 (0xFu << 0) /* svd: GPIOA.AFRL.AFR0 */
#define GPIO_AFRH 0x24u /* svd-offset: GPIOA.AFRH */

#define USART1_BASE 0x40011000u /* svd: USART1 */
#define USART2_BASE 0x40004400u /* svd: USART2 */
#define USART3_BASE 0x40004800u /* svd: USART3 */
#include "stm32_usart_isr.h" /* USART_* register offsets and bits (stm32-common) */

#include "tinyc_family.h" /* the board's clock plan and console instance (family.toml) */
/* clock: from family.toml through tinyc_family.h (tinyc/deploy/family.py). */
#define PCLK_HZ (TINYC_CLOCK_HZ / 4u)

/* console: from family.toml through tinyc_family.h (tinyc/deploy/family.py). */
#define CON_AF 7u
#define CON_CLK_HZ PCLK_HZ /* kernel clock: rcc_pclk1/pclk2 (RCC_D2CCIP2R reset value) */
#define STM32_GPIO_PORTS 7u /* ports A-G */
#define STM32_GPIO_EN(p) RCC_AHB4ENR_GPIO##p##EN /* the RCC bit that clocks port p */
#define STM32_GPIO_ENR RCC_AHB4ENR
#include "stm32_console.h" /* pins, USART bring-up, port_putc, port_getc */

void dwt_start(void);

static void clock_init(void) {
    /* Supply: the LDO (NUCLEO-H743ZI2 has no SMPS); the configuration locks at the first write. */
    mmio_modify(PWR_CR3, PWR_CR3_BYPASS | PWR_CR3_SCUEN, PWR_CR3_LDOEN);
    mmio_wait_set(PWR_CSR1, PWR_CSR1_ACTVOSRDY);
    mmio_modify(PWR_D3CR, PWR_D3CR_VOS, FIELD(PWR_D3CR_VOS, 3u)); /* scale 1 */
    mmio_wait_set(PWR_D3CR, PWR_D3CR_VOSRDY);
#if VOS0
    MMIO32(RCC_APB4ENR) |= RCC_APB4ENR_SYSCFGEN;
    (void)MMIO32(RCC_APB4ENR);
    mmio_modify(SYSCFG_PWRCR, 0, SYSCFG_PWRCR_ODEN); /* scale 1 + over-drive = scale 0 */
    mmio_wait_set(PWR_D3CR, PWR_D3CR_VOSRDY);
#endif
    mmio_modify(RCC_CR, RCC_CR_HSIDIV, RCC_CR_HSION); /* HSI at 64 MHz */
    mmio_wait_set(RCC_CR, RCC_CR_HSIRDY);
    mmio_modify(RCC_PLLCKSELR, RCC_PLLCKSELR_PLLSRC | RCC_PLLCKSELR_DIVM1,
                FIELD(RCC_PLLCKSELR_DIVM1, PLL_M)); /* PLLSRC = 0: HSI */
    mmio_modify(RCC_PLLCFGR,
                RCC_PLLCFGR_PLL1FRACEN | RCC_PLLCFGR_PLL1VCOSEL | RCC_PLLCFGR_PLL1RGE | RCC_PLLCFGR_DIVP1EN |
                    RCC_PLLCFGR_DIVQ1EN | RCC_PLLCFGR_DIVR1EN,
                FIELD(RCC_PLLCFGR_PLL1RGE, 3u) /* 8-16 MHz */ | RCC_PLLCFGR_DIVP1EN | RCC_PLLCFGR_DIVQ1EN |
                    RCC_PLLCFGR_DIVR1EN); /* VCOSEL = 0: wide range */
    MMIO32(RCC_PLL1DIVR) = FIELD(RCC_PLL1DIVR_DIVN1, PLL_N - 1u) | FIELD(RCC_PLL1DIVR_DIVP1, PLL_P - 1u) |
                           FIELD(RCC_PLL1DIVR_DIVQ1, PLL_Q - 1u) | FIELD(RCC_PLL1DIVR_DIVR1, PLL_R - 1u);
    mmio_modify(RCC_CR, 0, RCC_CR_PLL1ON);
    mmio_wait_set(RCC_CR, RCC_CR_PLL1RDY);
    MMIO32(FLASH_ACR) = FIELD(FLASH_ACR_LATENCY, FLASH_WS) | FIELD(FLASH_ACR_WRHIGHFREQ, FLASH_WRHIGHFREQ);
    while ((MMIO32(FLASH_ACR) & FLASH_ACR_LATENCY) != FIELD(FLASH_ACR_LATENCY, FLASH_WS)) {
    }
    /* HPRE 0b1000 = /2; DxPPRE 0b100 = /2; D1CPRE 0 = /1. */
    mmio_modify(RCC_D1CFGR, RCC_D1CFGR_HPRE | RCC_D1CFGR_D1PPRE | RCC_D1CFGR_D1CPRE,
                FIELD(RCC_D1CFGR_HPRE, 8u) | FIELD(RCC_D1CFGR_D1PPRE, 4u));
    mmio_modify(RCC_D2CFGR, RCC_D2CFGR_D2PPRE1 | RCC_D2CFGR_D2PPRE2,
                FIELD(RCC_D2CFGR_D2PPRE1, 4u) | FIELD(RCC_D2CFGR_D2PPRE2, 4u));
    mmio_modify(RCC_D3CFGR, RCC_D3CFGR_D3PPRE, FIELD(RCC_D3CFGR_D3PPRE, 4u));
    mmio_modify(RCC_CFGR, RCC_CFGR_SW, FIELD(RCC_CFGR_SW, 3u)); /* PLL1 */
    while ((MMIO32(RCC_CFGR) & RCC_CFGR_SWS) != FIELD(RCC_CFGR_SWS, 3u)) {
    }
}

void cm7_icache_enable(void); /* cortex-m/icache.c */

void port_init(void) {
    clock_init();
    cm7_icache_enable();
    stm32_console_init();
    dwt_start();
}
