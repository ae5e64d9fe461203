/* Memory-mapped register access for the firmware ports.
 * Ports name every peripheral register and bit they use in macros annotated with the vendor's
 * SVD path ("svd: RCC.CR.PLLON"); tests/test_svd_ports.py checks each one against the SVD file. */
#ifndef TINYC_MMIO_H
#define TINYC_MMIO_H

#include <stdint.h>

#define MMIO32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
/* The value v placed in the field that mask covers (mask is a compile-time constant). */
#define FIELD(mask, v) ((((uint32_t)(v)) << __builtin_ctz(mask)) & (mask))

static inline void mmio_modify(uint32_t addr, uint32_t clear, uint32_t set) {
    MMIO32(addr) = (MMIO32(addr) & ~clear) | set;
}

static inline void mmio_wait_set(uint32_t addr, uint32_t mask) {
    while ((MMIO32(addr) & mask) != mask) {
    }
}

static inline void mmio_wait_clear(uint32_t addr, uint32_t mask) {
    while (MMIO32(addr) & mask) {
    }
}

#endif
