/* Port for the nRF52840 (Product Specification v1.7): the core runs at its fixed 64 MHz; the
 * 64 MHz crystal oscillator (HFXO) is started so the UART baud rate is crystal-accurate; the console
 * is UARTE0 (EasyDMA) on the board's pins; core-cycle timing from DWT->CYCCNT (cortex-m/dwt.c).
 * The application may start after a bootloader (TINYC_APP_OFFSET, board file upload.offset):
 * the vector table is then re-pointed at ours.
 *
 * Every register and bit is named with its SVD path for tests/test_svd_ports.py. */
#include "tinyc_mmio.h"
#include "tinyc_port.h"

#define CLOCK_BASE 0x40000000u /* svd: CLOCK */
#define CLOCK_TASKS_HFCLKSTART 0x40000000u /* svd: CLOCK.TASKS_HFCLKSTART */
#define CLOCK_EVENTS_HFCLKSTARTED 0x40000100u /* svd: CLOCK.EVENTS_HFCLKSTARTED */

#define UARTE0_BASE 0x40002000u /* svd: UARTE0 */
#define UARTE_TASKS_STARTRX 0x000u /* svd-offset: UARTE0.TASKS_STARTRX */
#define UARTE_TASKS_STARTTX 0x008u /* svd-offset: UARTE0.TASKS_STARTTX */
#define UARTE_EVENTS_ENDRX 0x110u /* svd-offset: UARTE0.EVENTS_ENDRX */
#define UARTE_EVENTS_ENDTX 0x120u /* svd-offset: UARTE0.EVENTS_ENDTX */
#define UARTE_ENABLE 0x500u /* svd-offset: UARTE0.ENABLE */
#define UARTE_ENABLE_ENABLE (0xFu << 0) /* svd: UARTE0.ENABLE.ENABLE */
#define UARTE_ENABLE_ENABLED 8u /* svd: UARTE0.ENABLE.ENABLE=Enabled */
#define UARTE_PSEL_TXD 0x50Cu /* svd-offset: UARTE0.PSEL_TXD */
#define UARTE_PSEL_RXD 0x514u /* svd-offset: UARTE0.PSEL_RXD */
#define UARTE_PSEL_PIN (0x1Fu << 0) /* svd: UARTE0.PSEL_TXD.PIN */
#define UARTE_PSEL_PORT (1u << 5) /* svd: UARTE0.PSEL_TXD.PORT */
#define UARTE_PSEL_CONNECT (1u << 31) /* svd: UARTE0.PSEL_TXD.CONNECT */
#define UARTE_BAUDRATE 0x524u /* svd-offset: UARTE0.BAUDRATE */
#define UARTE_BAUD_9600 0x00275000u /* svd: UARTE0.BAUDRATE.BAUDRATE=Baud9600 */
#define UARTE_BAUD_115200 0x01D60000u /* svd: UARTE0.BAUDRATE.BAUDRATE=Baud115200 */
#define UARTE_BAUD_1000000 0x10000000u /* svd: UARTE0.BAUDRATE.BAUDRATE=Baud1M */
#define UARTE_RXD_PTR 0x534u /* svd-offset: UARTE0.RXD_PTR */
#define UARTE_RXD_MAXCNT 0x538u /* svd-offset: UARTE0.RXD_MAXCNT */
#define UARTE_TXD_PTR 0x544u /* svd-offset: UARTE0.TXD_PTR */
#define UARTE_TXD_MAXCNT 0x548u /* svd-offset: UARTE0.TXD_MAXCNT */
#define UARTE_CONFIG 0x56Cu /* svd-offset: UARTE0.CONFIG */

#define P0_BASE 0x50000000u /* svd: P0 */
#define P1_BASE 0x50000300u /* svd: P1 */
#define GPIO_OUTSET 0x508u /* svd-offset: P0.OUTSET */
#define GPIO_DIRSET 0x518u /* svd-offset: P0.DIRSET */
#define GPIO_PIN_CNF0 0x700u /* svd-offset: P0.PIN_CNF[0] */
#define GPIO_PIN_CNF_DIR (1u << 0) /* svd: P0.PIN_CNF[0].DIR */
#define GPIO_PIN_CNF_INPUT (1u << 1) /* svd: P0.PIN_CNF[0].INPUT */
#define GPIO_PIN_CNF_PULL (0x3u << 2) /* svd: P0.PIN_CNF[0].PULL */
#define GPIO_PIN_CNF_PULLUP 3u /* svd: P0.PIN_CNF[0].PULL=Pullup */

/* Cortex-M4 core: the vector table offset register (ARMv7-M ARM B3.2.5). */
#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)

#if TINYC_CLOCK_HZ != 64000000
#error "nrf52 port: the nRF52840 core runs at 64 MHz; set cpu.clock = \"64 MHz\" in the board file"
#endif
#if TINYC_BAUD == 115200
#define CON_BAUD UARTE_BAUD_115200
#elif TINYC_BAUD == 9600
#define CON_BAUD UARTE_BAUD_9600
#elif TINYC_BAUD == 1000000
#define CON_BAUD UARTE_BAUD_1000000
#else
#error "nrf52 port: console.baud must be 9600, 115200 or 1000000"
#endif
#ifndef TINYC_UART_UARTE0
#error "nrf52 port: console.uart in the board file must be UARTE0"
#endif
#ifndef TINYC_USE_DWT
#error "nrf52 port: build with TINYC_USE_DWT (tinyc/deploy/portdefs.py sets it for real boards)"
#endif
#if !defined(TINYC_TX_PORT) || !defined(TINYC_RX_PORT) || TINYC_TX_PORT > 1 || TINYC_RX_PORT > 1
#error "nrf52 port: console.tx_pin/rx_pin in the board file must name pins on P0 or P1, e.g. P1.03"
#endif

static const uint32_t gpio_base[] = {P0_BASE, P1_BASE};
extern const void *const tinyc_vectors[];

/* EasyDMA reads and writes RAM only: one byte each way. */
static volatile uint8_t tx_byte, rx_byte;

void dwt_start(void);

static uint32_t psel(unsigned port, unsigned pin) {
    return FIELD(UARTE_PSEL_PIN, pin) | FIELD(UARTE_PSEL_PORT, port); /* CONNECT = 0: connected */
}

static void start_rx(void) {
    MMIO32(UARTE0_BASE + UARTE_EVENTS_ENDRX) = 0;
    MMIO32(UARTE0_BASE + UARTE_RXD_PTR) = (uint32_t)(uintptr_t)&rx_byte;
    MMIO32(UARTE0_BASE + UARTE_RXD_MAXCNT) = 1;
    MMIO32(UARTE0_BASE + UARTE_TASKS_STARTRX) = 1;
}

void port_init(void) {
#ifdef TINYC_APP_OFFSET
    SCB_VTOR = (uint32_t)(uintptr_t)tinyc_vectors; /* the bootloader's table is at 0 */
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    MMIO32(CLOCK_EVENTS_HFCLKSTARTED) = 0;
    MMIO32(CLOCK_TASKS_HFCLKSTART) = 1;
    while (!MMIO32(CLOCK_EVENTS_HFCLKSTARTED)) {
    }
    /* TX idles high as an output before the UARTE takes it; RX has a pull-up. */
    MMIO32(gpio_base[TINYC_TX_PORT] + GPIO_OUTSET) = 1u << TINYC_TX_PIN;
    MMIO32(gpio_base[TINYC_TX_PORT] + GPIO_PIN_CNF0 + 4u * TINYC_TX_PIN) = GPIO_PIN_CNF_DIR | GPIO_PIN_CNF_INPUT;
    MMIO32(gpio_base[TINYC_RX_PORT] + GPIO_PIN_CNF0 + 4u * TINYC_RX_PIN) =
        FIELD(GPIO_PIN_CNF_PULL, GPIO_PIN_CNF_PULLUP);
    MMIO32(UARTE0_BASE + UARTE_ENABLE) = 0;
    MMIO32(UARTE0_BASE + UARTE_PSEL_TXD) = psel(TINYC_TX_PORT, TINYC_TX_PIN);
    MMIO32(UARTE0_BASE + UARTE_PSEL_RXD) = psel(TINYC_RX_PORT, TINYC_RX_PIN);
    MMIO32(UARTE0_BASE + UARTE_BAUDRATE) = CON_BAUD;
    MMIO32(UARTE0_BASE + UARTE_CONFIG) = 0; /* 8N1, no flow control */
    MMIO32(UARTE0_BASE + UARTE_ENABLE) = FIELD(UARTE_ENABLE_ENABLE, UARTE_ENABLE_ENABLED);
    start_rx();
    dwt_start();
}

void port_putc(uint8_t c) {
    tx_byte = c;
    MMIO32(UARTE0_BASE + UARTE_EVENTS_ENDTX) = 0;
    MMIO32(UARTE0_BASE + UARTE_TXD_PTR) = (uint32_t)(uintptr_t)&tx_byte;
    MMIO32(UARTE0_BASE + UARTE_TXD_MAXCNT) = 1;
    MMIO32(UARTE0_BASE + UARTE_TASKS_STARTTX) = 1;
    while (!MMIO32(UARTE0_BASE + UARTE_EVENTS_ENDTX)) {
    }
}

int port_getc(int32_t timeout_ms) {
    uint64_t limit = timeout_ms < 0 ? UINT64_MAX : port_ticks() + (uint64_t)timeout_ms * (TINYC_CLOCK_HZ / 1000u);
    while (!MMIO32(UARTE0_BASE + UARTE_EVENTS_ENDRX)) {
        if (port_ticks() > limit) return -1;
    }
    int c = rx_byte;
    start_rx(); /* bytes that arrive meanwhile wait in the UARTE's receive FIFO */
    return c;
}
