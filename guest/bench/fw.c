/*
 * Firmvisor bench firmware (M-mode): what one trap-and-emulate round trip of
 * the firmware costs. Prints BENCH: name=value lines and powers off through
 * the test device. See fw.S for the measured loops.
 */
#include "bench.h"

#define N 10000

u64 fw_loop_nop(u64 n);
u64 fw_loop_csrw_mscratch(u64 n);
u64 fw_loop_csrr_mscratch(u64 n);
u64 fw_loop_csrr_mstatus(u64 n);
u64 fw_loop_csrr_mepc(u64 n);
u64 fw_instret_pair(void);
u64 fw_loop_ipi_clint(u64 n, u64 msip);
u64 fw_loop_ipi_imsic(u64 n, u64 file);
u64 fw_probe_mtopi(void);

#define IPI_N 1000
/* QEMU virt,aia=aplic-imsic: hart 0's M-level IMSIC interrupt file. */
#define IMSIC_M_FILE0 0x24000000UL
/* QEMU virt: hart 0's CLINT msip. */
#define CLINT_MSIP0 0x02000000UL

static __attribute__((noreturn)) void power_off(u32 code)
{
    mmio_w32(TEST_DEV, code);
    for (;;) __asm__ volatile("wfi");
}

void fw_unexpected_trap(u64 cause, u64 epc, u64 tval)
{
    puts_("BENCH: FAIL unexpected trap mcause=");
    puthex(cause);
    puts_(" mepc=");
    puthex(epc);
    puts_(" mtval=");
    puthex(tval);
    puts_("\n");
    power_off(0x3333 | (1 << 16));
}

/* The smallest of three runs (the counts are deterministic under -icount;
 * the minimum keeps a stray interrupt out of them otherwise). */
static u64 best(u64 (*loop)(u64))
{
    u64 m = ~0UL;
    for (int i = 0; i < 3; i++) {
        u64 v = loop(N);
        if (v < m) m = v;
    }
    return m;
}

void fw_main(void)
{
    puts_("\n");
    report("fw_n", N);
    report("fw_instret_pair", fw_instret_pair());
    u64 nop = best(fw_loop_nop);
    u64 csrw = best(fw_loop_csrw_mscratch);
    u64 csrr = best(fw_loop_csrr_mscratch);
    u64 mstatus = best(fw_loop_csrr_mstatus);
    u64 mepc = best(fw_loop_csrr_mepc);
    /* Both runs execute at 0x80000000: a csrw mscratch that costs one
     * instruction did not trap, so this is real M-mode. */
    u64 trap = per_op(csrw, nop, N);
    puts_(trap == 1 ? "BENCH: firmware native (real M-mode)\n"
                    : "BENCH: firmware under the monitor (virtual M-mode)\n");
    report("fw_loop_nop", nop);
    report("fw_loop_csrw_mscratch", csrw);
    report("trap_csrr_mscratch", per_op(csrr, nop, N));
    report("trap_csrr_mstatus", per_op(mstatus, nop, N));
    report("trap_csrr_mepc", per_op(mepc, nop, N));
    report("trap", trap);
    /* IPI round trips: the loop's own instructions (4 per IPI besides the
     * store) are not subtracted; natively they are most of the figure. */
    report("ipi_clint", fw_loop_ipi_clint(IPI_N, CLINT_MSIP0) / IPI_N);
    if (fw_probe_mtopi()) {
        /* Own file: delivery on, no threshold, identity 1 enabled. */
        __asm__ volatile("csrw 0x350, %0; csrw 0x351, %1" :: "r"(0x70UL), "r"(1UL));
        __asm__ volatile("csrw 0x350, %0; csrw 0x351, %1" :: "r"(0x72UL), "r"(0UL));
        __asm__ volatile("csrw 0x350, %0; csrw 0x351, %1" :: "r"(0xC0UL), "r"(2UL));
        report("ipi_imsic", fw_loop_ipi_imsic(IPI_N, IMSIC_M_FILE0) / IPI_N);
    }
    puts_("BENCH: DONE\n");
    power_off(0x5555);
}
