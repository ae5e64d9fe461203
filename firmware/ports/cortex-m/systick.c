/* A 64-bit tick counter from SysTick plus a wrap count kept by its interrupt.
 * Used under QEMU (where DWT->CYCCNT reads 0) and on cores without a cycle counter.
 *
 * The count is taken as "ticks since the counter last reached 0", so the value 0 that the
 * counter shows right after a restart (before its first reload) reads as 0 elapsed ticks, and
 * the wrap interrupt (taken when it reaches 0) and the count agree. */
#include "tinyc_port.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04)
#define ICSR_PENDSTCLR (1u << 25)
#define RELOAD 0x00FFFFFFu

static volatile uint32_t wraps;
static uint64_t base; /* ticks counted before the last restart */

#ifdef TINYC_USE_DWT
void tinyc_systick_hook(void); /* cortex-m/dwt.c: keeps the 64-bit cycle count across CYCCNT wraps */
void SysTick_Handler(void) {
    wraps++;
    tinyc_systick_hook();
}
#else
void SysTick_Handler(void) { wraps++; }
#endif

static uint64_t since_restart(void) {
    uint32_t hi, lo;
    do { /* a wrap (and its interrupt) between the reads changes the count: read again */
        hi = wraps;
        lo = SYST_CVR;
    } while (hi != wraps);
    return ((uint64_t)hi << 24) + ((RELOAD + 1u - lo) & RELOAD);
}

static void restart(void) {
    SYST_CSR = 0;
    SCB_ICSR = ICSR_PENDSTCLR; /* a wrap that was pending would be counted twice */
    wraps = 0;
    SYST_RVR = RELOAD;
    SYST_CVR = 0;     /* any write clears the counter; the next tick reloads it */
    SYST_CSR = 0x7u;  /* processor clock, interrupt on wrap, enable */
}

void systick_start(void) {
    base = 0;
    restart();
}

uint64_t systick_ticks(void) { return base + since_restart(); }

/* Restarting aligns the tick phase with this instruction, which makes spans repeatable under
 * QEMU -icount; the ticks counted so far are kept in base so systick_ticks() stays monotonic. */
void systick_span_begin(void) {
    SYST_CSR = 0;
    base += since_restart();
    restart();
}

uint64_t systick_span_end(void) { return since_restart(); }
