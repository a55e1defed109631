/*
 * Cross-hart synchronisation for the monitor's shared state (the virtual
 * CLINT and PLIC): a test-and-test-and-set spinlock on one 32-bit word, and
 * the static storage the Swift side places its per-hart and shared state in.
 */
#ifndef FIRMVISOR_SYNC_H
#define FIRMVISOR_SYNC_H

#include <stdint.h>

#if defined(__riscv)

static inline __attribute__((always_inline)) void firmvisor_lock(volatile uint32_t *word) {
    for (;;) {
        while (*word != 0) {
        }
        uint32_t old;
        __asm__ volatile("amoswap.w.aq %0, %2, %1" : "=r"(old), "+A"(*word) : "r"(1u) : "memory");
        if (old == 0)
            return;
    }
}

static inline __attribute__((always_inline)) void firmvisor_unlock(volatile uint32_t *word) {
    __asm__ volatile("amoswap.w.rl zero, zero, %0" : "+A"(*word) : : "memory");
}

/* Bytes reserved for each hart's Swift context and for the shared machine state. */
#define FIRMVISOR_HART_STORAGE    4096
#define FIRMVISOR_MACHINE_STORAGE 8192

/* Zeroed (.bss); the Swift side initialises it at boot. */
void *firmvisor_hart_storage(uint64_t hartid);
void *firmvisor_machine_storage(void);
volatile uint32_t *firmvisor_machine_lock(void);

#endif /* __riscv */

#endif /* FIRMVISOR_SYNC_H */
