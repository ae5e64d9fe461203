/* A 64-bit tick counter from SysTick plus a wrap count kept by its interrupt.
 * Used under QEMU (where DWT->CYCCNT reads 0) and on cores without a cycle counter. */
#include "tinyc_port.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)

static volatile uint32_t wraps;

void SysTick_Handler(void) { wraps++; }

void systick_start(void) {
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* processor clock, interrupt on wrap, enable */
}

uint64_t systick_ticks(void) {
    uint32_t hi, lo;
    do { /* a wrap (and its interrupt) between the reads changes the count: read again */
        hi = wraps;
        lo = SYST_CVR;
    } while (hi != wraps);
    return ((uint64_t)hi << 24) + (0x00FFFFFFu - lo);
}
