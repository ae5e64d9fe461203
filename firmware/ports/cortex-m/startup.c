/* Reset, vector table and C runtime start for every Cortex-M port.
 * Symbols come from the generated linker script (templates/project/linker.ld.j2). */
#include <stdint.h>
#include <string.h>

#include "tinyc_port.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) const vector_t tinyc_vectors[16] = {
    (vector_t)&_estack, Reset_Handler, NMI_Handler, HardFault_Handler,
    HardFault_Handler, HardFault_Handler, HardFault_Handler, /* MemManage, BusFault, UsageFault */
    0, 0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0, Default_Handler, /* PendSV */
    SysTick_Handler,
};

void Default_Handler(void) {
    port_puts("\n#FAULT unexpected interrupt\n");
    port_exit(0x7e);
}

void Reset_Handler(void) {
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CPACR: full access to CP10/CP11 (FPU and Helium) before any float or vector code. */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm volatile("dsb\n\tisb");
#endif
    port_init();
    port_exit(main());
}
