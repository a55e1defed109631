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

    /*
     * Two vectors (direct mode, 4-byte aligned). mtvec holds
     * firmvisor_trap_entry while the firmware's world is installed and its
     * plain CSR accesses may be served here (firmvisor_set_fast_path), else
     * firmvisor_trap_entry_full: a trap from the payload never pays for the
     * fast path's checks.
     */
    .balign 4
    .globl firmvisor_trap_entry_full
    .type firmvisor_trap_entry_full, @function
firmvisor_trap_entry_full:
    csrrw   sp, mscratch, sp            /* sp = frame, mscratch = guest sp */
    sd      t0, FRAME_X(5)(sp)
    /*
     * The payload's SBI set_timer (ecall from S, a7 = "TIME", a6 = 0) on a
     * hart with Sstc, offloaded: the payload's stimecmp is live in the real
     * register and nothing else of the virtual state or the real mie changes
     * (the firmware's MTIE is already set, as OpenSBI's
     * sbi_timer_event_start leaves it), so stimecmp = a0, a0 = a1 = 0
     * (SBI_SUCCESS) and the payload resumes after its ecall. `timer` is 1
     * only when all that holds (Swift keeps it on every return).
     */
    csrr    t0, mcause
    addi    t0, t0, -9
    bnez    t0, 1f
    li      t0, 0x54494D45              /* "TIME" */
    bne     a7, t0, .Lputchar
    ld      t0, FRAME_TIMER(sp)
    beqz    t0, 1f
    bnez    a6, 1f
    csrw    stimecmp, a0
    li      a0, 0
    li      a1, 0
    csrr    t0, mepc
    addi    t0, t0, 4
    csrw    mepc, t0
    ld      t0, FRAME_TIMER_COUNT(sp)
    addi    t0, t0, 1
    sd      t0, FRAME_TIMER_COUNT(sp)
    ld      t0, FRAME_X(5)(sp)
    csrrw   sp, mscratch, sp
    mret
1:  sd      t1, FRAME_X(6)(sp)
    sd      t2, FRAME_X(7)(sp)
    sd      t3, FRAME_X(28)(sp)
    sd      t4, FRAME_X(29)(sp)
    sd      t5, FRAME_X(30)(sp)
    j       .Lfull
    /*
     * The payload's legacy sbi_console_putchar (ecall from S, a7 = 1; legacy
     * calls have no function ID), offloaded as Offload.swift's
     * consolePutchar: a carriage return before a newline, each byte once the
     * 8250's transmit holding register is empty (LSR bit 5; at most 2^20
     * polls each, as Uart16550.put), a0 = 0, a1 untouched. `console` holds
     * the UART's base while the offload applies (Swift sets it at boot).
     */
.Lputchar:
    li      t0, 1
    bne     a7, t0, 1b
    ld      t0, FRAME_CONSOLE(sp)
    beqz    t0, 1b
    sd      t1, FRAME_X(6)(sp)
    sd      t2, FRAME_X(7)(sp)
    andi    t1, a0, 0xff
    addi    t1, t1, -10
    bnez    t1, .Lputc_byte
    lui     t2, 0x100                   /* 2^20 polls */
.Lputc_cr_wait:
    lbu     t1, 5(t0)
    andi    t1, t1, 0x20
    bnez    t1, .Lputc_cr
    addi    t2, t2, -1
    bnez    t2, .Lputc_cr_wait
.Lputc_cr:
    li      t1, 13
    sb      t1, 0(t0)
.Lputc_byte:
    lui     t2, 0x100
.Lputc_wait:
    lbu     t1, 5(t0)
    andi    t1, t1, 0x20
    bnez    t1, .Lputc_send
    addi    t2, t2, -1
    bnez    t2, .Lputc_wait
.Lputc_send:
    sb      a0, 0(t0)
    li      a0, 0
    csrr    t0, mepc
    addi    t0, t0, 4
    csrw    mepc, t0
    ld      t0, FRAME_CONSOLE_COUNT(sp)
    addi    t0, t0, 1
    sd      t0, FRAME_CONSOLE_COUNT(sp)
    ld      t2, FRAME_X(7)(sp)
    ld      t1, FRAME_X(6)(sp)
    ld      t0, FRAME_X(5)(sp)
    csrrw   sp, mscratch, sp
    mret

    .balign 4
    .globl firmvisor_trap_entry
    .type firmvisor_trap_entry, @function
firmvisor_trap_entry:
    csrrw   sp, mscratch, sp            /* sp = frame, mscratch = guest sp */
    sd      t0, FRAME_X(5)(sp)
    sd      t1, FRAME_X(6)(sp)
    sd      t2, FRAME_X(7)(sp)
    sd      t3, FRAME_X(28)(sp)
    sd      t4, FRAME_X(29)(sp)
    sd      t5, FRAME_X(30)(sp)
    /*
     * Fast path: the firmware's csrrw/csrrs/csrrc (register forms) on
     * mscratch, mepc, mcause, mtval (and mtinst, mtval2 on a hart with H)
     * from virtual M-mode (the illegal instruction of real U-mode, MPP = U:
     * this vector is installed only in the firmware's world). They change
     * nothing that could make an interrupt takeable or switch worlds, so
     * they are served here, touching only the registers the instruction
     * names, with the semantics of VirtualHart.executePlainCSR: the frame
     * holds each virtual CSR's address and write mask (Swift publishes
     * them at boot). A slot always holds a legal value (every write, here
     * or in Swift, is masked), so the old value needs no mask, and a
     * csrrs/csrrc with rs1 = x0 may store it back unchanged: it has no
     * side effect (Zicsr: such an instruction does not write, and writing
     * the same value to plain storage is not observable).
     * Anything else falls through to the full save and Swift.
     *
     * t0 = instruction, t1 = mepc, t2 = funct3 - 1 then the old value,
     * t3 = the slot, t4 = the operand then the new value, t5 = scratch.
     */
    csrr    t0, mcause
    addi    t0, t0, -2
    bnez    t0, .Lfull
    csrr    t1, mepc
    lhu     t0, 0(t1)                   /* the instruction, from memory */
    lhu     t2, 2(t1)
    slli    t2, t2, 16
    or      t0, t0, t2                  /* t0 = instruction bits */
    andi    t2, t0, 0x7f
    addi    t2, t2, -0x73
    bnez    t2, .Lfull                  /* not SYSTEM */
    srli    t2, t0, 12
    andi    t2, t2, 7
    addi    t2, t2, -1                  /* t2 = funct3 - 1: 0 rw, 1 rs, 2 rc */
    sltiu   t3, t2, 3
    beqz    t3, .Lfull
    srli    t3, t0, 20
    addi    t3, t3, -0x340
    sltiu   t4, t3, FRAME_SLOT_COUNT
    beqz    t4, .Lmstatus               /* not 0x340..0x34b */
    slli    t3, t3, 4
    add     t3, t3, sp                  /* t3 = frame + 16 * index */
    ld      t4, FRAME_SLOTS(t3)
    beqz    t4, .Lfull                  /* a CSR the slots do not serve (mip, ...) */
    /* t4 = operand: guest register rs1 (bits 19:15, shifted to 8 * rs1) */
    srli    t5, t0, 12
    andi    t5, t5, 0xf8
    ld      t4, FRAME_TABLES(sp)        /* .Lread_rs1 */
    add     t5, t5, t4
    jr      t5
.Lread_done:
    ld      t5, FRAME_SLOTS(t3)         /* address of the virtual CSR */
    beqz    t2, 1f                      /* csrrw: new = operand */
    addi    t2, t2, -1
    bnez    t2, 2f
    ld      t2, 0(t5)                   /* csrrs: old (legal already) */
    or      t4, t2, t4
    j       3f
2:  ld      t2, 0(t5)                   /* csrrc */
    not     t4, t4
    and     t4, t2, t4
    j       3f
1:  ld      t2, 0(t5)                   /* csrrw: old */
3:  ld      t3, FRAME_SLOTS + 8(t3)     /* write mask */
    and     t4, t4, t3
    sd      t4, 0(t5)
.Lset_rd:                               /* rd = the old value, t2 */
    srli    t5, t0, 4                   /* rd (bits 11:7), shifted to 8 * rd */
    andi    t5, t5, 0xf8
    beqz    t5, .Lwrite_done            /* rd = x0 (csrw): nothing to write */
    ld      t3, FRAME_TABLES + 8(sp)    /* .Lwrite_rd */
    add     t5, t5, t3
    jr      t5
.Lwrite_done:
    addi    t1, t1, 4
    csrw    mepc, t1
    ld      t0, FRAME_FAST_COUNT(sp)
    addi    t0, t0, 1
    sd      t0, FRAME_FAST_COUNT(sp)
    ld      t0, FRAME_X(5)(sp)
    ld      t1, FRAME_X(6)(sp)
    ld      t2, FRAME_X(7)(sp)
    ld      t3, FRAME_X(28)(sp)
    ld      t4, FRAME_X(29)(sp)
    ld      t5, FRAME_X(30)(sp)
    csrrw   sp, mscratch, sp            /* sp = guest sp, mscratch = frame */
    mret

    /*
     * A read of mstatus (csrrs/csrrc rd, mstatus, x0), which OpenSBI's trap
     * entry makes on every trap: the real FS/VS are folded into the virtual
     * mstatus first (the firmware's own execution may have dirtied them),
     * then the value is the virtual one with UXL = SXL = 64 and SD set when
     * FS or VS is Dirty (VirtualHart.mstatusValue; XS is 0).
     */
.Lmstatus:
    addi    t3, t3, 0x40                /* csr - 0x300 */
    bnez    t3, .Lfull
    beqz    t2, .Lfull                  /* csrrw: a write */
    srli    t4, t0, 15
    andi    t4, t4, 31
    bnez    t4, .Lfull                  /* rs1 != x0: a write */
    ld      t3, FRAME_MSTATUS(sp)
    beqz    t3, .Lfull
    ld      t2, 0(t3)
    csrr    t5, mstatus
    li      t4, 0x6600                  /* FS | VS */
    and     t5, t5, t4
    not     t4, t4
    and     t2, t2, t4
    or      t2, t2, t5
    sd      t2, 0(t3)
    li      t4, 0xa00000000             /* UXL = SXL = 2 */
    or      t2, t2, t4
    slli    t2, t2, 1                   /* SD from FS and VS */
    srli    t2, t2, 1
    srli    t5, t2, 13
    andi    t5, t5, 3
    addi    t5, t5, -3
    seqz    t5, t5
    srli    t4, t2, 9
    andi    t4, t4, 3
    addi    t4, t4, -3
    seqz    t4, t4
    or      t5, t5, t4
    slli    t5, t5, 63
    or      t2, t2, t5
    j       .Lset_rd

.Lfull:
    /* t0-t2 and t3-t5 are saved already. */
    SAVE(1);  SAVE(3);  SAVE(4);  SAVE(8);  SAVE(9);  SAVE(10)
    SAVE(11); SAVE(12); SAVE(13); SAVE(14); SAVE(15); SAVE(16)
    SAVE(17); SAVE(18); SAVE(19); SAVE(20); SAVE(21); SAVE(22)
    SAVE(23); SAVE(24); SAVE(25); SAVE(26); SAVE(27); SAVE(31)
    csrrw   t0, mscratch, sp            /* t0 = guest sp, mscratch = frame */
    sd      t0, FRAME_X(2)(sp)

    mv      a0, sp                      /* a0 = frame */
    mv      s0, sp                      /* callee-saved copy (guest s0 saved) */
    ld      sp, FRAME_MONITOR_SP(sp)    /* fresh monitor stack */
    call    firmvisor_trap
    mv      a0, s0
    j       firmvisor_enter_guest

    /*
     * Guest register n into t4 (8 bytes an entry): live, except t0-t2 and
     * t3-t5, saved in the frame, and sp, which is in mscratch.
     */
    .balign 8
    .option push
    .option norvc
    .balign 8
    .globl firmvisor_read_table
firmvisor_read_table:
.Lread_rs1:
    li      t4, 0;                  j .Lread_done   /* x0 */
    mv      t4, x1;                 j .Lread_done
    csrr    t4, mscratch;           j .Lread_done   /* sp */
    mv      t4, x3;                 j .Lread_done
    mv      t4, x4;                 j .Lread_done
    ld      t4, FRAME_X(5)(sp);     j .Lread_done
    ld      t4, FRAME_X(6)(sp);     j .Lread_done
    ld      t4, FRAME_X(7)(sp);     j .Lread_done
    mv      t4, x8;                 j .Lread_done
    mv      t4, x9;                 j .Lread_done
    mv      t4, x10;                j .Lread_done
    mv      t4, x11;                j .Lread_done
    mv      t4, x12;                j .Lread_done
    mv      t4, x13;                j .Lread_done
    mv      t4, x14;                j .Lread_done
    mv      t4, x15;                j .Lread_done
    mv      t4, x16;                j .Lread_done
    mv      t4, x17;                j .Lread_done
    mv      t4, x18;                j .Lread_done
    mv      t4, x19;                j .Lread_done
    mv      t4, x20;                j .Lread_done
    mv      t4, x21;                j .Lread_done
    mv      t4, x22;                j .Lread_done
    mv      t4, x23;                j .Lread_done
    mv      t4, x24;                j .Lread_done
    mv      t4, x25;                j .Lread_done
    mv      t4, x26;                j .Lread_done
    mv      t4, x27;                j .Lread_done
    ld      t4, FRAME_X(28)(sp);    j .Lread_done
    ld      t4, FRAME_X(29)(sp);    j .Lread_done
    ld      t4, FRAME_X(30)(sp);    j .Lread_done
    mv      t4, x31;                j .Lread_done

    /* t2 (the old value) into guest register n (8 bytes an entry; x0 is
       handled before the jump). */
    .balign 8
    .globl firmvisor_write_table
firmvisor_write_table:
.Lwrite_rd:
    nop;                            j .Lwrite_done  /* x0 */
    mv      x1, t2;                 j .Lwrite_done
    csrw    mscratch, t2;           j .Lwrite_done  /* sp */
    mv      x3, t2;                 j .Lwrite_done
    mv      x4, t2;                 j .Lwrite_done
    sd      t2, FRAME_X(5)(sp);     j .Lwrite_done
    sd      t2, FRAME_X(6)(sp);     j .Lwrite_done
    sd      t2, FRAME_X(7)(sp);     j .Lwrite_done
    mv      x8, t2;                 j .Lwrite_done
    mv      x9, t2;                 j .Lwrite_done
    mv      x10, t2;                j .Lwrite_done
    mv      x11, t2;                j .Lwrite_done
    mv      x12, t2;                j .Lwrite_done
    mv      x13, t2;                j .Lwrite_done
    mv      x14, t2;                j .Lwrite_done
    mv      x15, t2;                j .Lwrite_done
    mv      x16, t2;                j .Lwrite_done
    mv      x17, t2;                j .Lwrite_done
    mv      x18, t2;                j .Lwrite_done
    mv      x19, t2;                j .Lwrite_done
    mv      x20, t2;                j .Lwrite_done
    mv      x21, t2;                j .Lwrite_done
    mv      x22, t2;                j .Lwrite_done
    mv      x23, t2;                j .Lwrite_done
    mv      x24, t2;                j .Lwrite_done
    mv      x25, t2;                j .Lwrite_done
    mv      x26, t2;                j .Lwrite_done
    mv      x27, t2;                j .Lwrite_done
    sd      t2, FRAME_X(28)(sp);    j .Lwrite_done
    sd      t2, FRAME_X(29)(sp);    j .Lwrite_done
    sd      t2, FRAME_X(30)(sp);    j .Lwrite_done
    mv      x31, t2;                j .Lwrite_done
    .option pop
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
