/*
 * Per-hart blocks (trap frame, Swift context, stack) after the moved image,
 * and the boot plan that travels with it.
 */
#include "frame.h"

#if defined(__riscv)

extern char __monitor_start[];
extern char __monitor_end[];
extern char __load_end[];
extern volatile uint32_t firmvisor_arrived;

firmvisor_boot_plan firmvisor_plan __attribute__((section(".data.firmvisor_plan"))) = {0};

firmvisor_boot_plan *firmvisor_boot_plan_storage(void) { return &firmvisor_plan; }

static char *hart_block(uint64_t hartid) {
    return __monitor_end + hartid * FIRMVISOR_HART_BLOCK;
}

firmvisor_frame *firmvisor_frame_for_hart(uint64_t hartid) {
    if (hartid >= firmvisor_plan.harts)
        return NULL;
    return (firmvisor_frame *)hart_block(hartid);
}

extern char firmvisor_read_table[];
extern char firmvisor_write_table[];

void firmvisor_frame_install_tables(firmvisor_frame *f) {
    f->tables[0] = (uint64_t)(uintptr_t)firmvisor_read_table;
    f->tables[1] = (uint64_t)(uintptr_t)firmvisor_write_table;
}

uint64_t firmvisor_monitor_start(void) { return (uint64_t)(uintptr_t)__monitor_start; }
uint64_t firmvisor_monitor_end(void) { return (uint64_t)(uintptr_t)__monitor_end; }
uint64_t firmvisor_load_end(void) { return (uint64_t)(uintptr_t)__load_end; }
uint64_t firmvisor_harts_arrived(void) { return firmvisor_arrived; }

#endif /* __riscv */

#include "sync.h"

#if defined(__riscv)

static uint8_t machine_storage[FIRMVISOR_MACHINE_STORAGE] __attribute__((aligned(64)));
static volatile uint32_t machine_lock;

void *firmvisor_hart_storage(uint64_t hartid) {
    return hartid < firmvisor_plan.harts ? hart_block(hartid) + FIRMVISOR_BLOCK_CONTEXT : (void *)0;
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
