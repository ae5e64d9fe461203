/* The board port interface: what the harness needs from a chip, and nothing more.
 * Each MCU family implements it in firmware/ports/<family>/; the Cortex-M core parts
 * (startup, SysTick, faults, semihosting) are shared in firmware/ports/cortex-m/. */
#ifndef TINYC_PORT_H
#define TINYC_PORT_H

#include <stdint.h>

/* Clocks, console UART and timer. Called by the startup code before main(). */
void port_init(void);

/* Console: blocking byte I/O. port_getc returns -1 after timeout_ms without a byte
 * (timeout_ms < 0 waits for ever). */
void port_putc(uint8_t c);
int port_getc(int32_t timeout_ms);
void port_puts(const char *s);

/* A free-running 64-bit counter and its rate (ticks per second). On silicon it counts core
 * cycles; under QEMU -icount shift=0 one instruction is 1 ns of virtual time, so the host turns
 * ticks into an exact instruction count as ticks * 1e9 / port_tick_hz(). */
uint64_t port_ticks(void);
uint32_t port_tick_hz(void);

/* One measured span, e.g. an inference. port_span_begin() restarts the timer, so under an
 * emulator the tick phase is the same at every start and a span is exactly repeatable whatever
 * happened before it (host I/O moves QEMU's virtual clock by a varying amount); port_span_end()
 * returns the ticks since. On silicon with DWT->CYCCNT the span is counted in core cycles. */
void port_span_begin(void);
uint64_t port_span_end(void);

/* Stop: under an emulator, leave it with this exit code; on silicon, halt. */
void port_exit(int code) __attribute__((noreturn));

#endif
