/*
 * Firmvisor bench payload (S-mode): what a payload -> firmware -> payload
 * round trip costs (SBI get_spec_version, which the monitor never offloads),
 * what an SBI set_timer costs (offloaded unless the monitor was booted with
 * offload off; a0 = UINT64_MAX, as Miralis measures it) and what one
 * external interrupt costs (the UART's THRE interrupt through the PLIC's S
 * context: taken in S-mode, claimed, the UART silenced, completed). The
 * kernel command line (QEMU -append, the device tree's /chosen/bootargs) may
 * pick one: bench=switch, bench=set_timer or bench=ext_irq (default: all).
 * Prints BENCH: name=value lines and powers off through SBI SRST.
 *
 * bench=switch_min (never part of the default or of bench=all) is for the
 * minimal firmware guest/bench/minfw.S alone: an ecall to its four-instruction
 * trap handler and back, and nothing else (no SBI call: power-off through the
 * test device). See payload.S for the measured loops.
 */
#include "bench.h"

#define N 1000

#define SBI_EXT_BASE   0x10
#define SBI_EXT_TIME   0x54494D45
#define SBI_EXT_SRST   0x53525354

u64 payload_loop_nop(u64 n, u64 eid, u64 fid, u64 arg0);
u64 payload_loop_ecall(u64 n, u64 eid, u64 fid, u64 arg0);
u64 payload_trap_loop_nop(u64 n, u64 a7);
u64 payload_trap_loop_ecall(u64 n, u64 a7);
u64 payload_instret_pair(void);
u64 payload_loop_ext_irq(u64 n, u64 ier, u64 value, u64 claim);
void payload_irq_entry(void);
extern volatile u64 payload_ext_irq_count;
void payload_trap_entry(void);

/* QEMU virt: the UART (16550, PLIC source 10) and the PLIC, whose context
 * 2h + 1 is hart h's S context. */
#define UART_IER        0x10000001UL
#define UART_IER_THRI   0x02
#define UART_SOURCE     10
#define PLIC_BASE       0x0c000000UL
#define PLIC_PRIORITY(s)     (PLIC_BASE + 4 * (s))
#define PLIC_ENABLE(c)       (PLIC_BASE + 0x2000 + 0x80 * (c))
#define PLIC_THRESHOLD(c)    (PLIC_BASE + 0x200000 + 0x1000 * (c))
#define PLIC_CLAIM(c)        (PLIC_THRESHOLD(c) + 4)
#define SIE_SEIE        (1UL << 9)
#define SSTATUS_SIE     (1UL << 1)

struct sbiret { long error; long value; };

static struct sbiret sbi_call(u64 eid, u64 fid, u64 arg0, u64 arg1)
{
    register u64 a0 __asm__("a0") = arg0;
    register u64 a1 __asm__("a1") = arg1;
    register u64 a6 __asm__("a6") = fid;
    register u64 a7 __asm__("a7") = eid;
    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){ (long)a0, (long)a1 };
}

/* Set under the minimal firmware (bench=switch_min): no SBI there. */
static int no_sbi;

/* Power-off through SBI SRST (shutdown; reason "no reason" or "system
 * failure"); should it return, or without SBI, through the test device
 * directly (32-bit store; the firmware's PMP lets S-mode reach it, the
 * monitor emulates it). */
static __attribute__((noreturn)) void power_off(int failed)
{
    if (!no_sbi)
        sbi_call(SBI_EXT_SRST, 0, 0, failed ? 1 : 0);
    mmio_w32(TEST_DEV, failed ? (0x3333 | (1 << 16)) : 0x5555);
    for (;;) __asm__ volatile("wfi");
}

void payload_unexpected_trap(u64 cause, u64 epc, u64 tval)
{
    puts_("BENCH: FAIL unexpected trap scause=");
    puthex(cause);
    puts_(" sepc=");
    puthex(epc);
    puts_(" stval=");
    puthex(tval);
    puts_("\n");
    power_off(1);
}

/* ---- the device tree's /chosen/bootargs (QEMU -append) --------------------- */

static u32 be32(const u8 *p)
{
    return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

/* The bootargs string, or "" when there is none. */
static const char *bootargs(u64 fdt)
{
    const u8 *b = (const u8 *)fdt;
    if (!fdt || be32(b) != 0xd00dfeedU) return "";
    const u8 *p = b + be32(b + 8), *end = b + be32(b + 4);
    const char *strings = (const char *)b + be32(b + 12);
    int depth = 0, in_chosen = 0;
    while (p < end) {
        u32 tok = be32(p);
        p += 4;
        if (tok == 1) {                              /* FDT_BEGIN_NODE */
            const char *name = (const char *)p;
            u64 len = 0;
            while (name[len]) len++;
            p += (len + 4) & ~3UL;
            depth++;
            in_chosen = depth == 2 && streq(name, "chosen");
        } else if (tok == 2) {                       /* FDT_END_NODE */
            depth--;
            in_chosen = 0;
        } else if (tok == 3) {                       /* FDT_PROP */
            u32 len = be32(p), nameoff = be32(p + 4);
            if (in_chosen && streq(strings + nameoff, "bootargs"))
                return (const char *)(p + 8);
            p += 8 + ((len + 3) & ~3UL);
        } else if (tok == 9) {                       /* FDT_END */
            break;
        }
    }
    return "";
}

/* Whether [w, e) spells s. */
static int span_eq(const char *w, const char *e, const char *s)
{
    while (w < e && *s && *w == *s) { w++; s++; }
    return w == e && !*s;
}

/* Whether a measurement runs: every one without a "bench=" word on the
 * command line, else the one named (or all with bench=all). */
static int wanted(const char *args, const char *what)
{
    int any = 0;
    for (const char *p = args; *p; ) {
        while (*p == ' ') p++;
        const char *w = p;
        while (*p && *p != ' ') p++;
        if (p - w >= 6 && span_eq(w, w + 6, "bench=")) {
            any = 1;
            if (span_eq(w + 6, p, what) || span_eq(w + 6, p, "all")) return 1;
        }
    }
    return !any;
}

/* Whether the command line has the word bench=<what> itself ("all" and the
 * default do not count). */
static int named(const char *args, const char *what)
{
    for (const char *p = args; *p; ) {
        while (*p == ' ') p++;
        const char *w = p;
        while (*p && *p != ' ') p++;
        if (p - w >= 6 && span_eq(w, w + 6, "bench=") && span_eq(w + 6, p, what))
            return 1;
    }
    return 0;
}

static u64 best(u64 (*loop)(u64, u64, u64, u64), u64 eid, u64 fid, u64 arg0)
{
    u64 m = ~0UL;
    for (int i = 0; i < 3; i++) {
        u64 v = loop(N, eid, fid, arg0);
        if (v < m) m = v;
    }
    return m;
}

/* One loop of payload_loop_ext_irq; fails unless it took exactly the
 * expected number of interrupts. */
static u64 ext_irq_loop(u64 value, u64 claim, u64 expected)
{
    while (!(mmio_r8(UART_LSR) & 0x20))     /* transmitter idle: THRE */
        ;
    u64 v = payload_loop_ext_irq(N, UART_IER, value, claim);
    if (payload_ext_irq_count != expected) {
        puts_("BENCH: FAIL ext_irq: ");
        putdec(payload_ext_irq_count);
        puts_(" interrupts in a loop of ");
        putdec(N);
        puts_(", expected ");
        putdec(expected);
        puts_("\n");
        power_off(1);
    }
    return v;
}

/* ext_irq: one UART THRE interrupt, raised by a store to IER, taken in
 * S-mode through the PLIC's S context of this hart and handled (claim, IER
 * cleared, complete, sret): the loop storing THRI minus the same loop
 * storing 0 (no interrupt), per iteration. The payload programs the PLIC
 * with plain loads and stores, whether or not they trap to the monitor. */
static void bench_ext_irq(u64 hartid)
{
    u64 context = 2 * hartid + 1;
    u64 claim = PLIC_CLAIM(context);
    mmio_w8(UART_IER, 0);
    mmio_w32(PLIC_PRIORITY(UART_SOURCE), 1);
    mmio_w32(PLIC_ENABLE(context) + 4 * (UART_SOURCE / 32), 1U << (UART_SOURCE % 32));
    mmio_w32(PLIC_THRESHOLD(context), 0);
    csr_write(stvec, (u64)payload_irq_entry);
    csr_write(sie, SIE_SEIE);
    __asm__ volatile("csrs sstatus, %0" :: "r"(SSTATUS_SIE) : "memory");

    u64 base = ~0UL, with = ~0UL;
    for (int i = 0; i < 3; i++) {
        u64 v = ext_irq_loop(0, claim, 0);
        if (v < base) base = v;
        v = ext_irq_loop(UART_IER_THRI, claim, N);
        if (v < with) with = v;
    }

    __asm__ volatile("csrc sstatus, %0" :: "r"(SSTATUS_SIE) : "memory");
    csr_write(sie, 0);
    mmio_w8(UART_IER, 0);
    mmio_w32(PLIC_ENABLE(context) + 4 * (UART_SOURCE / 32), 0);
    mmio_w32(PLIC_THRESHOLD(context), 7);
    mmio_w32(PLIC_PRIORITY(UART_SOURCE), 0);
    csr_write(stvec, (u64)payload_trap_entry);

    report("payload_loop_ext_irq_base", base);
    report("payload_loop_ext_irq", with);
    u64 extra = with > base ? with - base : 0;
    report("ext_irq", (extra + N / 2) / N);
}

/* switch_min (under guest/bench/minfw.S): an ecall from S-mode to the
 * minimal firmware's four-instruction handler (read mepc, add 4, write mepc,
 * mret) and back, against the same loop with a nop; a7 = the Base extension,
 * which the monitor never offloads. */
static __attribute__((noreturn)) void bench_switch_min(void)
{
    no_sbi = 1;
    puts_("BENCH: switch_min: ecall to a four-instruction M-mode handler\n");
    report("payload_n", N);
    u64 nop = ~0UL, trap = ~0UL;
    for (int i = 0; i < 3; i++) {
        u64 v = payload_trap_loop_nop(N, SBI_EXT_BASE);
        if (v < nop) nop = v;
        v = payload_trap_loop_ecall(N, SBI_EXT_BASE);
        if (v < trap) trap = v;
    }
    report("payload_trap_loop_nop", nop);
    report("payload_trap_loop_ecall", trap);
    report("switch_min", per_op(trap, nop, N));
    puts_("BENCH: DONE\n");
    power_off(0);
}

void payload_main(u64 hartid, u64 fdt)
{
    const char *args = bootargs(fdt);
    puts_("\nBENCH: payload in S-mode on hart ");
    putdec(hartid);
    puts_("\n");
    if (named(args, "switch_min"))
        bench_switch_min();
    struct sbiret v = sbi_call(SBI_EXT_BASE, 0, 0, 0);
    if (v.error != 0) {
        puts_("BENCH: FAIL sbi_get_spec_version\n");
        power_off(1);
    }
    report("sbi_spec_version", (u64)v.value);
    report("payload_n", N);
    report("payload_instret_pair", payload_instret_pair());

    u64 nop = best(payload_loop_nop, SBI_EXT_BASE, 0, 0);
    report("payload_loop_nop", nop);
    if (wanted(args, "switch")) {
        u64 spec = best(payload_loop_ecall, SBI_EXT_BASE, 0, 0);
        report("payload_loop_get_spec_version", spec);
        report("switch", per_op(spec, nop, N));
    }
    if (wanted(args, "set_timer")) {
        /* As Miralis measures it: a0 = UINT64_MAX (no timer event ever; a
         * deadline a day ahead, this figure's earlier argument, cost the
         * same in every configuration). */
        u64 timer = best(payload_loop_ecall, SBI_EXT_TIME, 0, ~0UL);
        report("payload_loop_set_timer", timer);
        report("set_timer", per_op(timer, nop, N));
    }

    if (wanted(args, "ext_irq"))
        bench_ext_irq(hartid);

    puts_("BENCH: DONE\n");
    power_off(0);
}
