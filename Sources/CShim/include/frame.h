/*
 * The per-hart trap frame shared by trap.S / start.S and Swift.
 *
 * mscratch holds the current hart's frame whenever the guest runs (and while
 * the monitor runs, too: trap.S puts it back before calling Swift).
 *
 * This header is also included by the assembly files: the C part is hidden
 * from the assembler, the FRAME_* offsets are shared and checked below.
 */
#ifndef FIRMVISOR_FRAME_H
#define FIRMVISOR_FRAME_H

/*
 * The monitor runs up to FIRMVISOR_MAX_HARTS harts (the virtual CLINT's and
 * the doorbells' 64-bit hart masks). Each runs on its own block of
 * FIRMVISOR_HART_BLOCK bytes after the relocated image (__monitor_end):
 * the trap frame at +0, the Swift hart context at +FIRMVISOR_BLOCK_CONTEXT,
 * the monitor stack from +FIRMVISOR_BLOCK_STACK up to the block's end.
 */
#define FIRMVISOR_MAX_HARTS     64
#define FIRMVISOR_HART_BLOCK    0x8000     /* 32 KiB: ~14 KiB of stack measured at peak (difftest, adversary) */
#define FIRMVISOR_BLOCK_CONTEXT 0x400
#define FIRMVISOR_BLOCK_STACK   0x1800     /* the context: 5 KiB (the virtual hart holds a 2047-identity IMSIC file) */
#define FIRMVISOR_BOOT_STACK    0x2000     /* the cold hart's stack before relocation */

/* firmvisor_boot_plan offsets, for start.S */
#define PLAN_REGION_BASE       0
#define PLAN_FDT               16
#define PLAN_HARTS             24
#define PLAN_COLD_HART         72

#define FRAME_X(n)             ((n) * 8)   /* guest x0..x31, x0 unused */
#define FRAME_MONITOR_SP       256
#define FRAME_HARTID           264
#define FRAME_SCRATCH          272
#define FRAME_FAST             320         /* 1: trap.S may serve plain CSR traps */
#define FRAME_FAST_COUNT       328         /* traps trap.S served */
#define FRAME_SLOTS            336         /* {address, write mask} of CSRs 0x340..0x34b */
#define FRAME_SLOT_COUNT       12
#define FRAME_TABLES           528         /* trap.S's register jump tables (read rs1, write rd) */
#define FRAME_MSTATUS          544         /* address of the virtual mstatus (0: not served) */
#define FRAME_TIMER            552         /* 1: trap.S serves the payload's SBI set_timer (Sstc) */
#define FRAME_TIMER_COUNT      560         /* set_timer calls trap.S served */
#define FRAME_CONSOLE          568         /* UART base: trap.S serves the payload's legacy putchar (0: it does not) */
#define FRAME_CONSOLE_COUNT    576         /* putchar calls trap.S served */
#define FRAME_SIZE             584

#ifndef __ASSEMBLER__

#include <stddef.h>
#include <stdint.h>

typedef struct firmvisor_frame {
    uint64_t x[32];        /* guest x0..x31, x[0] unused; offset 0 */
    uint64_t monitor_sp;   /* offset 256: top of this hart's monitor stack */
    uint64_t hartid;       /* offset 264 */
    uint64_t scratch[6];   /* offset 272..: free for Swift use */
    uint64_t fast;         /* offset 320: 1 while trap.S may serve the firmware's
                              plain CSR accesses (firmware world, not traced);
                              mtvec is then firmvisor_trap_entry */
    uint64_t fast_count;   /* offset 328: illegal-instruction traps trap.S served */
    uint64_t slots[24];    /* offset 336: address and write mask of the virtual CSR
                              0x340 + i (mscratch, mepc, mcause, mtval, and mtinst,
                              mtval2 with H); address 0: not served by trap.S */
    uint64_t tables[2];    /* offset 528: trap.S's jump tables: read rs1, write rd */
    uint64_t mstatus;      /* offset 544: address of the virtual mstatus, whose
                              reads trap.S serves (0: it does not) */
    uint64_t timer;        /* offset 552: 1 while trap.S may serve the payload's
                              SBI set_timer with Sstc (offload on, not traced,
                              the firmware's MTIE set): stimecmp = a0 */
    uint64_t timer_count;  /* offset 560: set_timer calls trap.S served */
    uint64_t console;      /* offset 568: the 8250 UART's base while trap.S may
                              serve the payload's legacy sbi_console_putchar
                              (offload on, SBI calls not traced); 0 otherwise */
    uint64_t console_count; /* offset 576: putchar calls trap.S served */
} firmvisor_frame;

_Static_assert(offsetof(firmvisor_frame, x) == FRAME_X(0), "frame.x");
_Static_assert(offsetof(firmvisor_frame, x[2]) == FRAME_X(2), "frame.x[2]");
_Static_assert(offsetof(firmvisor_frame, x[31]) == FRAME_X(31), "frame.x[31]");
_Static_assert(offsetof(firmvisor_frame, monitor_sp) == FRAME_MONITOR_SP, "frame.monitor_sp");
_Static_assert(offsetof(firmvisor_frame, hartid) == FRAME_HARTID, "frame.hartid");
_Static_assert(offsetof(firmvisor_frame, scratch) == FRAME_SCRATCH, "frame.scratch");
_Static_assert(offsetof(firmvisor_frame, fast) == FRAME_FAST, "frame.fast");
_Static_assert(offsetof(firmvisor_frame, fast_count) == FRAME_FAST_COUNT, "frame.fast_count");
_Static_assert(offsetof(firmvisor_frame, slots) == FRAME_SLOTS, "frame.slots");
_Static_assert(offsetof(firmvisor_frame, tables) == FRAME_TABLES, "frame.tables");
_Static_assert(offsetof(firmvisor_frame, mstatus) == FRAME_MSTATUS, "frame.mstatus");
_Static_assert(offsetof(firmvisor_frame, timer) == FRAME_TIMER, "frame.timer");
_Static_assert(offsetof(firmvisor_frame, timer_count) == FRAME_TIMER_COUNT, "frame.timer_count");
_Static_assert(offsetof(firmvisor_frame, console) == FRAME_CONSOLE, "frame.console");
_Static_assert(offsetof(firmvisor_frame, console_count) == FRAME_CONSOLE_COUNT, "frame.console_count");
_Static_assert(sizeof(firmvisor_frame) == FRAME_SIZE, "frame size");

/*
 * What the cold-boot hart decided before the monitor moved itself
 * (Monitor/Relocation.swift), in .data so that the moved copy carries it.
 */
typedef struct firmvisor_boot_plan {
    uint64_t region_base;  /* the monitor's region: image, then the hart blocks */
    uint64_t region_size;
    uint64_t fdt;          /* the device tree, after a move */
    uint64_t harts;        /* harts the monitor runs: hart ids 0..harts-1 */
    uint64_t cpus;         /* harts the device tree lists (QEMU started them all) */
    uint64_t load_base;    /* where QEMU loaded the monitor (the reset address) */
    uint64_t load_end;     /* ... and the end of its image and boot stack there */
    uint64_t unmarked;     /* harts >= harts whose cpu node could not be marked "fail" */
    uint64_t original_fdt; /* where QEMU placed the device tree */
    uint64_t cold_hart;    /* the hart that boots the machine in the moved copy: the
                              lottery's winner, or hart 0 when the winner is one the
                              monitor does not run */
} firmvisor_boot_plan;

_Static_assert(offsetof(firmvisor_boot_plan, region_base) == PLAN_REGION_BASE, "plan.region_base");
_Static_assert(offsetof(firmvisor_boot_plan, fdt) == PLAN_FDT, "plan.fdt");
_Static_assert(offsetof(firmvisor_boot_plan, harts) == PLAN_HARTS, "plan.harts");
_Static_assert(offsetof(firmvisor_boot_plan, cold_hart) == PLAN_COLD_HART, "plan.cold_hart");
_Static_assert(FRAME_SIZE <= FIRMVISOR_BLOCK_CONTEXT, "the frame fits before the context");

#if defined(__riscv)

/* The boot plan (in .data). */
extern firmvisor_boot_plan firmvisor_plan;
firmvisor_boot_plan *firmvisor_boot_plan_storage(void);

/*
 * Restore the guest registers from `f` (mscratch <- f) and `mret`.
 * mepc and mstatus (MPP, MPIE) must already hold the guest's pc and mode.
 */
void firmvisor_enter_guest(firmvisor_frame *f) __attribute__((noreturn));

/* The frame of `hartid` (< firmvisor_plan.harts), or NULL. */
firmvisor_frame *firmvisor_frame_for_hart(uint64_t hartid);

/* Fills f->tables with the addresses of trap.S's register jump tables. */
void firmvisor_frame_install_tables(firmvisor_frame *f);

/* The trap vectors (direct mode; not callable): with the fast path for the
   firmware's plain CSR accesses, and without it. */
void firmvisor_trap_entry(void);
void firmvisor_trap_entry_full(void);

/* Records whether trap.S may serve the firmware's plain CSR accesses and
   installs the matching vector in mtvec. */
static inline __attribute__((always_inline)) void firmvisor_set_fast_path(firmvisor_frame *f, uint64_t on) {
    f->fast = on;
    uintptr_t vector = on ? (uintptr_t)firmvisor_trap_entry : (uintptr_t)firmvisor_trap_entry_full;
    __asm__ volatile("csrw mtvec, %0" : : "r"(vector));
}

/* 1 when reading `stimecmp` does not trap (the hart implements Sstc). */
uint64_t firmvisor_probe_stimecmp(void);
uint64_t firmvisor_probe_menvcfg(void);

/* 1 when `csrr` of the trigger CSR does not trap, with the value read in
   *value (left unchanged when it traps): the trigger module (tselect), tinfo,
   tcontrol, mcontext (probe.S). */
uint64_t firmvisor_probe_read_tselect(uint64_t *value);
uint64_t firmvisor_probe_read_tinfo(uint64_t *value);
uint64_t firmvisor_probe_read_tcontrol(uint64_t *value);
uint64_t firmvisor_probe_read_mcontext(uint64_t *value);
uint64_t firmvisor_probe_read_mtopi(uint64_t *value);

/* The payload's AIA CSRs, accessed for the firmware under a local trap
   vector (guarded.S): 1 on success, 0 when the real access trapped. */
#define FIRMVISOR_GUARDED_DECL(name)                                          \
    uint64_t firmvisor_guarded_read_##name(uint64_t *value);                  \
    uint64_t firmvisor_guarded_write_##name(uint64_t value);
FIRMVISOR_GUARDED_DECL(siselect)
FIRMVISOR_GUARDED_DECL(sireg)
FIRMVISOR_GUARDED_DECL(stopei)
uint64_t firmvisor_guarded_read_stopi(uint64_t *value);
FIRMVISOR_GUARDED_DECL(hvien)
FIRMVISOR_GUARDED_DECL(hvictl)
FIRMVISOR_GUARDED_DECL(hviprio1)
FIRMVISOR_GUARDED_DECL(hviprio2)
FIRMVISOR_GUARDED_DECL(vsiselect)
FIRMVISOR_GUARDED_DECL(vsireg)
FIRMVISOR_GUARDED_DECL(vstopei)
uint64_t firmvisor_guarded_read_vstopi(uint64_t *value);

/* A load or store with mstatus.MPRV = 1 under a local trap vector (mprv.S). */
uint64_t firmvisor_mprv_access(uint64_t address, uint64_t value, uint64_t operation,
                               uint64_t mstatus, uint64_t *result);

/* Linker symbols, at the running copy: the image's first byte and its end
   (where the hart blocks begin). */
uint64_t firmvisor_monitor_start(void);
uint64_t firmvisor_monitor_end(void);
/* The end of the image and the boot stack as loaded (before the move). */
uint64_t firmvisor_load_end(void);
/* Harts that have reached the moved copy (start.S counts them). */
uint64_t firmvisor_harts_arrived(void);

/*
 * Provided by Swift (@_cdecl), called from assembly; not declared here so
 * the Swift definitions do not clash with an imported declaration:
 *   uint64_t firmvisor_plan_relocation(uint64_t fdt, uint64_t hartid); // fills firmvisor_plan,
 *                                                          // returns region_base
 *   void firmvisor_hart_entry(uint64_t hartid, uint64_t fdt, uint64_t dyninfo,
 *                             uint64_t is_cold_boot);      // never returns
 *   void firmvisor_trap(firmvisor_frame *frame);           // sets mepc/mstatus
 */

#endif /* __riscv */

#endif /* __ASSEMBLER__ */

#endif /* FIRMVISOR_FRAME_H */
