/*
 * Firmvisor cold/warm entry: QEMU's reset code jumps here on every hart with
 *   a0 = hartid, a1 = FDT address, a2 = fw_dynamic_info address.
 *
 * 1. mask interrupts, install the trap vector;
 * 2. harts >= FIRMVISOR_MAX_HARTS park;
 * 3. sp = __stacks_start + (hartid + 1) * 16 KiB;
 * 4. a lottery in .data elects one cold-boot hart, which clears .bss and
 *    publishes `firmvisor_bss_done`; the others spin on it;
 * 5. mscratch = this hart's frame (monitor_sp, hartid filled in);
 * 6. firmvisor_hart_entry(hartid, fdt, dyninfo, is_cold_boot)  [Swift].
 */
#if defined(__riscv)

#include "frame.h"

#if FIRMVISOR_STACK_SIZE != 0x4000 || FIRMVISOR_MAX_HARTS != 8
#error "start.S and toolchain/monitor.ld assume 8 harts x 16 KiB stacks"
#endif

    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    /* Interrupts off: mie = 0, mstatus.MIE = 0. */
    csrw    mie, zero
    csrci   mstatus, 0x8

    /* Trap vector, direct mode (firmvisor_trap_entry is 4-byte aligned). */
    lla     t0, firmvisor_trap_entry
    csrw    mtvec, t0

    /* Keep the boot arguments in callee-saved registers. */
    mv      s0, a0                      /* hartid */
    mv      s1, a1                      /* FDT */
    mv      s2, a2                      /* fw_dynamic_info */

    li      t0, FIRMVISOR_MAX_HARTS
    bgeu    s0, t0, .Lpark

    /* sp = __stacks_start + (hartid + 1) * FIRMVISOR_STACK_SIZE */
    lla     sp, __stacks_start
    addi    t0, s0, 1
    slli    t0, t0, 14                  /* * FIRMVISOR_STACK_SIZE */
    add     sp, sp, t0
    mv      s4, sp                      /* stack top, for frame->monitor_sp */

    /* Lottery: the first hart to arrive is the cold-boot hart. */
    lla     t0, firmvisor_boot_lottery
    li      t1, 1
    amoadd.w t1, t1, (t0)
    seqz    s3, t1                      /* s3 = is_cold_boot */
    beqz    s3, .Lwait_bss

    /* Cold-boot hart: clear .bss (16-byte aligned both ends). */
    lla     t0, __bss_start
    lla     t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    sd      zero, 8(t0)
    addi    t0, t0, 16
    j       1b
2:  fence   rw, w                       /* .bss zeroes before the flag */
    lla     t0, firmvisor_bss_done
    li      t1, 1
    sw      t1, 0(t0)
    j       .Lbss_ready

.Lwait_bss:
    lla     t0, firmvisor_bss_done
3:  lw      t1, 0(t0)
    bnez    t1, 4f
    .insn i 0x0f, 0, x0, x0, 0x010      /* pause (Zihintpause): fence w,0 hint */
    fence   r, r
    j       3b
4:  fence   r, rw                       /* acquire: see the cleared .bss */

.Lbss_ready:
    /* frame = &firmvisor_frames[hartid]; mscratch = frame. */
    lla     t0, firmvisor_frames
    li      t1, FRAME_SIZE
    mul     t1, t1, s0
    add     t0, t0, t1
    sd      s4, FRAME_MONITOR_SP(t0)
    sd      s0, FRAME_HARTID(t0)
    csrw    mscratch, t0

    mv      a0, s0
    mv      a1, s1
    mv      a2, s2
    mv      a3, s3
    call    firmvisor_hart_entry
    /* firmvisor_hart_entry never returns; park if it does. */

.Lpark:
    csrw    mie, zero
5:  wfi
    j       5b
    .size _start, . - _start

    /* Boot-time shared words: .data, never .bss (cleared after the lottery). */
    .section .data.firmvisor_boot, "aw", @progbits
    .balign 4
    .globl firmvisor_boot_lottery
firmvisor_boot_lottery:
    .word   0
    .globl firmvisor_bss_done
firmvisor_bss_done:
    .word   0

#endif /* __riscv */
