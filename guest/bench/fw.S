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

/*
 * Self-IPI round trips (one hart): send (a store of 1 to the address in a1),
 * take the interrupt, clear it at its source, mret, see the handler's flag.
 * a6 is the flag, a7 the handler's scratch; nothing else in the loop is
 * touched by the handlers.
 *   u64 fw_loop_ipi_clint(u64 n, u64 msip)      the CLINT: this hart's msip,
 *                                               MSI, msip cleared
 *   u64 fw_loop_ipi_imsic(u64 n, u64 file)      the AIA: identity 1 written to
 *                                               this hart's M-level IMSIC file
 *                                               (seteipnum_le), MEI, claimed
 *                                               with csrrw mtopei
 */
#define IPI_LOOP(name, handler, enable)  \
    .globl fw_loop_##name;              \
    .balign 4;                          \
fw_loop_##name:                         \
    lla     t0, handler;                \
    csrrw   t6, mtvec, t0;              \
    li      t0, enable;                 \
    csrs    mie, t0;                    \
    mv      t5, a1;                     \
    li      t4, 1;                      \
    mv      t2, a0;                     \
    csrsi   mstatus, 8;                 \
    csrr    t0, instret;                \
1:  li      a6, 0;                      \
    sw      t4, 0(t5);                  \
2:  beqz    a6, 2b;                     \
    addi    t2, t2, -1;                 \
    bnez    t2, 1b;                     \
    csrr    t1, instret;                \
    csrci   mstatus, 8;                 \
    csrw    mie, zero;                  \
    csrw    mtvec, t6;                  \
    sub     a0, t1, t0;                 \
    ret

IPI_LOOP(ipi_clint, ipi_clint_handler, 0x8)       /* MSIE */
IPI_LOOP(ipi_imsic, ipi_imsic_handler, 0x800)     /* MEIE */

    .balign 4
ipi_clint_handler:
    li      a7, 0x02000000              /* CLINT msip[0] */
    sw      zero, 0(a7)
    li      a6, 1
    mret

    .balign 4
ipi_imsic_handler:
    csrrw   a7, 0x35c, zero             /* mtopei: claim */
    li      a6, 1
    mret

/* u64 fw_probe_mtopi(void): 1 when mtopi reads (Smaia), as OpenSBI probes. */
    .globl fw_probe_mtopi
    .balign 4
fw_probe_mtopi:
    lla     t0, 1f
    csrrw   t1, mtvec, t0
    li      a0, 1
    csrr    t2, 0xfb0
    j       2f
    .balign 4
1:  li      a0, 0
2:  csrw    mtvec, t1
    ret

/* Two back-to-back instret reads: 1 when rdinstret does not trap. */
    .globl fw_instret_pair
fw_instret_pair:
    csrr    t0, instret
    csrr    t1, instret
    sub     a0, t1, t0
    ret
