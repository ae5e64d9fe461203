/* HardFault: report the stacked PC/LR and the fault status over the console, then stop,
 * so the host sees "#FAULT" instead of a silent hang. */
#include "tinyc_port.h"

static void put_hex(uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    port_puts("0x");
    for (int i = 28; i >= 0; i -= 4) port_putc((uint8_t)digits[(v >> i) & 0xF]);
}

void tinyc_fault_report(const uint32_t *frame) {
    port_puts("\n#FAULT hardfault pc=");
    put_hex(frame[6]);
    port_puts(" lr=");
    put_hex(frame[5]);
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
    port_puts(" cfsr=");
    put_hex(*(volatile uint32_t *)0xE000ED28);
    port_puts(" hfsr=");
    put_hex(*(volatile uint32_t *)0xE000ED2C);
#endif
    port_puts("\n");
    port_exit(0x7f);
}

__attribute__((naked)) void HardFault_Handler(void) {
    /* Pass whichever stack the fault used (MSP or PSP) to the reporter. */
    __asm volatile(
        "movs r0, #4\n\t"
        "mov r1, lr\n\t"
        "tst r0, r1\n\t"
        "beq 1f\n\t"
        "mrs r0, psp\n\t"
        "b tinyc_fault_report\n"
        "1:\n\t"
        "mrs r0, msp\n\t"
        "b tinyc_fault_report\n");
}
