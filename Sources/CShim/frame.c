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

uint64_t firmvisor_monitor_start(void) { return (uint64_t)(uintptr_t)__monitor_start; }
uint64_t firmvisor_monitor_end(void) { return (uint64_t)(uintptr_t)__monitor_end; }

#endif /* __riscv */
