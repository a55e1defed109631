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
    puts_("BENCH: DONE\n");
    power_off(0x5555);
}
