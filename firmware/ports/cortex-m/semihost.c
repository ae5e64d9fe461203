/* Leaving QEMU with an exit code through Arm semihosting (SYS_EXIT_EXTENDED).
 * QEMU must run with -semihosting-config enable=on; on silicon without a debugger the
 * breakpoint would fault, so real-board ports halt instead (TINYC_NO_SEMIHOSTING). */
#include "tinyc_port.h"

void port_exit(int code) {
#ifndef TINYC_NO_SEMIHOSTING
    volatile uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
    register uint32_t r0 __asm__("r0") = 0x20; /* SYS_EXIT_EXTENDED */
    register volatile uint32_t *r1 __asm__("r1") = block;
    __asm volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
#else
    (void)code;
#endif
    for (;;) {
    }
}
