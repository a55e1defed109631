/*
 * Firmvisor differential firmware: entry, trap entry (direct and vectored),
 * the instruction slot runner, the lower-mode entry and the S-mode handler.
 *
 * Position independent: only PC-relative addressing. Linked at 0x80000000,
 * where it runs natively (QEMU's -bios) and under the monitor.
 * Entry on every hart: a0 = hartid, a1 = FDT. Only hart 0 interprets; the
 * others park in wfi with mie = 0.
 */
#include "difffw.h"

    .section .text.start, "ax", @progbits
    .globl _start
_start:
    bnez    a0, park
    mv      tp, a0
    lla     sp, __stacks_end
    lla     t0, trap_entry
    csrw    mtvec, t0
    lla     t0, __bss_start
    lla     t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    difffw_main
park:
    csrw    mie, zero
3:  wfi
    j       3b

/* Trap frame: x0..x31 at 8*i (sp slot = sp at trap), vector slot at 8*32. */
#define FRAME_SIZE (34 * 8)

    .text
    .balign 64
    .globl trap_entry
trap_entry:
    addi    sp, sp, -FRAME_SIZE
    sd      t0, 5*8(sp)
    li      t0, -1
    j       trap_common

    .balign 256
    .globl trap_vector_table
trap_vector_table:
    .option push
    .option norvc
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j       vec_slot_\n
    .endr
    .option pop
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
vec_slot_\n:
    addi    sp, sp, -FRAME_SIZE
    sd      t0, 5*8(sp)
    li      t0, \n
    j       trap_common
    .endr

trap_common:
    sd      t0, 32*8(sp)
    .irp r, 1,3,4,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\r, \r*8(sp)
    .endr
    addi    t0, sp, FRAME_SIZE
    sd      t0, 2*8(sp)
    mv      a0, sp
    call    trap_handler
    .irp r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\r, \r*8(sp)
    .endr
    addi    sp, sp, FRAME_SIZE
    mret

/*
 * u64 run_slot(u64 a2_value, u64 a4_value, void *slot): runs the generated
 * instruction in `slot` (followed there by `ret`) with a2, a4 as given and
 * a3 = SENTINEL; returns a3 and leaves a4 in slot_a4. A trapping instruction
 * is skipped by the handler.
 */
    .globl run_slot
run_slot:
    addi    sp, sp, -16
    sd      ra, 0(sp)
    mv      t0, a2
    mv      a2, a0
    mv      a4, a1
    lla     t1, sentinel_value
    ld      a3, 0(t1)
    jalr    ra, 0(t0)
    lla     t1, slot_a4             /* a second result (sc of an lr/sc pair) */
    sd      a4, 0(t1)
    mv      a0, a3
    ld      ra, 0(sp)
    addi    sp, sp, 16
    ret

/*
 * u64 lower_go(u64 a2_value, u64 a4_value): mret with mepc/mstatus prepared by the caller.
 * The stub ends in ecall; the handler resumes at our ra in M-mode with the
 * registers of the trap, so this "returns" the stub's a0.
 */
    .globl lower_go
lower_go:
    mv      a4, a1
    mv      a2, a0
    lla     t1, sentinel_value
    ld      a3, 0(t1)
    li      a6, 0
    li      a7, 0x44494646          /* no SBI extension: never offloaded */
    mret

/* S-mode trap handler: record, silence interrupts (sie = 0), escape to M. */
    .balign 256
    .globl s_vector_table
s_vector_table:
    .option push
    .option norvc
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j       s_handler
    .endr
    .option pop
    .balign 4
    .globl s_handler, s_handler_ecall
s_handler:
    csrr    t0, scause
    bgez    t0, 1f
    csrw    sie, zero
1:  lla     t1, s_record
    sd      t0, 0(t1)
    csrr    t2, sepc
    sd      t2, 8(t1)
    csrr    t2, stval
    sd      t2, 16(t1)
    csrr    t2, sstatus
    sd      t2, 24(t1)
    li      t2, 1
    sd      t2, 32(t1)
s_handler_ecall:
    ecall
2:  j       2b

    .section .rodata
    .balign 8
sentinel_value:
    .dword  SENTINEL
