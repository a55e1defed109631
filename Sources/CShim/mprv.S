/*
 * One load or store performed with mstatus.MPRV = 1, on the firmware's
 * behalf, under a local trap vector: a fault is caught here and reported,
 * never taken by the monitor's trap entry (which would overwrite the
 * guest's saved registers).
 *
 *   uint64_t firmvisor_mprv_access(uint64_t address, uint64_t value,
 *                                  uint64_t operation, uint64_t mstatus,
 *                                  uint64_t *result);
 *
 * operation: bits 1:0 = log2(width), bit 2 = store, bit 3 = sign-extend.
 * mstatus: the value to run the access with (MPRV set, MPP, SUM, MXR).
 * Returns 0 on success (a load's value in *result), else mcause + 1 with
 * mtval in *result. The caller's mstatus and mtvec are restored either way.
 */
#if defined(__riscv)

    .section .text.firmvisor_mprv, "ax", @progbits
    .globl firmvisor_mprv_access
    .type firmvisor_mprv_access, @function
    .balign 4
firmvisor_mprv_access:
    lla     t0, 9f
    csrrw   t5, mtvec, t0
    csrrw   t6, mstatus, a3             /* MPRV on from here */
    andi    t1, a2, 7
    li      t2, 0
    beq     t1, t2, 10f                 /* lbu */
    li      t2, 1
    beq     t1, t2, 11f                 /* lhu */
    li      t2, 2
    beq     t1, t2, 12f                 /* lwu */
    li      t2, 3
    beq     t1, t2, 13f                 /* ld */
    li      t2, 4
    beq     t1, t2, 14f                 /* sb */
    li      t2, 5
    beq     t1, t2, 15f                 /* sh */
    li      t2, 6
    beq     t1, t2, 16f                 /* sw */
    sd      a1, 0(a0)                   /* sd */
    j       20f
10: lbu     t3, 0(a0)
    j       19f
11: lhu     t3, 0(a0)
    j       19f
12: lwu     t3, 0(a0)
    j       19f
13: ld      t3, 0(a0)
    j       19f
14: sb      a1, 0(a0)
    j       20f
15: sh      a1, 0(a0)
    j       20f
16: sw      a1, 0(a0)
    j       20f
19: csrw    mstatus, t6                 /* MPRV off */
    sd      t3, 0(a4)
    li      a0, 0
    csrw    mtvec, t5
    ret
20: csrw    mstatus, t6
    li      a0, 0
    csrw    mtvec, t5
    ret
    .balign 4
9:  csrw    mstatus, t6                 /* trapped: MPRV off again */
    csrr    t0, mtval
    sd      t0, 0(a4)
    csrr    a0, mcause
    addi    a0, a0, 1
    csrw    mtvec, t5
    ret
    .size firmvisor_mprv_access, . - firmvisor_mprv_access

#endif /* __riscv */
