/*
 * Cross-hart synchronisation for the monitor's shared state (the virtual
 * CLINT and PLIC): a test-and-test-and-set spinlock on one 32-bit word, and
 * the static storage the Swift side places its per-hart and shared state in.
 */
#ifndef FIRMVISOR_SYNC_H
#define FIRMVISOR_SYNC_H

#include <stdint.h>

#include "frame.h"

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

#define FIRMVISOR_ATOMIC static inline __attribute__((always_inline))

FIRMVISOR_ATOMIC void firmvisor_atomic_or32(volatile uint32_t *p, uint32_t v) {
    __asm__ volatile("amoor.w.aqrl zero, %1, %0" : "+A"(*p) : "r"(v) : "memory");
}
FIRMVISOR_ATOMIC uint32_t firmvisor_atomic_swap32(volatile uint32_t *p, uint32_t v) {
    uint32_t old;
    __asm__ volatile("amoswap.w.aqrl %0, %2, %1" : "=r"(old), "+A"(*p) : "r"(v) : "memory");
    return old;
}
FIRMVISOR_ATOMIC uint64_t firmvisor_atomic_fetch_add64(volatile uint64_t *p, uint64_t v) {
    uint64_t old;
    __asm__ volatile("amoadd.d.aqrl %0, %2, %1" : "=r"(old), "+A"(*p) : "r"(v) : "memory");
    return old;
}
FIRMVISOR_ATOMIC uint64_t firmvisor_atomic_load64(volatile uint64_t *p) {
    uint64_t v = *p;
    __asm__ volatile("fence r, rw" : : : "memory");
    return v;
}
FIRMVISOR_ATOMIC void firmvisor_atomic_store64(volatile uint64_t *p, uint64_t v) {
    __asm__ volatile("fence rw, w" : : : "memory");
    *p = v;
}

/*
 * Cross-hart requests of the offload path: a bit mailbox per hart
 * (FIRMVISOR_REQUEST_*), and for remote fences a ticket pair: a requester
 * takes a ticket from `fence_requested[h]`, rings h's doorbell and waits until
 * `fence_completed[h]` reaches its ticket; h fences after reading
 * `fence_requested[h]` and then publishes that value as completed.
 */
#define FIRMVISOR_REQUEST_SSIP  1u

volatile uint32_t *firmvisor_mailbox(uint64_t hart);
volatile uint64_t *firmvisor_fence_requested(uint64_t hart);
volatile uint64_t *firmvisor_fence_completed(uint64_t hart);

/* Bytes reserved for each hart's Swift context and for the shared machine state. */
#define FIRMVISOR_HART_STORAGE    (FIRMVISOR_BLOCK_STACK - FIRMVISOR_BLOCK_CONTEXT)
#define FIRMVISOR_MACHINE_STORAGE 2048

/* Zeroed (.bss); the Swift side initialises it at boot. */
void *firmvisor_hart_storage(uint64_t hartid);
void *firmvisor_machine_storage(void);
volatile uint32_t *firmvisor_machine_lock(void);

#endif /* __riscv */

#endif /* FIRMVISOR_SYNC_H */
