/*
 * Firmvisor trap entry and guest (re)entry.
 *
 * Invariant: mscratch = this hart's firmvisor_frame while the guest runs.
 * The trap entry saves all guest GPRs into frame->x[], switches to the
 * top of this hart's monitor stack and calls the Swift handler
 *   void firmvisor_trap(firmvisor_frame *frame);
 * which reads mcause/mepc/... itself and writes mepc/mstatus before it
 * returns; then the guest resumes through firmvisor_enter_guest.
 *
 * No FP state: the monitor is soft-float (rv64imac/lp64) and never touches
 * the FP registers, so the guest's stay live across a trap.
 */
#if defined(__riscv)

#include "frame.h"

#define SAVE(n)     sd x##n, FRAME_X(n)(sp)
#define LOAD(n)     ld x##n, FRAME_X(n)(a0)

    .section .text.firmvisor_trap, "ax", @progbits

    /* mtvec direct mode: the vector must be 4-byte aligned. */
    .balign 4
    .globl firmvisor_trap_entry
    .type firmvisor_trap_entry, @function
firmvisor_trap_entry:
    csrrw   sp, mscratch, sp            /* sp = frame, mscratch = guest sp */
    SAVE(1);  SAVE(3);  SAVE(4);  SAVE(5);  SAVE(6);  SAVE(7)
    SAVE(8);  SAVE(9);  SAVE(10); SAVE(11); SAVE(12); SAVE(13)
    SAVE(14); SAVE(15); SAVE(16); SAVE(17); SAVE(18); SAVE(19)
    SAVE(20); SAVE(21); SAVE(22); SAVE(23); SAVE(24); SAVE(25)
    SAVE(26); SAVE(27); SAVE(28); SAVE(29); SAVE(30); SAVE(31)
    csrrw   t0, mscratch, sp            /* t0 = guest sp, mscratch = frame */
    sd      t0, FRAME_X(2)(sp)

    mv      a0, sp                      /* a0 = frame */
    mv      s0, sp                      /* callee-saved copy (guest s0 saved) */
    ld      sp, FRAME_MONITOR_SP(sp)    /* fresh monitor stack */
    call    firmvisor_trap
    mv      a0, s0
    j       firmvisor_enter_guest
    .size firmvisor_trap_entry, . - firmvisor_trap_entry

    /* void firmvisor_enter_guest(firmvisor_frame *frame) -- noreturn */
    .balign 4
    .globl firmvisor_enter_guest
    .type firmvisor_enter_guest, @function
firmvisor_enter_guest:
    csrw    mscratch, a0
    LOAD(1);  LOAD(2);  LOAD(3);  LOAD(4);  LOAD(5);  LOAD(6)
    LOAD(7);  LOAD(8);  LOAD(9);  LOAD(11); LOAD(12); LOAD(13)
    LOAD(14); LOAD(15); LOAD(16); LOAD(17); LOAD(18); LOAD(19)
    LOAD(20); LOAD(21); LOAD(22); LOAD(23); LOAD(24); LOAD(25)
    LOAD(26); LOAD(27); LOAD(28); LOAD(29); LOAD(30); LOAD(31)
    LOAD(10)                            /* a0 last */
    mret
    .size firmvisor_enter_guest, . - firmvisor_enter_guest

#endif /* __riscv */
