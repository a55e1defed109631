/*
 * Firmvisor test firmware: entry, trap entry (direct and vectored), helpers.
 *
 * Position independent: only PC-relative addressing (lla, auipc, jal,
 * branches). The image is linked at 0x80000000, where QEMU's -bios and the
 * monitor both place it.
 *
 * Entry on every hart: a0 = hartid, a1 = FDT, a2 = fw_dynamic_info.
 */
#include "testfw.h"

    .section .text.start, "ax", @progbits
    .globl _start
_start:
    /* Harts beyond TESTFW_MAX_HARTS park for good. */
    li      t0, TESTFW_MAX_HARTS
    bgeu    a0, t0, park

    /* tp = hartid for the whole run; sp = top of this hart's stack. */
    mv      tp, a0
    lla     sp, __stacks_start
    li      t0, TESTFW_STACK_SIZE
    addi    t1, a0, 1
    mul     t0, t0, t1
    add     sp, sp, t0

    /* Direct trap vector before anything can trap. */
    lla     t0, trap_entry
    csrw    mtvec, t0

    /* Hart 0 clears .bss (stacks live outside it), then releases the others
       through a flag in .data (zero in the image). */
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
4:  call    testfw_main
park:
    csrw    mie, zero
6:  wfi
    j       6b

    .section .data
    .balign 4
bss_ready:
    .word   0

/*
 * Trap entry. The frame (struct trap_frame in testfw.h) is 33 dwords:
 * x0..x31 at 8*i (x0 slot unused, sp slot = sp at trap), slot at 8*32 =
 * vector slot index, or -1 for the direct vector.
 */
#define FRAME_SIZE (34 * 8)

    .text
    .balign 64
    .globl trap_entry
trap_entry:
    addi    sp, sp, -FRAME_SIZE
    sd      t0, 5*8(sp)
    li      t0, -1
    j       trap_common

/* Vectored table: 16 four-byte jumps (no compressed instructions). */
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
    sd      x1, 1*8(sp)
    sd      x3, 3*8(sp)
    sd      x4, 4*8(sp)
    sd      x6, 6*8(sp)
    sd      x7, 7*8(sp)
    sd      x8, 8*8(sp)
    sd      x9, 9*8(sp)
    sd      x10, 10*8(sp)
    sd      x11, 11*8(sp)
    sd      x12, 12*8(sp)
    sd      x13, 13*8(sp)
    sd      x14, 14*8(sp)
    sd      x15, 15*8(sp)
    sd      x16, 16*8(sp)
    sd      x17, 17*8(sp)
    sd      x18, 18*8(sp)
    sd      x19, 19*8(sp)
    sd      x20, 20*8(sp)
    sd      x21, 21*8(sp)
    sd      x22, 22*8(sp)
    sd      x23, 23*8(sp)
    sd      x24, 24*8(sp)
    sd      x25, 25*8(sp)
    sd      x26, 26*8(sp)
    sd      x27, 27*8(sp)
    sd      x28, 28*8(sp)
    sd      x29, 29*8(sp)
    sd      x30, 30*8(sp)
    sd      x31, 31*8(sp)
    addi    t0, sp, FRAME_SIZE
    sd      t0, 2*8(sp)
    mv      a0, sp
    call    trap_handler
    ld      x1, 1*8(sp)
    ld      x3, 3*8(sp)
    ld      x4, 4*8(sp)
    ld      x5, 5*8(sp)
    ld      x6, 6*8(sp)
    ld      x7, 7*8(sp)
    ld      x8, 8*8(sp)
    ld      x9, 9*8(sp)
    ld      x10, 10*8(sp)
    ld      x11, 11*8(sp)
    ld      x12, 12*8(sp)
    ld      x13, 13*8(sp)
    ld      x14, 14*8(sp)
    ld      x15, 15*8(sp)
    ld      x16, 16*8(sp)
    ld      x17, 17*8(sp)
    ld      x18, 18*8(sp)
    ld      x19, 19*8(sp)
    ld      x20, 20*8(sp)
    ld      x21, 21*8(sp)
    ld      x22, 22*8(sp)
    ld      x23, 23*8(sp)
    ld      x24, 24*8(sp)
    ld      x25, 25*8(sp)
    ld      x26, 26*8(sp)
    ld      x27, 27*8(sp)
    ld      x28, 28*8(sp)
    ld      x29, 29*8(sp)
    ld      x30, 30*8(sp)
    ld      x31, 31*8(sp)
    addi    sp, sp, FRAME_SIZE
    mret

/* ---- Helpers with a known instruction address ---------------------------- */

/* ecall at a known address: the handler skips it. */
    .globl do_ecall, ecall_insn
do_ecall:
ecall_insn:
    ecall
    ret

/* Unimplemented CSRs; the handler skips the instruction, a0 stays 0. */
    .globl read_csr_7c0, csr_7c0_insn
read_csr_7c0:
    li      a0, 0
    .option push
    .option norvc
csr_7c0_insn:
    csrr    a0, 0x7c0
    .option pop
    ret

    .globl read_csr_5c0, csr_5c0_insn
read_csr_5c0:
    li      a0, 0
    .option push
    .option norvc
csr_5c0_insn:
    csrr    a0, 0x5c0
    .option pop
    ret

/* csrrs x0, mhartid, x0: a read of a read-only CSR, must not trap. */
    .globl csrrs_x0_mhartid, csrrs_x0_mhartid_insn
csrrs_x0_mhartid:
    .option push
    .option norvc
csrrs_x0_mhartid_insn:
    csrrs   x0, mhartid, x0
    .option pop
    ret

/* csrrw to mhartid (a0 = value written): must trap (read-only CSR). */
    .globl csrrw_mhartid, csrrw_mhartid_insn
csrrw_mhartid:
    .option push
    .option norvc
csrrw_mhartid_insn:
    csrrw   a0, mhartid, a0
    .option pop
    ret

/* Loads, stores and jumps to an address given in a0; used on the monitor's
   memory. The load and store are skipped by the handler; the jump is
   recovered by setting mepc = ra (TRAP_RECOVER_RA). */
    .globl probe_load, probe_load_insn
probe_load:
    .option push
    .option norvc
probe_load_insn:
    ld      a0, 0(a0)
    .option pop
    ret

    .globl probe_store, probe_store_insn
probe_store:
    .option push
    .option norvc
probe_store_insn:
    sd      zero, 0(a0)
    .option pop
    ret

    .globl probe_jump
probe_jump:
    jr      a0

/* u64 trigger_exec(u64 v): returns v + 1 unless the addi at trigger_exec_insn
   is skipped (an execute trigger there fires before it runs). */
    .globl trigger_exec, trigger_exec_insn
trigger_exec:
    .option push
    .option norvc
trigger_exec_insn:
    addi    a0, a0, 1
    .option pop
    ret

/* mret into S-mode at `target`, with MPIE and MIE clear. */
.macro MRET_TO_SMODE target
    lla     t0, \target
    csrw    mepc, t0
    li      t0, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE
    csrc    mstatus, t0
    li      t0, (1 << 11)
    csrs    mstatus, t0
    mret
.endm

/* mret to S-mode at s_mode_stub; the stub's ecall comes back as cause 9 and
   the handler (TRAP_RECOVER_RA) returns to our caller in M-mode. */
    .globl enter_smode, s_mode_stub, s_mode_ecall
enter_smode:
    MRET_TO_SMODE s_mode_stub
s_mode_stub:
s_mode_ecall:
    ecall
    /* Not reached when the handler works; spin so a failure is visible. */
1:  j       1b

/* u64 enter_vs(u64 a0, u64 a1, u64 a2, u64 target): mret into VS-mode
   (MPP = S, MPV = 1) at target, with MPIE, MIE and GVA clear; a0..a2 reach
   the VS code unchanged. The VS code's first trap (its ecall or a fault)
   comes back to our caller in M-mode through TRAP_RECOVER_RA, with the VS
   code's a0. hgatp and vsatp are the caller's (Bare in the tests). */
    .globl enter_vs
enter_vs:
    csrw    mepc, a3
    li      t0, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_GVA
    csrc    mstatus, t0
    li      t0, (1 << 11) | MSTATUS_MPV
    csrs    mstatus, t0
    mret

/* VS-mode snippets (32-bit encodings, so mtinst's transformed instruction
   is the instruction itself with rs1 and the offset cleared). */
    .option push
    .option norvc
    .globl vs_ecall
vs_ecall:
    ecall
1:  j       1b

/* An M-level CSR from VS: illegal instruction (not virtual instruction). */
    .globl vs_illegal, vs_illegal_insn
vs_illegal:
vs_illegal_insn:
    csrr    a0, mscratch
1:  j       1b

/* A load from a1. */
    .globl vs_load, vs_load_insn
vs_load:
vs_load_insn:
    lw      a0, 0(a1)
1:  j       1b

/* Spin until the dword at a0 differs from a1 (at most a2 turns), then read
   sscratch (vsscratch, in VS-mode) into a0 and ecall. */
    .globl vs_wait, vs_wait_ecall
vs_wait:
    ld      t0, 0(a0)
    bne     t0, a1, 2f
    addi    a2, a2, -1
    bnez    a2, vs_wait
2:  csrr    a0, sscratch
vs_wait_ecall:
    ecall
3:  j       3b
    .option pop

/* u64 smode_access(u64 op, u64 addr, u64 value): one 32-bit access from
   S-mode: op 0 loads from addr and returns the value, op 1 stores value to
   addr. The stub's ecall (cause 9) or its access fault comes back to our
   caller in M-mode through TRAP_RECOVER_RA; a0 is the stub's a0 then (the
   value loaded, 0 after a store, op after a faulting load). */
    .globl smode_access, smode_access_ecall
smode_access:
    MRET_TO_SMODE smode_access_stub
smode_access_stub:
    bnez    a0, 1f
    .globl smode_access_load
smode_access_load:
    lw      a0, 0(a1)
    j       smode_access_ecall
1:  sw      a2, 0(a1)
    li      a0, 0
smode_access_ecall:
    ecall
2:  j       2b

/* void csr_register_sweep(u64 *results): every register x1..x31 as rs1 and
   rd of csrrw, csrr and csrrc on mscratch and mcause (the monitor serves
   these in trap.S through per-register jump tables). results[4n + k]:
   k = 0: old value from csrrw xn, mscratch, xn (0x1000 + n was written with
   csrw mscratch, xn first); 1: mscratch read back into xn (0x2000 + n);
   2: old value from csrrc xn, mcause, xn after csrw mcause = 0xf0, with
   xn = 0x30; 3: mcause read back into xn (0xc0). mscratch and mcause, the
   callee-saved registers, gp, tp and sp are restored. */
.macro SWEEP reg, base, n
    lla     \base, sweep_base
    ld      \base, 0(\base)
    li      \reg, 0x1000 + \n
    csrw    mscratch, \reg
    li      \reg, 0x2000 + \n
    csrrw   \reg, mscratch, \reg
    sd      \reg, (32 * \n)(\base)
    csrr    \reg, mscratch
    sd      \reg, (32 * \n + 8)(\base)
    li      \reg, 0xf0
    csrw    mcause, \reg
    li      \reg, 0x30
    csrrc   \reg, mcause, \reg
    sd      \reg, (32 * \n + 16)(\base)
    csrr    \reg, mcause
    sd      \reg, (32 * \n + 24)(\base)
.endm

    .globl csr_register_sweep
csr_register_sweep:
    addi    sp, sp, -128
    sd      ra, 0(sp)
    sd      gp, 8(sp)
    sd      tp, 16(sp)
    sd      s0, 24(sp)
    sd      s1, 32(sp)
    sd      s2, 40(sp)
    sd      s3, 48(sp)
    sd      s4, 56(sp)
    sd      s5, 64(sp)
    sd      s6, 72(sp)
    sd      s7, 80(sp)
    sd      s8, 88(sp)
    sd      s9, 96(sp)
    sd      s10, 104(sp)
    sd      s11, 112(sp)
    lla     t0, sweep_base
    sd      a0, 0(t0)
    lla     t0, sweep_saved
    sd      sp, 0(t0)
    csrr    t1, mscratch
    sd      t1, 8(t0)
    csrr    t1, mcause
    sd      t1, 16(t0)
    SWEEP ra, tp, 1
    SWEEP sp, tp, 2
    SWEEP gp, tp, 3
    SWEEP tp, gp, 4
    SWEEP t0, tp, 5
    SWEEP t1, tp, 6
    SWEEP t2, tp, 7
    SWEEP s0, tp, 8
    SWEEP s1, tp, 9
    SWEEP a0, tp, 10
    SWEEP a1, tp, 11
    SWEEP a2, tp, 12
    SWEEP a3, tp, 13
    SWEEP a4, tp, 14
    SWEEP a5, tp, 15
    SWEEP a6, tp, 16
    SWEEP a7, tp, 17
    SWEEP s2, tp, 18
    SWEEP s3, tp, 19
    SWEEP s4, tp, 20
    SWEEP s5, tp, 21
    SWEEP s6, tp, 22
    SWEEP s7, tp, 23
    SWEEP s8, tp, 24
    SWEEP s9, tp, 25
    SWEEP s10, tp, 26
    SWEEP s11, tp, 27
    SWEEP t3, tp, 28
    SWEEP t4, tp, 29
    SWEEP t5, tp, 30
    SWEEP t6, tp, 31
    lla     t0, sweep_saved
    ld      sp, 0(t0)
    ld      t1, 8(t0)
    csrw    mscratch, t1
    ld      t1, 16(t0)
    csrw    mcause, t1
    ld      ra, 0(sp)
    ld      gp, 8(sp)
    ld      tp, 16(sp)
    ld      s0, 24(sp)
    ld      s1, 32(sp)
    ld      s2, 40(sp)
    ld      s3, 48(sp)
    ld      s4, 56(sp)
    ld      s5, 64(sp)
    ld      s6, 72(sp)
    ld      s7, 80(sp)
    ld      s8, 88(sp)
    ld      s9, 96(sp)
    ld      s10, 104(sp)
    ld      s11, 112(sp)
    addi    sp, sp, 128
    ret

    .section .bss
    .balign 8
sweep_base:  .space 8
sweep_saved: .space 24
    .text
