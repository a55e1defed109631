/*
 * Volatile MMIO accessors: one plain load or store each, never merged, split
 * or elided. Available on every platform (they are ordinary C), but only the
 * bare-metal monitor calls them.
 */
#ifndef FIRMVISOR_MMIO_H
#define FIRMVISOR_MMIO_H

#include <stdint.h>

#define FIRMVISOR_MMIO_INLINE static inline __attribute__((always_inline))

FIRMVISOR_MMIO_INLINE uint8_t mmio_read8(uintptr_t addr) { return *(volatile uint8_t *)addr; }
FIRMVISOR_MMIO_INLINE uint16_t mmio_read16(uintptr_t addr) { return *(volatile uint16_t *)addr; }
FIRMVISOR_MMIO_INLINE uint32_t mmio_read32(uintptr_t addr) { return *(volatile uint32_t *)addr; }
FIRMVISOR_MMIO_INLINE uint64_t mmio_read64(uintptr_t addr) { return *(volatile uint64_t *)addr; }

FIRMVISOR_MMIO_INLINE void mmio_write8(uintptr_t addr, uint8_t value) { *(volatile uint8_t *)addr = value; }
FIRMVISOR_MMIO_INLINE void mmio_write16(uintptr_t addr, uint16_t value) { *(volatile uint16_t *)addr = value; }
FIRMVISOR_MMIO_INLINE void mmio_write32(uintptr_t addr, uint32_t value) { *(volatile uint32_t *)addr = value; }
FIRMVISOR_MMIO_INLINE void mmio_write64(uintptr_t addr, uint64_t value) { *(volatile uint64_t *)addr = value; }

#undef FIRMVISOR_MMIO_INLINE

#endif /* FIRMVISOR_MMIO_H */
