/*
 * Feature probes that may trap: each installs a local trap vector, tries the
 * access, and reports whether it trapped. Run by the cold-boot hart with
 * interrupts off, before any guest exists.
 */
#if defined(__riscv)

    .section .text.firmvisor_probe, "ax", @progbits

    /* uint64_t firmvisor_probe_stimecmp(void): 1 when `csrr stimecmp` works (Sstc). */
    .globl firmvisor_probe_stimecmp
    .type firmvisor_probe_stimecmp, @function
    .balign 4
firmvisor_probe_stimecmp:
    lla     t0, 1f
    csrrw   t1, mtvec, t0
    li      a0, 1
    csrr    t2, 0x14d
    j       2f
    .balign 4
1:  li      a0, 0                       /* trapped: no stimecmp */
2:  csrw    mtvec, t1
    ret
    .size firmvisor_probe_stimecmp, . - firmvisor_probe_stimecmp

    /* uint64_t firmvisor_probe_menvcfg(void): 1 when `csrr menvcfg` works (privileged 1.12). */
    .globl firmvisor_probe_menvcfg
    .type firmvisor_probe_menvcfg, @function
    .balign 4
firmvisor_probe_menvcfg:
    lla     t0, 1f
    csrrw   t1, mtvec, t0
    li      a0, 1
    csrr    t2, 0x30a
    j       2f
    .balign 4
1:  li      a0, 0                       /* trapped: no menvcfg */
2:  csrw    mtvec, t1
    ret
    .size firmvisor_probe_menvcfg, . - firmvisor_probe_menvcfg

/*
 * uint64_t firmvisor_probe_read_<name>(uint64_t *value): 1 when `csrr <csr>`
 * works, with the value stored at a0; 0 when it traps (value untouched).
 */
.macro FIRMVISOR_PROBE_READ name, csr
    .globl firmvisor_probe_read_\name
    .type firmvisor_probe_read_\name, @function
    .balign 4
firmvisor_probe_read_\name:
    lla     t0, 1f
    csrrw   t1, mtvec, t0
    csrr    t2, \csr
    sd      t2, 0(a0)
    li      a0, 1
    j       2f
    .balign 4
1:  li      a0, 0                       /* trapped: no such CSR */
2:  csrw    mtvec, t1
    ret
    .size firmvisor_probe_read_\name, . - firmvisor_probe_read_\name
.endm

    FIRMVISOR_PROBE_READ tselect, 0x7a0
    FIRMVISOR_PROBE_READ tinfo, 0x7a4
    FIRMVISOR_PROBE_READ tcontrol, 0x7a5
    FIRMVISOR_PROBE_READ mcontext, 0x7a8
    FIRMVISOR_PROBE_READ mtopi, 0xfb0

#endif /* __riscv */
