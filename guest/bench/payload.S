/*
 * Firmvisor bench payload: S-mode entry, trap entry and the measured loops.
 *
 * Loaded with -kernel at 0x80200000 and entered in S-mode by OpenSBI
 * (a0 = hartid, a1 = FDT). Every loop reads instret (rdinstret; OpenSBI
 * grants it to S-mode in mcounteren) before and after:
 *   u64 payload_loop_<op>(u64 n, u64 eid, u64 fid, u64 arg0)
 * sets a7 = eid, a6 = fid, a0 = arg0 before every iteration's operation, so
 * the ecall loop and the nop loop differ by the ecall alone.
 */
#include "bench.h"

    .section .text.start, "ax", @progbits
    .globl _start
_start:
    lla     sp, __stack_top
    lla     t0, payload_trap_entry
    csrw    stvec, t0
    csrw    sie, zero
    call    payload_main        /* a0 = hartid, a1 = FDT */
1:  wfi
    j       1b

    .balign 4
payload_trap_entry:
    lla     sp, __stack_top
    csrr    a0, scause
    csrr    a1, sepc
    csrr    a2, stval
    call    payload_unexpected_trap
2:  j       2b

    .text
#define LOOP(name, ...)             \
    .globl payload_loop_##name;     \
    .balign 4;                      \
payload_loop_##name:                \
    mv      t2, a0;                 \
    mv      t4, a1;                 \
    mv      t5, a2;                 \
    mv      t6, a3;                 \
    csrr    t0, instret;            \
1:  mv      a7, t4;                 \
    mv      a6, t5;                 \
    mv      a0, t6;                 \
    __VA_ARGS__;                    \
    addi    t2, t2, -1;             \
    bnez    t2, 1b;                 \
    csrr    t1, instret;            \
    sub     a0, t1, t0;             \
    ret

LOOP(nop, nop)
LOOP(ecall, ecall)

    .globl payload_instret_pair
payload_instret_pair:
    csrr    t0, instret
    csrr    t1, instret
    sub     a0, t1, t0
    ret
