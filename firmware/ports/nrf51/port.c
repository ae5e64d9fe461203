/* Port for the nRF51822 (nRF51 Series Reference Manual v3.0.1, nRF51822 Product Specification v3.4) as on
 * the BBC micro:bit v1 and as QEMU 7.2 models it (-M microbit). The Cortex-M0 runs at its fixed 16 MHz;
 * the 16 MHz crystal is started so the UART baud rate and the timer are crystal-accurate; the console
 * is UART0 on the board file's pins; timing comes from TIMER0, because the nRF51's Cortex-M0 has no
 * SysTick (QEMU's model still has one, the chip does not, so the port does not touch it).
 *
 * Timing: TIMER0 counts HFCLK / 2^PRESCALER in 32-bit mode, at the board file's emulation.timer_clock. The
 * nRF51 timer has no readable counter: a reading is TASKS_CAPTURE[0] followed by CC[0]. Under QEMU -icount
 * shift=0 one instruction is 1 ns of virtual time. The micro:bit board file asks for 8 MHz (PRESCALER 1),
 * not 16: QEMU 7.2's timer model turns the ticks of each reading back into whole nanoseconds, which for
 * 62.5 ns ticks drops half a nanosecond at every odd count, so at 16 MHz a span read between other readings
 * (the per-layer profile) gains about one tick per 125 readings; 125 ns ticks convert exactly. A span of
 * N instructions then reads floor(N / 125) ticks, exact and repeatable, whatever was read in between: the
 * host scales ticks by 1e9 / tick_hz, labels the figure's resolution (125 instructions), and the per-layer
 * profile steps its runs through the 125 phases of a tick.
 * The 32-bit count is widened to 64 bits in software at every reading, so two readings must be less than
 * 2^32 ticks (537 s at 8 MHz, 5.4e11 instructions under QEMU) apart; nothing here runs that long.
 *
 * Every register and bit is named with its SVD path (pyOCD's nrf51.svd) for tests/test_port_nrf51.py. */
#include "tinyc_mmio.h"
#include "tinyc_port.h"

#define CLOCK_TASKS_HFCLKSTART 0x40000000u /* svd: CLOCK.TASKS_HFCLKSTART */
#define CLOCK_EVENTS_HFCLKSTARTED 0x40000100u /* svd: CLOCK.EVENTS_HFCLKSTARTED */
#define CLOCK_XTALFREQ 0x40000550u /* svd: CLOCK.XTALFREQ */
#define CLOCK_XTALFREQ_XTALFREQ (0xFFu << 0) /* svd: CLOCK.XTALFREQ.XTALFREQ */
#define CLOCK_XTALFREQ_16MHZ 0xFFu /* svd: CLOCK.XTALFREQ.XTALFREQ=16MHz */

#define UART0_BASE 0x40002000u /* svd: UART0 */
#define UART_TASKS_STARTRX 0x000u /* svd-offset: UART0.TASKS_STARTRX */
#define UART_TASKS_STARTTX 0x008u /* svd-offset: UART0.TASKS_STARTTX */
#define UART_EVENTS_RXDRDY 0x108u /* svd-offset: UART0.EVENTS_RXDRDY */
#define UART_EVENTS_TXDRDY 0x11Cu /* svd-offset: UART0.EVENTS_TXDRDY */
#define UART_ENABLE 0x500u /* svd-offset: UART0.ENABLE */
#define UART_ENABLE_ENABLE (0x7u << 0) /* svd: UART0.ENABLE.ENABLE */
#define UART_ENABLE_ENABLED 4u /* svd: UART0.ENABLE.ENABLE=Enabled */
#define UART_PSELRTS 0x508u /* svd-offset: UART0.PSELRTS */
#define UART_PSELTXD 0x50Cu /* svd-offset: UART0.PSELTXD */
#define UART_PSELCTS 0x510u /* svd-offset: UART0.PSELCTS */
#define UART_PSELRXD 0x514u /* svd-offset: UART0.PSELRXD */
#define UART_PSEL_DISCONNECTED 0xFFFFFFFFu /* RM chapter 29 (UART): PSEL 0xFFFFFFFF = not connected */
#define UART_RXD 0x518u /* svd-offset: UART0.RXD */
#define UART_RXD_RXD (0xFFu << 0) /* svd: UART0.RXD.RXD */
#define UART_TXD 0x51Cu /* svd-offset: UART0.TXD */
#define UART_BAUDRATE 0x524u /* svd-offset: UART0.BAUDRATE */
#define UART_BAUD_9600 0x00275000u /* svd: UART0.BAUDRATE.BAUDRATE=Baud9600 */
#define UART_BAUD_115200 0x01D7E000u /* svd: UART0.BAUDRATE.BAUDRATE=Baud115200 */
#define UART_BAUD_1M 0x10000000u /* svd: UART0.BAUDRATE.BAUDRATE=Baud1M */
#define UART_CONFIG 0x56Cu /* svd-offset: UART0.CONFIG */

#define GPIO_OUTSET 0x50000508u /* svd: GPIO.OUTSET */
#define GPIO_DIRSET 0x50000518u /* svd: GPIO.DIRSET */

#define TIMER0_BASE 0x40008000u /* svd: TIMER0 */
#define TIMER_TASKS_START 0x000u /* svd-offset: TIMER0.TASKS_START */
#define TIMER_TASKS_STOP 0x004u /* svd-offset: TIMER0.TASKS_STOP */
#define TIMER_TASKS_CLEAR 0x00Cu /* svd-offset: TIMER0.TASKS_CLEAR */
#define TIMER_TASKS_CAPTURE0 0x040u /* svd-offset: TIMER0.TASKS_CAPTURE[0] */
#define TIMER_SHORTS 0x200u /* svd-offset: TIMER0.SHORTS */
#define TIMER_INTENCLR 0x308u /* svd-offset: TIMER0.INTENCLR */
#define TIMER_MODE 0x504u /* svd-offset: TIMER0.MODE */
#define TIMER_MODE_MODE (1u << 0) /* svd: TIMER0.MODE.MODE */
#define TIMER_MODE_TIMER 0u /* svd: TIMER0.MODE.MODE=Timer */
#define TIMER_BITMODE 0x508u /* svd-offset: TIMER0.BITMODE */
#define TIMER_BITMODE_BITMODE (0x3u << 0) /* svd: TIMER0.BITMODE.BITMODE */
#define TIMER_BITMODE_32BIT 3u /* svd: TIMER0.BITMODE.BITMODE=32Bit */
#define TIMER_PRESCALER 0x510u /* svd-offset: TIMER0.PRESCALER */
#define TIMER_PRESCALER_PRESCALER (0xFu << 0) /* svd: TIMER0.PRESCALER.PRESCALER */
#define TIMER_CC0 0x540u /* svd-offset: TIMER0.CC[0] */
#define TIMER_BASE_HZ 16000000u /* RM, TIMER chapter: f_TIMER = 16 MHz / 2^PRESCALER */

#define UART(reg) MMIO32(UART0_BASE + (reg))
#define TIMER(reg) MMIO32(TIMER0_BASE + (reg))

/* A stand-in build (a Cortex-M0/M0+ board run on -M microbit) carries its own board's clock. */
#if TINYC_CLOCK_HZ != 16000000 && !defined(TINYC_EMULATED)
#error "nrf51 port: the nRF51822 core runs at 16 MHz; set cpu.clock = \"16 MHz\" in the board file"
#endif
/* The board file's timer clock picks the prescaler: 16 MHz / 2^p. */
#if !defined(TINYC_TICK_HZ)
#error "nrf51 port: set emulation.timer_clock in the board file (TIMER0: 16 MHz / 2^PRESCALER)"
#elif TINYC_TICK_HZ == 16000000
#define TIMER_PRESCALE 0u
#elif TINYC_TICK_HZ == 8000000
#define TIMER_PRESCALE 1u
#elif TINYC_TICK_HZ == 4000000
#define TIMER_PRESCALE 2u
#elif TINYC_TICK_HZ == 2000000
#define TIMER_PRESCALE 3u
#elif TINYC_TICK_HZ == 1000000
#define TIMER_PRESCALE 4u
#else
#error "nrf51 port: emulation.timer_clock must be 16 MHz / 2^p (16, 8, 4, 2 or 1 MHz)"
#endif
#define TIMER_HZ (TIMER_BASE_HZ >> TIMER_PRESCALE)
#if defined(TINYC_UART_BASE) && TINYC_UART_BASE != UART0_BASE
#error "nrf51 port: the console is UART0; set console.base to UART0's address in the board file"
#endif
#if TINYC_BAUD == 115200
#define CON_BAUD UART_BAUD_115200
#elif TINYC_BAUD == 9600
#define CON_BAUD UART_BAUD_9600
#elif TINYC_BAUD == 1000000
#define CON_BAUD UART_BAUD_1M
#else
#error "nrf51 port: console.baud must be 9600, 115200 or 1000000"
#endif
#if !defined(TINYC_TX_PORT) || !defined(TINYC_RX_PORT) || TINYC_TX_PORT != 0 || TINYC_RX_PORT != 0
#error "nrf51 port: console.tx_pin/rx_pin in the board file must name pins on P0, e.g. P0.24"
#endif

/* Under QEMU every peripheral access takes the emulator's global lock, which its I/O thread needs to hand
 * over the next received byte: polling flat out slows the link down several times. Silicon polls freely. */
#ifdef TINYC_EMULATED
#define POLL_BACKOFF 1000
#else
#define POLL_BACKOFF 0
#endif

static uint32_t last;   /* the counter at the last reading since TASKS_CLEAR */
static uint64_t wraps;  /* 2^32 for every wrap of the counter since TASKS_CLEAR */
static uint64_t base;   /* ticks counted before the last TASKS_CLEAR */

static uint64_t since_clear(void) {
    TIMER(TIMER_TASKS_CAPTURE0) = 1;
    uint32_t now = TIMER(TIMER_CC0);
    if (now < last) wraps += 1ull << 32;
    last = now;
    return wraps + now;
}

static void clear(void) {
    TIMER(TIMER_TASKS_CLEAR) = 1;
    last = 0;
    wraps = 0;
}

static void timer_start(void) {
    TIMER(TIMER_TASKS_STOP) = 1;
    TIMER(TIMER_SHORTS) = 0;
    TIMER(TIMER_INTENCLR) = 0xFFFFFFFFu; /* polled: no interrupt (the vector table has no IRQ entries) */
    TIMER(TIMER_MODE) = FIELD(TIMER_MODE_MODE, TIMER_MODE_TIMER);
    TIMER(TIMER_BITMODE) = FIELD(TIMER_BITMODE_BITMODE, TIMER_BITMODE_32BIT);
    TIMER(TIMER_PRESCALER) = FIELD(TIMER_PRESCALER_PRESCALER, TIMER_PRESCALE);
    base = 0;
    clear();
    TIMER(TIMER_TASKS_START) = 1;
}

void port_init(void) {
    MMIO32(CLOCK_XTALFREQ) = FIELD(CLOCK_XTALFREQ_XTALFREQ, CLOCK_XTALFREQ_16MHZ);
    MMIO32(CLOCK_EVENTS_HFCLKSTARTED) = 0;
    MMIO32(CLOCK_TASKS_HFCLKSTART) = 1;
    while (!MMIO32(CLOCK_EVENTS_HFCLKSTARTED)) {
    }
    /* TX idles high as an output before the UART takes it (RM chapter 29, pin configuration). */
    MMIO32(GPIO_OUTSET) = 1u << TINYC_TX_PIN;
    MMIO32(GPIO_DIRSET) = 1u << TINYC_TX_PIN;
    UART(UART_ENABLE) = 0;
    UART(UART_PSELTXD) = TINYC_TX_PIN;
    UART(UART_PSELRXD) = TINYC_RX_PIN;
    UART(UART_PSELRTS) = UART_PSEL_DISCONNECTED;
    UART(UART_PSELCTS) = UART_PSEL_DISCONNECTED;
    UART(UART_BAUDRATE) = CON_BAUD;
    UART(UART_CONFIG) = 0; /* no parity, no flow control */
    UART(UART_ENABLE) = FIELD(UART_ENABLE_ENABLE, UART_ENABLE_ENABLED);
    UART(UART_EVENTS_RXDRDY) = 0;
    UART(UART_EVENTS_TXDRDY) = 0;
    UART(UART_TASKS_STARTTX) = 1;
    UART(UART_TASKS_STARTRX) = 1;
    timer_start();
}

/* One byte at a time: TXDRDY says the byte has left TXD (QEMU drops a TXD write while one is pending). */
void port_putc(uint8_t c) {
    UART(UART_EVENTS_TXDRDY) = 0;
    UART(UART_TXD) = c;
    while (!UART(UART_EVENTS_TXDRDY)) {
    }
}

/* RXDRDY is cleared before RXD is read (RM chapter 29): reading RXD may raise it again for the next byte. */
int port_getc(int32_t timeout_ms) {
    uint64_t limit = timeout_ms < 0 ? UINT64_MAX : port_ticks() + (uint64_t)timeout_ms * (TIMER_HZ / 1000u);
    while (!UART(UART_EVENTS_RXDRDY)) {
        if (timeout_ms >= 0 && port_ticks() > limit) return -1;
        for (volatile int i = 0; i < POLL_BACKOFF; i++) {
        }
    }
    UART(UART_EVENTS_RXDRDY) = 0;
    return (int)(UART(UART_RXD) & UART_RXD_RXD);
}

uint64_t port_ticks(void) { return base + since_clear(); }
uint32_t port_tick_hz(void) { return TIMER_HZ; }

/* Clearing the counter aligns the tick phase with this instruction, which makes spans repeatable under
 * QEMU -icount; the ticks counted so far move to base so port_ticks() stays monotonic. */
void port_span_begin(void) {
    base += since_clear();
    clear();
}

uint64_t port_span_end(void) { return since_clear(); }
