/*
 * Firmvisor bench minimal firmware (M-mode): the reference measurement of a
 * payload -> firmware -> payload round trip with nothing else in it
 * (scripts/bench's switch_min, the bench payload's bench=switch_min).
 *
 * It sets mtvec to a four-instruction handler (read mepc, add 4, write mepc,
 * mret: it resumes after whatever trapped), delegates nothing (medeleg =
 * mideleg = 0: an ecall from S-mode, cause 9, comes here), lets S-mode read
 * the counters (mcounteren = 7) and reach all memory (pmpaddr0 = all ones,
 * NAPOT, RWX), then enters the payload in S-mode with mret (MPP = S, a0 =
 * hartid, a1 = FDT, both as received). The payload's entry is the next_addr
 * of the fw_dynamic_info at a2 when a2 points at one (QEMU's reset code
 * passes one natively, the monitor passes it on), else 0x80200000.
 *
 * The handler clobbers t6 (and mepc); the payload's measured loops
 * (payload_trap_loop_*) do not use it. It is the handler of every trap, so
 * the payload makes no SBI call under this firmware: it powers off through
 * the test device directly.
 *
 * Linked at 0x80000000: the same binary runs as QEMU's -bios and under the
 * monitor (which places it where -bios would).
 */
#define FW_DYNAMIC_INFO_MAGIC   0x4942534f      /* "OSBI" */
#define PAYLOAD_DEFAULT         0x80200000
#define MSTATUS_MPP             (3 << 11)
#define MSTATUS_MPP_S           (1 << 11)
#define PMP_NAPOT_RWX           0x1f

    .section .text.start, "ax", @progbits
    .globl _start
_start:
    bnez    a0, park
    lla     t0, minfw_handler
    csrw    mtvec, t0
    csrw    mie, zero
    csrw    medeleg, zero
    csrw    mideleg, zero
    li      t0, 7
    csrw    mcounteren, t0
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, PMP_NAPOT_RWX
    csrw    pmpcfg0, t0

    li      t1, PAYLOAD_DEFAULT
    beqz    a2, 1f
    ld      t0, 0(a2)           /* fw_dynamic_info.magic */
    li      t2, FW_DYNAMIC_INFO_MAGIC
    bne     t0, t2, 1f
    ld      t1, 16(a2)          /* fw_dynamic_info.next_addr */
1:  csrw    mepc, t1
    li      t0, MSTATUS_MPP
    csrc    mstatus, t0
    li      t0, MSTATUS_MPP_S
    csrs    mstatus, t0
    mret                        /* a0 = hartid, a1 = FDT */

park:
    csrw    mie, zero
2:  wfi
    j       2b

/* The measured handler: exactly four instructions, every trap. */
    .balign 4
    .globl minfw_handler
minfw_handler:
    csrr    t6, mepc
    addi    t6, t6, 4
    csrw    mepc, t6
    mret
