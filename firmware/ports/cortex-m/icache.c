/* Cortex-M7 instruction cache: invalidate, then enable (ARMv7-M ARM B2.2.7, Cortex-M7 TRM 3.4).
 * Architecture registers, the same on every vendor's M7; the linker drops it from other cores' builds. */
#include "tinyc_port.h"

#define SCB_CCR (*(volatile uint32_t *)0xE000ED14u)
#define SCB_CCR_IC (1u << 17)
#define SCB_ICIALLU (*(volatile uint32_t *)0xE000EF50u)

void cm7_icache_enable(void) {
    __asm volatile("dsb\n\tisb" ::: "memory");
    SCB_ICIALLU = 0;
    __asm volatile("dsb\n\tisb" ::: "memory");
    SCB_CCR |= SCB_CCR_IC;
    __asm volatile("dsb\n\tisb" ::: "memory");
}
