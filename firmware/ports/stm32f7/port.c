/* Port for the STM32F74x/75x (RM0385 rev 8): the core at the board's rated clock from the PLL
 * (fed by the 16 MHz HSI, so it needs no board crystal), the console on the USART the board routes
 * to its ST-LINK virtual COM port, core-cycle timing from DWT->CYCCNT (cortex-m/dwt.c).
 *
 * Board facts come from the board file through -D flags (tinyc/deploy/portdefs.py):
 * TINYC_CLOCK_HZ, TINYC_BAUD, TINYC_UART_<instance>, TINYC_TX_PORT/PIN, TINYC_RX_PORT/PIN.
 * Every register and bit below is named with its SVD path for tests/test_svd_ports.py. */
#include "tinyc_mmio.h"
#include "tinyc_port.h"

#define RCC_BASE 0x40023800u /* svd: RCC */
#define RCC_CR 0x40023800u /* svd: RCC.CR */
#define RCC_CR_HSION (1u << 0) /* svd: RCC.CR.HSION */
#define RCC_CR_HSIRDY (1u << 1) /* svd: RCC.CR.HSIRDY */
#define RCC_CR_PLLON (1u << 24) /* svd: RCC.CR.PLLON */
#define RCC_CR_PLLRDY (1u << 25) /* svd: RCC.CR.PLLRDY */
#define RCC_PLLCFGR 0x40023804u /* svd: RCC.PLLCFGR */
#define RCC_PLLCFGR_PLLM (0x3Fu << 0) /* svd: RCC.PLLCFGR.PLLM */
#define RCC_PLLCFGR_PLLN (0x1FFu << 6) /* svd: RCC.PLLCFGR.PLLN */
#define RCC_PLLCFGR_PLLP (0x3u << 16) /* svd: RCC.PLLCFGR.PLLP */
#define RCC_PLLCFGR_PLLSRC (1u << 22) /* svd: RCC.PLLCFGR.PLLSRC */
#define RCC_PLLCFGR_PLLQ (0xFu << 24) /* svd: RCC.PLLCFGR.PLLQ */
#define RCC_CFGR 0x40023808u /* svd: RCC.CFGR */
#define RCC_CFGR_SW (0x3u << 0) /* svd: RCC.CFGR.SW */
#define RCC_CFGR_SWS (0x3u << 2) /* svd: RCC.CFGR.SWS */
#define RCC_CFGR_HPRE (0xFu << 4) /* svd: RCC.CFGR.HPRE */
#define RCC_CFGR_PPRE1 (0x7u << 10) /* svd: RCC.CFGR.PPRE1 */
#define RCC_CFGR_PPRE2 (0x7u << 13) /* svd: RCC.CFGR.PPRE2 */
#define RCC_AHB1ENR 0x40023830u /* svd: RCC.AHB1ENR */
#define RCC_AHB1ENR_GPIOAEN (1u << 0) /* svd: RCC.AHB1ENR.GPIOAEN */
#define RCC_AHB1ENR_GPIOBEN (1u << 1) /* svd: RCC.AHB1ENR.GPIOBEN */
#define RCC_AHB1ENR_GPIOCEN (1u << 2) /* svd: RCC.AHB1ENR.GPIOCEN */
#define RCC_AHB1ENR_GPIODEN (1u << 3) /* svd: RCC.AHB1ENR.GPIODEN */
#define RCC_AHB1ENR_GPIOEEN (1u << 4) /* svd: RCC.AHB1ENR.GPIOEEN */
#define RCC_AHB1ENR_GPIOFEN (1u << 5) /* svd: RCC.AHB1ENR.GPIOFEN */
#define RCC_AHB1ENR_GPIOGEN (1u << 6) /* svd: RCC.AHB1ENR.GPIOGEN */
#define RCC_APB1ENR 0x40023840u /* svd: RCC.APB1ENR */
#define RCC_APB1ENR_USART2EN (1u << 17) /* svd: RCC.APB1ENR.USART2EN */
#define RCC_APB1ENR_USART3EN (1u << 18) /* svd: RCC.APB1ENR.USART3EN */
#define RCC_APB1ENR_PWREN (1u << 28) /* svd: RCC.APB1ENR.PWREN */
#define RCC_APB2ENR 0x40023844u /* svd: RCC.APB2ENR */
#define RCC_APB2ENR_USART1EN (1u << 4) /* svd: RCC.APB2ENR.USART1EN */
#define RCC_APB2ENR_USART6EN (1u << 5) /* svd: RCC.APB2ENR.USART6EN */

#define PWR_CR1 0x40007000u /* svd: PWR.CR1 */
#define PWR_CR1_VOS (0x3u << 14) /* svd: PWR.CR1.VOS */
#define PWR_CR1_ODEN (1u << 16) /* svd: PWR.CR1.ODEN */
#define PWR_CR1_ODSWEN (1u << 17) /* svd: PWR.CR1.ODSWEN */
#define PWR_CSR1 0x40007004u /* svd: PWR.CSR1 */
#define PWR_CSR1_ODRDY (1u << 16) /* svd: PWR.CSR1.ODRDY */
#define PWR_CSR1_ODSWRDY (1u << 17) /* svd: PWR.CSR1.ODSWRDY */

#define FLASH_ACR 0x40023C00u /* svd: FLASH.ACR */
#define FLASH_ACR_LATENCY (0xFu << 0) /* svd: FLASH.ACR.LATENCY */
#define FLASH_ACR_PRFTEN (1u << 8) /* svd: FLASH.ACR.PRFTEN */
#define FLASH_ACR_ARTEN (1u << 9) /* svd: FLASH.ACR.ARTEN */

#define GPIOA_BASE 0x40020000u /* svd: GPIOA */
#define GPIOB_BASE 0x40020400u /* svd: GPIOB */
#define GPIOC_BASE 0x40020800u /* svd: GPIOC */
#define GPIOD_BASE 0x40020C00u /* svd: GPIOD */
#define GPIOE_BASE 0x40021000u /* svd: GPIOE */
#define GPIOF_BASE 0x40021400u /* svd: GPIOF */
#define GPIOG_BASE 0x40021800u /* svd: GPIOG */
#define GPIO_MODER 0x00u /* svd-offset: GPIOA.MODER */
#define GPIO_MODER_PIN0 (0x3u << 0) /* svd: GPIOA.MODER.MODER0 */
#define GPIO_OSPEEDR 0x08u /* svd-offset: GPIOA.OSPEEDR */
#define GPIO_PUPDR 0x0Cu /* svd-offset: GPIOA.PUPDR */
#define GPIO_AFRL 0x20u /* svd-offset: GPIOA.AFRL */
#define GPIO_AFRL_PIN0 (0xFu << 0) /* svd: GPIOA.AFRL.AFRL0 */
#define GPIO_AFRH 0x24u /* svd-offset: GPIOA.AFRH */

#define USART1_BASE 0x40011000u /* svd: USART1 */
#define USART2_BASE 0x40004400u /* svd: USART2 */
#define USART3_BASE 0x40004800u /* svd: USART3 */
#define USART6_BASE 0x40011400u /* svd: USART6 */
#include "stm32_usart_isr.h" /* USART_* register offsets and bits (stm32-common) */

/* Clock plans (RM0385 5.3.2 PLL ranges, 3.3.2 table 7 wait states at 2.7-3.6 V, 4.1.4 over-drive).
 * PLL input HSI/M = 2 MHz, VCO = 2 MHz * N, SYSCLK = VCO / P, 48 MHz domain = VCO / Q. */
#define HSI_HZ 16000000u
#include "tinyc_family.h" /* the board's clock plan and console instance (family.toml) */
/* clock: from family.toml through tinyc_family.h (tinyc/deploy/family.py). */
#define PCLK1_HZ (TINYC_CLOCK_HZ / APB1_DIV)
#define PCLK2_HZ (TINYC_CLOCK_HZ / APB2_DIV)
/* CFGR.PPREx encoding: 0b100 = /2, 0b101 = /4, 0b110 = /8, 0b111 = /16. */
#define PPRE_CODE(div) ((div) == 1u ? 0u : (div) == 2u ? 4u : (div) == 4u ? 5u : (div) == 8u ? 6u : 7u)

/* console: from family.toml through tinyc_family.h (tinyc/deploy/family.py). */
#define STM32_GPIO_PORTS 7u /* ports A-G */
#define STM32_GPIO_EN(p) RCC_AHB1ENR_GPIO##p##EN /* the RCC bit that clocks port p */
#define STM32_GPIO_ENR RCC_AHB1ENR
#include "stm32_console.h" /* pins, USART bring-up, port_putc, port_getc */

void dwt_start(void);

static void clock_init(void) {
    mmio_modify(RCC_CR, 0, RCC_CR_HSION);
    mmio_wait_set(RCC_CR, RCC_CR_HSIRDY);
    MMIO32(RCC_APB1ENR) |= RCC_APB1ENR_PWREN;
    (void)MMIO32(RCC_APB1ENR); /* the enable takes effect after a bus cycle */
    mmio_modify(PWR_CR1, PWR_CR1_VOS, FIELD(PWR_CR1_VOS, 3u)); /* scale 1 */
    /* PLLSRC = 0: HSI; the reserved bits keep their reset values */
    mmio_modify(RCC_PLLCFGR,
                RCC_PLLCFGR_PLLM | RCC_PLLCFGR_PLLN | RCC_PLLCFGR_PLLP | RCC_PLLCFGR_PLLSRC | RCC_PLLCFGR_PLLQ,
                FIELD(RCC_PLLCFGR_PLLM, PLL_M) | FIELD(RCC_PLLCFGR_PLLN, PLL_N) |
                    FIELD(RCC_PLLCFGR_PLLP, PLL_P / 2u - 1u) | FIELD(RCC_PLLCFGR_PLLQ, PLL_Q));
    mmio_modify(RCC_CR, 0, RCC_CR_PLLON);
    mmio_wait_set(RCC_CR, RCC_CR_PLLRDY);
#if OVERDRIVE
    mmio_modify(PWR_CR1, 0, PWR_CR1_ODEN);
    mmio_wait_set(PWR_CSR1, PWR_CSR1_ODRDY);
    mmio_modify(PWR_CR1, 0, PWR_CR1_ODSWEN);
    mmio_wait_set(PWR_CSR1, PWR_CSR1_ODSWRDY);
#endif
    MMIO32(FLASH_ACR) = FIELD(FLASH_ACR_LATENCY, FLASH_WS) | FLASH_ACR_PRFTEN | FLASH_ACR_ARTEN;
    while ((MMIO32(FLASH_ACR) & FLASH_ACR_LATENCY) != FIELD(FLASH_ACR_LATENCY, FLASH_WS)) {
    }
    mmio_modify(RCC_CFGR, RCC_CFGR_HPRE | RCC_CFGR_PPRE1 | RCC_CFGR_PPRE2,
                FIELD(RCC_CFGR_PPRE1, PPRE_CODE(APB1_DIV)) | FIELD(RCC_CFGR_PPRE2, PPRE_CODE(APB2_DIV)));
    mmio_modify(RCC_CFGR, RCC_CFGR_SW, FIELD(RCC_CFGR_SW, 2u)); /* PLL */
    while ((MMIO32(RCC_CFGR) & RCC_CFGR_SWS) != FIELD(RCC_CFGR_SWS, 2u)) {
    }
}

void cm7_icache_enable(void); /* cortex-m/icache.c */

void port_init(void) {
    clock_init();
    cm7_icache_enable();
    stm32_console_init();
    dwt_start();
}
