/* Port for the RP2040 (RP2040 datasheet, build 2023-06): clk_sys from PLL_SYS on the board's
 * crystal (XOSC) at the board's rated clock, the console on UART0/UART1 (PL011) on the board's
 * pins, timing from SysTick at the core clock (the Cortex-M0+ has no DWT cycle counter).
 * boot2.c is the second-stage boot block at the start of flash.
 *
 * Board facts come from the board file through -D flags (tinyc/deploy/portdefs.py): TINYC_HSE_HZ
 * from cpu.crystal. Registers are named with their SVD path (rp2040.svd), though no pinned
 * package ships that SVD: the port is marked unverified (board file svd_note). */
#include "tinyc_mmio.h"
#include "tinyc_port.h"

#define RESETS_RESET 0x4000C000u /* svd: RESETS.RESET */
#define RESETS_RESET_DONE 0x4000C008u /* svd: RESETS.RESET_DONE */
#define RESETS_IO_BANK0 (1u << 5) /* svd: RESETS.RESET.io_bank0 */
#define RESETS_PADS_BANK0 (1u << 8) /* svd: RESETS.RESET.pads_bank0 */
#define RESETS_PLL_SYS (1u << 12) /* svd: RESETS.RESET.pll_sys */
#define RESETS_UART0 (1u << 22) /* svd: RESETS.RESET.uart0 */
#define RESETS_UART1 (1u << 23) /* svd: RESETS.RESET.uart1 */
#define ALIAS_SET 0x2000u /* datasheet 2.1.2: atomic set alias */
#define ALIAS_CLR 0x3000u /* datasheet 2.1.2: atomic clear alias */

#define XOSC_CTRL 0x40024000u /* svd: XOSC.CTRL */
#define XOSC_CTRL_FREQ_RANGE (0xFFFu << 0) /* svd: XOSC.CTRL.FREQ_RANGE */
#define XOSC_CTRL_FREQ_RANGE_1_15MHZ 0xAA0u /* svd: XOSC.CTRL.FREQ_RANGE=1_15MHZ */
#define XOSC_CTRL_ENABLE (0xFFFu << 12) /* svd: XOSC.CTRL.ENABLE */
#define XOSC_CTRL_ENABLE_ENABLE 0xFABu /* svd: XOSC.CTRL.ENABLE=ENABLE */
#define XOSC_STATUS 0x40024004u /* svd: XOSC.STATUS */
#define XOSC_STATUS_STABLE (1u << 31) /* svd: XOSC.STATUS.STABLE */
#define XOSC_STARTUP 0x4002400Cu /* svd: XOSC.STARTUP */
#define XOSC_STARTUP_DELAY (0x3FFFu << 0) /* svd: XOSC.STARTUP.DELAY */

#define CLOCKS_CLK_REF_CTRL 0x40008030u /* svd: CLOCKS.CLK_REF_CTRL */
#define CLOCKS_CLK_REF_CTRL_SRC (0x3u << 0) /* svd: CLOCKS.CLK_REF_CTRL.SRC */
#define CLOCKS_CLK_REF_SELECTED 0x40008038u /* svd: CLOCKS.CLK_REF_SELECTED */
#define CLOCKS_CLK_SYS_CTRL 0x4000803Cu /* svd: CLOCKS.CLK_SYS_CTRL */
#define CLOCKS_CLK_SYS_CTRL_SRC (1u << 0) /* svd: CLOCKS.CLK_SYS_CTRL.SRC */
#define CLOCKS_CLK_SYS_CTRL_AUXSRC (0x7u << 5) /* svd: CLOCKS.CLK_SYS_CTRL.AUXSRC */
#define CLOCKS_CLK_SYS_SELECTED 0x40008044u /* svd: CLOCKS.CLK_SYS_SELECTED */
#define CLOCKS_CLK_PERI_CTRL 0x40008048u /* svd: CLOCKS.CLK_PERI_CTRL */
#define CLOCKS_CLK_PERI_CTRL_AUXSRC (0x7u << 5) /* svd: CLOCKS.CLK_PERI_CTRL.AUXSRC */
#define CLOCKS_CLK_PERI_CTRL_ENABLE (1u << 11) /* svd: CLOCKS.CLK_PERI_CTRL.ENABLE */
#define CLOCKS_CLK_SYS_RESUS_CTRL 0x40008078u /* svd: CLOCKS.CLK_SYS_RESUS_CTRL */

#define PLL_SYS_CS 0x40028000u /* svd: PLL_SYS.CS */
#define PLL_CS_REFDIV (0x3Fu << 0) /* svd: PLL_SYS.CS.REFDIV */
#define PLL_CS_LOCK (1u << 31) /* svd: PLL_SYS.CS.LOCK */
#define PLL_SYS_PWR 0x40028004u /* svd: PLL_SYS.PWR */
#define PLL_PWR_PD (1u << 0) /* svd: PLL_SYS.PWR.PD */
#define PLL_PWR_POSTDIVPD (1u << 3) /* svd: PLL_SYS.PWR.POSTDIVPD */
#define PLL_PWR_VCOPD (1u << 5) /* svd: PLL_SYS.PWR.VCOPD */
#define PLL_SYS_FBDIV_INT 0x40028008u /* svd: PLL_SYS.FBDIV_INT */
#define PLL_SYS_PRIM 0x4002800Cu /* svd: PLL_SYS.PRIM */
#define PLL_PRIM_POSTDIV2 (0x7u << 12) /* svd: PLL_SYS.PRIM.POSTDIV2 */
#define PLL_PRIM_POSTDIV1 (0x7u << 16) /* svd: PLL_SYS.PRIM.POSTDIV1 */

#define IO_BANK0_GPIO0_CTRL 0x40014004u /* svd: IO_BANK0.GPIO0_CTRL */
#define IO_BANK0_GPIO_CTRL_FUNCSEL (0x1Fu << 0) /* svd: IO_BANK0.GPIO0_CTRL.FUNCSEL */
#define IO_BANK0_GPIO_STRIDE 8u /* datasheet 2.19.6.1: GPIOn_STATUS, GPIOn_CTRL pairs */
#define FUNCSEL_UART 2u /* datasheet 2.19.2: F2 */
#define PADS_BANK0_GPIO0 0x4001C004u /* svd: PADS_BANK0.GPIO0 */
#define PADS_GPIO_PUE (1u << 3) /* svd: PADS_BANK0.GPIO0.PUE */
#define PADS_GPIO_IE (1u << 6) /* svd: PADS_BANK0.GPIO0.IE */
#define PADS_GPIO_OD (1u << 7) /* svd: PADS_BANK0.GPIO0.OD */

#define UART0_BASE 0x40034000u /* svd: UART0 */
#define UART1_BASE 0x40038000u /* svd: UART1 */
#define UART_DR 0x00u /* svd-offset: UART0.UARTDR */
#define UART_FR 0x18u /* svd-offset: UART0.UARTFR */
#define UART_FR_RXFE (1u << 4) /* svd: UART0.UARTFR.RXFE */
#define UART_FR_TXFF (1u << 5) /* svd: UART0.UARTFR.TXFF */
#define UART_IBRD 0x24u /* svd-offset: UART0.UARTIBRD */
#define UART_FBRD 0x28u /* svd-offset: UART0.UARTFBRD */
#define UART_LCR_H 0x2Cu /* svd-offset: UART0.UARTLCR_H */
#define UART_LCR_H_FEN (1u << 4) /* svd: UART0.UARTLCR_H.FEN */
#define UART_LCR_H_WLEN (0x3u << 5) /* svd: UART0.UARTLCR_H.WLEN */
#define UART_CR 0x30u /* svd-offset: UART0.UARTCR */
#define UART_CR_UARTEN (1u << 0) /* svd: UART0.UARTCR.UARTEN */
#define UART_CR_TXE (1u << 8) /* svd: UART0.UARTCR.TXE */
#define UART_CR_RXE (1u << 9) /* svd: UART0.UARTCR.RXE */

/* Clock plan (datasheet 2.18.2): VCO = crystal / REFDIV * FBDIV in 750-1600 MHz,
 * clk_sys = VCO / POSTDIV1 / POSTDIV2. */
#ifndef TINYC_HSE_HZ
#error "rp2040 port: the board file needs cpu.crystal (the XOSC crystal, 12 MHz on a Pico)"
#endif
#if TINYC_HSE_HZ != 12000000
#error "rp2040 port: the clock plans assume a 12 MHz crystal; add one for this board's cpu.crystal"
#endif
#if TINYC_CLOCK_HZ == 133000000
#define PLL_FBDIV 133u /* VCO 1596 MHz */
#define PLL_POSTDIV1 6u
#define PLL_POSTDIV2 2u
#elif TINYC_CLOCK_HZ == 125000000
#define PLL_FBDIV 125u /* VCO 1500 MHz */
#define PLL_POSTDIV1 6u
#define PLL_POSTDIV2 2u
#else
#error "rp2040 port: no clock plan for this board's cpu.clock (133 MHz or 125 MHz); add one to the port"
#endif
/* About 1 ms of crystal start-up: DELAY counts 256 XOSC cycles (datasheet 2.16.3). */
#define XOSC_DELAY ((TINYC_HSE_HZ / 1000u + 255u) / 256u)

#if defined(TINYC_UART_UART0)
#define CON_BASE UART0_BASE
#define CON_RESET RESETS_UART0
#elif defined(TINYC_UART_UART1)
#define CON_BASE UART1_BASE
#define CON_RESET RESETS_UART1
#else
#error "rp2040 port: console.uart in the board file must be UART0 or UART1"
#endif
#if !defined(TINYC_TX_PIN) || !defined(TINYC_RX_PIN) || TINYC_TX_PIN > 29 || TINYC_RX_PIN > 29
#error "rp2040 port: console.tx_pin/rx_pin in the board file must be GP0-GP29"
#endif

void systick_start(void);
uint64_t systick_ticks(void);
void systick_span_begin(void);
uint64_t systick_span_end(void);

static void unreset(uint32_t bits) {
    MMIO32(RESETS_RESET + ALIAS_CLR) = bits;
    mmio_wait_set(RESETS_RESET_DONE, bits);
}

static void clock_init(void) {
    MMIO32(CLOCKS_CLK_SYS_RESUS_CTRL) = 0;
    MMIO32(XOSC_CTRL) = FIELD(XOSC_CTRL_FREQ_RANGE, XOSC_CTRL_FREQ_RANGE_1_15MHZ);
    MMIO32(XOSC_STARTUP) = FIELD(XOSC_STARTUP_DELAY, XOSC_DELAY);
    MMIO32(XOSC_CTRL + ALIAS_SET) = FIELD(XOSC_CTRL_ENABLE, XOSC_CTRL_ENABLE_ENABLE);
    mmio_wait_set(XOSC_STATUS, XOSC_STATUS_STABLE);

    /* clk_ref from the crystal, and clk_sys from clk_ref while the PLL is set up (glitchless muxes). */
    mmio_modify(CLOCKS_CLK_REF_CTRL, CLOCKS_CLK_REF_CTRL_SRC, FIELD(CLOCKS_CLK_REF_CTRL_SRC, 2u)); /* xosc */
    while (MMIO32(CLOCKS_CLK_REF_SELECTED) != (1u << 2)) {
    }
    mmio_modify(CLOCKS_CLK_SYS_CTRL, CLOCKS_CLK_SYS_CTRL_SRC, 0);
    while (MMIO32(CLOCKS_CLK_SYS_SELECTED) != (1u << 0)) {
    }

    MMIO32(RESETS_RESET + ALIAS_SET) = RESETS_PLL_SYS;
    unreset(RESETS_PLL_SYS);
    MMIO32(PLL_SYS_CS) = FIELD(PLL_CS_REFDIV, 1u);
    MMIO32(PLL_SYS_FBDIV_INT) = PLL_FBDIV;
    MMIO32(PLL_SYS_PWR + ALIAS_CLR) = PLL_PWR_PD | PLL_PWR_VCOPD;
    mmio_wait_set(PLL_SYS_CS, PLL_CS_LOCK);
    MMIO32(PLL_SYS_PRIM) = FIELD(PLL_PRIM_POSTDIV1, PLL_POSTDIV1) | FIELD(PLL_PRIM_POSTDIV2, PLL_POSTDIV2);
    MMIO32(PLL_SYS_PWR + ALIAS_CLR) = PLL_PWR_POSTDIVPD;

    mmio_modify(CLOCKS_CLK_SYS_CTRL, CLOCKS_CLK_SYS_CTRL_AUXSRC, 0); /* aux = clksrc_pll_sys */
    mmio_modify(CLOCKS_CLK_SYS_CTRL, 0, CLOCKS_CLK_SYS_CTRL_SRC);    /* clk_sys = aux */
    while (MMIO32(CLOCKS_CLK_SYS_SELECTED) != (1u << 1)) {
    }
    /* clk_peri (the UART's clock) = clk_sys */
    MMIO32(CLOCKS_CLK_PERI_CTRL) = CLOCKS_CLK_PERI_CTRL_ENABLE | FIELD(CLOCKS_CLK_PERI_CTRL_AUXSRC, 0u);
}

static void pin_uart(unsigned pin, unsigned pull_up) {
    MMIO32(PADS_BANK0_GPIO0 + 4u * pin) = (MMIO32(PADS_BANK0_GPIO0 + 4u * pin) & ~PADS_GPIO_OD) | PADS_GPIO_IE |
                                          (pull_up ? PADS_GPIO_PUE : 0u);
    MMIO32(IO_BANK0_GPIO0_CTRL + IO_BANK0_GPIO_STRIDE * pin) = FIELD(IO_BANK0_GPIO_CTRL_FUNCSEL, FUNCSEL_UART);
}

void port_init(void) {
    clock_init();
    unreset(RESETS_IO_BANK0 | RESETS_PADS_BANK0);
    MMIO32(RESETS_RESET + ALIAS_SET) = CON_RESET;
    unreset(CON_RESET);
    pin_uart(TINYC_TX_PIN, 0);
    pin_uart(TINYC_RX_PIN, 1);
    /* PL011 divisor in 1/64ths (datasheet 4.2.7.1), rounded to nearest. */
    uint32_t div = (8u * TINYC_CLOCK_HZ) / TINYC_BAUD;
    MMIO32(CON_BASE + UART_IBRD) = div >> 7;
    MMIO32(CON_BASE + UART_FBRD) = ((div & 0x7Fu) + 1u) / 2u;
    MMIO32(CON_BASE + UART_LCR_H) = FIELD(UART_LCR_H_WLEN, 3u) | UART_LCR_H_FEN; /* 8N1, FIFOs; latches the divisor */
    MMIO32(CON_BASE + UART_CR) = UART_CR_UARTEN | UART_CR_TXE | UART_CR_RXE;
    systick_start();
}

void port_putc(uint8_t c) {
    while (MMIO32(CON_BASE + UART_FR) & UART_FR_TXFF) {
    }
    MMIO32(CON_BASE + UART_DR) = c;
}

int port_getc(int32_t timeout_ms) {
    uint64_t limit = timeout_ms < 0 ? UINT64_MAX : systick_ticks() + (uint64_t)timeout_ms * (TINYC_CLOCK_HZ / 1000u);
    while (MMIO32(CON_BASE + UART_FR) & UART_FR_RXFE) {
        if (systick_ticks() > limit) return -1;
    }
    return (int)(MMIO32(CON_BASE + UART_DR) & 0xFFu);
}

uint64_t port_ticks(void) { return systick_ticks(); }
uint32_t port_tick_hz(void) { return TINYC_CLOCK_HZ; }
void port_span_begin(void) { systick_span_begin(); }
uint64_t port_span_end(void) { return systick_span_end(); }
