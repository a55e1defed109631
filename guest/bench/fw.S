/*
 * Firmvisor bench firmware: entry, trap entry and the measured loops.
 *
 * M-mode, linked at 0x80000000: the same binary runs as QEMU's -bios (the
 * native reference, real M-mode) and under the monitor, which places it where
 * -bios would and enters it there in virtual M-mode. One hart measures;
 * others park.
 *
 * Every loop reads instret (rdinstret: natively readable in real and in
 * virtual M-mode) before and after, and returns the difference:
 *   u64 fw_loop_<op>(u64 n)
 */
#include "bench.h"

    .section .text.start, "ax", @progbits
    .globl _start
_start:
    bnez    a0, park
    lla     sp, __stack_top
    lla     t0, fw_trap_entry
    csrw    mtvec, t0
    csrw    mie, zero
    call    fw_main
park:
    csrw    mie, zero
1:  wfi
    j       1b

/* Unexpected trap: report it and stop (fw_main never expects one). */
    .balign 4
fw_trap_entry:
    lla     sp, __stack_top
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    call    fw_unexpected_trap
2:  j       2b

    .text
#define LOOP(name, ...)             \
    .globl fw_loop_##name;          \
    .balign 4;                      \
fw_loop_##name:                     \
    mv      t2, a0;                 \
    csrr    t0, instret;            \
1:  __VA_ARGS__;                    \
    addi    t2, t2, -1;             \
    bnez    t2, 1b;                 \
    csrr    t1, instret;            \
    sub     a0, t1, t0;             \
    ret

LOOP(nop, nop)
LOOP(csrw_mscratch, csrw mscratch, t2)
LOOP(csrr_mscratch, csrr t3, mscratch)
LOOP(csrr_mstatus, csrr t3, mstatus)
LOOP(csrr_mepc, csrr t3, mepc)

/* Two back-to-back instret reads: 1 when rdinstret does not trap. */
    .globl fw_instret_pair
fw_instret_pair:
    csrr    t0, instret
    csrr    t1, instret
    sub     a0, t1, t0
    ret
