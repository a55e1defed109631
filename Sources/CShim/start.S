/*
 * Firmvisor entry: QEMU's reset code jumps here (the reset address, where
 * -bios placed the image) on every hart with
 *   a0 = hartid, a1 = FDT address, a2 = fw_dynamic_info address.
 *
 * At the load address:
 * 1. mask interrupts; until the move, a trap parks the hart;
 * 2. a lottery in .data elects one cold-boot hart. It runs
 *    firmvisor_plan_relocation (Swift, on the boot stack), which decides the
 *    monitor's region at the end of DRAM and edits the device tree, copies
 *    [__monitor_start, __bss_start) there and publishes the copy's address;
 *    the other harts wait for it. Every hart then jumps to the same code in
 *    the copy (the image is position independent, see toolchain/monitor.ld).
 * In the moved copy:
 * 3. mtvec = firmvisor_trap_entry; count the arrival; harts the plan does
 *    not run park here, never at the load address (the firmware goes there);
 *    the cold-boot role goes to the plan's `cold_hart` (the winner, or hart
 *    0 when the winner is a hart the monitor does not run);
 * 4. the cold-boot hart clears .bss and the hart blocks and publishes
 *    `firmvisor_bss_done`; the others spin on it;
 * 5. sp = top of this hart's block, mscratch = its frame;
 * 6. firmvisor_hart_entry(hartid, fdt, dyninfo, is_cold_boot)  [Swift].
 */
#if defined(__riscv)

#include "frame.h"

#if FIRMVISOR_HART_BLOCK != 0x8000
#error "start.S computes hart blocks with a shift by 15"
#endif

    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    /* Interrupts off: mie = 0, mstatus.MIE = 0. */
    csrw    mie, zero
    csrci   mstatus, 0x8

    /* Until the move, any trap parks the hart. */
    lla     t0, .Lpark
    csrw    mtvec, t0

    /* Keep the boot arguments in callee-saved registers. */
    mv      s0, a0                      /* hartid */
    mv      s1, a1                      /* FDT */
    mv      s2, a2                      /* fw_dynamic_info */

    /* Lottery: the first hart to arrive is the cold-boot hart. */
    lla     t0, firmvisor_boot_lottery
    li      t1, 1
    amoadd.w t1, t1, (t0)
    seqz    s3, t1                      /* s3 = is_cold_boot */
    beqz    s3, .Lwait_move

    /* Cold-boot hart: plan the move on the boot stack. */
    lla     sp, __boot_stack_top
    mv      a0, s1
    mv      a1, s0
    call    firmvisor_plan_relocation   /* a0 = the region's base; never 0 */
    mv      s4, a0

    /* Copy text, rodata and data (.bss is cleared in the copy). */
    lla     t0, __monitor_start
    lla     t1, __bss_start
    mv      t2, s4
1:  bgeu    t0, t1, 2f
    ld      t3, 0(t0)
    sd      t3, 0(t2)
    addi    t0, t0, 8
    addi    t2, t2, 8
    j       1b
2:  fence   rw, rw
    lla     t0, firmvisor_moved_to      /* the load address's copy of the word */
    sd      s4, 0(t0)
    j       .Ljump

.Lwait_move:
    lla     t0, firmvisor_moved_to
3:  ld      s4, 0(t0)
    bnez    s4, .Ljump
    .insn i 0x0f, 0, x0, x0, 0x010      /* pause (Zihintpause): fence w,0 hint */
    fence   r, r
    j       3b

.Ljump:
    fence   r, rw
    fence.i                             /* this hart fetches the new copy */
    lla     t0, .Lmoved
    lla     t1, __monitor_start
    sub     t0, t0, t1
    add     t0, t0, s4
    jr      t0

    /* ---- from here on, the moved copy runs ---- */
.Lmoved:
    lla     t0, firmvisor_trap_entry
    csrw    mtvec, t0
    lla     t0, firmvisor_plan
    ld      s1, PLAN_FDT(t0)            /* the tree may have moved */
    ld      t1, PLAN_HARTS(t0)
    /* The cold-boot role: the lottery's winner unless it is a hart the
       monitor does not run (it parks below), then hart 0. */
    ld      t2, PLAN_COLD_HART(t0)
    sub     s3, s0, t2
    seqz    s3, s3

    /* Count the arrival (the cold-boot hart waits for all before it
       overwrites the load address with the firmware). */
    lla     t0, firmvisor_arrived
    li      t2, 1
    amoadd.w zero, t2, (t0)

    bgeu    s0, t1, .Lpark
    beqz    s3, .Lwait_bss

    /* Cold-boot hart: clear .bss and every hart block, 16 bytes at a time. */
    lla     t0, __bss_start
    lla     t2, __monitor_end
    slli    t1, t1, 15                  /* harts * FIRMVISOR_HART_BLOCK */
    add     t1, t1, t2
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    sd      zero, 8(t0)
    addi    t0, t0, 16
    j       1b
2:  fence   rw, w                       /* zeroes before the flag */
    lla     t0, firmvisor_bss_done
    li      t1, 1
    sw      t1, 0(t0)
    j       .Lbss_ready

.Lwait_bss:
    lla     t0, firmvisor_bss_done
3:  lw      t1, 0(t0)
    bnez    t1, 4f
    .insn i 0x0f, 0, x0, x0, 0x010
    fence   r, r
    j       3b
4:  fence   r, rw                       /* acquire: see the cleared blocks */

.Lbss_ready:
    /* block = __monitor_end + hartid * 32 KiB: frame at +0, stack top at the end. */
    lla     t0, __monitor_end
    slli    t1, s0, 15
    add     t0, t0, t1
    li      t1, FIRMVISOR_HART_BLOCK
    add     sp, t0, t1
    sd      sp, FRAME_MONITOR_SP(t0)
    sd      s0, FRAME_HARTID(t0)
    csrw    mscratch, t0

    mv      a0, s0
    mv      a1, s1
    mv      a2, s2
    mv      a3, s3
    call    firmvisor_hart_entry
    /* firmvisor_hart_entry never returns; park if it does. */

    .balign 4
.Lpark:
    csrw    mie, zero
5:  wfi
    j       5b
    .size _start, . - _start

    /* Boot-time shared words: .data, never .bss (cleared after the move). */
    .section .data.firmvisor_boot, "aw", @progbits
    .balign 8
    .globl firmvisor_moved_to
firmvisor_moved_to:
    .dword  0
    .globl firmvisor_boot_lottery
firmvisor_boot_lottery:
    .word   0
    .globl firmvisor_bss_done
firmvisor_bss_done:
    .word   0
    .globl firmvisor_arrived
firmvisor_arrived:
    .word   0

#endif /* __riscv */
