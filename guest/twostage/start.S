/*
 * Two-stage translation test firmware: entry, the trap entry, and the two
 * ways out of M-mode that come back through it.
 *
 *   run_guest(entry, a0, a1, mstatus): mret to `entry` with `mstatus` (MPP,
 *       MPV) and a0/a1; the guest's next trap returns here.
 *   mprv_access(address, value, mstatus_bits, is_store): one `ld` or `sd`
 *       with mstatus.MPRV/MPP/MPV/SUM/MXR = mstatus_bits; returns the loaded
 *       value, or comes back through the trap entry if the access traps.
 *
 * The trap entry records mcause, mepc, mtval, mtval2, mtinst, mstatus and
 * the trapping context's a0 in `trap_record`, clears MPRV, and returns from
 * whichever of the two functions was called last (callee-saved registers,
 * ra and sp restored from `saved_context`). Hart 0 only; the others park.
 */
#define CSR_MTINST 0x34a
#define CSR_MTVAL2 0x34b
#define MSTATUS_MPRV (1 << 17)

    .section .text.start, "ax", @progbits
    .globl _start
_start:
    bnez    a0, park
    lla     sp, __stack_top
    lla     t0, trap_entry
    csrw    mtvec, t0
    lla     t0, __bss_start
    lla     t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    twostage_main
park:
    csrw    mie, zero
3:  wfi
    j       3b

    .text
/* Saves ra, sp, s0-s11 in saved_context (t6 = its address). */
.macro SAVE_CONTEXT
    lla     t6, saved_context
    sd      ra, 0(t6)
    sd      sp, 8(t6)
    sd      s0, 16(t6)
    sd      s1, 24(t6)
    sd      s2, 32(t6)
    sd      s3, 40(t6)
    sd      s4, 48(t6)
    sd      s5, 56(t6)
    sd      s6, 64(t6)
    sd      s7, 72(t6)
    sd      s8, 80(t6)
    sd      s9, 88(t6)
    sd      s10, 96(t6)
    sd      s11, 104(t6)
.endm

    .globl run_guest
run_guest:
    SAVE_CONTEXT
    csrw    mepc, a0
    csrw    mstatus, a3
    mv      a0, a1
    mv      a1, a2
    mret

    .globl mprv_access
mprv_access:
    SAVE_CONTEXT
    li      t0, (1 << 17) | (3 << 11) | (1 << 18) | (1 << 19)
    li      t1, 1
    slli    t1, t1, 39              /* MPV */
    or      t0, t0, t1
    csrc    mstatus, t0
    csrs    mstatus, a2
    bnez    a3, 1f
    ld      a0, 0(a0)
    j       2f
1:  sd      a1, 0(a0)
2:  li      t0, MSTATUS_MPRV
    csrc    mstatus, t0
    ret

    .balign 4
trap_entry:
    csrw    mscratch, t6
    lla     t6, trap_record
    sd      a0, 48(t6)
    csrr    a0, mcause
    sd      a0, 0(t6)
    csrr    a0, mepc
    sd      a0, 8(t6)
    csrr    a0, mtval
    sd      a0, 16(t6)
    csrr    a0, CSR_MTVAL2
    sd      a0, 24(t6)
    csrr    a0, CSR_MTINST
    sd      a0, 32(t6)
    csrr    a0, mstatus
    sd      a0, 40(t6)
    li      a0, 1
    sd      a0, 56(t6)              /* valid */
    li      a0, MSTATUS_MPRV
    csrc    mstatus, a0
    lla     t6, saved_context
    ld      ra, 0(t6)
    ld      sp, 8(t6)
    ld      s0, 16(t6)
    ld      s1, 24(t6)
    ld      s2, 32(t6)
    ld      s3, 40(t6)
    ld      s4, 48(t6)
    ld      s5, 56(t6)
    ld      s6, 64(t6)
    ld      s7, 72(t6)
    ld      s8, 80(t6)
    ld      s9, 88(t6)
    ld      s10, 96(t6)
    ld      s11, 104(t6)
    li      a0, 0
    ret

/* Guest (VS-mode) code: one 4-byte access instruction, then ecall with the
   result in a0. */
    .balign 4
    .option push
    .option norvc
    .globl vs_load64
vs_load64:
    ld      a0, 0(a0)
    ecall
    .globl vs_store64
vs_store64:
    sd      a1, 0(a0)
    ecall
    .globl vs_load32
vs_load32:
    lw      a0, 0(a0)
    ecall
    .globl vs_store32
vs_store32:
    sw      a1, 0(a0)
    ecall
    .option pop

    .bss
    .balign 8
    .globl saved_context
saved_context:
    .space  14 * 8
    .globl trap_record
trap_record:
    .space  8 * 8
