/* DWT->CYCCNT extended to 64 bits: core-cycle timing on silicon for ARMv7-M/ARMv8-M ports.
 * The 32-bit counter wraps every 2^32 cycles (20 s at 216 MHz, 9 s at 480 MHz); the SysTick
 * interrupt samples it every 2^24 cycles, so no wrap is missed however rarely the application
 * reads the time. Built only for ports that ask for it (TINYC_USE_DWT): QEMU's DWT reads 0. */
#include "tinyc_port.h"

#ifdef TINYC_USE_DWT
/* Architecture registers (ARMv7-M ARM, C1.6 and C1.8), the same on every vendor's chip. */
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_LAR (*(volatile uint32_t *)0xE0001FB0u) /* CoreSight lock: the M7 ignores writes until unlocked */
#define DWT_LAR_KEY 0xC5ACCE55u

void systick_start(void);

static uint32_t wraps, last;

static uint64_t extend(void) {
    uint32_t now = DWT_CYCCNT;
    if (now < last) wraps++;
    last = now;
    return ((uint64_t)wraps << 32) | now;
}

void tinyc_systick_hook(void) { (void)extend(); }

void dwt_start(void) {
    DEMCR |= DEMCR_TRCENA;
    DWT_LAR = DWT_LAR_KEY;
    DWT_CYCCNT = 0;
    wraps = last = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    systick_start(); /* its interrupt calls tinyc_systick_hook */
}

uint64_t dwt_ticks(void) {
    uint32_t primask;
    __asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    uint64_t t = extend();
    __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
    return t;
}

static uint64_t span_start;
void port_span_begin(void) { span_start = dwt_ticks(); }
uint64_t port_span_end(void) { return dwt_ticks() - span_start; }
uint64_t port_ticks(void) { return dwt_ticks(); }
uint32_t port_tick_hz(void) { return TINYC_CLOCK_HZ; }
#endif
