/*
 * Firmvisor bench payload: S-mode entry, trap entry and the measured loops.
 *
 * Loaded with -kernel at 0x80200000 and entered in S-mode by OpenSBI, or
 * by the minimal firmware guest/bench/minfw.S (a0 = hartid, a1 = FDT).
 * Every loop reads instret (rdinstret; OpenSBI and the minimal firmware
 * grant it to S-mode in mcounteren) before and after:
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
    .globl payload_trap_entry
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

/*
 * The loops of bench=switch_min (under guest/bench/minfw.S, whose trap
 * handler clobbers t6):
 *   u64 payload_trap_loop_<op>(u64 n, u64 a7)
 * sets a7 once (the minimal firmware ignores it; an extension the monitor
 * never offloads keeps the call going to the firmware) and uses no t6.
 */
#define TRAP_LOOP(name, ...)        \
    .globl payload_trap_loop_##name; \
    .balign 4;                      \
payload_trap_loop_##name:           \
    mv      t2, a0;                 \
    mv      a7, a1;                 \
    csrr    t0, instret;            \
1:  __VA_ARGS__;                    \
    addi    t2, t2, -1;             \
    bnez    t2, 1b;                 \
    csrr    t1, instret;            \
    sub     a0, t1, t0;             \
    ret

TRAP_LOOP(nop, nop)
TRAP_LOOP(ecall, ecall)

/*
 * External interrupt loop (the UART's THRE interrupt through the PLIC's S
 * context):
 *   u64 payload_loop_ext_irq(u64 n, u64 ier, u64 value, u64 claim)
 * stores value to the UART's IER (a1) every iteration: 0x02 (THRE interrupt
 * enable) raises the interrupt at once (the transmitter is idle), 0 raises
 * nothing and is the baseline. Interrupts are taken at payload_irq_entry
 * (stvec, set by the caller with sie.SEIE and sstatus.SIE), which uses a4,
 * a5 and counts them in t3; the count is left in payload_ext_irq_count.
 */
    .globl payload_loop_ext_irq
    .balign 4
payload_loop_ext_irq:
    mv      t2, a0
    li      t3, 0
    csrr    t0, instret
1:  sb      a2, 0(a1)
    addi    t2, t2, -1
    bnez    t2, 1b
    csrr    t1, instret
    sub     a0, t1, t0
    lla     t4, payload_ext_irq_count
    sd      t3, 0(t4)
    ret

/*
 * The external interrupt handler of payload_loop_ext_irq: what a minimal
 * S-mode driver does. Claim at the hart's S context (a3 = its claim/complete
 * register), check that it is the UART (source 10), clear IER (the UART
 * drops its line), complete, return. Anything else is unexpected.
 */
    .balign 4
    .globl payload_irq_entry
payload_irq_entry:
    csrr    a4, scause
    bgez    a4, 9f              /* an exception */
    lw      a5, 0(a3)           /* claim */
    addi    a4, a5, -10
    bnez    a4, 9f              /* not the UART (or nothing pending) */
    sb      zero, 0(a1)         /* IER = 0 */
    sw      a5, 0(a3)           /* complete */
    addi    t3, t3, 1
    sret
9:  j       payload_trap_entry

    .section .bss
    .balign 8
    .globl payload_ext_irq_count
payload_ext_irq_count:
    .dword  0

    .text
    .globl payload_instret_pair
payload_instret_pair:
    csrr    t0, instret
    csrr    t1, instret
    sub     a0, t1, t0
    ret
