/*
 * Firmvisor adversarial firmware: entry, trap entry, the launcher that runs
 * one (random) instruction with every register chosen by the caller, and
 * the stub that restores the firmware afterwards.
 *
 * Position independent: only PC-relative addressing. Linked at 0x80000000.
 * Entry on every hart: a0 = hartid, a1 = FDT (both reach adversary_main).
 *
 * The trap entry switches to a per-hart trap stack through mscratch (as
 * OpenSBI does), so an instruction that wrecked sp still traps cleanly.
 */
#include "adversary.h"

#define FRAME_SIZE (34 * 8)

    .section .text.start, "ax", @progbits
    .globl _start
_start:
    li      t0, ADV_MAX_HARTS
    bgeu    a0, t0, park
    mv      tp, a0
    /* sp = __stacks_start + (h + 1) * STACK; trap stack after all normal stacks */
    lla     sp, __stacks_start
    li      t0, ADV_STACK_SIZE
    addi    t1, a0, 1
    mul     t0, t0, t1
    add     sp, sp, t0
    lla     t2, __stacks_start
    li      t0, ADV_MAX_HARTS * ADV_STACK_SIZE
    add     t2, t2, t0
    li      t0, ADV_TRAP_STACK_SIZE
    mul     t0, t0, t1
    add     t2, t2, t0
    csrw    mscratch, t2
    lla     t0, trap_entry
    csrw    mtvec, t0
    bnez    a0, 2f
    lla     t0, __bss_start
    lla     t1, __bss_end
1:  bgeu    t0, t1, 3f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
3:  fence   rw, rw
    lla     t0, bss_ready
    li      t1, 1
    sw      t1, 0(t0)
    j       4f
2:  lla     t0, bss_ready
5:  lw      t1, 0(t0)
    beqz    t1, 5b
    fence   rw, rw
4:  call    adversary_main
park:
    csrw    mie, zero
6:  wfi
    j       6b

    .section .data
    .balign 4
bss_ready:
    .word   0

    .text
    .balign 64
    .globl trap_entry
trap_entry:
    csrrw   sp, mscratch, sp        /* sp = trap stack top, mscratch = old sp */
    addi    sp, sp, -FRAME_SIZE
    sd      t0, 5*8(sp)
    csrr    t0, mscratch
    sd      t0, 2*8(sp)
    addi    t0, sp, FRAME_SIZE
    csrw    mscratch, t0            /* ready for the next trap */
    .irp r, 1,3,4,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\r, \r*8(sp)
    .endr
    mv      a0, sp
    /* tp may be garbage (random instructions): the handler uses mhartid. */
    call    trap_handler
    .irp r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\r, \r*8(sp)
    .endr
    ld      sp, 2*8(sp)
    mret

/*
 * void launch(const u64 regs[32]): loads x1..x31 from regs (x31 last, it
 * holds the table address until then) and executes mret; the caller has set
 * mepc (the instruction slot) and mstatus.MPP. The slot ends in a jump to
 * restore_stub, which brings the firmware back and returns to launch's
 * caller. Callee-saved registers, ra, sp, gp, tp go to save_area[hartid].
 */
    .globl launch
launch:
    csrr    t0, mhartid
    slli    t0, t0, 8               /* SAVE_SLOT */
    lla     t1, save_area
    add     t1, t1, t0
    sd      ra, 0(t1)
    sd      sp, 8(t1)
    sd      gp, 16(t1)
    sd      tp, 24(t1)
    sd      s0, 32(t1)
    sd      s1, 40(t1)
    sd      s2, 48(t1)
    sd      s3, 56(t1)
    sd      s4, 64(t1)
    sd      s5, 72(t1)
    sd      s6, 80(t1)
    sd      s7, 88(t1)
    sd      s8, 96(t1)
    sd      s9, 104(t1)
    sd      s10, 112(t1)
    sd      s11, 120(t1)
    mv      x31, a0
    .irp r, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
    ld      x\r, \r*8(x31)
    .endr
    ld      x31, 31*8(x31)
    mret

/*
 * Back from the slot (or from the trap handler's recovery, always in M):
 * first the state nothing may depend on (no memory access before MPRV is
 * off), then the saved registers.
 */
    .globl restore_stub
restore_stub:
    li      t0, (1 << 17) | (1 << 3) | (1 << 1) | (1 << 19) | (1 << 18)
    csrc    mstatus, t0             /* MPRV, MIE, SIE, MXR, SUM */
    lla     t0, trap_entry
    csrw    mtvec, t0
    csrw    mie, zero
    csrw    satp, zero
    csrr    t0, mhartid
    slli    t1, t0, 3
    lla     t2, trap_stack_tops
    add     t2, t2, t1
    ld      t2, 0(t2)
    csrw    mscratch, t2
    slli    t0, t0, 8
    lla     t1, save_area
    add     t1, t1, t0
    ld      ra, 0(t1)
    ld      sp, 8(t1)
    ld      gp, 16(t1)
    ld      tp, 24(t1)
    ld      s0, 32(t1)
    ld      s1, 40(t1)
    ld      s2, 48(t1)
    ld      s3, 56(t1)
    ld      s4, 64(t1)
    ld      s5, 72(t1)
    ld      s6, 80(t1)
    ld      s7, 88(t1)
    ld      s8, 96(t1)
    ld      s9, 104(t1)
    ld      s10, 112(t1)
    ld      s11, 120(t1)
    ret

/* S-mode trap vector for the payload stubs: record scause/sepc/stval and go
   to M with ecall (medeleg never delegates ecall from S). */
    .balign 4
    .globl s_handler, s_handler_ecall
s_handler:
    csrr    t0, scause
    bgez    t0, 1f
    csrw    sie, zero
1:                                  /* t0 = scause reaches M in the frame */
s_handler_ecall:
    ecall
2:  j       2b
