/*
 * Guarded accesses to the payload's AIA CSRs (Ssaia: siselect, sireg,
 * stopei, stopi; with H: hvien, hvictl, hviprio1/2, vsiselect, vsireg,
 * vstopei, vstopi) on the firmware's behalf. Whether sireg or stopei trap
 * depends on the real state (the register siselect selects, hstatus.VGEIN),
 * so the monitor tries the access under a local trap vector: a trap is the
 * firmware's illegal instruction, not the monitor's fault.
 *
 * Runs in the trap handler (M-mode, mstatus.MIE = 0). A trap here clobbers
 * mepc, mcause, mtval and mstatus.MPP/MPIE, which the handler still needs:
 * mstatus and mepc are put back; mcause and mtval were already read.
 *
 *   uint64_t firmvisor_guarded_read_<name>(uint64_t *value): 1 and *value, or 0
 *   uint64_t firmvisor_guarded_write_<name>(uint64_t value): 1, or 0 if it trapped
 */
#if defined(__riscv)

    .section .text.firmvisor_guarded, "ax", @progbits

.macro FIRMVISOR_GUARDED_READ name, csr
    .globl firmvisor_guarded_read_\name
    .type firmvisor_guarded_read_\name, @function
    .balign 4
firmvisor_guarded_read_\name:
    csrr    t3, mstatus
    csrr    t4, mepc
    lla     t0, 1f
    csrrw   t1, mtvec, t0
    csrr    t2, \csr
    sd      t2, 0(a0)
    li      a0, 1
    j       2f
    .balign 4
1:  li      a0, 0
    csrw    mstatus, t3
    csrw    mepc, t4
2:  csrw    mtvec, t1
    ret
    .size firmvisor_guarded_read_\name, . - firmvisor_guarded_read_\name
.endm

.macro FIRMVISOR_GUARDED_WRITE name, csr
    .globl firmvisor_guarded_write_\name
    .type firmvisor_guarded_write_\name, @function
    .balign 4
firmvisor_guarded_write_\name:
    csrr    t3, mstatus
    csrr    t4, mepc
    lla     t0, 1f
    csrrw   t1, mtvec, t0
    csrw    \csr, a0
    li      a0, 1
    j       2f
    .balign 4
1:  li      a0, 0
    csrw    mstatus, t3
    csrw    mepc, t4
2:  csrw    mtvec, t1
    ret
    .size firmvisor_guarded_write_\name, . - firmvisor_guarded_write_\name
.endm

.macro FIRMVISOR_GUARDED name, csr
    FIRMVISOR_GUARDED_READ \name, \csr
    FIRMVISOR_GUARDED_WRITE \name, \csr
.endm

    FIRMVISOR_GUARDED siselect, 0x150
    FIRMVISOR_GUARDED sireg, 0x151
    FIRMVISOR_GUARDED stopei, 0x15c
    FIRMVISOR_GUARDED_READ stopi, 0xdb0
    FIRMVISOR_GUARDED hvien, 0x608
    FIRMVISOR_GUARDED hvictl, 0x609
    FIRMVISOR_GUARDED hviprio1, 0x646
    FIRMVISOR_GUARDED hviprio2, 0x647
    FIRMVISOR_GUARDED vsiselect, 0x250
    FIRMVISOR_GUARDED vsireg, 0x251
    FIRMVISOR_GUARDED vstopei, 0x25c
    FIRMVISOR_GUARDED_READ vstopi, 0xeb0

#endif /* __riscv */
