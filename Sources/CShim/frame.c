/* Per-hart trap frames (in .bss: zeroed by the cold-boot hart). */
#include "frame.h"

#if defined(__riscv)

extern char __monitor_start[];
extern char __monitor_end[];

firmvisor_frame firmvisor_frames[FIRMVISOR_MAX_HARTS] __attribute__((aligned(64)));

firmvisor_frame *firmvisor_frame_for_hart(uint64_t hartid) {
    if (hartid >= FIRMVISOR_MAX_HARTS)
        return NULL;
    return &firmvisor_frames[hartid];
}

extern char firmvisor_read_table[];
extern char firmvisor_write_table[];

void firmvisor_frame_install_tables(firmvisor_frame *f) {
    f->tables[0] = (uint64_t)(uintptr_t)firmvisor_read_table;
    f->tables[1] = (uint64_t)(uintptr_t)firmvisor_write_table;
}

uint64_t firmvisor_monitor_start(void) { return (uint64_t)(uintptr_t)__monitor_start; }
uint64_t firmvisor_monitor_end(void) { return (uint64_t)(uintptr_t)__monitor_end; }

#endif /* __riscv */

#include "sync.h"

#if defined(__riscv)

static uint8_t hart_storage[FIRMVISOR_MAX_HARTS][FIRMVISOR_HART_STORAGE] __attribute__((aligned(64)));
static uint8_t machine_storage[FIRMVISOR_MACHINE_STORAGE] __attribute__((aligned(64)));
static volatile uint32_t machine_lock;

void *firmvisor_hart_storage(uint64_t hartid) {
    return hartid < FIRMVISOR_MAX_HARTS ? hart_storage[hartid] : (void *)0;
}
static volatile uint32_t mailboxes[FIRMVISOR_MAX_HARTS];
static volatile uint64_t fences_requested[FIRMVISOR_MAX_HARTS];
static volatile uint64_t fences_completed[FIRMVISOR_MAX_HARTS];

volatile uint32_t *firmvisor_mailbox(uint64_t hart) { return &mailboxes[hart % FIRMVISOR_MAX_HARTS]; }
volatile uint64_t *firmvisor_fence_requested(uint64_t hart) { return &fences_requested[hart % FIRMVISOR_MAX_HARTS]; }
volatile uint64_t *firmvisor_fence_completed(uint64_t hart) { return &fences_completed[hart % FIRMVISOR_MAX_HARTS]; }

void *firmvisor_machine_storage(void) { return machine_storage; }
volatile uint32_t *firmvisor_machine_lock(void) { return &machine_lock; }

#endif /* __riscv */
