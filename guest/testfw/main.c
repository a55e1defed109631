/*
 * Firmvisor test firmware: M-mode corner cases that OpenSBI does not reach.
 *
 * Runs natively (QEMU -bios at 0x80000000) and deprivileged under the monitor,
 * which places the same file at the same address. Hart 0 drives the tests and prints
 *   TESTFW: PASS <name> | TESTFW: FAIL <name> <what> got=0x.. want=0x..
 *   TESTFW: SKIP <name> <why> | TESTFW: NOTE <name> <text>
 *   TESTFW: DONE pass=N fail=M
 * then powers off through the test device (0x5555 when all pass, else exit 1).
 *
 * Position independence: no absolute addresses in data (no pointer tables, no
 * jump tables: built with -fno-jump-tables); every address is formed with
 * auipc at run time.
 */
#include "testfw.h"
#include "console.h"

/* ---- freestanding runtime ------------------------------------------------ */

void *memset(void *d, int c, unsigned long n)
{
    u8 *p = d;
    while (n--) *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--) *p++ = *q++;
    return d;
}

static inline u64 hartid(void)
{
    u64 h;
    __asm__ volatile("mv %0, tp" : "=r"(h));
    return h;
}

static inline u64 mtime(void) { return mmio_r64(CLINT_MTIME); }

#define TICKS_PER_MS 10000UL

/* ---- shared state (in .bss, cleared by hart 0) ---------------------------- */

static struct hart_state harts[TESTFW_MAX_HARTS];
static volatile u32 checked_in;
static volatile u64 cmd[TESTFW_MAX_HARTS];
static volatile u64 ack[TESTFW_MAX_HARTS];

/* misa.H: the trap handler reads mtinst/mtval2 only then (they trap otherwise). */
static int has_h;
#define CSR_MTINST    0x34a
#define CSR_MTVAL2    0x34b
/* csr_read/csr_write with a macro for the CSR number (expanded first). */
#define csr_readx(csr) csr_read(csr)
#define csr_writex(csr, val) csr_write(csr, val)

#define csr_setx(csr, val) csr_set(csr, val)
#define csr_clearx(csr, val) csr_clear(csr, val)

/* The machine's interrupt controller, from the device tree (hart 0 sets it
   before any test; the trap handler's MEI branch follows it). */
enum { INTC_PLIC = 0, INTC_APLIC_IMSIC, INTC_APLIC_DIRECT };
static int intc;

#define CMD_MSI 1
#define CMD_WATCH_MIP 2
#define CMD_RECV 3      /* take one MEI (aplic-imsic: cmd_arg = the identity to enable) */
#define CMD_SEND 4      /* imsic-ipi: send to every other hart below cmd_arg */
static volatile u64 cmd_arg[TESTFW_MAX_HARTS];
static volatile u64 watch_mip[TESTFW_MAX_HARTS];
static volatile u64 watch_seq[TESTFW_MAX_HARTS];

/* ---- console ------------------------------------------------------------- */

/* ---- trap handler ---------------------------------------------------------- */

static u32 insn_bits(u64 addr)
{
    const volatile u16 *p = (const volatile u16 *)addr;
    u32 lo = p[0];
    if ((lo & 3) != 3) return lo;
    return lo | ((u32)p[1] << 16);
}

void trap_handler(struct trap_frame *f)
{
    u64 h = hartid();
    struct hart_state *hs = &harts[h];
    u64 cause = csr_read(mcause);
    u64 epc = csr_read(mepc);
    u64 tval = csr_read(mtval);
    u64 st = csr_read(mstatus);

    hs->ntraps++;
    if (cause & CAUSE_INTR) {
        u64 code = cause & ~CAUSE_INTR;
        hs->mcause = cause;
        hs->mepc = epc;
        hs->mtval = tval;
        hs->mstatus = st;
        hs->slot = f->slot;
        hs->mip = csr_read(mip);
        hs->irq_mcause = cause;
        hs->irq_mepc = epc;
        hs->irq_mstatus = st;
        if (has_h) {
            hs->irq_mtinst = csr_readx(CSR_MTINST);
            hs->irq_mtval2 = csr_readx(CSR_MTVAL2);
        }
        if (code == IRQ_MTI) {
            hs->claim = mtime();                 /* when it arrived */
            mmio_w64(CLINT_MTIMECMP(h), ~0UL);
            hs->mip_after = csr_read(mip);
        } else if (code == IRQ_MSI) {
            mmio_w32(CLINT_MSIP(h), 0);
            hs->msip_after = mmio_r32(CLINT_MSIP(h));
            hs->mip_after = csr_read(mip);
            if (hs->forward_msi) mmio_w32(CLINT_MSIP(0), 1);
        } else if (code == IRQ_MEI && intc == INTC_APLIC_IMSIC) {
            /* Claim the top identity of this hart's M-level file (csrrw:
               read and claim in one), then see what is next. */
            u64 c;
            __asm__ volatile("csrrw %0, 0x35c, zero" : "=r"(c) :: "memory");
            hs->claim = c;
            hs->claim2 = csr_readx(CSR_MTOPEI);
            hs->mip_after = csr_read(mip);
        } else if (code == IRQ_MEI && intc == INTC_APLIC_DIRECT) {
            /* Claim on this hart's IDC of the machine-level domain (the
               UART's line low first: a level-sensitive source stays pending
               while it is high). A claim of 0 (iforce): iforce written 0
               too, so the line drops. */
            u64 idc = APLIC_IDC(APLIC_M, h);
            mmio_w8(UART_IER, 0);
            u32 c = mmio_r32(idc + IDC_CLAIMI);
            hs->claim = c;
            if (!c) mmio_w32(idc + IDC_IFORCE, 0);
            hs->claim2 = mmio_r32(idc + IDC_TOPI);
            hs->mip_after = csr_read(mip);
        } else if (code == IRQ_MEI) {
            u64 ctx = 2 * h;
            u32 c = mmio_r32(PLIC_CLAIM(ctx));
            hs->claim = c;
            mmio_w8(UART_IER, 0);
            if (c) mmio_w32(PLIC_CLAIM(ctx), c);
            u32 c2 = mmio_r32(PLIC_CLAIM(ctx));
            hs->claim2 = c2;
            if (c2) mmio_w32(PLIC_CLAIM(ctx), c2);
            hs->mip_after = csr_read(mip);
        } else {
            hs->unexpected++;
            hs->unexp_cause = cause;
            hs->unexp_epc = epc;
            hs->unexp_tval = tval;
            csr_write(mie, 0);                  /* no interrupt storm */
        }
        hs->irq_log[hs->nirqs & 3] = cause;
        __asm__ volatile("fence rw, rw" ::: "memory");
        hs->nirqs++;
        return;
    }

    u64 mode = hs->mode;
    if (mode == TRAP_UNEXPECTED) {
        hs->unexpected++;
        hs->unexp_cause = cause;
        hs->unexp_epc = epc;
        hs->unexp_tval = tval;
    } else {
        hs->mcause = cause;
        hs->mepc = epc;
        hs->mtval = tval;
        hs->mstatus = st;
        hs->slot = f->slot;
        if (has_h) {
            hs->mtinst = csr_readx(CSR_MTINST);
            hs->mtval2 = csr_readx(CSR_MTVAL2);
        }
    }
    if (mode == TRAP_RECOVER_RA || cause == CAUSE_FETCH_FAULT || cause == 12 ||
        cause == 0) {
        /* Do not read the instruction at mepc; go back to the caller in M. */
        csr_write(mepc, f->x[1]);
        csr_set(mstatus, MSTATUS_MPP);
        /* Back to M with V = 0: QEMU 7.2's mret sets V = MPV even when
           MPP = M, so a trap from VS must not leave MPV set. */
        if (has_h) csr_clear(mstatus, MSTATUS_MPV);
    } else {
        u32 bits = insn_bits(epc);
        csr_write(mepc, epc + ((bits & 3) == 3 ? 4 : 2));
    }
}

/* ---- test bookkeeping ---------------------------------------------------- */

static u64 npass, nfail, nskip;

struct result {
    const char *name;
    int failed;
    const char *what;
    u64 got, want;
    u64 unexpected0;
};

static void begin(struct result *r, const char *name)
{
    struct hart_state *hs = &harts[hartid()];
    r->name = name;
    r->failed = 0;
    r->what = "";
    r->got = r->want = 0;
    r->unexpected0 = hs->unexpected;
    hs->mode = TRAP_UNEXPECTED;
}

static int expect(struct result *r, int ok, const char *what, u64 got, u64 want)
{
    if (!ok && !r->failed) {
        r->failed = 1;
        r->what = what;
        r->got = got;
        r->want = want;
    }
    return ok;
}

/* got and want are evaluated once (got may be a claim). */
#define EXPECT_EQ(r, what, got, want) ({                                       \
        u64 got_ = (u64)(got), want_ = (u64)(want);                            \
        expect((r), got_ == want_, (what), got_, want_);                       \
    })

static void note(const char *name, const char *text, u64 v)
{
    puts_("TESTFW: NOTE ");
    puts_(name);
    puts_(" ");
    puts_(text);
    puts_(" ");
    puthex(v);
    puts_("\n");
}

static void skip(const char *name, const char *why)
{
    puts_("TESTFW: SKIP ");
    puts_(name);
    puts_(" ");
    puts_(why);
    puts_("\n");
    nskip++;
}

static void end(struct result *r)
{
    struct hart_state *hs = &harts[hartid()];
    hs->mode = TRAP_UNEXPECTED;
    if (!r->failed && hs->unexpected != r->unexpected0) {
        r->failed = 1;
        r->what = "unexpected-trap mcause/mepc";
        r->got = hs->unexp_cause;
        r->want = hs->unexp_epc;
    }
    if (r->failed) {
        puts_("TESTFW: FAIL ");
        puts_(r->name);
        puts_(" ");
        puts_(r->what);
        puts_(" got=");
        puthex(r->got);
        puts_(" want=");
        puthex(r->want);
        puts_("\n");
        nfail++;
    } else {
        puts_("TESTFW: PASS ");
        puts_(r->name);
        puts_("\n");
        npass++;
    }
}

/*
 * Wait until hs->nirqs moves past n, at most `ticks`. The race-free WFI
 * pattern: check with MIE = 0, wfi (wakes on mip & mie regardless of MIE),
 * then open MIE so the pending interrupt is taken. Returns with MIE = 0.
 */
static int wait_irq(struct hart_state *hs, u64 n, u64 ticks)
{
    u64 start = mtime();
    for (;;) {
        csr_clear(mstatus, MSTATUS_MIE);
        if (hs->nirqs != n) return 1;
        if (mtime() - start > ticks) return 0;
        __asm__ volatile("wfi" ::: "memory");
        csr_set(mstatus, MSTATUS_MIE);
        __asm__ volatile("nop" ::: "memory");
    }
}

static int wait_value(volatile u64 *p, u64 v, u64 ticks)
{
    u64 start = mtime();
    while (*p != v) {
        if (mtime() - start > ticks) return 0;
    }
    __asm__ volatile("fence rw, rw" ::: "memory");
    return 1;
}

/* ---- device tree: count /cpus/cpu@N -------------------------------------- */

static u32 be32(const volatile u8 *p)
{
    return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

static int streq(const volatile u8 *a, const char *b)
{
    while (*a && *a == (u8)*b) { a++; b++; }
    return *a == (u8)*b;
}

static int starts_with(const volatile u8 *a, const char *b)
{
    while (*b) {
        if (*a != (u8)*b) return 0;
        a++; b++;
    }
    return 1;
}

static int fdt_count_cpus(u64 fdt)
{
    const volatile u8 *b = (const volatile u8 *)fdt;
    if (!fdt || be32(b) != 0xd00dfeedU) return -1;
    u32 total = be32(b + 4), off = be32(b + 8);
    const volatile u8 *p = b + off, *endp = b + total;
    int depth = 0, in_cpus = 0, count = 0;
    while (p < endp) {
        u32 tok = be32(p);
        p += 4;
        if (tok == 1) {                      /* FDT_BEGIN_NODE */
            const volatile u8 *name = p;
            u64 len = 0;
            while (name[len]) len++;
            p += (len + 1 + 3) & ~3UL;
            depth++;
            if (depth == 2 && streq(name, "cpus")) in_cpus = 1;
            else if (in_cpus && depth == 3 && starts_with(name, "cpu@")) count++;
        } else if (tok == 2) {               /* FDT_END_NODE */
            if (depth == 2) in_cpus = 0;
            depth--;
        } else if (tok == 3) {               /* FDT_PROP */
            u32 len = be32(p);
            p += 8 + ((len + 3) & ~3U);
        } else if (tok == 4) {               /* FDT_NOP */
        } else if (tok == 9) {               /* FDT_END */
            return count;
        } else {
            return -1;
        }
    }
    return -1;
}

/* The first 4-byte property `prop` in the tree (riscv,ndev: the PLIC's), or -1. */
static i64 fdt_find_u32(u64 fdt, const char *prop)
{
    const volatile u8 *b = (const volatile u8 *)fdt;
    if (!fdt || be32(b) != 0xd00dfeedU) return -1;
    u32 total = be32(b + 4), off = be32(b + 8), strings = be32(b + 12);
    const volatile u8 *p = b + off, *endp = b + total;
    while (p < endp) {
        u32 tok = be32(p);
        p += 4;
        if (tok == 1) {
            u64 len = 0;
            while (p[len]) len++;
            p += (len + 1 + 3) & ~3UL;
        } else if (tok == 3) {
            u32 len = be32(p), nameoff = be32(p + 4);
            if (len == 4 && streq(b + strings + nameoff, prop)) return be32(p + 8);
            p += 8 + ((len + 3) & ~3U);
        } else if (tok == 9) {
            return -1;
        } else if (tok != 2 && tok != 4) {
            return -1;
        }
    }
    return -1;
}

/* Whether some node's "compatible" list holds `compat`. */
static int fdt_has_compatible(u64 fdt, const char *compat)
{
    const volatile u8 *b = (const volatile u8 *)fdt;
    if (!fdt || be32(b) != 0xd00dfeedU) return 0;
    u32 total = be32(b + 4), off = be32(b + 8), strings = be32(b + 12);
    const volatile u8 *p = b + off, *endp = b + total;
    while (p < endp) {
        u32 tok = be32(p);
        p += 4;
        if (tok == 1) {
            u64 len = 0;
            while (p[len]) len++;
            p += (len + 1 + 3) & ~3UL;
        } else if (tok == 3) {
            u32 len = be32(p), nameoff = be32(p + 4);
            if (streq(b + strings + nameoff, "compatible")) {
                const volatile u8 *v = p + 8, *vend = p + 8 + len;
                while (v < vend) {
                    if (streq(v, compat)) return 1;
                    while (v < vend && *v) v++;
                    v++;
                }
            }
            p += 8 + ((len + 3) & ~3U);
        } else if (tok == 9) {
            return 0;
        } else if (tok != 2 && tok != 4) {
            return 0;
        }
    }
    return 0;
}

/* The end of the first /memory@... node's reg (two address, two size
   cells, as on QEMU virt), or 0. */
static u64 fdt_memory_end(u64 fdt)
{
    const volatile u8 *b = (const volatile u8 *)fdt;
    if (!fdt || be32(b) != 0xd00dfeedU) return 0;
    u32 total = be32(b + 4), off = be32(b + 8), strings = be32(b + 12);
    const volatile u8 *p = b + off, *endp = b + total;
    int depth = 0, in_memory = 0;
    while (p < endp) {
        u32 tok = be32(p);
        p += 4;
        if (tok == 1) {
            const volatile u8 *name = p;
            u64 len = 0;
            while (name[len]) len++;
            p += (len + 1 + 3) & ~3UL;
            depth++;
            in_memory = depth == 2 && starts_with(name, "memory@");
        } else if (tok == 2) {
            depth--;
            in_memory = 0;
        } else if (tok == 3) {
            u32 len = be32(p), nameoff = be32(p + 4);
            if (in_memory && len == 16 && streq(b + strings + nameoff, "reg")) {
                u64 base = ((u64)be32(p + 8) << 32) | be32(p + 12);
                u64 size = ((u64)be32(p + 16) << 32) | be32(p + 20);
                return base + size;
            }
            p += 8 + ((len + 3) & ~3U);
        } else if (tok == 9) {
            return 0;
        } else if (tok != 4) {
            return 0;
        }
    }
    return 0;
}

/* ---- the tests ----------------------------------------------------------- */

/* Natively (QEMU -bios) the memory node covers all of DRAM (-m 256M: up to
   DRAM_END); under the monitor it ends where the monitor's region begins. */
static int native;
static u64 monitor_base;   /* under the monitor: its region, up to DRAM_END */

static void test_boot_args(u64 a0, u64 fdt, u64 info)
{
    struct result r;
    begin(&r, "boot-args");
    EXPECT_EQ(&r, "mhartid-vs-a0", csr_read(mhartid), a0);
    EXPECT_EQ(&r, "fdt-magic", fdt ? be32((const volatile u8 *)fdt) : 0, 0xd00dfeedU);
    EXPECT_EQ(&r, "fw_dynamic_info-magic",
              info ? *(const volatile u64 *)info : 0, 0x4942534fUL);
    end(&r);
}

/* trap.S serves the firmware's csrrw/csrrs/csrrc on mscratch, mepc, mcause
   and mtval through per-register jump tables: every register as rs1 and rd,
   sp (in mscratch there) and the temporaries it saves (t0-t5) included. */
extern void csr_register_sweep(u64 *results);
static u64 sweep_results[32][4];

static void test_csr_registers(void)
{
    struct result r;
    begin(&r, "csr-registers");
    csr_register_sweep(&sweep_results[0][0]);
    for (u64 n = 1; n < 32; n++) {
        EXPECT_EQ(&r, "csrrw old", sweep_results[n][0], 0x1000 + n);
        EXPECT_EQ(&r, "mscratch", sweep_results[n][1], 0x2000 + n);
        EXPECT_EQ(&r, "csrrc old", sweep_results[n][2], 0xf0);
        EXPECT_EQ(&r, "mcause", sweep_results[n][3], 0xc0);
    }
    end(&r);
}

static void test_ecall(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    begin(&r, "ecall");
    hs->mode = TRAP_SKIP;
    u64 n = hs->ntraps;
    do_ecall();
    EXPECT_EQ(&r, "traps", hs->ntraps - n, 1);
    EXPECT_EQ(&r, "mcause", hs->mcause, CAUSE_ECALL_M);
    EXPECT_EQ(&r, "mepc", hs->mepc, (u64)ecall_insn);
    EXPECT_EQ(&r, "mstatus.MPP", (hs->mstatus >> 11) & 3, 3);
    end(&r);
}

static void test_illegal_csr(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    begin(&r, "illegal-csr");
    hs->mode = TRAP_SKIP;

    u64 n = hs->ntraps;
    read_csr_7c0();
    EXPECT_EQ(&r, "csr7c0-traps", hs->ntraps - n, 1);
    EXPECT_EQ(&r, "csr7c0-mcause", hs->mcause, CAUSE_ILLEGAL);
    EXPECT_EQ(&r, "csr7c0-mepc", hs->mepc, (u64)csr_7c0_insn);
    EXPECT_EQ(&r, "csr7c0-mtval", hs->mtval, insn_bits((u64)csr_7c0_insn));

    n = hs->ntraps;
    read_csr_5c0();
    EXPECT_EQ(&r, "csr5c0-traps", hs->ntraps - n, 1);
    EXPECT_EQ(&r, "csr5c0-mcause", hs->mcause, CAUSE_ILLEGAL);
    EXPECT_EQ(&r, "csr5c0-mtval", hs->mtval, insn_bits((u64)csr_5c0_insn));

    n = hs->ntraps;
    csrrs_x0_mhartid();
    EXPECT_EQ(&r, "csrrs-x0-mhartid-traps", hs->ntraps - n, 0);

    n = hs->ntraps;
    csrrw_mhartid(0x5a);
    EXPECT_EQ(&r, "csrrw-mhartid-traps", hs->ntraps - n, 1);
    EXPECT_EQ(&r, "csrrw-mhartid-mcause", hs->mcause, CAUSE_ILLEGAL);
    EXPECT_EQ(&r, "csrrw-mhartid-mtval", hs->mtval, insn_bits((u64)csrrw_mhartid_insn));
    EXPECT_EQ(&r, "mhartid-after", csr_read(mhartid), 0);
    end(&r);
}

static void test_warl(void)
{
    struct result r;
    begin(&r, "warl");

    /* mstatus.MPP: 2 is illegal; 0, 1, 3 stick. */
    u64 old = csr_read(mstatus);
    u64 base = old & ~(u64)MSTATUS_MPP;
    csr_write(mstatus, base | (2UL << 11));
    u64 rb2 = csr_read(mstatus);
    csr_write(mstatus, base | (1UL << 11));
    u64 rb1 = csr_read(mstatus);
    csr_write(mstatus, base);
    u64 rb0 = csr_read(mstatus);
    csr_write(mstatus, old);
    u64 mpp2 = (rb2 >> 11) & 3;
    if (mpp2 == 2 && native)
        note("warl", "native QEMU 7.2 stores mstatus.MPP=2, read back", rb2);
    else
        expect(&r, mpp2 != 2, "mstatus.MPP=2-readback", mpp2, 3);
    EXPECT_EQ(&r, "mstatus.MPP=1-readback", (rb1 >> 11) & 3, 1);
    EXPECT_EQ(&r, "mstatus.MPP=0-readback", (rb0 >> 11) & 3, 0);

    /* mstatus.VS (bits 9-10) and FS (13-14): QEMU 7.2's rv64 keeps VS
       writable although it has no V extension (the hart's WARL choice, which
       the monitor probes at boot), FS because it has F. Each value reads
       back as written, natively and in vM-mode. */
    for (u64 v = 0; v < 4; v++) {
        csr_write(mstatus, (old & ~(3UL << 9) & ~(3UL << 13)) | (v << 9) | (v << 13));
        u64 rb = csr_read(mstatus);
        csr_write(mstatus, old);
        EXPECT_EQ(&r, "mstatus.VS-readback", (rb >> 9) & 3, v);
        EXPECT_EQ(&r, "mstatus.FS-readback", (rb >> 13) & 3, v);
        EXPECT_EQ(&r, "mstatus.SD-readback", rb >> 63, v == 3);
    }

    /* mtvec MODE 2 and 3 are reserved. */
    u64 tv = csr_read(mtvec);
    csr_write(mtvec, (tv & ~3UL) | 2);
    u64 tv2 = csr_read(mtvec);
    csr_write(mtvec, tv);
    csr_write(mtvec, (tv & ~3UL) | 3);
    u64 tv3 = csr_read(mtvec);
    csr_write(mtvec, tv);
    expect(&r, (tv2 & 3) < 2, "mtvec-mode2-readback", tv2, tv);
    expect(&r, (tv3 & 3) < 2, "mtvec-mode3-readback", tv3, tv);
    if ((tv2 & 3) < 2 && tv2 != tv) note("warl", "mtvec MODE 2 write changed mtvec to", tv2);
    EXPECT_EQ(&r, "mtvec-restored", csr_read(mtvec), tv);

    /* mepc: bit 0 reads 0, bit 1 writable (C extension). */
    u64 ep = csr_read(mepc);
    u64 target = (u64)_start + 0x100;
    csr_write(mepc, target | 1);
    u64 e1 = csr_read(mepc);
    csr_write(mepc, target | 2);
    u64 e2 = csr_read(mepc);
    csr_write(mepc, ep);
    if ((e1 & 1) && native)
        note("warl", "native QEMU 7.2 keeps mepc bit 0, read back", e1);
    else
        EXPECT_EQ(&r, "mepc-bit0", e1, target);
    EXPECT_EQ(&r, "mepc-bit1", e2, target | 2);
    end(&r);
}

static void test_vectored(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    begin(&r, "vectored-mtvec");
    u64 old = csr_read(mtvec);
    u64 vec = (u64)trap_vector_table | 1;
    csr_write(mtvec, vec);
    EXPECT_EQ(&r, "mtvec-readback", csr_read(mtvec), vec);

    /* Exceptions go to BASE (slot 0). */
    hs->mode = TRAP_SKIP;
    u64 n = hs->ntraps;
    do_ecall();
    EXPECT_EQ(&r, "ecall-traps", hs->ntraps - n, 1);
    EXPECT_EQ(&r, "ecall-slot", hs->slot, 0);
    EXPECT_EQ(&r, "ecall-mcause", hs->mcause, CAUSE_ECALL_M);
    hs->mode = TRAP_UNEXPECTED;

    /* MTI goes to BASE + 4*7. */
    u64 ni = hs->nirqs;
    mmio_w64(CLINT_MTIMECMP(0), mtime() + 100000);
    csr_set(mie, MIP_MTIP);
    int ok = wait_irq(hs, ni, 2000 * TICKS_PER_MS);
    csr_clear(mie, MIP_MTIP);
    mmio_w64(CLINT_MTIMECMP(0), ~0UL);
    csr_write(mtvec, old);
    if (expect(&r, ok, "mti-timeout mip", csr_read(mip), MIP_MTIP)) {
        EXPECT_EQ(&r, "mti-slot", hs->slot, IRQ_MTI);
        EXPECT_EQ(&r, "mti-mcause", hs->mcause, CAUSE_INTR | IRQ_MTI);
    }
    end(&r);
}

extern const char mti_wfi_next[];

static void test_timer(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    begin(&r, "mti");

    /* Part 1: MTIE + MIE, wfi; the handler writes mtimecmp = -1. */
    u64 ni = hs->nirqs;
    u64 target = mtime() + 100000;          /* 10 ms at 10 MHz */
    csr_set(mie, MIP_MTIP);
    csr_set(mstatus, MSTATUS_MIE);
    __asm__ volatile(
        "sd %1, 0(%0)\n"
        "wfi\n"
        ".globl mti_wfi_next\n"
        "mti_wfi_next:\n"
        "nop\n"
        :: "r"(CLINT_MTIMECMP(0)), "r"(target) : "memory");
    /* Spurious wake-ups: keep waiting, race-free. */
    int ok = wait_irq(hs, ni, 2000 * TICKS_PER_MS);
    csr_clear(mie, MIP_MTIP);
    if (expect(&r, ok, "mti-timeout mip", csr_read(mip), MIP_MTIP)) {
        EXPECT_EQ(&r, "mcause", hs->mcause, CAUSE_INTR | IRQ_MTI);
        expect(&r, (hs->mip & MIP_MTIP) != 0, "mip.MTIP-in-handler", hs->mip, MIP_MTIP);
        EXPECT_EQ(&r, "mip.MTIP-after-mtimecmp=-1", hs->mip_after & MIP_MTIP, 0);
        expect(&r, hs->claim >= target, "fired-early mtime", hs->claim, target);
        EXPECT_EQ(&r, "mstatus.MPIE", (hs->mstatus >> 7) & 1, 1);
        EXPECT_EQ(&r, "mstatus.MIE-in-handler", (hs->mstatus >> 3) & 1, 0);
        if (hs->mepc != (u64)mti_wfi_next)
            note("mti", "interrupt not taken on the wfi wake-up (spurious wake?), mepc", hs->mepc);
    }
    EXPECT_EQ(&r, "mip.MTIP-now", csr_read(mip) & MIP_MTIP, 0);

    /* Part 2: MIE = 0, MTIE = 1: wfi returns, no trap, MTIP = 1. */
    csr_clear(mstatus, MSTATUS_MIE);
    u64 n = hs->ntraps;
    csr_set(mie, MIP_MTIP);
    target = mtime() + 100000;
    mmio_w64(CLINT_MTIMECMP(0), target);
    u64 start = mtime(), wakes = 0;
    while (!(csr_read(mip) & MIP_MTIP) && mtime() - start < 2000 * TICKS_PER_MS) {
        __asm__ volatile("wfi" ::: "memory");
        wakes++;
    }
    u64 mipv = csr_read(mip);
    u64 now = mtime();
    mmio_w64(CLINT_MTIMECMP(0), ~0UL);
    u64 mip2 = csr_read(mip);
    csr_clear(mie, MIP_MTIP);
    expect(&r, (mipv & MIP_MTIP) != 0, "wfi-MIE=0: mip.MTIP", mipv, MIP_MTIP);
    EXPECT_EQ(&r, "wfi-MIE=0: traps", hs->ntraps - n, 0);
    expect(&r, now >= target, "wfi-MIE=0: woke-early mtime", now, target);
    expect(&r, wakes >= 1, "wfi-MIE=0: wakes", wakes, 1);
    EXPECT_EQ(&r, "wfi-MIE=0: mip.MTIP-after-mtimecmp=-1", mip2 & MIP_MTIP, 0);
    end(&r);
}

static u64 nharts = 1;

static void test_harts(u64 fdt)
{
    struct result r;
    begin(&r, "harts");
    int cpus = fdt_count_cpus(fdt);
    if (expect(&r, cpus > 0, "fdt-cpus", (u64)(i64)cpus, 1)) {
        u64 want = (u64)cpus > TESTFW_MAX_HARTS ? TESTFW_MAX_HARTS : (u64)cpus;
        u64 start = mtime();
        while (checked_in + 1 < want && mtime() - start < 2000 * TICKS_PER_MS)
            ;
        nharts = checked_in + 1;
        EXPECT_EQ(&r, "checked-in", nharts, want);
    }
    end(&r);
    puts_("TESTFW: harts=");
    putdec(nharts);
    puts_("\n");
}

static void test_msi(void)
{
    struct result r;
    struct hart_state *h0 = &harts[0], *h1 = &harts[1];
    if (nharts < 2) {
        skip("msi", "needs 2 harts (-smp 2)");
        return;
    }
    begin(&r, "msi");

    /* Read-back of another hart's msip (hart 1 not listening yet). */
    mmio_w32(CLINT_MSIP(1), 1);
    u32 rb1 = mmio_r32(CLINT_MSIP(1));
    mmio_w32(CLINT_MSIP(1), 0);
    u32 rb0 = mmio_r32(CLINT_MSIP(1));
    EXPECT_EQ(&r, "msip[1]-readback-1", rb1, 1);
    EXPECT_EQ(&r, "msip[1]-readback-0", rb0, 0);

    /* Own msip mirrors into mip.MSIP (MSIE = 0: no trap). */
    u64 n = h0->ntraps;
    mmio_w32(CLINT_MSIP(0), 1);
    u64 mip1 = csr_read(mip);
    mmio_w32(CLINT_MSIP(0), 0);
    u64 mip0 = csr_read(mip);
    EXPECT_EQ(&r, "mip.MSIP-with-msip[0]=1", mip1 & MIP_MSIP, MIP_MSIP);
    EXPECT_EQ(&r, "mip.MSIP-with-msip[0]=0", mip0 & MIP_MSIP, 0);
    EXPECT_EQ(&r, "traps-without-MSIE", h0->ntraps - n, 0);

    /* Ping-pong: hart 0 -> hart 1 -> hart 0. */
    ack[1] = 0;
    __asm__ volatile("fence rw, rw" ::: "memory");
    cmd[1] = CMD_MSI;
    if (!expect(&r, wait_value(&ack[1], 1, 2000 * TICKS_PER_MS), "hart1-ready", ack[1], 1)) {
        end(&r);
        return;
    }
    u64 ni = h0->nirqs;
    csr_set(mie, MIP_MSIP);
    mmio_w32(CLINT_MSIP(1), 1);
    int ok = wait_irq(h0, ni, 2000 * TICKS_PER_MS);
    csr_clear(mie, MIP_MSIP);
    int done = wait_value(&ack[1], 2, 2000 * TICKS_PER_MS);
    expect(&r, done, "hart1-done", ack[1], 2);
    EXPECT_EQ(&r, "hart1-mcause", h1->mcause, CAUSE_INTR | IRQ_MSI);
    EXPECT_EQ(&r, "hart1-msip-after-clear", h1->msip_after, 0);
    EXPECT_EQ(&r, "hart1-mip.MSIP-after-clear", h1->mip_after & MIP_MSIP, 0);
    EXPECT_EQ(&r, "hart1-unexpected", h1->unexpected, 0);
    if (expect(&r, ok, "hart0-msi-timeout mip", csr_read(mip), MIP_MSIP)) {
        EXPECT_EQ(&r, "hart0-mcause", h0->mcause, CAUSE_INTR | IRQ_MSI);
        EXPECT_EQ(&r, "hart0-msip-after-clear", h0->msip_after, 0);
        EXPECT_EQ(&r, "hart0-mip.MSIP-after-clear", h0->mip_after & MIP_MSIP, 0);
    }
    mmio_w32(CLINT_MSIP(0), 0);
    mmio_w32(CLINT_MSIP(1), 0);
    end(&r);
}

/* The PLIC tests on a machine without one (-M virt,aia=...): skipped. */
static int plic_skip(const char *name)
{
    if (intc == INTC_PLIC) return 0;
    skip(name, intc == INTC_APLIC_IMSIC ? "no PLIC: APLIC + IMSIC machine (aia=aplic-imsic)"
                                        : "no PLIC: APLIC machine (aia=aplic)");
    return 1;
}

static void test_mei(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (plic_skip("mei-plic")) return;
    begin(&r, "mei-plic");
    u64 ctx = 0;                               /* hart 0, M-mode */

    mmio_w32(PLIC_PRIORITY(UART_IRQ), 1);
    u32 en = mmio_r32(PLIC_ENABLE(ctx, UART_IRQ));
    mmio_w32(PLIC_ENABLE(ctx, UART_IRQ), en | (1U << (UART_IRQ % 32)));
    u32 th = mmio_r32(PLIC_THRESHOLD(ctx));
    mmio_w32(PLIC_THRESHOLD(ctx), 0);
    EXPECT_EQ(&r, "priority[10]-readback", mmio_r32(PLIC_PRIORITY(UART_IRQ)), 1);
    EXPECT_EQ(&r, "enable-readback",
              mmio_r32(PLIC_ENABLE(ctx, UART_IRQ)) & (1U << (UART_IRQ % 32)),
              1U << (UART_IRQ % 32));

    u64 ni = hs->nirqs;
    hs->claim = hs->claim2 = 0xdead;
    csr_set(mie, MIP_MEIP);
    mmio_w8(UART_IER, 0x02);                   /* THR empty: fires at once */
    int ok = wait_irq(hs, ni, 2000 * TICKS_PER_MS);
    csr_clear(mie, MIP_MEIP);
    mmio_w8(UART_IER, 0);
    u64 mipv = csr_read(mip);

    mmio_w32(PLIC_ENABLE(ctx, UART_IRQ), en);
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 0);
    mmio_w32(PLIC_THRESHOLD(ctx), th);

    if (expect(&r, ok, "mei-timeout mip", mipv, MIP_MEIP)) {
        EXPECT_EQ(&r, "mcause", hs->mcause, CAUSE_INTR | IRQ_MEI);
        EXPECT_EQ(&r, "claim", hs->claim, UART_IRQ);
        EXPECT_EQ(&r, "second-claim", hs->claim2, 0);
        expect(&r, (hs->mip & MIP_MEIP) != 0, "mip.MEIP-in-handler", hs->mip, MIP_MEIP);
        EXPECT_EQ(&r, "mip.MEIP-after-complete", hs->mip_after & MIP_MEIP, 0);
        EXPECT_EQ(&r, "nirqs", hs->nirqs - ni, 1);
    }
    EXPECT_EQ(&r, "mip.MEIP-now", mipv & MIP_MEIP, 0);
    end(&r);
}

static void test_monitor_memory(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (native) {
        skip("monitor-memory", "native run: no monitor at the end of DRAM");
        return;
    }
    begin(&r, "monitor-memory");

    hs->mode = TRAP_SKIP;
    u64 n = hs->ntraps;
    probe_load(monitor_base);
    EXPECT_EQ(&r, "load-traps", hs->ntraps - n, 1);
    EXPECT_EQ(&r, "load-mcause", hs->mcause, CAUSE_LOAD_FAULT);
    EXPECT_EQ(&r, "load-mtval", hs->mtval, monitor_base);
    EXPECT_EQ(&r, "load-mepc", hs->mepc, (u64)probe_load_insn);

    n = hs->ntraps;
    probe_store(monitor_base);
    EXPECT_EQ(&r, "store-traps", hs->ntraps - n, 1);
    EXPECT_EQ(&r, "store-mcause", hs->mcause, CAUSE_STORE_FAULT);
    EXPECT_EQ(&r, "store-mtval", hs->mtval, monitor_base);
    EXPECT_EQ(&r, "store-mepc", hs->mepc, (u64)probe_store_insn);

    /* A load from the last word of the monitor, too. */
    n = hs->ntraps;
    probe_load(DRAM_END - 8);
    EXPECT_EQ(&r, "load2-traps", hs->ntraps - n, 1);
    EXPECT_EQ(&r, "load2-mcause", hs->mcause, CAUSE_LOAD_FAULT);
    EXPECT_EQ(&r, "load2-mtval", hs->mtval, DRAM_END - 8);

    hs->mode = TRAP_RECOVER_RA;
    n = hs->ntraps;
    probe_jump(monitor_base);
    EXPECT_EQ(&r, "jump-traps", hs->ntraps - n, 1);
    EXPECT_EQ(&r, "jump-mcause", hs->mcause, CAUSE_FETCH_FAULT);
    EXPECT_EQ(&r, "jump-mtval", hs->mtval, monitor_base);
    EXPECT_EQ(&r, "jump-mepc", hs->mepc, monitor_base);
    end(&r);
}

static void test_smode(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    begin(&r, "mret-smode");

    /* One NAPOT entry over everything so S-mode may run (OpenSBI does the same). */
    hs->mode = TRAP_SKIP;
    u64 n = hs->ntraps;
    csr_write(pmpaddr0, ~0UL);
    csr_write(pmpcfg0, 0x1f);
    if (hs->ntraps != n) note("mret-smode", "PMP setup trapped, mcause", hs->mcause);

    hs->mode = TRAP_RECOVER_RA;
    n = hs->ntraps;
    enter_smode();
    EXPECT_EQ(&r, "traps", hs->ntraps - n, 1);
    EXPECT_EQ(&r, "mcause", hs->mcause, CAUSE_ECALL_S);
    EXPECT_EQ(&r, "mstatus.MPP", (hs->mstatus >> 11) & 3, 1);
    EXPECT_EQ(&r, "mepc", hs->mepc, (u64)s_mode_ecall);
    /* mret back to M leaves MPP = U. */
    EXPECT_EQ(&r, "mstatus.MPP-after-mret", (csr_read(mstatus) >> 11) & 3, 0);
    end(&r);
}

/* ---- MPRV probes ---------------------------------------------------------- */

/*
 * mprv_load(addr, status) / mprv_store(addr, status, value): one access with
 * mstatus.MPRV = 1 and the MPP/SUM/MXR bits of `status`; MPRV is cleared
 * right after it. Nothing else touches memory while MPRV is set: a trap is
 * taken with MPP = M (so the handler's own accesses are unaffected) and the
 * handler (TRAP_SKIP) resumes at the csrc that clears MPRV again.
 */
#define MSTATUS_MPRV  (1UL << 17)
#define MSTATUS_SUM   (1UL << 18)
#define MSTATUS_MXR   (1UL << 19)
#define MPRV_FIELDS   (MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR)

u64 mprv_load(u64 addr, u64 status);
void mprv_store(u64 addr, u64 status, u64 value);
extern const char mprv_load_insn[], mprv_store_insn[];

__asm__(
    ".text\n"
    ".balign 4\n"
    ".globl mprv_load\n"
    "mprv_load:\n"
    "    li t0, 0xe1800\n"          /* MPP | MPRV | SUM | MXR */
    "    csrc mstatus, t0\n"
    "    li t0, 0x20000\n"
    "    or t1, a1, t0\n"
    "    csrs mstatus, t1\n"
    ".option push\n.option norvc\n"
    ".globl mprv_load_insn\n"
    "mprv_load_insn:\n"
    "    ld a0, 0(a0)\n"
    ".option pop\n"
    "    csrc mstatus, t0\n"
    "    ret\n"
    ".globl mprv_store\n"
    "mprv_store:\n"
    "    li t0, 0xe1800\n"
    "    csrc mstatus, t0\n"
    "    li t0, 0x20000\n"
    "    or t1, a1, t0\n"
    "    csrs mstatus, t1\n"
    ".option push\n.option norvc\n"
    ".globl mprv_store_insn\n"
    "mprv_store_insn:\n"
    "    sd a2, 0(a0)\n"
    ".option pop\n"
    "    csrc mstatus, t0\n"
    "    ret\n");

/* Two pages: [0] is denied to S/U by PMP entry 0, [1] is allowed. The Sv39
   root table and a spare page follow. */
static u8 mprv_pages[4][4096] __attribute__((aligned(4096)));

#define PMP_NAPOT   0x18
#define PMP_RWX     0x07
#define PTE_V 0x1
#define PTE_R 0x2
#define PTE_W 0x4
#define PTE_X 0x8
#define PTE_U 0x10
#define PTE_A 0x40
#define PTE_D 0x80

/* One MPRV access; records cause/tval (0/0 when it did not trap). */
struct mprv_probe { u64 traps, cause, tval, value; };

static struct mprv_probe probe_mprv(int store, u64 addr, u64 status, u64 value)
{
    struct hart_state *hs = &harts[0];
    struct mprv_probe p = {0, 0, 0, 0};
    u64 n = hs->ntraps;
    hs->mcause = hs->mtval = 0;
    hs->mode = TRAP_SKIP;
    if (store) mprv_store(addr, status, value);
    else p.value = mprv_load(addr, status);
    hs->mode = TRAP_UNEXPECTED;
    p.traps = hs->ntraps - n;
    if (p.traps) {
        p.cause = hs->mcause;
        p.tval = hs->mtval;
    }
    return p;
}

static void expect_fault(struct result *r, const char *what, struct mprv_probe p, u64 cause, u64 tval)
{
    if (!expect(r, p.traps == 1, what, p.traps, 1)) return;
    if (!expect(r, p.cause == cause, what, p.cause, cause)) return;
    expect(r, p.tval == tval, what, p.tval, tval);
}

static void expect_value(struct result *r, const char *what, struct mprv_probe p, u64 value)
{
    if (!expect(r, p.traps == 0, what, p.cause, 0)) return;
    expect(r, p.value == value, what, p.value, value);
}

/* Saved and restored around the MPRV tests: PMP entries 0/1, satp. */
struct mprv_saved { u64 cfg0, addr0, addr1, satp; };

static void mprv_setup_pmp(struct mprv_saved *s, u64 denied)
{
    s->cfg0 = csr_read(pmpcfg0);
    s->addr0 = csr_read(pmpaddr0);
    s->addr1 = csr_read(pmpaddr1);
    s->satp = csr_read(satp);
    /* Entry 0: the denied page, no permission for S/U; entry 1: the rest. */
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, (denied >> 2) | 0x1ff);
    csr_write(pmpaddr1, ~0UL);
    csr_write(pmpcfg0, (u64)PMP_NAPOT | ((u64)(PMP_NAPOT | PMP_RWX) << 8));
}

static void mprv_restore(struct mprv_saved *s)
{
    csr_write(satp, s->satp);
    __asm__ volatile("sfence.vma" ::: "memory");
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, s->addr0);
    csr_write(pmpaddr1, s->addr1);
    csr_write(pmpcfg0, s->cfg0);
}

#define MPP_S (1UL << 11)
#define MPP_U (0UL << 11)
#define MPP_M (3UL << 11)

static void test_mprv_bare(void)
{
    struct result r;
    begin(&r, "mprv-bare");
    u64 denied = (u64)mprv_pages[0], allowed = (u64)mprv_pages[1];
    *(volatile u64 *)denied = 0x0123456789abcdefUL;
    *(volatile u64 *)allowed = 0x1122334455667788UL;
    struct mprv_saved saved;
    mprv_setup_pmp(&saved, denied);
    csr_write(satp, 0);
    __asm__ volatile("sfence.vma" ::: "memory");

    expect_value(&r, "S-load-allowed", probe_mprv(0, allowed, MPP_S, 0), 0x1122334455667788UL);
    expect_fault(&r, "S-load-denied", probe_mprv(0, denied + 8, MPP_S, 0), CAUSE_LOAD_FAULT, denied + 8);
    expect_fault(&r, "S-store-denied", probe_mprv(1, denied + 16, MPP_S, 0x5a), CAUSE_STORE_FAULT, denied + 16);
    expect_fault(&r, "U-load-denied", probe_mprv(0, denied, MPP_U, 0), CAUSE_LOAD_FAULT, denied);
    struct mprv_probe st = probe_mprv(1, allowed + 8, MPP_S, 0xfeedUL);
    expect_value(&r, "S-store-allowed", st, 0);
    EXPECT_EQ(&r, "S-store-allowed-value", *(volatile u64 *)(allowed + 8), 0xfeedUL);
    /* MPP = M: MPRV has no effect, the unlocked entry does not bind M. */
    expect_value(&r, "M-load-denied-page", probe_mprv(0, denied, MPP_M, 0), 0x0123456789abcdefUL);
    st = probe_mprv(1, denied + 24, MPP_M, 0x77UL);
    expect_value(&r, "M-store-denied-page", st, 0);
    EXPECT_EQ(&r, "M-store-denied-page-value", *(volatile u64 *)(denied + 24), 0x77UL);
    EXPECT_EQ(&r, "S-store-denied-untouched", *(volatile u64 *)(denied + 16), 0);
    EXPECT_EQ(&r, "mstatus.MPRV-after", csr_read(mstatus) & MSTATUS_MPRV, 0);

    mprv_restore(&saved);
    end(&r);
}

static void test_mprv_sv39(void)
{
    struct result r;
    begin(&r, "mprv-sv39");
    u64 denied = (u64)mprv_pages[0], allowed = (u64)mprv_pages[1];
    volatile u64 *root = (volatile u64 *)mprv_pages[2];
    *(volatile u64 *)allowed = 0x1122334455667788UL;
    *(volatile u64 *)(allowed + 8) = 0;
    struct mprv_saved saved;
    mprv_setup_pmp(&saved, denied);

    /* Gigapage 2 (VA 0x8000_0000) -> PA 0x8000_0000, supervisor-only;
       gigapage 3 (VA 0xC000_0000) -> PA 0x8000_0000, user; the rest invalid. */
    for (int i = 0; i < 512; i++) root[i] = 0;
    u64 leaf = ((0x80000000UL >> 12) << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    root[2] = leaf;
    root[3] = leaf | PTE_U;
    u64 user_alias = allowed - 0x80000000UL + 0xC0000000UL;
    csr_write(satp, (8UL << 60) | ((u64)root >> 12));
    __asm__ volatile("sfence.vma" ::: "memory");
    if (!expect(&r, (csr_read(satp) >> 60) == 8, "satp-Sv39", csr_read(satp), 8UL << 60)) {
        mprv_restore(&saved);
        end(&r);
        return;
    }

    expect_value(&r, "S-load-supervisor-page", probe_mprv(0, allowed, MPP_S, 0), 0x1122334455667788UL);
    expect_fault(&r, "S-load-user-page-SUM=0", probe_mprv(0, user_alias, MPP_S, 0), 13, user_alias);
    expect_fault(&r, "S-store-user-page-SUM=0", probe_mprv(1, user_alias + 8, MPP_S, 1), 15, user_alias + 8);
    expect_value(&r, "S-load-user-page-SUM=1",
                 probe_mprv(0, user_alias, MPP_S | MSTATUS_SUM, 0), 0x1122334455667788UL);
    expect_value(&r, "S-store-user-page-SUM=1",
                 probe_mprv(1, user_alias + 8, MPP_S | MSTATUS_SUM, 0x99UL), 0);
    EXPECT_EQ(&r, "S-store-user-page-SUM=1-value", *(volatile u64 *)(allowed + 8), 0x99UL);
    expect_fault(&r, "U-load-supervisor-page", probe_mprv(0, allowed, MPP_U, 0), 13, allowed);
    expect_value(&r, "U-load-user-page", probe_mprv(0, user_alias, MPP_U, 0), 0x1122334455667788UL);
    expect_fault(&r, "S-load-unmapped", probe_mprv(0, 0x40000000UL, MPP_S, 0), 13, 0x40000000UL);
    expect_fault(&r, "S-store-unmapped", probe_mprv(1, 0x40000010UL, MPP_S, 0), 15, 0x40000010UL);
    /* Translation succeeds, the PMP still denies the page. */
    expect_fault(&r, "S-load-denied-page", probe_mprv(0, denied, MPP_S, 0), CAUSE_LOAD_FAULT, denied);
    /* MPP = M: no translation, no PMP. */
    expect_value(&r, "M-load", probe_mprv(0, allowed, MPP_M, 0), 0x1122334455667788UL);
    EXPECT_EQ(&r, "mstatus.MPRV-after", csr_read(mstatus) & MSTATUS_MPRV, 0);

    mprv_restore(&saved);
    end(&r);
}

/* ---- PLIC: the real PLIC's semantics, seen from M-mode ---------------------- */

/*
 * Source 10 is the UART's THRE interrupt: the line is high while THR is
 * empty and IER.THRE = 1. The tests read mip with mie = 0 and MIE = 0, so
 * nothing is ever taken; they leave IER = 0, the enables and thresholds as
 * found, and complete every source they claimed.
 */
#define UART_BIT     (1U << (UART_IRQ % 32))
#define MIP_XEIP     (MIP_MEIP | MIP_SEIP)
#define LSR_TEMT     0x40

/* What QEMU 7.2's PLIC does natively (the reference; see the NOTEs). */
#define PLIC_PENDING_AFTER_LOWER          1
#define PLIC_PENDING_AFTER_COMPLETE_HIGH  0
#define PLIC_CLAIM_IGNORES_THRESHOLD      0
#define PLIC_EXPECT_BEYOND                expect_reserved
#define PLIC_PRIORITY0_AFTER_ONES         0
#define PLIC_PRIORITY_AFTER_ONES          7
#define PLIC_THRESHOLD_AFTER_ONES         7
#define PLIC_PRIORITY_AFTER_3_9           1
#define PLIC_THRESHOLD_AFTER_3_9          1

struct plic_saved { u32 prio, en[4], th[4]; u64 nctx; };

static void plic_save(struct plic_saved *s)
{
    s->nctx = nharts > 1 ? 4 : 2;
    s->prio = mmio_r32(PLIC_PRIORITY(UART_IRQ));
    for (u64 c = 0; c < s->nctx; c++) {
        s->en[c] = mmio_r32(PLIC_ENABLE(c, UART_IRQ));
        s->th[c] = mmio_r32(PLIC_THRESHOLD(c));
    }
}

static u32 plic_pending10(void)
{
    return (mmio_r32(PLIC_PENDING(UART_IRQ)) >> (UART_IRQ % 32)) & 1;
}

static void uart_raise(void)
{
    u64 start = mtime();
    while (!(mmio_r8(UART_LSR) & LSR_TEMT) && mtime() - start < 100 * TICKS_PER_MS)
        ;
    mmio_w8(UART_IER, 0x02);
}

static void uart_lower(void) { mmio_w8(UART_IER, 0); }

static void plic_set_enable(u64 ctx, int on)
{
    u32 en = mmio_r32(PLIC_ENABLE(ctx, UART_IRQ));
    mmio_w32(PLIC_ENABLE(ctx, UART_IRQ), on ? (en | UART_BIT) : (en & ~UART_BIT));
}

/* Line low, a stale pending bit of source 10 claimed and completed on
   context 0, then everything as found. */
static void plic_restore(struct plic_saved *s)
{
    uart_lower();
    if (plic_pending10()) {
        mmio_w32(PLIC_THRESHOLD(0), 0);
        mmio_w32(PLIC_PRIORITY(UART_IRQ), 1);
        plic_set_enable(0, 1);
        u32 c = mmio_r32(PLIC_CLAIM(0));
        if (c) mmio_w32(PLIC_CLAIM(0), c);
    }
    for (u64 c = 0; c < s->nctx; c++) {
        mmio_w32(PLIC_ENABLE(c, UART_IRQ), s->en[c]);
        mmio_w32(PLIC_THRESHOLD(c), s->th[c]);
    }
    mmio_w32(PLIC_PRIORITY(UART_IRQ), s->prio);
}

/* mip, polled until (mip & mask) == want or `ticks` pass. */
static u64 poll_mip(u64 mask, u64 want, u64 ticks)
{
    u64 start = mtime(), m;
    do {
        m = csr_read(mip);
        if ((m & mask) == want) break;
    } while (mtime() - start < ticks);
    return m;
}

static void plic_quiet(void)
{
    csr_write(mie, 0);
    csr_clear(mstatus, MSTATUS_MIE);
}

static void test_plic_m_and_s(void)
{
    struct result r;
    struct plic_saved s;
    if (plic_skip("plic-m-and-s")) return;
    begin(&r, "plic-m-and-s");
    plic_quiet();
    plic_save(&s);
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 2);
    mmio_w32(PLIC_THRESHOLD(0), 1);
    mmio_w32(PLIC_THRESHOLD(1), 1);
    plic_set_enable(0, 1);
    plic_set_enable(1, 1);
    for (int round = 0; round < 2; round++) {
        u64 ctx = round == 0 ? 1 : 0;       /* claim on S, then on M */
        uart_raise();
        u64 m1 = poll_mip(MIP_XEIP, MIP_XEIP, 200 * TICKS_PER_MS);
        u32 p1 = plic_pending10();
        u32 c = mmio_r32(PLIC_CLAIM(ctx));
        u32 p2 = plic_pending10();
        u64 m2 = csr_read(mip);
        uart_lower();
        u64 m3 = csr_read(mip);
        if (c) mmio_w32(PLIC_CLAIM(ctx), c);
        u32 p4 = plic_pending10();
        u64 m4 = csr_read(mip);
        EXPECT_EQ(&r, ctx ? "S-claim: mip.MEIP|SEIP-raised" : "M-claim: mip.MEIP|SEIP-raised",
                  m1 & MIP_XEIP, MIP_XEIP);
        EXPECT_EQ(&r, ctx ? "S-claim: pending-raised" : "M-claim: pending-raised", p1, 1);
        EXPECT_EQ(&r, ctx ? "S-claim: claim" : "M-claim: claim", c, UART_IRQ);
        EXPECT_EQ(&r, ctx ? "S-claim: pending-after-claim" : "M-claim: pending-after-claim", p2, 0);
        EXPECT_EQ(&r, ctx ? "S-claim: mip.MEIP|SEIP-after-claim" : "M-claim: mip.MEIP|SEIP-after-claim",
                  m2 & MIP_XEIP, 0);
        EXPECT_EQ(&r, ctx ? "S-claim: mip-after-lower" : "M-claim: mip-after-lower", m3 & MIP_XEIP, 0);
        EXPECT_EQ(&r, ctx ? "S-claim: pending-after-complete" : "M-claim: pending-after-complete", p4, 0);
        EXPECT_EQ(&r, ctx ? "S-claim: mip-after-complete" : "M-claim: mip-after-complete", m4 & MIP_XEIP, 0);
    }
    plic_restore(&s);
    end(&r);
}

static void test_plic_pending_before_enable(void)
{
    struct result r;
    struct plic_saved s;
    if (plic_skip("plic-pending-before-enable")) return;
    begin(&r, "plic-pending-before-enable");
    plic_quiet();
    plic_save(&s);
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 1);
    mmio_w32(PLIC_THRESHOLD(0), 0);
    plic_set_enable(0, 0);
    plic_set_enable(1, 0);
    uart_raise();
    u64 m0 = poll_mip(MIP_XEIP, MIP_XEIP, 5 * TICKS_PER_MS);   /* must not rise */
    u32 p0 = plic_pending10();
    plic_set_enable(0, 1);
    /* No assertion on mip.MEIP here: QEMU 7.2 re-evaluates its outputs only
       on the next PLIC event after an enable write. */
    u32 p1 = plic_pending10();
    u32 c = mmio_r32(PLIC_CLAIM(0));
    u32 p2 = plic_pending10();
    uart_lower();
    if (c) mmio_w32(PLIC_CLAIM(0), c);
    u64 m3 = csr_read(mip);
    EXPECT_EQ(&r, "mip-while-disabled", m0 & MIP_XEIP, 0);
    EXPECT_EQ(&r, "pending-while-disabled", p0, 1);
    EXPECT_EQ(&r, "pending-after-enable", p1, 1);
    EXPECT_EQ(&r, "claim", c, UART_IRQ);
    EXPECT_EQ(&r, "pending-after-claim", p2, 0);
    EXPECT_EQ(&r, "mip-after-complete", m3 & MIP_XEIP, 0);
    plic_restore(&s);
    end(&r);
}

static void test_plic_claim_right_after_raise(void)
{
    struct result r;
    struct plic_saved s;
    if (plic_skip("plic-claim-right-after-raise")) return;
    begin(&r, "plic-claim-right-after-raise");
    plic_quiet();
    plic_save(&s);
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 1);
    mmio_w32(PLIC_THRESHOLD(0), 0);
    plic_set_enable(0, 1);
    u64 start = mtime();
    while (!(mmio_r8(UART_LSR) & LSR_TEMT) && mtime() - start < 100 * TICKS_PER_MS)
        ;
    u32 c;
    __asm__ volatile(
        ".option push\n.option norvc\n"
        "sb %2, 0(%1)\n"
        "lw %0, 0(%3)\n"
        ".option pop\n"
        : "=&r"(c) : "r"(UART_IER), "r"(2), "r"(PLIC_CLAIM(0)) : "memory");
    uart_lower();
    if (c) mmio_w32(PLIC_CLAIM(0), c);
    u32 p = plic_pending10();
    EXPECT_EQ(&r, "claim", c, UART_IRQ);
    EXPECT_EQ(&r, "pending-after-complete", p, 0);
    plic_restore(&s);
    end(&r);
}

static void test_plic_claim_complete_pending(void)
{
    struct result r;
    struct plic_saved s;
    if (plic_skip("plic-claim-complete-pending")) return;
    begin(&r, "plic-claim-complete-pending");
    plic_quiet();
    plic_save(&s);
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 1);
    mmio_w32(PLIC_THRESHOLD(0), 0);
    plic_set_enable(0, 1);

    /* Raise, claim, lower, complete. */
    uart_raise();
    u32 p1 = plic_pending10();
    u32 c1 = mmio_r32(PLIC_CLAIM(0));
    u32 p2 = plic_pending10();
    uart_lower();
    u32 p3 = plic_pending10();
    if (c1) mmio_w32(PLIC_CLAIM(0), c1);
    u32 p4 = plic_pending10();
    u64 m4 = csr_read(mip);
    EXPECT_EQ(&r, "1: pending-raised", p1, 1);
    EXPECT_EQ(&r, "1: claim", c1, UART_IRQ);
    EXPECT_EQ(&r, "1: pending-after-claim", p2, 0);
    EXPECT_EQ(&r, "1: pending-after-lower", p3, 0);
    EXPECT_EQ(&r, "1: pending-after-complete", p4, 0);
    EXPECT_EQ(&r, "1: mip.MEIP-after-complete", m4 & MIP_MEIP, 0);

    /* Raise, lower without a claim: does lowering the line clear pending? */
    uart_raise();
    u32 p5 = plic_pending10();
    uart_lower();
    u32 p6 = plic_pending10();
    u64 m6 = csr_read(mip);
    u32 c2 = mmio_r32(PLIC_CLAIM(0));
    if (c2) mmio_w32(PLIC_CLAIM(0), c2);
    u32 p7 = plic_pending10();
    EXPECT_EQ(&r, "2: pending-raised", p5, 1);
    EXPECT_EQ(&r, "2: pending-after-lower", p6, PLIC_PENDING_AFTER_LOWER);
    EXPECT_EQ(&r, "2: mip.MEIP-after-lower", m6 & MIP_MEIP, PLIC_PENDING_AFTER_LOWER ? MIP_MEIP : 0);
    EXPECT_EQ(&r, "2: claim-after-lower", c2, PLIC_PENDING_AFTER_LOWER ? UART_IRQ : 0);
    EXPECT_EQ(&r, "2: pending-after-claim", p7, 0);

    /* Raise, claim, complete with the line still high, then lower. */
    uart_raise();
    u32 c3 = mmio_r32(PLIC_CLAIM(0));
    u32 p8 = plic_pending10();
    if (c3) mmio_w32(PLIC_CLAIM(0), c3);
    u32 p9 = plic_pending10();
    u64 m9 = csr_read(mip);
    uart_lower();
    u32 p10 = plic_pending10();
    u32 c4 = mmio_r32(PLIC_CLAIM(0));
    if (c4) mmio_w32(PLIC_CLAIM(0), c4);
    EXPECT_EQ(&r, "3: claim", c3, UART_IRQ);
    EXPECT_EQ(&r, "3: pending-after-claim", p8, 0);
    EXPECT_EQ(&r, "3: pending-after-complete-line-high", p9, PLIC_PENDING_AFTER_COMPLETE_HIGH);
    EXPECT_EQ(&r, "3: mip.MEIP-after-complete-line-high", m9 & MIP_MEIP,
              PLIC_PENDING_AFTER_COMPLETE_HIGH ? MIP_MEIP : 0);
    EXPECT_EQ(&r, "3: pending-after-lower", p10, PLIC_PENDING_AFTER_COMPLETE_HIGH && PLIC_PENDING_AFTER_LOWER);
    EXPECT_EQ(&r, "3: claim-after-lower", c4,
              (PLIC_PENDING_AFTER_COMPLETE_HIGH && PLIC_PENDING_AFTER_LOWER) ? UART_IRQ : 0);
    if (native) {
        note("plic-claim-complete-pending", "pending after lower without claim", p6);
        note("plic-claim-complete-pending", "pending after complete with the line high", p9);
    }
    plic_restore(&s);
    end(&r);
}

/* A claim with the source's priority at the threshold. */
static void test_plic_claim_threshold(void)
{
    struct result r;
    struct plic_saved s;
    if (plic_skip("plic-claim-threshold")) return;
    begin(&r, "plic-claim-threshold");
    plic_quiet();
    plic_save(&s);
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 2);
    mmio_w32(PLIC_THRESHOLD(0), 2);
    plic_set_enable(0, 1);
    uart_raise();
    u64 m1 = poll_mip(MIP_MEIP, MIP_MEIP, 5 * TICKS_PER_MS);   /* must not rise */
    u32 p1 = plic_pending10();
    u32 c1 = mmio_r32(PLIC_CLAIM(0));
    if (c1) mmio_w32(PLIC_CLAIM(0), c1);
    u32 p2 = plic_pending10();
    /* Threshold below the priority: the line comes through. */
    mmio_w32(PLIC_THRESHOLD(0), 1);
    u64 m3 = poll_mip(MIP_MEIP, MIP_MEIP, 200 * TICKS_PER_MS);
    u32 c3 = mmio_r32(PLIC_CLAIM(0));
    uart_lower();
    if (c3) mmio_w32(PLIC_CLAIM(0), c3);
    EXPECT_EQ(&r, "mip.MEIP-at-threshold", m1 & MIP_MEIP, 0);
    EXPECT_EQ(&r, "pending-at-threshold", p1, 1);
    EXPECT_EQ(&r, "claim-at-threshold", c1, PLIC_CLAIM_IGNORES_THRESHOLD ? UART_IRQ : 0);
    EXPECT_EQ(&r, "pending-after-claim-at-threshold", p2, PLIC_CLAIM_IGNORES_THRESHOLD ? 0 : 1);
    if (!PLIC_CLAIM_IGNORES_THRESHOLD) {
        EXPECT_EQ(&r, "mip.MEIP-after-threshold-lowered", m3 & MIP_MEIP, MIP_MEIP);
        EXPECT_EQ(&r, "claim-after-threshold-lowered", c3, UART_IRQ);
    }
    if (native) note("plic-claim-threshold", "claim with priority == threshold returned", c1);
    plic_restore(&s);
    end(&r);
}

/* Loads and stores at reserved device offsets: value and whether they trap. */
struct probe32 { u64 ltraps, lcause, value, straps, scause, after; };

static struct probe32 probe32(u64 addr)
{
    struct hart_state *hs = &harts[0];
    struct probe32 p = {0, 0, 0, 0, 0, 0};
    hs->mode = TRAP_SKIP;
    hs->mcause = 0;
    u64 n = hs->ntraps;
    p.value = mmio_r32(addr);
    p.ltraps = hs->ntraps - n;
    p.lcause = p.ltraps ? hs->mcause : 0;
    if (p.ltraps) p.value = 0xdead;
    n = hs->ntraps;
    mmio_w32(addr, 0xffffffffU);
    p.straps = hs->ntraps - n;
    p.scause = p.straps ? hs->mcause : 0;
    n = hs->ntraps;
    p.after = mmio_r32(addr);
    if (hs->ntraps != n) p.after = 0xdead;
    hs->mode = TRAP_UNEXPECTED;
    return p;
}

/* Expect: reads 0, the store is ignored, nothing traps. A miss prints the
   address and what happened (up to 8 of them); the FAIL line names the
   first one: got = load cause << 32 | store cause (traps) or the value. */
static u64 reserved_misses;

static void expect_reserved(struct result *r, const char *what, u64 addr)
{
    struct probe32 p = probe32(addr);
    int ok = !p.ltraps && !p.straps && !p.value && !p.after;
    if (!ok && reserved_misses++ < 8) {
        note(r->name, what, addr);
        note(r->name, "  load: traps/cause/value", (p.ltraps << 40) | (p.lcause << 32) | (p.value & 0xffffffffUL));
        note(r->name, "  store: traps/cause, then reads", (p.straps << 40) | (p.scause << 32) | (p.after & 0xffffffffUL));
    }
    if (p.ltraps || p.straps)
        expect(r, 0, what, (p.ltraps ? p.lcause << 32 : 0) | (p.straps ? p.scause : 0), 0);
    else if (p.value)
        expect(r, 0, what, p.value, 0);
    else
        expect(r, p.after == 0, what, p.after, 0);
}

static void test_plic_reserved(u64 fdt)
{
    struct result r;
    if (plic_skip("plic-reserved-offsets")) return;
    begin(&r, "plic-reserved-offsets");
    plic_quiet();
    i64 ndev = fdt_find_u32(fdt, "riscv,ndev");
    if (!expect(&r, ndev > 0 && ndev < 1023, "riscv,ndev", (u64)ndev, 96)) {
        end(&r);
        return;
    }
    u64 nsrc = (u64)ndev + 1;                   /* sources 0..ndev */
    u64 words = (nsrc + 31) / 32;
    u64 nctx = 2 * nharts;
    /* Priorities beyond the last source, up to the pending array. */
    expect_reserved(&r, "priority[ndev+1]", PLIC_PRIORITY(nsrc));
    expect_reserved(&r, "priority[ndev+2]", PLIC_PRIORITY(nsrc + 1));
    expect_reserved(&r, "priority[1023]", PLIC_PRIORITY(1023));
    /* Pending words beyond the sources; the gap up to the enables. */
    expect_reserved(&r, "pending[words]", PLIC_BASE + 0x1000 + 4 * words);
    expect_reserved(&r, "pending-gap-0x1ffc", PLIC_BASE + 0x1ffc);
    /* Enable words beyond the sources, of every context. */
    for (u64 c = 0; c < nctx; c++)
        expect_reserved(&r, "enable[ctx][words]", PLIC_BASE + 0x2000 + 0x80 * c + 4 * words);
    expect_reserved(&r, "enable[0][31]", PLIC_BASE + 0x2000 + 0x7c);
    /* Enables of contexts that do not exist. */
    expect_reserved(&r, "enable[nctx][0]", PLIC_ENABLE(nctx, 0));
    expect_reserved(&r, "enable[15871][0]", PLIC_ENABLE(15871, 0));
    /* Context blocks: offsets 8..0xffc. */
    for (u64 c = 0; c < nctx; c++) {
        expect_reserved(&r, "context[ctx]+8", PLIC_THRESHOLD(c) + 8);
        expect_reserved(&r, "context[ctx]+0xffc", PLIC_THRESHOLD(c) + 0xffc);
    }
    /* Context blocks of contexts that do not exist (inside the device
       tree's reg, beyond the harts). */
    PLIC_EXPECT_BEYOND(&r, "threshold[nctx]", PLIC_THRESHOLD(nctx));
    PLIC_EXPECT_BEYOND(&r, "claim[nctx]", PLIC_CLAIM(nctx));
    /* CLINT: msip and mtimecmp of harts that do not exist. */
    expect_reserved(&r, "clint-msip[nharts]", CLINT_MSIP(nharts));
    expect_reserved(&r, "clint-msip[4094]", CLINT_MSIP(4094));
    /* Source 0's priority: reserved (no source 0). */
    struct probe32 p0 = probe32(PLIC_PRIORITY(0));
    mmio_w32(PLIC_PRIORITY(0), 0);
    if (native) note("plic-reserved-offsets", "priority[0] after writing ~0 reads", p0.after);
    expect(&r, p0.ltraps == 0 && p0.straps == 0, "priority[0]-traps", p0.ltraps + p0.straps, 0);
    EXPECT_EQ(&r, "priority[0]-after-~0", p0.after, PLIC_PRIORITY0_AFTER_ONES);
    /* Priority is WARL: ~0 into source 10's. */
    u32 pr = mmio_r32(PLIC_PRIORITY(UART_IRQ));
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 0xffffffffU);
    u32 prw = mmio_r32(PLIC_PRIORITY(UART_IRQ));
    mmio_w32(PLIC_PRIORITY(UART_IRQ), pr);
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 3);
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 9);
    u32 pr9 = mmio_r32(PLIC_PRIORITY(UART_IRQ));
    mmio_w32(PLIC_PRIORITY(UART_IRQ), pr);
    if (native) note("plic-reserved-offsets", "priority[10] after writing ~0 reads", prw);
    if (native) note("plic-reserved-offsets", "priority[10] after writing 3 then 9 reads", pr9);
    EXPECT_EQ(&r, "priority[10]-after-~0", prw, PLIC_PRIORITY_AFTER_ONES);
    EXPECT_EQ(&r, "priority[10]-after-3-then-9", pr9, PLIC_PRIORITY_AFTER_3_9);
    /* Threshold is WARL too. */
    u32 th = mmio_r32(PLIC_THRESHOLD(0));
    mmio_w32(PLIC_THRESHOLD(0), 0xffffffffU);
    u32 thw = mmio_r32(PLIC_THRESHOLD(0));
    mmio_w32(PLIC_THRESHOLD(0), th);
    mmio_w32(PLIC_THRESHOLD(0), 3);
    mmio_w32(PLIC_THRESHOLD(0), 9);
    u32 th9 = mmio_r32(PLIC_THRESHOLD(0));
    mmio_w32(PLIC_THRESHOLD(0), th);
    if (native) note("plic-reserved-offsets", "threshold[0] after writing ~0 reads", thw);
    if (native) note("plic-reserved-offsets", "threshold[0] after writing 3 then 9 reads", th9);
    EXPECT_EQ(&r, "threshold[0]-after-~0", thw, PLIC_THRESHOLD_AFTER_ONES);
    EXPECT_EQ(&r, "threshold[0]-after-3-then-9", th9, PLIC_THRESHOLD_AFTER_3_9);
    /* The pending array is read-only. */
    u32 pw = mmio_r32(PLIC_PENDING(0));
    mmio_w32(PLIC_PENDING(0), 0xffffffffU);
    u32 pw2 = mmio_r32(PLIC_PENDING(0));
    EXPECT_EQ(&r, "pending[0]-write-ignored", pw2, pw);
    end(&r);
}

/* The payload's S-mode accesses to the M-context registers: the firmware
   sees what the payload wrote, and a payload claim on context 0 works. */
static struct mprv_probe s_access(u64 op, u64 addr, u64 value)
{
    struct hart_state *hs = &harts[0];
    struct mprv_probe p = {0, 0, 0, 0};
    hs->mode = TRAP_RECOVER_RA;
    hs->mcause = hs->mtval = 0;
    u64 n = hs->ntraps;
    p.value = smode_access(op, addr, value);
    hs->mode = TRAP_UNEXPECTED;
    p.traps = hs->ntraps - n;
    p.cause = hs->mcause;
    p.tval = hs->mtval;
    return p;
}

static int s_ok(struct result *r, const char *what, struct mprv_probe p)
{
    if (!expect(r, p.traps == 1 && p.cause == CAUSE_ECALL_S, what, p.cause, CAUSE_ECALL_S)) return 0;
    return expect(r, harts[0].mepc == (u64)smode_access_ecall, what, harts[0].mepc, (u64)smode_access_ecall);
}

static void smode_pmp_all(void)
{
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, ~0UL);
    csr_write(pmpcfg0, 0x1f);
}

static void test_plic_smode_m_context(void)
{
    struct result r;
    struct plic_saved s;
    if (plic_skip("plic-smode-m-context")) return;
    begin(&r, "plic-smode-m-context");
    plic_quiet();
    plic_save(&s);
    smode_pmp_all();
    /* S writes context 0's threshold and reads it back; M sees it. */
    struct mprv_probe p = s_access(1, PLIC_THRESHOLD(0), 3);
    s_ok(&r, "S-store-threshold0", p);
    EXPECT_EQ(&r, "M-reads-threshold0", mmio_r32(PLIC_THRESHOLD(0)), 3);
    p = s_access(0, PLIC_THRESHOLD(0), 0);
    if (s_ok(&r, "S-load-threshold0", p)) EXPECT_EQ(&r, "S-reads-threshold0", p.value, 3);
    mmio_w32(PLIC_THRESHOLD(0), 0);
    p = s_access(0, PLIC_THRESHOLD(0), 0);
    if (s_ok(&r, "S-load-threshold0-again", p)) EXPECT_EQ(&r, "S-reads-M-write", p.value, 0);
    /* S writes context 0's enable word; M reads it back. */
    u32 en = mmio_r32(PLIC_ENABLE(0, UART_IRQ));
    p = s_access(1, PLIC_ENABLE(0, UART_IRQ), en | UART_BIT);
    s_ok(&r, "S-store-enable0", p);
    EXPECT_EQ(&r, "M-reads-enable0", mmio_r32(PLIC_ENABLE(0, UART_IRQ)), en | UART_BIT);
    /* S claims on context 0, then completes. */
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 1);
    uart_raise();
    u64 m1 = poll_mip(MIP_MEIP, MIP_MEIP, 200 * TICKS_PER_MS);
    p = s_access(0, PLIC_CLAIM(0), 0);
    u64 c = p.value;
    int ok = s_ok(&r, "S-claim0", p);
    u32 p2 = plic_pending10();
    u64 m2 = csr_read(mip);
    uart_lower();
    struct mprv_probe pc = s_access(1, PLIC_CLAIM(0), c);
    EXPECT_EQ(&r, "mip.MEIP-raised", m1 & MIP_MEIP, MIP_MEIP);
    if (ok) EXPECT_EQ(&r, "S-claim0-value", c, UART_IRQ);
    EXPECT_EQ(&r, "pending-after-S-claim", p2, 0);
    EXPECT_EQ(&r, "mip.MEIP-after-S-claim", m2 & MIP_MEIP, 0);
    s_ok(&r, "S-complete0", pc);
    /* The firmware's next claim finds nothing: S's complete was real. */
    u32 c2 = mmio_r32(PLIC_CLAIM(0));
    if (c2) mmio_w32(PLIC_CLAIM(0), c2);
    EXPECT_EQ(&r, "M-claim-after-S-complete", c2, 0);
    plic_restore(&s);
    end(&r);
}

/* The payload's own S context (1): claim and complete natively from S;
   SEIP follows. */
static void test_plic_smode_s_context(void)
{
    struct result r;
    struct plic_saved s;
    if (plic_skip("plic-smode-s-context")) return;
    begin(&r, "plic-smode-s-context");
    plic_quiet();
    plic_save(&s);
    smode_pmp_all();
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 1);
    struct mprv_probe p = s_access(1, PLIC_THRESHOLD(1), 0);
    s_ok(&r, "S-store-threshold1", p);
    p = s_access(1, PLIC_ENABLE(1, UART_IRQ), mmio_r32(PLIC_ENABLE(1, UART_IRQ)) | UART_BIT);
    s_ok(&r, "S-store-enable1", p);
    EXPECT_EQ(&r, "M-reads-enable1", mmio_r32(PLIC_ENABLE(1, UART_IRQ)) & UART_BIT, UART_BIT);
    uart_raise();
    u64 m1 = poll_mip(MIP_SEIP, MIP_SEIP, 200 * TICKS_PER_MS);
    p = s_access(0, PLIC_PENDING(UART_IRQ), 0);
    u64 pend = p.value;
    s_ok(&r, "S-load-pending", p);
    p = s_access(0, PLIC_CLAIM(1), 0);
    u64 c = p.value;
    int ok = s_ok(&r, "S-claim1", p);
    u64 m2 = csr_read(mip);
    u32 p2 = plic_pending10();
    uart_lower();
    struct mprv_probe pc = s_access(1, PLIC_CLAIM(1), c);
    EXPECT_EQ(&r, "mip.SEIP-raised", m1 & MIP_XEIP, MIP_SEIP);
    EXPECT_EQ(&r, "S-pending", (pend >> UART_IRQ) & 1, 1);
    if (ok) EXPECT_EQ(&r, "S-claim1-value", c, UART_IRQ);
    EXPECT_EQ(&r, "mip.SEIP-after-S-claim", m2 & MIP_XEIP, 0);
    EXPECT_EQ(&r, "pending-after-S-claim", p2, 0);
    s_ok(&r, "S-complete1", pc);
    plic_restore(&s);
    end(&r);
}

/* The firmware's PMP over the PLIC binds the payload: S accesses it denies
   fault (5/7, mtval = the address) into the firmware, its own S-context page
   included; what it allows works. */
static void expect_s_fault(struct result *r, const char *what, struct mprv_probe p, u64 cause, u64 addr)
{
    if (!expect(r, p.traps == 1 && p.cause == cause, what, p.cause, cause)) return;
    expect(r, p.tval == addr, what, p.tval, addr);
}

#define PMP_NAPOT_ADDR(base, size) (((base) >> 2) | (((size) >> 3) - 1))

static void test_plic_smode_pmp(void)
{
    struct result r;
    struct plic_saved s;
    if (plic_skip("plic-smode-pmp")) return;
    begin(&r, "plic-smode-pmp");
    plic_quiet();
    plic_save(&s);
    mmio_w32(PLIC_THRESHOLD(0), 2);
    mmio_w32(PLIC_THRESHOLD(1), 1);
    u64 s_page = PLIC_THRESHOLD(1);

    /* Entry 0: the whole PLIC (64 MiB), no access; entry 1: the rest. */
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, PMP_NAPOT_ADDR(PLIC_BASE, 0x4000000UL));
    csr_write(pmpaddr1, ~0UL);
    csr_write(pmpcfg0, 0x18UL | (0x1fUL << 8));
    expect_s_fault(&r, "deny-all: S-load-threshold1", s_access(0, PLIC_THRESHOLD(1), 0),
                   CAUSE_LOAD_FAULT, PLIC_THRESHOLD(1));
    expect_s_fault(&r, "deny-all: S-load-claim1", s_access(0, PLIC_CLAIM(1), 0),
                   CAUSE_LOAD_FAULT, PLIC_CLAIM(1));
    expect_s_fault(&r, "deny-all: S-store-threshold1", s_access(1, PLIC_THRESHOLD(1), 5),
                   CAUSE_STORE_FAULT, PLIC_THRESHOLD(1));
    expect_s_fault(&r, "deny-all: S-store-threshold0", s_access(1, PLIC_THRESHOLD(0), 5),
                   CAUSE_STORE_FAULT, PLIC_THRESHOLD(0));
    expect_s_fault(&r, "deny-all: S-store-priority10", s_access(1, PLIC_PRIORITY(UART_IRQ), 5),
                   CAUSE_STORE_FAULT, PLIC_PRIORITY(UART_IRQ));
    expect_s_fault(&r, "deny-all: S-load-pending", s_access(0, PLIC_PENDING(0), 0),
                   CAUSE_LOAD_FAULT, PLIC_PENDING(0));
    EXPECT_EQ(&r, "deny-all: threshold0-unchanged", mmio_r32(PLIC_THRESHOLD(0)), 2);
    EXPECT_EQ(&r, "deny-all: threshold1-unchanged", mmio_r32(PLIC_THRESHOLD(1)), 1);

    /* Entry 0: only the S-context page RW; entry 1: the PLIC, none; entry 2: all. */
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, PMP_NAPOT_ADDR(s_page, 0x1000UL));
    csr_write(pmpaddr1, PMP_NAPOT_ADDR(PLIC_BASE, 0x4000000UL));
    csr_write(pmpaddr2, ~0UL);
    csr_write(pmpcfg0, 0x1bUL | (0x18UL << 8) | (0x1fUL << 16));
    struct mprv_probe p = s_access(0, PLIC_THRESHOLD(1), 0);
    if (s_ok(&r, "page-only: S-load-threshold1", p)) EXPECT_EQ(&r, "page-only: threshold1", p.value, 1);
    s_ok(&r, "page-only: S-store-threshold1", s_access(1, PLIC_THRESHOLD(1), 3));
    EXPECT_EQ(&r, "page-only: M-reads-threshold1", mmio_r32(PLIC_THRESHOLD(1)), 3);
    expect_s_fault(&r, "page-only: S-store-threshold0", s_access(1, PLIC_THRESHOLD(0), 5),
                   CAUSE_STORE_FAULT, PLIC_THRESHOLD(0));
    expect_s_fault(&r, "page-only: S-load-enable1", s_access(0, PLIC_ENABLE(1, 0), 0),
                   CAUSE_LOAD_FAULT, PLIC_ENABLE(1, 0));
    EXPECT_EQ(&r, "page-only: threshold0-unchanged", mmio_r32(PLIC_THRESHOLD(0)), 2);

    /* Entry 0: the S-context page, no access; entry 1: all. */
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, PMP_NAPOT_ADDR(s_page, 0x1000UL));
    csr_write(pmpaddr1, ~0UL);
    csr_write(pmpaddr2, 0);
    csr_write(pmpcfg0, 0x18UL | (0x1fUL << 8));
    expect_s_fault(&r, "page-denied: S-load-claim1", s_access(0, PLIC_CLAIM(1), 0),
                   CAUSE_LOAD_FAULT, PLIC_CLAIM(1));
    expect_s_fault(&r, "page-denied: S-store-threshold1", s_access(1, PLIC_THRESHOLD(1), 6),
                   CAUSE_STORE_FAULT, PLIC_THRESHOLD(1));
    s_ok(&r, "page-denied: S-store-threshold0", s_access(1, PLIC_THRESHOLD(0), 4));
    EXPECT_EQ(&r, "page-denied: M-reads-threshold0", mmio_r32(PLIC_THRESHOLD(0)), 4);
    EXPECT_EQ(&r, "page-denied: threshold1-unchanged", mmio_r32(PLIC_THRESHOLD(1)), 3);

    /* Read-only over the PLIC: S loads work, S stores fault. */
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, PMP_NAPOT_ADDR(PLIC_BASE, 0x4000000UL));
    csr_write(pmpcfg0, 0x19UL | (0x1fUL << 8));
    p = s_access(0, PLIC_THRESHOLD(1), 0);
    if (s_ok(&r, "read-only: S-load-threshold1", p)) EXPECT_EQ(&r, "read-only: threshold1", p.value, 3);
    expect_s_fault(&r, "read-only: S-store-threshold1", s_access(1, PLIC_THRESHOLD(1), 7),
                   CAUSE_STORE_FAULT, PLIC_THRESHOLD(1));
    expect_s_fault(&r, "read-only: S-store-enable0", s_access(1, PLIC_ENABLE(0, 0), ~0U),
                   CAUSE_STORE_FAULT, PLIC_ENABLE(0, 0));
    EXPECT_EQ(&r, "read-only: threshold1-unchanged", mmio_r32(PLIC_THRESHOLD(1)), 3);

    smode_pmp_all();
    plic_restore(&s);
    end(&r);
}

/* S-mode loads and stores at reserved PLIC offsets: read 0,
   writes ignored, no fault (the firmware's PMP allows everything). */
static void test_plic_smode_reserved(u64 fdt)
{
    struct result r;
    if (plic_skip("plic-smode-reserved-offsets")) return;
    begin(&r, "plic-smode-reserved-offsets");
    plic_quiet();
    smode_pmp_all();
    i64 ndev = fdt_find_u32(fdt, "riscv,ndev");
    u64 nsrc = ndev > 0 ? (u64)ndev + 1 : 97;
    u64 words = (nsrc + 31) / 32, nctx = 2 * nharts;
    u64 addrs[7] = {
        PLIC_PRIORITY(nsrc), PLIC_BASE + 0x1000 + 4 * words, PLIC_BASE + 0x2000 + 4 * words,
        PLIC_ENABLE(nctx, 0), PLIC_THRESHOLD(1) + 8, PLIC_THRESHOLD(0) + 0xffc, PLIC_THRESHOLD(nctx),
    };
    for (int i = 0; i < 7; i++) {
        struct mprv_probe l = s_access(0, addrs[i], 0);
        struct mprv_probe st = s_access(1, addrs[i], ~0U);
        struct mprv_probe l2 = s_access(0, addrs[i], 0);
        int ok = l.cause == CAUSE_ECALL_S && st.cause == CAUSE_ECALL_S && l2.cause == CAUSE_ECALL_S &&
                 l.value == 0 && l2.value == 0;
        if (!ok) {
            note("plic-smode-reserved-offsets", "address", addrs[i]);
            note("plic-smode-reserved-offsets", "  load cause/value", (l.cause << 32) | (l.value & 0xffffffffUL));
            note("plic-smode-reserved-offsets", "  store cause, then load cause/value",
                 (st.cause << 48) | (l2.cause << 32) | (l2.value & 0xffffffffUL));
        }
        if (!expect(&r, l.cause == CAUSE_ECALL_S, "S-load-cause", l.cause, CAUSE_ECALL_S)) continue;
        if (!expect(&r, l.value == 0, "S-load-value", l.value, 0)) continue;
        if (!expect(&r, st.cause == CAUSE_ECALL_S, "S-store-cause", st.cause, CAUSE_ECALL_S)) continue;
        expect(&r, l2.cause == CAUSE_ECALL_S && l2.value == 0, "S-load-after-store", l2.value, 0);
    }
    end(&r);
}

/* The CLINT from S-mode when the firmware's PMP allows it: mtime reads,
   msip[0] written by S raises the firmware's mip.MSIP, msip of a hart that
   does not exist reads 0 and ignores writes. */
static void test_clint_smode(void)
{
    struct result r;
    begin(&r, "clint-smode-access");
    plic_quiet();
    smode_pmp_all();
    u64 t0 = mtime();
    struct mprv_probe p = s_access(0, CLINT_MTIME, 0);
    if (s_ok(&r, "S-load-mtime", p)) expect(&r, p.value != 0, "S-mtime-nonzero", p.value, t0 & 0xffffffffUL);
    p = s_access(1, CLINT_MSIP(0), 1);
    int ok = s_ok(&r, "S-store-msip0", p);
    u64 m = csr_read(mip);
    u32 v = mmio_r32(CLINT_MSIP(0));
    mmio_w32(CLINT_MSIP(0), 0);
    if (ok) {
        EXPECT_EQ(&r, "M-reads-msip0", v, 1);
        EXPECT_EQ(&r, "mip.MSIP", m & MIP_MSIP, MIP_MSIP);
    }
    EXPECT_EQ(&r, "mip.MSIP-after-clear", csr_read(mip) & MIP_MSIP, 0);
    p = s_access(0, CLINT_MSIP(nharts), 0);
    if (s_ok(&r, "S-load-msip[nharts]", p)) EXPECT_EQ(&r, "S-msip[nharts]", p.value, 0);
    s_ok(&r, "S-store-msip[nharts]", s_access(1, CLINT_MSIP(nharts), 1));
    EXPECT_EQ(&r, "M-reads-msip[nharts]", mmio_r32(CLINT_MSIP(nharts)), 0);
    end(&r);
}

/* Hart 1's M context (2) driven by hart 0: hart 1 sees its mip.MEIP rise
   with its mie = 0, and drop when hart 0 claims on context 2. */
static void test_plic_other_hart(void)
{
    struct result r;
    struct plic_saved s;
    if (plic_skip("plic-other-hart")) return;
    if (nharts < 2) {
        skip("plic-other-hart", "needs 2 harts (-smp 2)");
        return;
    }
    begin(&r, "plic-other-hart");
    plic_quiet();
    plic_save(&s);
    mmio_w32(PLIC_PRIORITY(UART_IRQ), 1);
    mmio_w32(PLIC_THRESHOLD(2), 0);
    plic_set_enable(2, 1);
    EXPECT_EQ(&r, "enable2-readback", mmio_r32(PLIC_ENABLE(2, UART_IRQ)) & UART_BIT, UART_BIT);
    ack[1] = 0;
    __asm__ volatile("fence rw, rw" ::: "memory");
    cmd[1] = CMD_WATCH_MIP;
    if (!expect(&r, wait_value(&ack[1], 1, 2000 * TICKS_PER_MS), "hart1-ready", ack[1], 1)) {
        cmd[1] = 0;
        plic_restore(&s);
        end(&r);
        return;
    }
    uart_raise();
    u64 start = mtime(), m1 = 0;
    while (mtime() - start < 500 * TICKS_PER_MS) {
        m1 = watch_mip[1];
        if (m1 & MIP_MEIP) break;
    }
    u64 m0 = csr_read(mip);
    u32 c = mmio_r32(PLIC_CLAIM(2));
    u64 seq = watch_seq[1], m2 = ~0UL;
    start = mtime();
    while (mtime() - start < 500 * TICKS_PER_MS) {
        if (watch_seq[1] > seq + 2) {
            m2 = watch_mip[1];
            if (!(m2 & MIP_MEIP)) break;
        }
    }
    uart_lower();
    if (c) mmio_w32(PLIC_CLAIM(2), c);
    cmd[1] = 0;
    wait_value(&ack[1], 2, 2000 * TICKS_PER_MS);
    EXPECT_EQ(&r, "hart1-mip.MEIP-raised", m1 & MIP_MEIP, MIP_MEIP);
    EXPECT_EQ(&r, "hart0-mip.MEIP", m0 & MIP_MEIP, 0);
    EXPECT_EQ(&r, "claim2", c, UART_IRQ);
    EXPECT_EQ(&r, "hart1-mip.MEIP-after-claim", m2 & MIP_MEIP, 0);
    EXPECT_EQ(&r, "hart1-unexpected", harts[1].unexpected, 0);
    plic_restore(&s);
    end(&r);
}

/* ---- debug triggers (Sdtrig) ----------------------------------------------- */

/*
 * What QEMU 7.2 does natively (target/riscv/debug.c), the reference: two
 * triggers of type 2 (mcontrol) at reset, tinfo = types 2 and 6, a tselect
 * beyond them is ignored, tdata1 keeps the access kinds, the privilege bits
 * and a legal size (dmode, action and the rest read 0), a type it does not
 * support drops the write (never type 1 or 8..14 here: QEMU 7.2 aborts on
 * them), tdata3 reads 0, no tcontrol, no mcontext. A trigger fires before
 * the instruction or access: breakpoint (3), mepc = the instruction, mtval 0.
 */
#define CSR_TSELECT   0x7a0
#define CSR_TDATA1    0x7a1
#define CSR_TDATA2    0x7a2
#define CSR_TDATA3    0x7a3
#define CSR_TINFO     0x7a4
#define TTYPE(t)      ((u64)(t) << 60)
#define MC_LOAD       (1UL << 0)
#define MC_STORE      (1UL << 1)
#define MC_EXEC       (1UL << 2)
#define MC_U          (1UL << 3)
#define MC_S          (1UL << 4)
#define MC_M          (1UL << 6)
#define QEMU_TINFO    0x44UL
#define TRIGGER_MTVAL 0UL
/* csr_read/csr_write with the number macros expanded first. */
#define tcsr_read(csr)       csr_read(csr)
#define tcsr_write(csr, val) csr_write(csr, val)

/* One read of a CSR that may not exist: 1 when it did not trap. */
#define TRY_CSR_READ(name, csr)                                                \
    static int try_read_##name(u64 *v)                                         \
    {                                                                          \
        struct hart_state *hs = &harts[0];                                     \
        u64 saved = hs->mode, n = hs->ntraps, x = 0;                           \
        hs->mode = TRAP_SKIP;                                                  \
        __asm__ volatile("csrr %0, " #csr : "+r"(x) :: "memory");              \
        hs->mode = saved;                                                      \
        *v = x;                                                                \
        return hs->ntraps == n;                                                \
    }
TRY_CSR_READ(tselect, 0x7a0)
TRY_CSR_READ(tcontrol, 0x7a5)
TRY_CSR_READ(mcontext, 0x7a8)

static int triggers_present;
static volatile u64 trigger_var __attribute__((aligned(8)));

/* Both triggers back to their reset state (type 2, nothing armed). */
static void triggers_reset(void)
{
    for (u64 t = 0; t < 2; t++) {
        tcsr_write(CSR_TSELECT, t);
        tcsr_write(CSR_TDATA1, TTYPE(2));
        tcsr_write(CSR_TDATA2, 0);
    }
    tcsr_write(CSR_TSELECT, 0);
}

static void test_trigger_csrs(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    u64 v;
    begin(&r, "trigger-csrs");
    if (!expect(&r, try_read_tselect(&v), "tselect-traps mcause", hs->mcause, 0)) {
        end(&r);
        return;
    }
    triggers_present = 1;
    tcsr_write(CSR_TSELECT, 1);
    EXPECT_EQ(&r, "tselect=1", tcsr_read(CSR_TSELECT), 1);
    tcsr_write(CSR_TSELECT, 2);
    EXPECT_EQ(&r, "tselect=2-ignored", tcsr_read(CSR_TSELECT), 1);
    tcsr_write(CSR_TSELECT, ~0UL);
    EXPECT_EQ(&r, "tselect=-1-ignored", tcsr_read(CSR_TSELECT), 1);
    for (u64 t = 0; t < 2; t++) {
        tcsr_write(CSR_TSELECT, t);
        EXPECT_EQ(&r, "tdata1-reset", tcsr_read(CSR_TDATA1), TTYPE(2));
        EXPECT_EQ(&r, "tdata2-reset", tcsr_read(CSR_TDATA2), 0);
        EXPECT_EQ(&r, "tdata3-reset", tcsr_read(CSR_TDATA3), 0);
        EXPECT_EQ(&r, "tinfo", tcsr_read(CSR_TINFO), QEMU_TINFO);
    }
    tcsr_write(CSR_TSELECT, 0);

    /* mcontrol: size 15 is unknown (any size); dmode, action, match, chain,
       timing, select, hit read 0. No privilege bit: nothing fires. */
    tcsr_write(CSR_TDATA1, (~0UL >> 4) | TTYPE(2));
    EXPECT_EQ(&r, "mcontrol-ones", tcsr_read(CSR_TDATA1),
              TTYPE(2) | MC_M | MC_S | MC_U | MC_EXEC | MC_STORE | MC_LOAD);
    tcsr_write(CSR_TDATA1, TTYPE(2) | (1UL << 59) | (1UL << 21) | (1UL << 16) | (1UL << 12) | MC_EXEC);
    EXPECT_EQ(&r, "mcontrol-size5", tcsr_read(CSR_TDATA1), TTYPE(2) | (1UL << 21) | (1UL << 16) | MC_EXEC);
    tcsr_write(CSR_TDATA1, TTYPE(6) | (1UL << 24) | (1UL << 23) | (3UL << 16) | (1UL << 22) | MC_STORE);
    EXPECT_EQ(&r, "mcontrol6", tcsr_read(CSR_TDATA1), TTYPE(6) | (1UL << 24) | (1UL << 23) | (3UL << 16) | MC_STORE);
    tcsr_write(CSR_TDATA1, TTYPE(3) | MC_LOAD);
    EXPECT_EQ(&r, "type3-ignored", tcsr_read(CSR_TDATA1), TTYPE(6) | (1UL << 24) | (1UL << 23) | (3UL << 16) | MC_STORE);
    tcsr_write(CSR_TDATA1, 0);
    EXPECT_EQ(&r, "type0-ignored", tcsr_read(CSR_TDATA1), TTYPE(6) | (1UL << 24) | (1UL << 23) | (3UL << 16) | MC_STORE);
    tcsr_write(CSR_TDATA1, TTYPE(2));
    EXPECT_EQ(&r, "back-to-type2", tcsr_read(CSR_TDATA1), TTYPE(2));
    tcsr_write(CSR_TDATA2, 0xfedcba9876543210UL);
    EXPECT_EQ(&r, "tdata2", tcsr_read(CSR_TDATA2), 0xfedcba9876543210UL);
    tcsr_write(CSR_TDATA3, ~0UL);
    EXPECT_EQ(&r, "tdata3-ignored", tcsr_read(CSR_TDATA3), 0);
    tcsr_write(CSR_TINFO, 0);
    EXPECT_EQ(&r, "tinfo-write-ignored", tcsr_read(CSR_TINFO), QEMU_TINFO);
    expect(&r, !try_read_tcontrol(&v), "tcontrol-exists", v, 0);
    EXPECT_EQ(&r, "tcontrol-mcause", hs->mcause, CAUSE_ILLEGAL);
    expect(&r, !try_read_mcontext(&v), "mcontext-exists", v, 0);
    EXPECT_EQ(&r, "mcontext-mcause", hs->mcause, CAUSE_ILLEGAL);
    triggers_reset();
    end(&r);
}

static void expect_breakpoint(struct result *r, const char *what, u64 traps, u64 epc)
{
    struct hart_state *hs = &harts[0];
    if (!expect(r, traps == 1, what, traps, 1)) return;
    if (!expect(r, hs->mcause == CAUSE_BREAKPOINT, what, hs->mcause, CAUSE_BREAKPOINT)) return;
    if (!expect(r, hs->mepc == epc, what, hs->mepc, epc)) return;
    expect(r, hs->mtval == TRIGGER_MTVAL, what, hs->mtval, TRIGGER_MTVAL);
}

/* Execute triggers armed in M-mode fire before the instruction, in M only. */
static void test_trigger_execute(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (!triggers_present) {
        skip("trigger-execute", "no trigger module");
        return;
    }
    begin(&r, "trigger-execute");
    hs->mode = TRAP_SKIP;
    u64 insn = (u64)trigger_exec_insn;

    tcsr_write(CSR_TDATA2, insn);
    tcsr_write(CSR_TDATA1, TTYPE(2) | MC_M | MC_EXEC);
    u64 n = hs->ntraps;
    u64 v = trigger_exec(5);
    expect_breakpoint(&r, "mcontrol-M", hs->ntraps - n, insn);
    EXPECT_EQ(&r, "mcontrol-M-MPP", (hs->mstatus >> 11) & 3, 3);
    EXPECT_EQ(&r, "mcontrol-M-skipped", v, 5);

    tcsr_write(CSR_TDATA1, TTYPE(2) | MC_S | MC_U | MC_EXEC);
    n = hs->ntraps;
    v = trigger_exec(5);
    EXPECT_EQ(&r, "mcontrol-SU-traps", hs->ntraps - n, 0);
    EXPECT_EQ(&r, "mcontrol-SU-ran", v, 6);

    tcsr_write(CSR_TDATA1, TTYPE(2));
    tcsr_write(CSR_TSELECT, 1);
    tcsr_write(CSR_TDATA2, insn);
    tcsr_write(CSR_TDATA1, TTYPE(6) | MC_M | MC_EXEC);
    n = hs->ntraps;
    v = trigger_exec(7);
    expect_breakpoint(&r, "mcontrol6-M", hs->ntraps - n, insn);
    EXPECT_EQ(&r, "mcontrol6-M-skipped", v, 7);

    tcsr_write(CSR_TDATA1, TTYPE(6) | (1UL << 24) | (1UL << 23) | MC_S | MC_U | MC_EXEC);
    n = hs->ntraps;
    v = trigger_exec(7);
    EXPECT_EQ(&r, "mcontrol6-VS-VU-S-U-traps", hs->ntraps - n, 0);
    triggers_reset();
    end(&r);
}

/* Load and store triggers armed in M-mode: the access does not happen. */
static void test_trigger_load_store(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (!triggers_present) {
        skip("trigger-load-store", "no trigger module");
        return;
    }
    begin(&r, "trigger-load-store");
    hs->mode = TRAP_SKIP;
    u64 addr = (u64)&trigger_var;
    trigger_var = 0x1234;

    tcsr_write(CSR_TDATA2, addr);
    tcsr_write(CSR_TDATA1, TTYPE(2) | MC_M | MC_LOAD);
    u64 n = hs->ntraps;
    probe_load(addr);
    expect_breakpoint(&r, "load", hs->ntraps - n, (u64)probe_load_insn);
    n = hs->ntraps;
    probe_store(addr);
    EXPECT_EQ(&r, "store-with-load-trigger-traps", hs->ntraps - n, 0);

    tcsr_write(CSR_TDATA1, TTYPE(2));
    trigger_var = 0x77;
    tcsr_write(CSR_TDATA1, TTYPE(6) | MC_M | MC_STORE);
    n = hs->ntraps;
    probe_store(addr);
    expect_breakpoint(&r, "store", hs->ntraps - n, (u64)probe_store_insn);
    n = hs->ntraps;
    u64 loaded = probe_load(addr);
    EXPECT_EQ(&r, "load-with-store-trigger-traps", hs->ntraps - n, 0);
    tcsr_write(CSR_TDATA1, TTYPE(2));
    EXPECT_EQ(&r, "load-with-store-trigger-value", loaded, 0x77);
    EXPECT_EQ(&r, "store-did-not-happen", trigger_var, 0x77);
    triggers_reset();
    end(&r);
}

/* Triggers armed for S fire on S-mode code and are taken in M (medeleg = 0);
   triggers armed for M or U do not fire there, and S ones not in M. */
static void test_trigger_smode(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (!triggers_present) {
        skip("trigger-smode", "no trigger module");
        return;
    }
    begin(&r, "trigger-smode");
    smode_pmp_all();
    u64 addr = (u64)&trigger_var;
    trigger_var = 0x55;

    tcsr_write(CSR_TDATA2, addr);
    tcsr_write(CSR_TDATA1, TTYPE(2) | MC_M | MC_LOAD);
    struct mprv_probe p = s_access(0, addr, 0);
    if (s_ok(&r, "M-trigger: S-load", p)) EXPECT_EQ(&r, "M-trigger: S-load-value", p.value, 0x55);

    tcsr_write(CSR_TDATA1, TTYPE(2) | MC_U | MC_LOAD);
    s_ok(&r, "U-trigger: S-load", s_access(0, addr, 0));

    tcsr_write(CSR_TDATA1, TTYPE(2) | MC_S | MC_LOAD);
    p = s_access(0, addr, 0);
    if (expect(&r, p.traps == 1 && p.cause == CAUSE_BREAKPOINT, "S-trigger: S-load", p.cause, CAUSE_BREAKPOINT)) {
        EXPECT_EQ(&r, "S-trigger: mepc", hs->mepc, (u64)smode_access_load);
        EXPECT_EQ(&r, "S-trigger: mtval", p.tval, TRIGGER_MTVAL);
        EXPECT_EQ(&r, "S-trigger: MPP", (hs->mstatus >> 11) & 3, 1);
    }
    hs->mode = TRAP_SKIP;
    u64 n = hs->ntraps;
    probe_load(addr);
    EXPECT_EQ(&r, "S-trigger: M-load-traps", hs->ntraps - n, 0);

    tcsr_write(CSR_TDATA1, TTYPE(2));
    tcsr_write(CSR_TDATA2, (u64)smode_access_load);
    tcsr_write(CSR_TDATA1, TTYPE(6) | MC_S | MC_EXEC);
    p = s_access(0, addr, 0);
    if (expect(&r, p.traps == 1 && p.cause == CAUSE_BREAKPOINT, "S-exec-trigger", p.cause, CAUSE_BREAKPOINT)) {
        EXPECT_EQ(&r, "S-exec-trigger: mepc", hs->mepc, (u64)smode_access_load);
        EXPECT_EQ(&r, "S-exec-trigger: MPP", (hs->mstatus >> 11) & 3, 1);
    }
    triggers_reset();
    end(&r);
}

/* ---- H extension: traps from VS-mode into M -------------------------------- */

/*
 * The firmware enters VS-mode itself (hgatp = vsatp = 0: both stages Bare;
 * mret with MPP = S, MPV = 1) and checks what a trap from there reports in
 * M: MPV, MPP, GVA, mepc, mtval, mtinst, mtval2 (privileged specification,
 * "Machine Status Registers": MPV/GVA, "Machine Trap Value 2", "Machine
 * Trap Instruction", Hypervisor chapter "Trap Entry"/"Trap Return"). The
 * expected values are QEMU 7.2's native ones; where QEMU departs from the
 * specification the test accepts both and prints a NOTE.
 */
#define CAUSE_ECALL_VS          10
#define CAUSE_LOAD_GUEST_PAGE   21
#define CSR_HSTATUS   0x600
#define CSR_HEDELEG   0x602
#define CSR_HIDELEG   0x603
#define CSR_HGATP     0x680
#define CSR_VSATP     0x280
#define CSR_VSSCRATCH 0x240
#define MSTATUS_MPV_OF(st) (((st) >> 39) & 1)
#define MSTATUS_GVA_OF(st) (((st) >> 38) & 1)
#define VS_UNMAPPED   0x800UL    /* between QEMU virt's debug and MROM regions */

static u8 vs_denied[4096] __attribute__((aligned(4096)));

struct vs_trap { u64 traps, a0, cause, epc, tval, status, tinst, tval2; };

/* PMP: entry 0 denies vs_denied to S/U, entry 1 allows the rest; no
   delegation, both translation stages Bare. */
static void vs_setup(void)
{
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, PMP_NAPOT_ADDR((u64)vs_denied, 4096UL));
    csr_write(pmpaddr1, ~0UL);
    csr_write(pmpcfg0, 0x18UL | (0x1fUL << 8));
    csr_write(medeleg, 0);
    csr_writex(CSR_HEDELEG, 0);
    csr_writex(CSR_HIDELEG, 0);
    csr_writex(CSR_HGATP, 0);
    csr_writex(CSR_VSATP, 0);
}

static void vs_restore(void)
{
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, ~0UL);
    csr_write(pmpcfg0, 0x1f);
}

static struct vs_trap run_vs(const char *target, u64 a0, u64 a1, u64 a2)
{
    struct hart_state *hs = &harts[0];
    struct vs_trap t;
    hs->mode = TRAP_RECOVER_RA;
    hs->mcause = hs->mtval = hs->mtinst = hs->mtval2 = hs->mepc = hs->mstatus = 0;
    u64 n = hs->ntraps;
    t.a0 = enter_vs(a0, a1, a2, (u64)target);
    hs->mode = TRAP_UNEXPECTED;
    t.traps = hs->ntraps - n;
    t.cause = hs->mcause;
    t.epc = hs->mepc;
    t.tval = hs->mtval;
    t.status = hs->mstatus;
    t.tinst = hs->mtinst;
    t.tval2 = hs->mtval2;
    return t;
}

/* What every trap from VS into M reports: MPV = 1, MPP = S (the nominal
   mode), and we are back in M with V = 0 (mstatus.MPV clear). */
static int expect_from_vs(struct result *r, const char *what, struct vs_trap t, u64 cause, u64 epc)
{
    if (!expect(r, t.traps == 1 && t.cause == cause, what, t.cause, cause)) return 0;
    EXPECT_EQ(r, "mstatus.MPV", MSTATUS_MPV_OF(t.status), 1);
    EXPECT_EQ(r, "mstatus.MPP", (t.status >> 11) & 3, 1);
    EXPECT_EQ(r, "mepc", t.epc, epc);
    EXPECT_EQ(r, "MPV-after-return-to-M", MSTATUS_MPV_OF(csr_read(mstatus)), 0);
    return 1;
}

static int h_skip(const char *name)
{
    if (has_h) return 0;
    skip(name, "no H extension");
    return 1;
}

/* (a) ecall from VS: cause 10, no guest address, no instruction. */
static void test_h_vs_ecall(void)
{
    struct result r;
    if (h_skip("h-vs-ecall")) return;
    begin(&r, "h-vs-ecall");
    vs_setup();
    struct vs_trap t = run_vs(vs_ecall, 0x1234, 0, 0);
    if (expect_from_vs(&r, "mcause", t, CAUSE_ECALL_VS, (u64)vs_ecall)) {
        EXPECT_EQ(&r, "mstatus.GVA", MSTATUS_GVA_OF(t.status), 0);
        EXPECT_EQ(&r, "mtval", t.tval, 0);
        EXPECT_EQ(&r, "mtinst", t.tinst, 0);
        EXPECT_EQ(&r, "mtval2", t.tval2, 0);
        EXPECT_EQ(&r, "a0-from-VS", t.a0, 0x1234);
    }
    vs_restore();
    end(&r);
}

/* (b) An M-level CSR from VS: illegal instruction (2), mtval = the bits. */
static void test_h_vs_illegal(void)
{
    struct result r;
    if (h_skip("h-vs-illegal")) return;
    begin(&r, "h-vs-illegal");
    vs_setup();
    struct vs_trap t = run_vs(vs_illegal, 0, 0, 0);
    if (expect_from_vs(&r, "mcause", t, CAUSE_ILLEGAL, (u64)vs_illegal_insn)) {
        EXPECT_EQ(&r, "mtval", t.tval, insn_bits((u64)vs_illegal_insn));
        EXPECT_EQ(&r, "mtinst", t.tinst, 0);
        EXPECT_EQ(&r, "mtval2", t.tval2, 0);
        /* The specification writes GVA = 0 here (mtval is no address);
           QEMU 7.2 sets it whenever a trap from V = 1 has a non-zero mtval. */
        if (MSTATUS_GVA_OF(t.status)) note("h-vs-illegal", "QEMU sets mstatus.GVA for an illegal instruction, mstatus", t.status);
    }
    vs_restore();
    end(&r);
}

/* (c) Loads from VS that fault: an unmapped address (access fault 5) and
   one the PMP denies (QEMU 7.2 reports the latter as a load guest-page
   fault, 21, with the guest physical address in mtval2; the specification
   says access fault with mtval2 = 0). mtval is the guest virtual address
   (GVA = 1); mtinst is 0 or the transformed load (rs1 and offset cleared). */
static void test_h_vs_load_fault(void)
{
    struct result r;
    if (h_skip("h-vs-load-fault")) return;
    begin(&r, "h-vs-load-fault");
    vs_setup();
    u64 transformed = insn_bits((u64)vs_load_insn) & 0x00007fffUL & ~(0x1fUL << 15);
    struct vs_trap t = run_vs(vs_load, 0, VS_UNMAPPED, 0);
    if (expect_from_vs(&r, "unmapped: mcause", t, CAUSE_LOAD_FAULT, (u64)vs_load_insn)) {
        EXPECT_EQ(&r, "unmapped: mtval", t.tval, VS_UNMAPPED);
        EXPECT_EQ(&r, "unmapped: mstatus.GVA", MSTATUS_GVA_OF(t.status), 1);
        expect(&r, t.tinst == transformed || t.tinst == 0, "unmapped: mtinst", t.tinst, transformed);
        EXPECT_EQ(&r, "unmapped: mtval2", t.tval2, 0);
    }
    u64 addr = (u64)vs_denied + 0x40;
    t = run_vs(vs_load, 0, addr, 0);
    u64 cause = t.cause == CAUSE_LOAD_GUEST_PAGE ? CAUSE_LOAD_GUEST_PAGE : CAUSE_LOAD_FAULT;
    if (expect_from_vs(&r, "pmp: mcause", t, cause, (u64)vs_load_insn)) {
        if (cause == CAUSE_LOAD_GUEST_PAGE) note("h-vs-load-fault", "QEMU reports a PMP fault from VS as cause", cause);
        EXPECT_EQ(&r, "pmp: mtval", t.tval, addr);
        EXPECT_EQ(&r, "pmp: mstatus.GVA", MSTATUS_GVA_OF(t.status), 1);
        expect(&r, t.tinst == transformed || t.tinst == 0, "pmp: mtinst", t.tinst, transformed);
        expect(&r, t.tval2 == addr >> 2 || (cause == CAUSE_LOAD_FAULT && t.tval2 == 0), "pmp: mtval2", t.tval2,
               addr >> 2);
    }
    vs_restore();
    end(&r);
}

/* (d) A machine timer interrupt taken while VS code runs: taken in M with
   MPV = 1, MPP = S; the handler's mret returns to VS, where the code goes
   on with its registers: it reads sscratch, which is vsscratch in VS-mode
   (HS's sscratch holds another value), and its ecall is cause 10 (from VS),
   not 9. Under the monitor the real interrupt reaches the monitor while
   the payload's world runs V = 1, and is injected into the firmware. */
static void test_h_vs_mti(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (h_skip("h-vs-mti")) return;
    begin(&r, "h-vs-mti");
    vs_setup();
    csr_write(sscratch, 0x5151);
    csr_writex(CSR_VSSCRATCH, 0x7575);
    u64 ni = hs->nirqs;
    hs->irq_mstatus = hs->irq_mepc = 0;
    csr_clear(mstatus, MSTATUS_MIE);
    csr_set(mie, MIP_MTIP);
    mmio_w64(CLINT_MTIMECMP(0), mtime() + 10 * TICKS_PER_MS);
    struct vs_trap t = run_vs(vs_wait, (u64)&hs->nirqs, ni, 200000000UL);
    csr_clear(mie, MIP_MTIP);
    mmio_w64(CLINT_MTIMECMP(0), ~0UL);
    if (EXPECT_EQ(&r, "interrupts", hs->nirqs - ni, 1)) {
        EXPECT_EQ(&r, "irq: mcause", hs->irq_mcause, CAUSE_INTR | IRQ_MTI);
        EXPECT_EQ(&r, "irq: mstatus.MPV", MSTATUS_MPV_OF(hs->irq_mstatus), 1);
        EXPECT_EQ(&r, "irq: mstatus.MPP", (hs->irq_mstatus >> 11) & 3, 1);
        EXPECT_EQ(&r, "irq: mstatus.GVA", MSTATUS_GVA_OF(hs->irq_mstatus), 0);
        expect(&r, hs->irq_mepc >= (u64)vs_wait && hs->irq_mepc <= (u64)vs_wait_ecall, "irq: mepc",
               hs->irq_mepc, (u64)vs_wait);
        EXPECT_EQ(&r, "irq: mtinst", hs->irq_mtinst, 0);
        if (hs->irq_mtval2) note("h-vs-mti", "QEMU leaves a stale mtval2 on an interrupt", hs->irq_mtval2);
    }
    t.traps -= hs->nirqs - ni;   /* ntraps counts the interrupt too */
    if (expect_from_vs(&r, "ecall-after-irq: mcause", t, CAUSE_ECALL_VS, (u64)vs_wait_ecall)) {
        EXPECT_EQ(&r, "sscratch-in-VS (vsscratch)", t.a0, 0x7575);
    }
    EXPECT_EQ(&r, "HS-sscratch", csr_read(sscratch), 0x5151);
    csr_write(sscratch, 0);
    vs_restore();
    end(&r);
}

/* ---- AIA: Smaia CSRs, IMSIC files, the APLIC ---------------------------------------- */

/*
 * -M virt,aia=aplic-imsic: an M-level and an S-level IMSIC file per hart,
 * the APLIC (machine-level domain at 0x0c000000, its supervisor-level child
 * at 0x0d000000) in MSI delivery mode. -M virt,aia=aplic: the APLIC in
 * direct delivery mode, one IDC per hart in each domain, and no IMSIC (QEMU
 * 7.2 then has no Smaia/Ssaia CSRs at all). These tests run on the machine
 * they are for and SKIP elsewhere.
 *
 * The reference is what QEMU 7.2 does natively (hw/intc/riscv_imsic.c,
 * riscv_aplic.c, target/riscv/csr.c, cpu_helper.c): the monitor must be
 * indistinguishable from it. Where that departs from the AIA specification
 * the QEMU_* value says so and native runs print a NOTE.
 */
#define QEMU_MISELECT_MASK     0x1ffUL   /* miselect keeps bits 8:0 */
#define QEMU_EITHRESHOLD_MASK  0x7ffUL   /* eithreshold keeps bits 10:0 */
/* mtopi: IID << 16 | IPRIO. With iprio 0, MSI and MTI report IPRIO 255
   (default priority below MEI: as specified); MEI reports 0 (specification:
   the IMSIC's priority, the identity); MSI and MTI at the same priority:
   QEMU reports (and takes) the higher interrupt number first
   (specification: the default order, MSI before MTI). */
#define QEMU_MTOPI_MSI         0x300ffUL
#define QEMU_MTOPI_MTI         0x700ffUL
#define QEMU_MTOPI_MSI_MTI     0x700ffUL
#define QEMU_MTOPI_MEI         0xb0000UL
#define QEMU_MTOPI_TIE_5       0x70005UL /* MSI and MTI both iprio 5 */
#define QEMU_FIRST_OF_MSI_MTI  IRQ_MTI
/* iprio: every byte holds 8 bits but MEI's (iprio2 bits 31:24), read-only 0
   (specification: bytes of interrupts whose mie bit is read-only zero read 0
   too). Reset sets each byte to QEMU's default priority of the interrupt
   (cpu_helper.c default_iprio, 255 where it has none; MEI's 0), not to 0.
   mtopi and the order interrupts are taken in follow these numbers, MEI
   counting as 16 whatever the IMSIC's identity. */
#define QEMU_IPRIO_RO_MASK(k)  ((k) == 2 ? 0xff000000UL : 0UL)
static const u8 qemu_reset_iprio[64] = {
    255, 20, 24, 17, 255, 21, 25, 18, 255, 19, 23, 0, 22, 255, 255, 255,
    36, 33, 30, 27, 14, 11, 8, 5, 255, 255, 255, 255, 255, 255, 255, 255,
    37, 35, 34, 32, 31, 29, 28, 26, 15, 13, 12, 10, 9, 7, 6, 4,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};
static u64 qemu_reset_iprio_reg(u64 k)   /* k even: interrupts 4k..4k+7 */
{
    u64 v = 0;
    for (u64 i = 0; i < 8; i++) v |= (u64)qemu_reset_iprio[4 * k + i] << (8 * i);
    return v;
}
#define QEMU_MTOPI_RESET_MSI   0x30011UL /* iprio at reset: MSI 17, MTI 18 */
#define QEMU_MTOPI_RESET_MTI   0x70012UL
/* The APLIC's target registers in MSI mode keep all 32 bits (specification:
   bit 11 reserved, Guest Index read-only 0 in a machine-level domain). */
#define QEMU_MSI_TARGET_ONES   0xffffffffU
/* smsiaddrcfgh keeps the mmsiaddrcfgh fields L, HHXS, HHXW, LHXW too
   (specification: LHXS and High Base PPN only, 0x00700fff). */
#define QEMU_SMSIADDRCFGH_ONES 0x9f77ffffU
#define SPEC_SMSIADDRCFGH_ONES 0x00700fffU
/* mmsiaddrcfgh.L locks mmsiaddrcfg/h only; smsiaddrcfg/h stay writable
   until smsiaddrcfgh's own bit 31 is set (specification: mmsiaddrcfgh.L
   locks all four). */
#define QEMU_L_LOCKS_SMSI      0

/* Traps of one statement (expected: recorded and skipped), counted. */
#define TRAPS(stmt) ({                                                         \
        struct hart_state *hs_ = &harts[hartid()];                             \
        u64 m_ = hs_->mode, n_ = hs_->ntraps;                                  \
        hs_->mode = TRAP_SKIP;                                                 \
        hs_->mcause = 0;                                                       \
        stmt;                                                                  \
        __asm__ volatile("" ::: "memory");                                     \
        hs_->mode = m_;                                                        \
        hs_->ntraps - n_;                                                      \
    })

static inline void ireg_w(u64 sel, u64 v) { csr_writex(CSR_MISELECT, sel); csr_writex(CSR_MIREG, v); }
static inline u64 ireg_r(u64 sel) { csr_writex(CSR_MISELECT, sel); return csr_readx(CSR_MIREG); }
static inline void sireg_w(u64 sel, u64 v) { csr_writex(CSR_SISELECT, sel); csr_writex(CSR_SIREG, v); }
static inline u64 sireg_r(u64 sel) { csr_writex(CSR_SISELECT, sel); return csr_readx(CSR_SIREG); }
static inline u64 mtopei(void) { return csr_readx(CSR_MTOPEI); }
static inline u64 mtopi(void) { return csr_readx(CSR_MTOPI); }
static inline u64 mtopei_claim(void)
{
    u64 c;
    __asm__ volatile("csrrw %0, 0x35c, zero" : "=r"(c) :: "memory");
    return c;
}
static inline u64 stopei_claim(void)
{
    u64 c;
    __asm__ volatile("csrrw %0, 0x15c, zero" : "=r"(c) :: "memory");
    return c;
}
#define TOPEI(id) (((u64)(id) << 16) | (u64)(id))

/* mireg at select `sel`: traps of a read (value in *v) and of a write. */
static u64 ireg_try_read(u64 sel, u64 *v)
{
    u64 x = 0xbad;
    csr_writex(CSR_MISELECT, sel);
    u64 t = TRAPS(__asm__ volatile("csrr %0, 0x351" : "+r"(x) :: "memory"));
    *v = x;
    return t;
}

static u64 ireg_try_write(u64 sel, u64 v)
{
    csr_writex(CSR_MISELECT, sel);
    return TRAPS(__asm__ volatile("csrw 0x351, %0" :: "r"(v) : "memory"));
}

/* The calling hart's M-level file (through miselect/mireg). */
static void imsic_m_clear(void)
{
    ireg_w(ISEL_EIDELIVERY, 0);
    ireg_w(ISEL_EITHRESHOLD, 0);
    for (u64 k = 0; k < 8; k += 2) {
        ireg_w(ISEL_EIE(k), 0);
        ireg_w(ISEL_EIP(k), 0);
    }
}

static void imsic_m_enable(u64 id, int on)
{
    csr_writex(CSR_MISELECT, ISEL_EIE(2 * (id / 64)));
    if (on) csr_setx(CSR_MIREG, 1UL << (id % 64));
    else csr_clearx(CSR_MIREG, 1UL << (id % 64));
}

static u64 imsic_m_pending(u64 id) { return (ireg_r(ISEL_EIP(2 * (id / 64))) >> (id % 64)) & 1; }

/* The calling hart's S-level file (through siselect/sireg, from M-mode). */
static void imsic_s_clear(void)
{
    sireg_w(ISEL_EIDELIVERY, 0);
    sireg_w(ISEL_EITHRESHOLD, 0);
    for (u64 k = 0; k < 8; k += 2) {
        sireg_w(ISEL_EIE(k), 0);
        sireg_w(ISEL_EIP(k), 0);
    }
}

static void imsic_s_enable(u64 id, int on)
{
    csr_writex(CSR_SISELECT, ISEL_EIE(2 * (id / 64)));
    if (on) csr_setx(CSR_SIREG, 1UL << (id % 64));
    else csr_clearx(CSR_SIREG, 1UL << (id % 64));
}

static u64 imsic_s_pending(u64 id) { return (sireg_r(ISEL_EIP(2 * (id / 64))) >> (id % 64)) & 1; }

static int aia_skip(const char *name, int need)
{
    if (intc == need) return 0;
    skip(name, need == INTC_APLIC_IMSIC ? "needs IMSICs (-M virt,aia=aplic-imsic)"
                                        : "needs an APLIC in direct mode (-M virt,aia=aplic)");
    return 1;
}

static void aia_quiet(void)
{
    csr_write(mie, 0);
    csr_clear(mstatus, MSTATUS_MIE);
}

/* APLIC helpers: a source's pending and enable bits, and a source back to
   inactive (QEMU 7.2 clears pending and enable on a write of 0; it also
   leaves them uninitialised at power-on: source 1 is seen pending and
   enabled on some boots, so the tests use sources 40 and up). */
static u32 aplic_pending(u64 d, u64 s) { return (mmio_r32(APLIC_SETIP(d, s / 32)) >> (s % 32)) & 1; }
static u32 aplic_enabled(u64 d, u64 s) { return (mmio_r32(APLIC_SETIE(d, s / 32)) >> (s % 32)) & 1; }
static void aplic_off(u64 d, u64 s) { mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_INACTIVE); }

/* Every source of both domains inactive, which clears the pending and
   enable bits QEMU 7.2 leaves uninitialised: natively some boots start with
   source 1 pending and enabled (with target 1: hart 0, priority 1, it then
   shows in IDC 0's topi in direct mode, and raises MEIP once delivery is
   on). The first APLIC test of each mode does this before it looks. */
static void aplic_normalize(void)
{
    for (u64 s = 1; s <= APLIC_SOURCES; s++) {
        aplic_off(APLIC_M, s);
        aplic_off(APLIC_S, s);
    }
}

/* MSI address configuration: hart h's M file at IMSIC_M(h), its S file at
   IMSIC_S(h) (LHXW = 3 hart-index bits, LHXS = 0, no groups). */
#define MSI_LHXW 3
#define MSIADDRCFGH_LHXW(w) ((u32)(w) << 12)
static void aplic_msi_config(void)
{
    mmio_w32(APLIC_MMSIADDRCFG(APLIC_M), (u32)(IMSIC_M(0) >> 12));
    mmio_w32(APLIC_MMSIADDRCFGH(APLIC_M), MSIADDRCFGH_LHXW(MSI_LHXW));
    mmio_w32(APLIC_SMSIADDRCFG(APLIC_M), (u32)(IMSIC_S(0) >> 12));
    mmio_w32(APLIC_SMSIADDRCFGH(APLIC_M), MSIADDRCFGH_LHXW(MSI_LHXW));
}

#define MSI_TARGET(hart, eiid) (((u32)(hart) << 18) | (u32)(eiid))
#define DIRECT_TARGET(hart, prio) (((u32)(hart) << 18) | (u32)(prio))

/* Another hart takes one MEI (CMD_RECV): it is ready when this returns 1;
   recv_done waits for its claim. */
static void recv_post(u64 h, u64 id)
{
    harts[h].claim = harts[h].claim2 = 0xdead;
    harts[h].mcause = 0;
    harts[h].mip_after = ~0UL;
    cmd_arg[h] = id;
    ack[h] = 0;
    __asm__ volatile("fence rw, rw" ::: "memory");
    cmd[h] = CMD_RECV;
}

static int recv_ready(u64 h) { return wait_value(&ack[h], 1, 2000 * TICKS_PER_MS); }

static int recv_start(u64 h, u64 id)
{
    recv_post(h, id);
    return recv_ready(h);
}

static int recv_done(u64 h)
{
    int ok = wait_value(&ack[h], 2, 3500 * TICKS_PER_MS);
    if (!ok) cmd[h] = 0;
    return ok;
}

/* The identity hart a sends hart b in the IPI test. */
#define IPI_ID(a, b) (0x40 + 8 * (a) + (b))

/* Hart a writes IPI_ID(a, b) to the M-level file of every other hart b
   (CMD_SEND for a != 0). */
static int imsic_send_all(u64 a)
{
    if (a == 0) {
        for (u64 b = 1; b < nharts; b++) mmio_w32(IMSIC_M(b), IPI_ID(0, b));
        return 1;
    }
    cmd_arg[a] = nharts;
    ack[a] = 0;
    __asm__ volatile("fence rw, rw" ::: "memory");
    cmd[a] = CMD_SEND;
    return wait_value(&ack[a], 2, 2000 * TICKS_PER_MS);
}

/* Smaia/Ssaia CSRs: present with the IMSIC, illegal otherwise (QEMU 7.2
   sets Smaia and Ssaia only when it creates IMSICs, so with aia=aplic too;
   the specification has mtopi, miselect/mireg and the iprio array with
   any AIA interrupt controller). */
static void test_aia_csrs_presence(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    begin(&r, "aia-csrs-presence");
    int smaia = intc == INTC_APLIC_IMSIC;
    u64 want = smaia ? 0 : 1;
#define PROBE_AIA_CSR(num, label) do {                                          \
        u64 x_ = 0;                                                            \
        u64 t_ = TRAPS(__asm__ volatile("csrr %0, " #num : "+r"(x_) :: "memory")); \
        EXPECT_EQ(&r, label "-read-traps", t_, want);                          \
        if (t_) EXPECT_EQ(&r, label "-mcause", hs->mcause, CAUSE_ILLEGAL);     \
    } while (0)
    PROBE_AIA_CSR(0x350, "miselect");
    PROBE_AIA_CSR(0x35c, "mtopei");
    PROBE_AIA_CSR(0xfb0, "mtopi");
    PROBE_AIA_CSR(0x308, "mvien");
    PROBE_AIA_CSR(0x309, "mvip");
    PROBE_AIA_CSR(0x150, "siselect");
    PROBE_AIA_CSR(0x15c, "stopei");
    PROBE_AIA_CSR(0xdb0, "stopi");
    if (smaia) {
        csr_writex(CSR_MISELECT, ISEL_EIDELIVERY);
        csr_writex(CSR_SISELECT, ISEL_EIDELIVERY);
    }
    PROBE_AIA_CSR(0x351, "mireg");
    PROBE_AIA_CSR(0x151, "sireg");
    /* The RV32-only high halves never exist on RV64. */
    u64 x = 0, t = TRAPS(__asm__ volatile("csrr %0, 0x354" : "+r"(x) :: "memory"));
    EXPECT_EQ(&r, "miph-read-traps", t, 1);
    t = TRAPS(__asm__ volatile("csrr %0, 0x314" : "+r"(x) :: "memory"));
    EXPECT_EQ(&r, "mieh-read-traps", t, 1);
#undef PROBE_AIA_CSR
    if (smaia) {
        /* mvien and mvip: read 0, writes ignored (QEMU 7.2). */
        t = TRAPS(__asm__ volatile("csrw 0x308, %0" :: "r"(~0UL) : "memory"));
        t += TRAPS(__asm__ volatile("csrw 0x309, %0" :: "r"(~0UL) : "memory"));
        EXPECT_EQ(&r, "mvien/mvip-write-traps", t, 0);
        EXPECT_EQ(&r, "mvien-after-~0", csr_readx(CSR_MVIEN), 0);
        EXPECT_EQ(&r, "mvip-after-~0", csr_readx(CSR_MVIP), 0);
        /* mtopei and mtopi: nothing pending. */
        EXPECT_EQ(&r, "mtopei-idle", mtopei(), 0);
        EXPECT_EQ(&r, "mtopi-idle", mtopi(), 0);
        csr_writex(CSR_MISELECT, 0);
        csr_writex(CSR_SISELECT, 0);
    }
    end(&r);
}

/* miselect is WARL; mireg at reserved selects, at odd eip/eie/iprio
   numbers (RV64) and beyond the implemented identities: illegal. */
static void test_imsic_miselect(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (aia_skip("imsic-miselect", INTC_APLIC_IMSIC)) return;
    begin(&r, "imsic-miselect");
    u64 old = csr_readx(CSR_MISELECT);
    csr_writex(CSR_MISELECT, ~0UL);
    EXPECT_EQ(&r, "miselect-after-~0", csr_readx(CSR_MISELECT), QEMU_MISELECT_MASK);
    csr_writex(CSR_MISELECT, 0x1ff);
    EXPECT_EQ(&r, "miselect-after-0x1ff", csr_readx(CSR_MISELECT), 0x1ff);
    csr_writex(CSR_MISELECT, 0x200);
    EXPECT_EQ(&r, "miselect-after-0x200", csr_readx(CSR_MISELECT), 0x200 & QEMU_MISELECT_MASK);
    csr_writex(CSR_MISELECT, 0x8000000000000070UL);
    EXPECT_EQ(&r, "miselect-after-msb|0x70", csr_readx(CSR_MISELECT), 0x70);
    csr_writex(CSR_MISELECT, 0xff);
    EXPECT_EQ(&r, "miselect-after-0xff", csr_readx(CSR_MISELECT), 0xff);

    /* Selects that trap: reserved (0x00-0x2f, 0x40-0x6f, 0x71, 0x73-0x7f,
       0x100-0x1ff), odd iprio/eip/eie on RV64, and eip8..62/eie8..62
       (identities 256 and up, none implemented). The specification has
       0x71 and 0x73-0x7f read 0 (writes ignored), and eipk/eiek of
       unimplemented identities read-only 0: QEMU 7.2 traps. */
    static const u16 bad[] = {0x00, 0x01, 0x2f, 0x31, 0x3f, 0x40, 0x6f, 0x71, 0x73, 0x7f,
                              0x81, 0x87, 0x88, 0x8a, 0xbe, 0xbf, 0xc1, 0xc7, 0xc8, 0xfe,
                              0xff, 0x100, 0x170, 0x1ff};
    for (u64 i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        u64 v, tr = ireg_try_read(bad[i], &v), cr = hs->mcause;
        u64 tw = ireg_try_write(bad[i], 0), cw = hs->mcause;
        expect(&r, tr == 1 && cr == CAUSE_ILLEGAL, "mireg-read-traps (got=select<<8|traps)",
               ((u64)bad[i] << 8) | tr, ((u64)bad[i] << 8) | 1);
        expect(&r, tw == 1 && cw == CAUSE_ILLEGAL, "mireg-write-traps (got=select<<8|traps)",
               ((u64)bad[i] << 8) | tw, ((u64)bad[i] << 8) | 1);
    }
    if (native) {
        note("imsic-miselect", "QEMU 7.2 traps mireg at reserved select (specification: reads 0)", 0x71);
        note("imsic-miselect", "QEMU 7.2 traps mireg at eip8 (specification: read-only 0)", 0x88);
    }
    /* Selects that work. */
    static const u16 good[] = {0x30, 0x32, 0x34, 0x36, 0x38, 0x3a, 0x3c, 0x3e, 0x70, 0x72,
                               0x80, 0x82, 0x84, 0x86, 0xc0, 0xc2, 0xc4, 0xc6};
    for (u64 i = 0; i < sizeof good / sizeof good[0]; i++) {
        u64 v, t = ireg_try_read(good[i], &v);
        expect(&r, t == 0, "mireg-read (got=select<<8|traps)", ((u64)good[i] << 8) | t, (u64)good[i] << 8);
    }
    csr_writex(CSR_MISELECT, old);
    end(&r);
}

/* eidelivery, eithreshold, eip and eie through mireg (hart 0's M file). */
static void test_imsic_eip_eie(void)
{
    struct result r;
    if (aia_skip("imsic-eip-eie", INTC_APLIC_IMSIC)) return;
    begin(&r, "imsic-eip-eie");
    aia_quiet();
    /* The reset state: nothing delivered, pending or enabled. */
    EXPECT_EQ(&r, "eidelivery-at-reset", ireg_r(ISEL_EIDELIVERY), 0);
    EXPECT_EQ(&r, "eithreshold-at-reset", ireg_r(ISEL_EITHRESHOLD), 0);
    for (u64 k = 0; k < 8; k += 2) {
        EXPECT_EQ(&r, "eipk-at-reset", ireg_r(ISEL_EIP(k)), 0);
        EXPECT_EQ(&r, "eiek-at-reset", ireg_r(ISEL_EIE(k)), 0);
    }
    /* eidelivery: 0 or 1 (no 0x40000000: no PLIC/APLIC direct delivery). */
    ireg_w(ISEL_EIDELIVERY, ~0UL);
    EXPECT_EQ(&r, "eidelivery-after-~0", ireg_r(ISEL_EIDELIVERY), 1);
    ireg_w(ISEL_EIDELIVERY, 0x40000000);
    EXPECT_EQ(&r, "eidelivery-after-0x40000000", ireg_r(ISEL_EIDELIVERY), 0);
    ireg_w(ISEL_EIDELIVERY, 1);
    EXPECT_EQ(&r, "eidelivery-after-1", ireg_r(ISEL_EIDELIVERY), 1);
    ireg_w(ISEL_EIDELIVERY, 0);
    EXPECT_EQ(&r, "eidelivery-after-0", ireg_r(ISEL_EIDELIVERY), 0);
    /* eithreshold (WLRL: 0..255 must work; QEMU keeps 11 bits). */
    ireg_w(ISEL_EITHRESHOLD, ~0UL);
    u64 th = ireg_r(ISEL_EITHRESHOLD);
    EXPECT_EQ(&r, "eithreshold-after-~0", th, QEMU_EITHRESHOLD_MASK);
    if (native) note("imsic-eip-eie", "eithreshold after writing ~0 reads", th);
    ireg_w(ISEL_EITHRESHOLD, 255);
    EXPECT_EQ(&r, "eithreshold-after-255", ireg_r(ISEL_EITHRESHOLD), 255);
    ireg_w(ISEL_EITHRESHOLD, 0x100);
    EXPECT_EQ(&r, "eithreshold-after-0x100", ireg_r(ISEL_EITHRESHOLD), 0x100);
    ireg_w(ISEL_EITHRESHOLD, 0);
    EXPECT_EQ(&r, "eithreshold-after-0", ireg_r(ISEL_EITHRESHOLD), 0);
    /* eip/eie: bit 0 of eip0 and eie0 (identity 0) read-only 0, identities
       1..255 all writable (eidelivery = 0, mie = 0: nothing is signalled). */
    for (u64 k = 0; k < 8; k += 2) {
        u64 want = k == 0 ? ~1UL : ~0UL;
        ireg_w(ISEL_EIP(k), ~0UL);
        EXPECT_EQ(&r, "eipk-after-~0", ireg_r(ISEL_EIP(k)), want);
        ireg_w(ISEL_EIE(k), ~0UL);
        EXPECT_EQ(&r, "eiek-after-~0", ireg_r(ISEL_EIE(k)), want);
    }
    EXPECT_EQ(&r, "mip.MEIP-eidelivery=0", csr_read(mip) & MIP_MEIP, 0);
    EXPECT_EQ(&r, "mtopei-all-pending", mtopei(), TOPEI(1));
    for (u64 k = 0; k < 8; k += 2) {
        ireg_w(ISEL_EIP(k), 0);
        EXPECT_EQ(&r, "eipk-after-0", ireg_r(ISEL_EIP(k)), 0);
        ireg_w(ISEL_EIE(k), 0);
        EXPECT_EQ(&r, "eiek-after-0", ireg_r(ISEL_EIE(k)), 0);
    }
    EXPECT_EQ(&r, "mtopei-none-pending", mtopei(), 0);
    /* Read-modify-write forms: csrrs/csrrc on mireg, csrrw's old value. */
    csr_writex(CSR_MISELECT, ISEL_EIP(2));
    csr_setx(CSR_MIREG, 0x5);
    EXPECT_EQ(&r, "eip2-csrrs", csr_readx(CSR_MIREG), 0x5);
    csr_clearx(CSR_MIREG, 0x1);
    EXPECT_EQ(&r, "eip2-csrrc", csr_readx(CSR_MIREG), 0x4);
    u64 prev;
    __asm__ volatile("csrrw %0, 0x351, %1" : "=r"(prev) : "r"(0x30UL) : "memory");
    EXPECT_EQ(&r, "eip2-csrrw-old", prev, 0x4);
    EXPECT_EQ(&r, "eip2-csrrw-new", csr_readx(CSR_MIREG), 0x30);
    EXPECT_EQ(&r, "identity-68-pending", imsic_m_pending(68), 1);
    imsic_m_clear();
    end(&r);
}

/* The machine-level iprio array (miselect 0x30..0x3e, even on RV64). */
static void test_aia_iprio(void)
{
    struct result r;
    if (aia_skip("aia-iprio", INTC_APLIC_IMSIC)) return;
    begin(&r, "aia-iprio");
    u64 found[8];
    for (u64 k = 0; k < 16; k += 2) {
        found[k / 2] = ireg_r(ISEL_IPRIO(k));
        EXPECT_EQ(&r, "iprio-at-reset", found[k / 2], qemu_reset_iprio_reg(k));
        if (native && k == 0) note("aia-iprio", "iprio0 at reset (QEMU's default priorities) reads", found[0]);
        ireg_w(ISEL_IPRIO(k), ~0UL);
        u64 v = ireg_r(ISEL_IPRIO(k));
        EXPECT_EQ(&r, "iprio-after-~0", v, ~QEMU_IPRIO_RO_MASK(k));
        if (native && k == 0) note("aia-iprio", "iprio0 after writing ~0 (specification: bytes 0 and 4 read-only 0) reads", v);
        u64 pat = 0x0807060504030201UL + 0x1010101010101010UL * k;
        ireg_w(ISEL_IPRIO(k), pat);
        EXPECT_EQ(&r, "iprio-after-pattern", ireg_r(ISEL_IPRIO(k)), pat & ~QEMU_IPRIO_RO_MASK(k));
        ireg_w(ISEL_IPRIO(k), 0);
        EXPECT_EQ(&r, "iprio-after-0", ireg_r(ISEL_IPRIO(k)), 0);
    }
    /* csrrs/csrrc change single bytes. */
    csr_writex(CSR_MISELECT, ISEL_IPRIO(0));
    csr_setx(CSR_MIREG, 0xff00UL);
    csr_setx(CSR_MIREG, 0x7UL << 56);
    EXPECT_EQ(&r, "iprio0-csrrs", csr_readx(CSR_MIREG), 0xff00UL | (0x7UL << 56));
    csr_clearx(CSR_MIREG, 0xf000UL);
    EXPECT_EQ(&r, "iprio0-csrrc", csr_readx(CSR_MIREG), 0x0f00UL | (0x7UL << 56));
    for (u64 k = 0; k < 16; k += 2) ireg_w(ISEL_IPRIO(k), found[k / 2]);
    end(&r);
}

/* mtopi with MSI, MTI and MEI pending and enabled (MIE = 0), with and
   without iprio; then the order in which two pending interrupts are taken. */
static void test_aia_mtopi(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (aia_skip("aia-mtopi", INTC_APLIC_IMSIC)) return;
    begin(&r, "aia-mtopi");
    aia_quiet();
    imsic_m_clear();
    u64 iprio0 = ireg_r(ISEL_IPRIO(0));
    EXPECT_EQ(&r, "iprio0-as-at-reset", iprio0, qemu_reset_iprio_reg(0));
    /* The iprio array as reset left it. */
    EXPECT_EQ(&r, "reset-nothing-pending", mtopi(), 0);
    mmio_w32(CLINT_MSIP(0), 1);
    csr_write(mie, MIP_MSIP);
    EXPECT_EQ(&r, "reset-MSI", mtopi(), QEMU_MTOPI_RESET_MSI);
    mmio_w64(CLINT_MTIMECMP(0), 0);
    poll_mip(MIP_MTIP, MIP_MTIP, 100 * TICKS_PER_MS);
    csr_write(mie, MIP_MSIP | MIP_MTIP);
    EXPECT_EQ(&r, "reset-MSI+MTI", mtopi(), QEMU_MTOPI_RESET_MSI);
    csr_write(mie, MIP_MTIP);
    EXPECT_EQ(&r, "reset-MTI", mtopi(), QEMU_MTOPI_RESET_MTI);
    imsic_m_enable(30, 1);
    mmio_w32(IMSIC_M(0), 30);
    ireg_w(ISEL_EIDELIVERY, 1);
    csr_write(mie, MIP_MSIP | MIP_MTIP | MIP_MEIP);
    EXPECT_EQ(&r, "reset-MEI30+MSI+MTI", mtopi(), QEMU_MTOPI_MEI);
    csr_write(mie, 0);
    imsic_m_clear();
    mmio_w32(CLINT_MSIP(0), 0);
    mmio_w64(CLINT_MTIMECMP(0), ~0UL);
    /* The same with every priority number 0. */
    ireg_w(ISEL_IPRIO(0), 0);
    EXPECT_EQ(&r, "nothing-pending", mtopi(), 0);
    mmio_w32(CLINT_MSIP(0), 1);
    EXPECT_EQ(&r, "MSI-pending-not-enabled", mtopi(), 0);
    csr_write(mie, MIP_MSIP);
    u64 t_msi = mtopi();
    EXPECT_EQ(&r, "MSI", t_msi, QEMU_MTOPI_MSI);
    mmio_w32(CLINT_MSIP(0), 0);
    EXPECT_EQ(&r, "MSI-cleared", mtopi(), 0);
    csr_write(mie, MIP_MTIP);
    mmio_w64(CLINT_MTIMECMP(0), 0);
    u64 m = poll_mip(MIP_MTIP, MIP_MTIP, 100 * TICKS_PER_MS);
    EXPECT_EQ(&r, "mip.MTIP", m & MIP_MTIP, MIP_MTIP);
    EXPECT_EQ(&r, "MTI", mtopi(), QEMU_MTOPI_MTI);
    mmio_w32(CLINT_MSIP(0), 1);
    csr_write(mie, MIP_MSIP | MIP_MTIP);
    u64 t_msi_mti = mtopi();
    EXPECT_EQ(&r, "MSI+MTI", t_msi_mti, QEMU_MTOPI_MSI_MTI);
    if (native) note("aia-mtopi", "MSI and MTI pending, iprio 0: mtopi (specification: 0x300ff)", t_msi_mti);
    /* MEI from the IMSIC: identity 9. */
    imsic_m_enable(9, 1);
    mmio_w32(IMSIC_M(0), 9);
    ireg_w(ISEL_EIDELIVERY, 1);
    EXPECT_EQ(&r, "mip.MEIP", csr_read(mip) & MIP_MEIP, MIP_MEIP);
    csr_write(mie, MIP_MEIP);
    u64 t_mei = mtopi();
    EXPECT_EQ(&r, "MEI", t_mei, QEMU_MTOPI_MEI);
    if (native) note("aia-mtopi", "MEI of identity 9: mtopi (specification: 0xb0009)", t_mei);
    csr_write(mie, MIP_MEIP | MIP_MSIP | MIP_MTIP);
    EXPECT_EQ(&r, "MEI+MSI+MTI", mtopi(), QEMU_MTOPI_MEI);
    /* iprio: MTI at 5 comes before MEI (nominally 5 against the external
       interrupt's priority), MSI at 5 too ties with it, MSI at 4 wins. */
    ireg_w(ISEL_IPRIO(0), 5UL << 56);
    EXPECT_EQ(&r, "MTI-iprio5", mtopi(), 0x70005);
    ireg_w(ISEL_IPRIO(0), (5UL << 56) | (5UL << 24));
    u64 tie = mtopi();
    EXPECT_EQ(&r, "MSI+MTI-iprio5", tie, QEMU_MTOPI_TIE_5);
    ireg_w(ISEL_IPRIO(0), (5UL << 56) | (4UL << 24));
    EXPECT_EQ(&r, "MSI-iprio4", mtopi(), 0x30004);
    ireg_w(ISEL_IPRIO(0), 200UL << 24);
    EXPECT_EQ(&r, "MSI-iprio200+MEI", mtopi(), QEMU_MTOPI_MEI);
    csr_write(mie, MIP_MSIP | MIP_MTIP);
    EXPECT_EQ(&r, "MSI-iprio200+MTI", mtopi(), 0x300c8);
    ireg_w(ISEL_IPRIO(0), 0);
    /* mideleg does not hide M-level interrupts (read-only 0 bits). */
    EXPECT_EQ(&r, "mideleg-M-bits", csr_read(mideleg) & (MIP_MSIP | MIP_MTIP | MIP_MEIP), 0);

    /* Taken with MIE = 1: MSI and MTI (iprio 0), then MEI and MTI. */
    ireg_w(ISEL_EIDELIVERY, 0);
    u64 ni = hs->nirqs;
    csr_write(mie, MIP_MSIP | MIP_MTIP);
    int ok = wait_irq(hs, ni, 500 * TICKS_PER_MS);
    ok = ok && wait_irq(hs, ni + 1, 500 * TICKS_PER_MS);
    csr_write(mie, 0);
    if (expect(&r, ok, "MSI+MTI-iprio0-taken nirqs", hs->nirqs - ni, 2)) {
        u64 first = hs->irq_log[ni & 3] & ~CAUSE_INTR, second = hs->irq_log[(ni + 1) & 3] & ~CAUSE_INTR;
        EXPECT_EQ(&r, "MSI+MTI-first", first, QEMU_FIRST_OF_MSI_MTI);
        EXPECT_EQ(&r, "MSI+MTI-second", second, QEMU_FIRST_OF_MSI_MTI == IRQ_MTI ? IRQ_MSI : IRQ_MTI);
        if (native) note("aia-mtopi", "MSI and MTI pending, iprio 0: first taken (specification: 3)", first);
    }
    mmio_w64(CLINT_MTIMECMP(0), 0);
    poll_mip(MIP_MTIP, MIP_MTIP, 100 * TICKS_PER_MS);
    ireg_w(ISEL_EIDELIVERY, 1);          /* identity 9 still pending */
    ni = hs->nirqs;
    csr_write(mie, MIP_MEIP | MIP_MTIP);
    ok = wait_irq(hs, ni, 500 * TICKS_PER_MS);
    ok = ok && wait_irq(hs, ni + 1, 500 * TICKS_PER_MS);
    csr_write(mie, 0);
    if (expect(&r, ok, "MEI+MTI-taken nirqs", hs->nirqs - ni, 2)) {
        EXPECT_EQ(&r, "MEI+MTI-first", hs->irq_log[ni & 3], CAUSE_INTR | IRQ_MEI);
        EXPECT_EQ(&r, "MEI+MTI-second", hs->irq_log[(ni + 1) & 3], CAUSE_INTR | IRQ_MTI);
        EXPECT_EQ(&r, "MEI-claimed-9", imsic_m_pending(9), 0);
    }
    /* MTI at iprio 5 before MEI (identity 12). */
    imsic_m_enable(12, 1);
    mmio_w32(IMSIC_M(0), 12);
    mmio_w64(CLINT_MTIMECMP(0), 0);
    poll_mip(MIP_MTIP, MIP_MTIP, 100 * TICKS_PER_MS);
    ireg_w(ISEL_IPRIO(0), 5UL << 56);
    ni = hs->nirqs;
    csr_write(mie, MIP_MEIP | MIP_MTIP);
    ok = wait_irq(hs, ni, 500 * TICKS_PER_MS);
    ok = ok && wait_irq(hs, ni + 1, 500 * TICKS_PER_MS);
    csr_write(mie, 0);
    if (expect(&r, ok, "MTI5+MEI-taken nirqs", hs->nirqs - ni, 2)) {
        EXPECT_EQ(&r, "MTI5+MEI-first", hs->irq_log[ni & 3], CAUSE_INTR | IRQ_MTI);
        EXPECT_EQ(&r, "MTI5+MEI-second", hs->irq_log[(ni + 1) & 3], CAUSE_INTR | IRQ_MEI);
        EXPECT_EQ(&r, "MEI-claim-12", hs->claim, TOPEI(12));
    }
    /* Back to the reset priorities: MSI and MTI taken in the default order. */
    ireg_w(ISEL_IPRIO(0), iprio0);
    ireg_w(ISEL_EIDELIVERY, 0);
    mmio_w32(CLINT_MSIP(0), 1);
    mmio_w64(CLINT_MTIMECMP(0), 0);
    poll_mip(MIP_MTIP, MIP_MTIP, 100 * TICKS_PER_MS);
    ni = hs->nirqs;
    csr_write(mie, MIP_MSIP | MIP_MTIP);
    ok = wait_irq(hs, ni, 500 * TICKS_PER_MS);
    ok = ok && wait_irq(hs, ni + 1, 500 * TICKS_PER_MS);
    csr_write(mie, 0);
    if (expect(&r, ok, "MSI+MTI-reset-taken nirqs", hs->nirqs - ni, 2)) {
        EXPECT_EQ(&r, "MSI+MTI-reset-first", hs->irq_log[ni & 3], CAUSE_INTR | IRQ_MSI);
        EXPECT_EQ(&r, "MSI+MTI-reset-second", hs->irq_log[(ni + 1) & 3], CAUSE_INTR | IRQ_MTI);
    }
    mmio_w32(CLINT_MSIP(0), 0);
    mmio_w64(CLINT_MTIMECMP(0), ~0UL);
    imsic_m_clear();
    EXPECT_EQ(&r, "mtopi-after", mtopi(), 0);
    end(&r);
}

/* eidelivery gates mip.MEIP, not mtopei; then the interrupt is taken. */
static void test_imsic_eidelivery(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (aia_skip("imsic-eidelivery", INTC_APLIC_IMSIC)) return;
    begin(&r, "imsic-eidelivery");
    aia_quiet();
    imsic_m_clear();
    imsic_m_enable(33, 1);
    mmio_w32(IMSIC_M(0), 33);
    EXPECT_EQ(&r, "eip-33", imsic_m_pending(33), 1);
    EXPECT_EQ(&r, "mip.MEIP-eidelivery=0", csr_read(mip) & MIP_MEIP, 0);
    EXPECT_EQ(&r, "mtopei-eidelivery=0", mtopei(), TOPEI(33));
    ireg_w(ISEL_EIDELIVERY, 1);
    EXPECT_EQ(&r, "mip.MEIP-eidelivery=1", csr_read(mip) & MIP_MEIP, MIP_MEIP);
    ireg_w(ISEL_EIDELIVERY, 0);
    EXPECT_EQ(&r, "mip.MEIP-eidelivery=0-again", csr_read(mip) & MIP_MEIP, 0);
    /* Enabled but not pending, pending but not enabled: no MEIP. */
    ireg_w(ISEL_EIDELIVERY, 1);
    imsic_m_enable(33, 0);
    EXPECT_EQ(&r, "mip.MEIP-not-enabled", csr_read(mip) & MIP_MEIP, 0);
    EXPECT_EQ(&r, "mtopei-not-enabled", mtopei(), 0);
    imsic_m_enable(33, 1);
    EXPECT_EQ(&r, "mip.MEIP-enabled-again", csr_read(mip) & MIP_MEIP, MIP_MEIP);
    /* mip.MEIP is not software-writable. */
    csr_clear(mip, MIP_MEIP);
    EXPECT_EQ(&r, "mip.MEIP-after-csrc", csr_read(mip) & MIP_MEIP, MIP_MEIP);
    /* Taken: mcause, the claim through csrrw mtopei, MEIP low after. */
    u64 ni = hs->nirqs;
    hs->claim = hs->claim2 = 0xdead;
    csr_write(mie, MIP_MEIP);
    int ok = wait_irq(hs, ni, 500 * TICKS_PER_MS);
    csr_write(mie, 0);
    if (expect(&r, ok, "mei-timeout mip", csr_read(mip), MIP_MEIP)) {
        EXPECT_EQ(&r, "mcause", hs->mcause, CAUSE_INTR | IRQ_MEI);
        EXPECT_EQ(&r, "claim", hs->claim, TOPEI(33));
        EXPECT_EQ(&r, "mtopei-after-claim", hs->claim2, 0);
        EXPECT_EQ(&r, "mip.MEIP-after-claim", hs->mip_after & MIP_MEIP, 0);
        EXPECT_EQ(&r, "nirqs", hs->nirqs - ni, 1);
    }
    EXPECT_EQ(&r, "eip-33-after", imsic_m_pending(33), 0);
    imsic_m_clear();
    end(&r);
}

/* Several identities pending: mtopei names the lowest enabled one, reads
   do not claim, every write form claims the top one. */
static void test_imsic_topei_order(void)
{
    struct result r;
    if (aia_skip("imsic-topei-order", INTC_APLIC_IMSIC)) return;
    begin(&r, "imsic-topei-order");
    aia_quiet();
    imsic_m_clear();
    static const u8 ids[] = {5, 17, 64, 100, 200, 255};
    static const u8 order[] = {255, 17, 100, 5, 64, 200};
    for (u64 i = 0; i < sizeof ids; i++) imsic_m_enable(ids[i], 1);
    for (u64 i = 0; i < sizeof order; i++) mmio_w32(IMSIC_M(0), order[i]);
    mmio_w32(IMSIC_M(0), 3);             /* pending, not enabled */
    EXPECT_EQ(&r, "eip0", ireg_r(ISEL_EIP(0)), (1UL << 3) | (1UL << 5) | (1UL << 17));
    EXPECT_EQ(&r, "eip2", ireg_r(ISEL_EIP(2)), (1UL << 0) | (1UL << 36));
    EXPECT_EQ(&r, "eip4", ireg_r(ISEL_EIP(4)), 0);
    EXPECT_EQ(&r, "eip6", ireg_r(ISEL_EIP(6)), (1UL << 8) | (1UL << 63));
    EXPECT_EQ(&r, "mtopei", mtopei(), TOPEI(5));
    EXPECT_EQ(&r, "mtopei-read-again", mtopei(), TOPEI(5));
    u64 v;
    __asm__ volatile("csrrs %0, 0x35c, zero" : "=r"(v) :: "memory");
    EXPECT_EQ(&r, "csrrs-x0", v, TOPEI(5));
    __asm__ volatile("csrrc %0, 0x35c, zero" : "=r"(v) :: "memory");
    EXPECT_EQ(&r, "csrrc-x0", v, TOPEI(5));
    __asm__ volatile("csrrsi %0, 0x35c, 0" : "=r"(v) :: "memory");
    EXPECT_EQ(&r, "csrrsi-0", v, TOPEI(5));
    EXPECT_EQ(&r, "no-claim-by-reads", mtopei(), TOPEI(5));
    /* csrrw a0, mtopei, zero: the value read, claimed. */
    EXPECT_EQ(&r, "claim-5", mtopei_claim(), TOPEI(5));
    EXPECT_EQ(&r, "eip-5-after-claim", imsic_m_pending(5), 0);
    /* csrw mtopei, x0 (rd = x0) claims too. */
    __asm__ volatile("csrw 0x35c, zero" ::: "memory");
    EXPECT_EQ(&r, "after-csrw-x0", mtopei(), TOPEI(64));
    /* csrrs with a nonzero mask writes: it claims. */
    __asm__ volatile("csrrs %0, 0x35c, %1" : "=r"(v) : "r"(1UL) : "memory");
    EXPECT_EQ(&r, "csrrs-nonzero-old", v, TOPEI(64));
    EXPECT_EQ(&r, "after-csrrs-nonzero", mtopei(), TOPEI(100));
    /* csrrci with a nonzero immediate writes: it claims. */
    __asm__ volatile("csrrci %0, 0x35c, 1" : "=r"(v) :: "memory");
    EXPECT_EQ(&r, "csrrci-old", v, TOPEI(100));
    EXPECT_EQ(&r, "claim-200", mtopei_claim(), TOPEI(200));
    EXPECT_EQ(&r, "claim-255", mtopei_claim(), TOPEI(255));
    EXPECT_EQ(&r, "claim-none", mtopei_claim(), 0);
    EXPECT_EQ(&r, "mtopei-none", mtopei(), 0);
    /* Left pending: identity 3 only (never enabled). */
    EXPECT_EQ(&r, "eip0-after", ireg_r(ISEL_EIP(0)), 1UL << 3);
    EXPECT_EQ(&r, "eip2-after", ireg_r(ISEL_EIP(2)), 0);
    EXPECT_EQ(&r, "eip6-after", ireg_r(ISEL_EIP(6)), 0);
    imsic_m_enable(3, 1);
    EXPECT_EQ(&r, "mtopei-3-enabled", mtopei(), TOPEI(3));
    /* A pending bit set through eip (mireg) is claimed the same way. */
    csr_writex(CSR_MISELECT, ISEL_EIP(2));
    csr_setx(CSR_MIREG, 1UL << 10);      /* identity 74 */
    imsic_m_enable(74, 1);
    EXPECT_EQ(&r, "claim-3", mtopei_claim(), TOPEI(3));
    EXPECT_EQ(&r, "claim-74", mtopei_claim(), TOPEI(74));
    imsic_m_clear();
    end(&r);
}

/* eithreshold: identities at or above it are not signalled (mtopei, MEIP). */
static void test_imsic_threshold(void)
{
    struct result r;
    if (aia_skip("imsic-threshold", INTC_APLIC_IMSIC)) return;
    begin(&r, "imsic-threshold");
    aia_quiet();
    imsic_m_clear();
    imsic_m_enable(10, 1);
    imsic_m_enable(20, 1);
    mmio_w32(IMSIC_M(0), 20);
    mmio_w32(IMSIC_M(0), 10);
    ireg_w(ISEL_EIDELIVERY, 1);
#define THR(t, top, meip) do {                                                 \
        ireg_w(ISEL_EITHRESHOLD, (t));                                         \
        EXPECT_EQ(&r, "mtopei-threshold-" #t, mtopei(), (top));                \
        EXPECT_EQ(&r, "mip.MEIP-threshold-" #t, csr_read(mip) & MIP_MEIP, (meip)); \
    } while (0)
    THR(0, TOPEI(10), MIP_MEIP);
    THR(15, TOPEI(10), MIP_MEIP);
    THR(11, TOPEI(10), MIP_MEIP);
    THR(10, 0, 0);
    THR(1, 0, 0);
    THR(21, TOPEI(10), MIP_MEIP);
    /* A claim with the top identity below the threshold; the next one is not. */
    EXPECT_EQ(&r, "claim-10", mtopei_claim(), TOPEI(10));
    EXPECT_EQ(&r, "mtopei-20-under-21", mtopei(), TOPEI(20));
    THR(20, 0, 0);
    /* A claim with nothing under the threshold claims nothing. */
    EXPECT_EQ(&r, "claim-under-threshold", mtopei_claim(), 0);
    EXPECT_EQ(&r, "eip-20-still-pending", imsic_m_pending(20), 1);
    /* Thresholds beyond the identities (256 and up) block nothing. */
    THR(256, TOPEI(20), MIP_MEIP);
    THR(0x7ff, TOPEI(20), MIP_MEIP);
    THR(0, TOPEI(20), MIP_MEIP);
#undef THR
    EXPECT_EQ(&r, "claim-20", mtopei_claim(), TOPEI(20));
    EXPECT_EQ(&r, "mip.MEIP-after", csr_read(mip) & MIP_MEIP, 0);
    imsic_m_clear();
    end(&r);
}

/* The M-level file's page: seteipnum_le at offset 0 makes an identity
   pending; identity 0 and identities beyond 255 are ignored; reads are 0.
   seteipnum_be (offset 4, big-endian): QEMU 7.2 ignores it (specification:
   the identity, byte-swapped). */
static void test_imsic_mmio(void)
{
    struct result r;
    if (aia_skip("imsic-mmio", INTC_APLIC_IMSIC)) return;
    begin(&r, "imsic-mmio");
    aia_quiet();
    imsic_m_clear();
    mmio_w32(IMSIC_M(0), 0);
    mmio_w32(IMSIC_M(0), 256);
    mmio_w32(IMSIC_M(0), 0x800);
    mmio_w32(IMSIC_M(0), 0xffffffffU);
    for (u64 k = 0; k < 8; k += 2) EXPECT_EQ(&r, "eipk-after-ignored-ids", ireg_r(ISEL_EIP(k)), 0);
    mmio_w32(IMSIC_M(0), 0x100 | 7);     /* 263: beyond */
    EXPECT_EQ(&r, "eip0-after-263", ireg_r(ISEL_EIP(0)), 0);
    mmio_w32(IMSIC_M(0) + 4, 0x07000000U);
    u64 be = ireg_r(ISEL_EIP(0));
    EXPECT_EQ(&r, "eip0-after-seteipnum_be", be, 0);
    if (native) note("imsic-mmio", "eip0 after seteipnum_be of 7 (specification: 0x80)", be);
    mmio_w32(IMSIC_M(0) + 8, 9);
    mmio_w32(IMSIC_M(0) + 0xffc, 9);
    EXPECT_EQ(&r, "eip0-after-reserved-offsets", ireg_r(ISEL_EIP(0)), 0);
    mmio_w32(IMSIC_M(0), 255);
    mmio_w32(IMSIC_M(0), 1);
    EXPECT_EQ(&r, "eip0-after-1", ireg_r(ISEL_EIP(0)), 2);
    EXPECT_EQ(&r, "eip6-after-255", ireg_r(ISEL_EIP(6)), 1UL << 63);
    EXPECT_EQ(&r, "read-seteipnum_le", mmio_r32(IMSIC_M(0)), 0);
    EXPECT_EQ(&r, "read-seteipnum_be", mmio_r32(IMSIC_M(0) + 4), 0);
    EXPECT_EQ(&r, "read-0xffc", mmio_r32(IMSIC_M(0) + 0xffc), 0);
    /* Another hart's page: its file, not this one. */
    if (nharts > 1) {
        mmio_w32(IMSIC_M(1), 44);
        EXPECT_EQ(&r, "hart1-write-not-here", imsic_m_pending(44), 0);
    }
    imsic_m_clear();
    end(&r);
}

/* IPIs through the M-level files: every ordered pair of harts. Sender a
   writes identity IPI_ID(a, b) = 0x40 + 8a + b to the seteipnum_le of
   every other hart b, all of which wait with MEI enabled; each takes MEI
   and claims its identity with csrrw mtopei. */
static void test_imsic_ipi(void)
{
    struct result r;
    struct hart_state *h0 = &harts[0];
    if (aia_skip("imsic-ipi", INTC_APLIC_IMSIC)) return;
    if (nharts < 2) {
        skip("imsic-ipi", "needs 2 harts (-smp 2)");
        return;
    }
    begin(&r, "imsic-ipi");
    aia_quiet();
    imsic_m_clear();
    for (u64 a = 0; a < nharts; a++) {
        for (u64 b = 1; b < nharts; b++)
            if (b != a) recv_post(b, IPI_ID(a, b));
        int ready = 1;
        for (u64 b = 1; b < nharts; b++)
            if (b != a && !expect(&r, recv_ready(b), "receiver-ready (got=a<<4|b)", (a << 4) | b, (a << 4) | b))
                ready = 0;
        if (!ready) break;
        u64 ni = h0->nirqs;
        if (a != 0) {
            h0->claim = h0->claim2 = 0xdead;
            h0->mcause = 0;
            imsic_m_enable(IPI_ID(a, 0), 1);
            ireg_w(ISEL_EIDELIVERY, 1);
            csr_write(mie, MIP_MEIP);
        }
        int sent = imsic_send_all(a);
        expect(&r, sent, "sender-done (got=a)", a, a);
        if (a != 0) {
            u64 pair = a << 4, id = IPI_ID(a, 0);
            int ok = wait_irq(h0, ni, 2000 * TICKS_PER_MS);
            csr_write(mie, 0);
            ireg_w(ISEL_EIDELIVERY, 0);
            imsic_m_enable(id, 0);
            if (expect(&r, ok, "hart0-no-MEI (got=pair<<32|mip)", (pair << 32) | csr_read(mip), pair << 32)) {
                EXPECT_EQ(&r, "hart0-mcause", h0->mcause, CAUSE_INTR | IRQ_MEI);
                expect(&r, h0->claim == TOPEI(id), "hart0-claim (got=pair<<32|claim)",
                       (pair << 32) | h0->claim, (pair << 32) | TOPEI(id));
                EXPECT_EQ(&r, "hart0-mtopei-after", h0->claim2, 0);
                EXPECT_EQ(&r, "hart0-mip.MEIP-after", h0->mip_after & MIP_MEIP, 0);
                EXPECT_EQ(&r, "hart0-nirqs", h0->nirqs - ni, 1);
            }
        }
        for (u64 b = 1; b < nharts; b++) {
            if (b == a) continue;
            u64 pair = (a << 4) | b, id = IPI_ID(a, b);
            struct hart_state *hb = &harts[b];
            if (!expect(&r, recv_done(b), "receiver-no-MEI (got=pair)", pair, pair)) continue;
            expect(&r, hb->mcause == (CAUSE_INTR | IRQ_MEI), "receiver-mcause (got=pair<<32|mcause)",
                   (pair << 32) | (hb->mcause & 0xffffffffUL), (pair << 32) | IRQ_MEI);
            expect(&r, hb->claim == TOPEI(id), "receiver-claim (got=pair<<32|claim)",
                   (pair << 32) | hb->claim, (pair << 32) | TOPEI(id));
            EXPECT_EQ(&r, "receiver-mtopei-after", hb->claim2, 0);
            EXPECT_EQ(&r, "receiver-mip.MEIP-after", hb->mip_after & MIP_MEIP, 0);
            EXPECT_EQ(&r, "receiver-unexpected", hb->unexpected, 0);
        }
    }
    EXPECT_EQ(&r, "hart0-eip-left", ireg_r(ISEL_EIP(0)) | ireg_r(ISEL_EIP(2)), 0);
    end(&r);
}

/* Hart 0's S-level file, driven from M-mode through siselect/sireg and
   stopei: an identity written to its page raises mip.SEIP. */
static void test_imsic_s_file(void)
{
    struct result r;
    if (aia_skip("imsic-s-file", INTC_APLIC_IMSIC)) return;
    begin(&r, "imsic-s-file");
    aia_quiet();
    u64 sel = csr_readx(CSR_SISELECT);
    imsic_s_clear();
    EXPECT_EQ(&r, "stopei-idle", csr_readx(CSR_STOPEI), 0);
    imsic_s_enable(77, 1);
    mmio_w32(IMSIC_S(0), 77);
    EXPECT_EQ(&r, "s-eip-77", imsic_s_pending(77), 1);
    EXPECT_EQ(&r, "m-eip-77", imsic_m_pending(77), 0);
    EXPECT_EQ(&r, "mip.SEIP-eidelivery=0", csr_read(mip) & MIP_SEIP, 0);
    EXPECT_EQ(&r, "stopei", csr_readx(CSR_STOPEI), TOPEI(77));
    sireg_w(ISEL_EIDELIVERY, 1);
    EXPECT_EQ(&r, "mip.SEIP", csr_read(mip) & MIP_XEIP, MIP_SEIP);
    EXPECT_EQ(&r, "mtopei-untouched", mtopei(), 0);
    sireg_w(ISEL_EITHRESHOLD, 77);
    EXPECT_EQ(&r, "mip.SEIP-threshold-77", csr_read(mip) & MIP_SEIP, 0);
    EXPECT_EQ(&r, "stopei-threshold-77", csr_readx(CSR_STOPEI), 0);
    sireg_w(ISEL_EITHRESHOLD, 0);
    EXPECT_EQ(&r, "stopei-claim", stopei_claim(), TOPEI(77));
    EXPECT_EQ(&r, "mip.SEIP-after-claim", csr_read(mip) & MIP_SEIP, 0);
    EXPECT_EQ(&r, "stopi-idle", csr_readx(CSR_STOPI), 0);
    imsic_s_clear();
    csr_writex(CSR_SISELECT, sel);
    end(&r);
}

/* The APLIC's machine-level domain in MSI mode: register semantics. */
static void test_aplic_msi_registers(void)
{
    struct result r;
    if (aia_skip("aplic-msi-registers", INTC_APLIC_IMSIC)) return;
    begin(&r, "aplic-msi-registers");
    aia_quiet();
    aplic_normalize();
    const u64 d = APLIC_M, s = 41;
    /* domaincfg: bit 31 reads 1, DM (MSI mode) 1, only IE writable. */
    u32 dc = mmio_r32(APLIC_DOMAINCFG(d));
    EXPECT_EQ(&r, "domaincfg-at-reset", dc, APLIC_DOMAINCFG_RO | APLIC_DOMAINCFG_DM);
    mmio_w32(APLIC_DOMAINCFG(d), ~0U);
    EXPECT_EQ(&r, "domaincfg-after-~0", mmio_r32(APLIC_DOMAINCFG(d)),
              APLIC_DOMAINCFG_RO | APLIC_DOMAINCFG_IE | APLIC_DOMAINCFG_DM);
    mmio_w32(APLIC_DOMAINCFG(d), 0);
    EXPECT_EQ(&r, "domaincfg-after-0", mmio_r32(APLIC_DOMAINCFG(d)), APLIC_DOMAINCFG_RO | APLIC_DOMAINCFG_DM);
    EXPECT_EQ(&r, "s-domaincfg-at-reset", mmio_r32(APLIC_DOMAINCFG(APLIC_S)), APLIC_DOMAINCFG_RO | APLIC_DOMAINCFG_DM);
    /* sourcecfg: SM only without D; D with the child index. */
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_LEVEL_LOW);
    EXPECT_EQ(&r, "sourcecfg-7", mmio_r32(APLIC_SOURCECFG(d, s)), APLIC_SM_LEVEL_LOW);
    mmio_w32(APLIC_SOURCECFG(d, s), 0x3f8 | APLIC_SM_EDGE_RISE);
    EXPECT_EQ(&r, "sourcecfg-garbage|4", mmio_r32(APLIC_SOURCECFG(d, s)), APLIC_SM_EDGE_RISE);
    mmio_w32(APLIC_SOURCECFG(d, s), ~0U);
    u32 sc = mmio_r32(APLIC_SOURCECFG(d, s));
    EXPECT_EQ(&r, "sourcecfg-~0", sc, 0x7ff);
    if (native) note("aplic-msi-registers", "sourcecfg after ~0 (D, child index 1023 kept) reads", sc);
    mmio_w32(APLIC_SOURCECFG(d, s), 2);
    u32 sm2 = mmio_r32(APLIC_SOURCECFG(d, s));
    EXPECT_EQ(&r, "sourcecfg-reserved-SM-2", sm2, 2);
    if (native) note("aplic-msi-registers", "sourcecfg after the reserved SM 2 reads", sm2);
    aplic_off(d, s);
    EXPECT_EQ(&r, "sourcecfg-0", mmio_r32(APLIC_SOURCECFG(d, s)), 0);
    /* Beyond source 96: read 0, writes ignored. */
    mmio_w32(APLIC_SOURCECFG(d, APLIC_SOURCES + 1), APLIC_SM_EDGE_RISE);
    EXPECT_EQ(&r, "sourcecfg[97]", mmio_r32(APLIC_SOURCECFG(d, APLIC_SOURCES + 1)), 0);
    mmio_w32(APLIC_SOURCECFG(d, APLIC_SOURCES), APLIC_SM_EDGE_RISE);
    EXPECT_EQ(&r, "sourcecfg[96]", mmio_r32(APLIC_SOURCECFG(d, APLIC_SOURCES)), APLIC_SM_EDGE_RISE);
    aplic_off(d, APLIC_SOURCES);
    /* target in MSI mode. */
    EXPECT_EQ(&r, "target-at-reset", mmio_r32(APLIC_TARGET(d, s)), 0);
    mmio_w32(APLIC_TARGET(d, s), ~0U);
    u32 tg = mmio_r32(APLIC_TARGET(d, s));
    EXPECT_EQ(&r, "target-after-~0", tg, QEMU_MSI_TARGET_ONES);
    if (native) note("aplic-msi-registers", "target after ~0 (specification: 0xfffc07ff) reads", tg);
    mmio_w32(APLIC_TARGET(d, s), MSI_TARGET(1, 0x7ff));
    EXPECT_EQ(&r, "target-hart1-eiid7ff", mmio_r32(APLIC_TARGET(d, s)), MSI_TARGET(1, 0x7ff));
    mmio_w32(APLIC_TARGET(d, s), 0);
    EXPECT_EQ(&r, "target[97]", mmio_r32(APLIC_TARGET(d, APLIC_SOURCES + 1)), 0);
    /* Pending and enable bits: inactive sources keep neither. */
    mmio_w32(APLIC_SETIPNUM(d), s);
    mmio_w32(APLIC_SETIENUM(d), s);
    EXPECT_EQ(&r, "inactive-pending", aplic_pending(d, s), 0);
    EXPECT_EQ(&r, "inactive-enabled", aplic_enabled(d, s), 0);
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_EDGE_RISE);
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "setipnum", aplic_pending(d, s), 1);
    EXPECT_EQ(&r, "setip-word", mmio_r32(APLIC_SETIP(d, 1)), 1U << (s % 32));
    mmio_w32(APLIC_CLRIPNUM(d), s);
    EXPECT_EQ(&r, "clripnum", aplic_pending(d, s), 0);
    mmio_w32(APLIC_SETIP(d, 1), 1U << (s % 32));
    EXPECT_EQ(&r, "setip-write", aplic_pending(d, s), 1);
    mmio_w32(APLIC_IN_CLRIP(d, 1), 1U << (s % 32));
    EXPECT_EQ(&r, "in_clrip-write", aplic_pending(d, s), 0);
    mmio_w32(APLIC_SETIPNUM_LE(d), s);
    EXPECT_EQ(&r, "setipnum_le", aplic_pending(d, s), 1);
    mmio_w32(APLIC_CLRIPNUM(d), s);
    mmio_w32(APLIC_SETIPNUM_BE(d), (u32)s << 24);
    EXPECT_EQ(&r, "setipnum_be", aplic_pending(d, s), 1);
    mmio_w32(APLIC_CLRIPNUM(d), s);
    mmio_w32(APLIC_SETIENUM(d), s);
    EXPECT_EQ(&r, "setienum", aplic_enabled(d, s), 1);
    EXPECT_EQ(&r, "clrie-reads-0", mmio_r32(APLIC_CLRIE(d, 1)), 0);
    mmio_w32(APLIC_CLRIENUM(d), s);
    EXPECT_EQ(&r, "clrienum", aplic_enabled(d, s), 0);
    mmio_w32(APLIC_SETIE(d, 1), 1U << (s % 32));
    EXPECT_EQ(&r, "setie-write", aplic_enabled(d, s), 1);
    mmio_w32(APLIC_CLRIE(d, 1), 1U << (s % 32));
    EXPECT_EQ(&r, "clrie-write", aplic_enabled(d, s), 0);
    EXPECT_EQ(&r, "setipnum-reads-0", mmio_r32(APLIC_SETIPNUM(d)), 0);
    EXPECT_EQ(&r, "clripnum-reads-0", mmio_r32(APLIC_CLRIPNUM(d)), 0);
    EXPECT_EQ(&r, "setienum-reads-0", mmio_r32(APLIC_SETIENUM(d)), 0);
    EXPECT_EQ(&r, "clrienum-reads-0", mmio_r32(APLIC_CLRIENUM(d)), 0);
    EXPECT_EQ(&r, "setipnum_le-reads-0", mmio_r32(APLIC_SETIPNUM_LE(d)), 0);
    /* in_clrip reads the (undriven) input: 0 for an edge-rise source. */
    EXPECT_EQ(&r, "in_clrip-edge-rise", (mmio_r32(APLIC_IN_CLRIP(d, 1)) >> (s % 32)) & 1, 0);
    /* Rectified: inverted for the falling-edge and level-low modes (QEMU
       7.2.0 read the raw input; Debian's 7.2 has the upstream fix). */
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_EDGE_FALL);
    EXPECT_EQ(&r, "in_clrip-edge-fall", (mmio_r32(APLIC_IN_CLRIP(d, 1)) >> (s % 32)) & 1, 1);
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_LEVEL_LOW);
    EXPECT_EQ(&r, "in_clrip-level-low", (mmio_r32(APLIC_IN_CLRIP(d, 1)) >> (s % 32)) & 1, 1);
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_DETACHED);
    EXPECT_EQ(&r, "in_clrip-detached", (mmio_r32(APLIC_IN_CLRIP(d, 1)) >> (s % 32)) & 1, 0);
    aplic_off(d, s);
    EXPECT_EQ(&r, "in_clrip-inactive", (mmio_r32(APLIC_IN_CLRIP(d, 1)) >> (s % 32)) & 1, 0);
    /* Level-sensitive sources: setipnum works in MSI mode. */
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_LEVEL_HIGH);
    mmio_w32(APLIC_SETIPNUM(d), s);
    u32 lvl = aplic_pending(d, s);
    EXPECT_EQ(&r, "level-high-setipnum", lvl, 1);
    aplic_off(d, s);
    /* MSI address configuration (not locked): WARL fields. */
    mmio_w32(APLIC_MMSIADDRCFG(d), ~0U);
    EXPECT_EQ(&r, "mmsiaddrcfg-~0", mmio_r32(APLIC_MMSIADDRCFG(d)), ~0U);
    mmio_w32(APLIC_MMSIADDRCFGH(d), 0x7fffffffU);
    EXPECT_EQ(&r, "mmsiaddrcfgh-~L", mmio_r32(APLIC_MMSIADDRCFGH(d)), 0x1f77ffffU);
    mmio_w32(APLIC_SMSIADDRCFG(d), ~0U);
    EXPECT_EQ(&r, "smsiaddrcfg-~0", mmio_r32(APLIC_SMSIADDRCFG(d)), ~0U);
    mmio_w32(APLIC_SMSIADDRCFGH(d), 0x7fffffffU);
    u32 sh = mmio_r32(APLIC_SMSIADDRCFGH(d));
    EXPECT_EQ(&r, "smsiaddrcfgh-~L", sh, QEMU_SMSIADDRCFGH_ONES & 0x7fffffffU);
    if (native) note("aplic-msi-registers", "smsiaddrcfgh after 0x7fffffff (specification: 0x700fff) reads", sh);
    aplic_msi_config();
    EXPECT_EQ(&r, "mmsiaddrcfg", mmio_r32(APLIC_MMSIADDRCFG(d)), (u32)(IMSIC_M(0) >> 12));
    EXPECT_EQ(&r, "mmsiaddrcfgh", mmio_r32(APLIC_MMSIADDRCFGH(d)), MSIADDRCFGH_LHXW(MSI_LHXW));
    /* The supervisor-level domain has none of them. */
    EXPECT_EQ(&r, "s-domain-mmsiaddrcfg", mmio_r32(APLIC_MMSIADDRCFG(APLIC_S)), 0);
    mmio_w32(APLIC_MMSIADDRCFG(APLIC_S), 0x1234);
    EXPECT_EQ(&r, "s-domain-mmsiaddrcfg-write", mmio_r32(APLIC_MMSIADDRCFG(APLIC_S)), 0);
    /* No IDCs in MSI mode; genmsi reads what was written (no Busy). */
    mmio_w32(APLIC_IDC(d, 0) + IDC_IDELIVERY, 1);
    EXPECT_EQ(&r, "idc-in-msi-mode", mmio_r32(APLIC_IDC(d, 0) + IDC_IDELIVERY), 0);
    EXPECT_EQ(&r, "genmsi-at-reset", mmio_r32(APLIC_GENMSI(d)), 0);
    EXPECT_EQ(&r, "reserved-0x1bd0", mmio_r32(d + 0x1bd0), 0);
    EXPECT_EQ(&r, "reserved-0x1c10", mmio_r32(d + 0x1c10), 0);
    end(&r);
}

/* Non-delegated sources forwarded as MSIs to each hart's M-level file. */
static void test_aplic_msi_forward(void)
{
    struct result r;
    struct hart_state *h0 = &harts[0];
    if (aia_skip("aplic-msi-forward", INTC_APLIC_IMSIC)) return;
    begin(&r, "aplic-msi-forward");
    aia_quiet();
    const u64 d = APLIC_M, s = 40, eiid = 50;
    imsic_m_clear();
    aplic_msi_config();
    aplic_off(d, s);
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_EDGE_RISE);
    mmio_w32(APLIC_TARGET(d, s), MSI_TARGET(0, eiid));
    mmio_w32(APLIC_DOMAINCFG(d), APLIC_DOMAINCFG_IE);
    imsic_m_enable(eiid, 1);
    ireg_w(ISEL_EIDELIVERY, 1);
    /* Pending while not enabled: held in the APLIC. */
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "held-pending", aplic_pending(d, s), 1);
    EXPECT_EQ(&r, "held-eip", imsic_m_pending(eiid), 0);
    /* Enabled: forwarded at once, the APLIC's pending bit cleared. */
    mmio_w32(APLIC_SETIENUM(d), s);
    EXPECT_EQ(&r, "forwarded-pending", aplic_pending(d, s), 0);
    EXPECT_EQ(&r, "forwarded-eip", imsic_m_pending(eiid), 1);
    EXPECT_EQ(&r, "forwarded-mip.MEIP", csr_read(mip) & MIP_MEIP, MIP_MEIP);
    EXPECT_EQ(&r, "forwarded-mtopei", mtopei(), TOPEI(eiid));
    EXPECT_EQ(&r, "claim", mtopei_claim(), TOPEI(eiid));
    /* domaincfg.IE = 0 holds it; IE = 1 forwards it. */
    mmio_w32(APLIC_DOMAINCFG(d), 0);
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "IE=0-pending", aplic_pending(d, s), 1);
    EXPECT_EQ(&r, "IE=0-eip", imsic_m_pending(eiid), 0);
    mmio_w32(APLIC_DOMAINCFG(d), APLIC_DOMAINCFG_IE);
    EXPECT_EQ(&r, "IE=1-pending", aplic_pending(d, s), 0);
    EXPECT_EQ(&r, "IE=1-claim", mtopei_claim(), TOPEI(eiid));
    /* setipnum_le, and a detached source. */
    mmio_w32(APLIC_SETIPNUM_LE(d), s);
    EXPECT_EQ(&r, "setipnum_le-claim", mtopei_claim(), TOPEI(eiid));
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_DETACHED);
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "detached-claim", mtopei_claim(), TOPEI(eiid));
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_EDGE_RISE);
    EXPECT_EQ(&r, "enabled-after-SM-change", aplic_enabled(d, s), 1);
    /* EIID 0: the MSI writes 0, which the file ignores. */
    mmio_w32(APLIC_TARGET(d, s), MSI_TARGET(0, 0));
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "eiid0-pending", aplic_pending(d, s), 0);
    EXPECT_EQ(&r, "eiid0-mtopei", mtopei(), 0);
    /* A new target applies to the next MSI. */
    mmio_w32(APLIC_TARGET(d, s), MSI_TARGET(0, eiid + 1));
    imsic_m_enable(eiid + 1, 1);
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "new-eiid-claim", mtopei_claim(), TOPEI(eiid + 1));
    /* genmsi: an MSI straight to a hart's file. */
    mmio_w32(APLIC_GENMSI(d), MSI_TARGET(0, eiid));
    u32 gm = mmio_r32(APLIC_GENMSI(d));
    EXPECT_EQ(&r, "genmsi-reads", gm, MSI_TARGET(0, eiid));
    EXPECT_EQ(&r, "genmsi-claim", mtopei_claim(), TOPEI(eiid));
    /* The MSI address follows mmsiaddrcfg/h: the hart index beyond the
       harts (LHXW 4: its page has no file) goes nowhere; with LHXW 0 every
       hart index is hart 0's page; with the S-level files' base the MSI
       lands in hart 0's S-level file. */
    mmio_w32(APLIC_MMSIADDRCFGH(d), MSIADDRCFGH_LHXW(4));
    mmio_w32(APLIC_TARGET(d, s), MSI_TARGET(nharts, eiid));
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "no-such-hart: pending", aplic_pending(d, s), 0);
    EXPECT_EQ(&r, "no-such-hart: hart0-eip", imsic_m_pending(eiid), 0);
    mmio_w32(APLIC_MMSIADDRCFGH(d), MSIADDRCFGH_LHXW(0));
    mmio_w32(APLIC_TARGET(d, s), MSI_TARGET(1, eiid));
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "LHXW=0: hart1-lands-on-hart0", mtopei_claim(), TOPEI(eiid));
    aplic_msi_config();
    mmio_w32(APLIC_MMSIADDRCFG(d), (u32)(IMSIC_S(0) >> 12));
    mmio_w32(APLIC_TARGET(d, s), MSI_TARGET(0, eiid));
    imsic_s_clear();
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "S-base: m-file-eip", imsic_m_pending(eiid), 0);
    EXPECT_EQ(&r, "S-base: s-file-eip", imsic_s_pending(eiid), 1);
    imsic_s_clear();
    aplic_msi_config();
    /* Taken as an interrupt on hart 0. */
    mmio_w32(APLIC_TARGET(d, s), MSI_TARGET(0, eiid));
    u64 ni = h0->nirqs;
    h0->claim = 0xdead;
    csr_write(mie, MIP_MEIP);
    mmio_w32(APLIC_SETIPNUM(d), s);
    int ok = wait_irq(h0, ni, 500 * TICKS_PER_MS);
    csr_write(mie, 0);
    if (expect(&r, ok, "hart0-no-MEI mip", csr_read(mip), MIP_MEIP)) {
        EXPECT_EQ(&r, "hart0-mcause", h0->mcause, CAUSE_INTR | IRQ_MEI);
        EXPECT_EQ(&r, "hart0-claim", h0->claim, TOPEI(eiid));
    }
    ireg_w(ISEL_EIDELIVERY, 0);
    imsic_m_enable(eiid, 0);
    imsic_m_enable(eiid + 1, 0);
    /* Every other hart (all waiting at once): the source targeted at each
       in turn, then genmsi to each. */
    for (int round = 0; round < 2 && nharts > 1; round++) {
        u64 off = round ? 16 : 0;
        int ready = 1;
        for (u64 h = 1; h < nharts; h++) recv_post(h, eiid + h + off);
        for (u64 h = 1; h < nharts; h++)
            if (!expect(&r, recv_ready(h), "receiver-ready (got=round<<8|hart)", ((u64)round << 8) | h,
                        ((u64)round << 8) | h))
                ready = 0;
        if (!ready) break;
        for (u64 h = 1; h < nharts; h++) {
            if (round == 0) {
                mmio_w32(APLIC_TARGET(d, s), MSI_TARGET(h, eiid + h));
                mmio_w32(APLIC_SETIPNUM(d), s);
            } else {
                mmio_w32(APLIC_GENMSI(d), MSI_TARGET(h, eiid + h + off));
            }
        }
        for (u64 h = 1; h < nharts; h++) {
            u64 id = eiid + h + off, tag = ((u64)round << 8) | h;
            if (!expect(&r, recv_done(h), "receiver-no-MEI (got=round<<8|hart)", tag, tag)) continue;
            expect(&r, harts[h].claim == TOPEI(id), "receiver-claim (got=round<<8|hart<<32|claim)",
                   (tag << 32) | harts[h].claim, (tag << 32) | TOPEI(id));
            EXPECT_EQ(&r, "receiver-mcause", harts[h].mcause, CAUSE_INTR | IRQ_MEI);
        }
    }
    EXPECT_EQ(&r, "hart0-eip-untouched", ireg_r(ISEL_EIP(0)), 0);
    aplic_off(d, s);
    mmio_w32(APLIC_TARGET(d, s), 0);
    mmio_w32(APLIC_DOMAINCFG(d), 0);
    imsic_m_clear();
    end(&r);
}

/* Delegation to the supervisor-level domain (sourcecfg.D): the child index
   reads back, the machine-level domain no longer takes the source, the
   child forwards it to the S-level files (smsiaddrcfg). */
static void test_aplic_msi_delegation(void)
{
    struct result r;
    if (aia_skip("aplic-msi-delegation", INTC_APLIC_IMSIC)) return;
    begin(&r, "aplic-msi-delegation");
    aia_quiet();
    const u64 m = APLIC_M, sd = APLIC_S, s = 42, t = 43, eiid = 60;
    aplic_msi_config();
    aplic_off(m, s);
    /* Delegated: sourcecfg = D | child 0 reads back; setie/setip ignored. */
    mmio_w32(APLIC_SOURCECFG(m, s), APLIC_SOURCECFG_D | 0);
    EXPECT_EQ(&r, "sourcecfg-D-child0", mmio_r32(APLIC_SOURCECFG(m, s)), APLIC_SOURCECFG_D);
    mmio_w32(APLIC_SOURCECFG(m, s), APLIC_SOURCECFG_D | 0x3ff);
    EXPECT_EQ(&r, "sourcecfg-D-child1023", mmio_r32(APLIC_SOURCECFG(m, s)), APLIC_SOURCECFG_D | 0x3ff);
    mmio_w32(APLIC_SOURCECFG(m, s), APLIC_SOURCECFG_D | APLIC_SM_EDGE_RISE | 0x800);
    EXPECT_EQ(&r, "sourcecfg-D|4", mmio_r32(APLIC_SOURCECFG(m, s)), APLIC_SOURCECFG_D | APLIC_SM_EDGE_RISE);
    mmio_w32(APLIC_SOURCECFG(m, s), APLIC_SOURCECFG_D);
    mmio_w32(APLIC_SETIENUM(m), s);
    mmio_w32(APLIC_SETIPNUM(m), s);
    EXPECT_EQ(&r, "m-delegated-enabled", aplic_enabled(m, s), 0);
    EXPECT_EQ(&r, "m-delegated-pending", aplic_pending(m, s), 0);
    /* A leaf domain has no D bit: QEMU 7.2 then stores 0 for the whole
       write (specification: D read-only 0, the rest as written). */
    mmio_w32(APLIC_SOURCECFG(sd, s), APLIC_SOURCECFG_D | APLIC_SM_EDGE_RISE);
    u32 leaf = mmio_r32(APLIC_SOURCECFG(sd, s));
    EXPECT_EQ(&r, "s-sourcecfg-D|4", leaf, 0);
    if (native) note("aplic-msi-delegation", "S-domain sourcecfg after D|4 (specification: 4) reads", leaf);
    /* A source the parent did not delegate: QEMU 7.2 lets the child
       configure it anyway (specification: sourcecfg read-only 0). */
    aplic_off(m, t);
    mmio_w32(APLIC_SOURCECFG(sd, t), APLIC_SM_EDGE_RISE);
    u32 nd = mmio_r32(APLIC_SOURCECFG(sd, t));
    EXPECT_EQ(&r, "s-sourcecfg-not-delegated", nd, APLIC_SM_EDGE_RISE);
    if (native) note("aplic-msi-delegation", "S-domain sourcecfg of a source not delegated, after 4 (specification: 0) reads", nd);
    aplic_off(sd, t);
    /* The child forwards the delegated source to hart 0's S-level file. */
    imsic_s_clear();
    imsic_s_enable(eiid, 1);
    sireg_w(ISEL_EIDELIVERY, 1);
    mmio_w32(APLIC_SOURCECFG(sd, s), APLIC_SM_EDGE_RISE);
    mmio_w32(APLIC_TARGET(sd, s), MSI_TARGET(0, eiid));
    mmio_w32(APLIC_DOMAINCFG(sd), APLIC_DOMAINCFG_IE);
    mmio_w32(APLIC_SETIENUM(sd), s);
    EXPECT_EQ(&r, "s-enabled", aplic_enabled(sd, s), 1);
    mmio_w32(APLIC_SETIPNUM(m), s);      /* the parent's: ignored */
    EXPECT_EQ(&r, "s-file-after-m-setipnum", imsic_s_pending(eiid), 0);
    mmio_w32(APLIC_SETIPNUM(sd), s);
    EXPECT_EQ(&r, "s-pending-after-forward", aplic_pending(sd, s), 0);
    EXPECT_EQ(&r, "s-file-eip", imsic_s_pending(eiid), 1);
    EXPECT_EQ(&r, "m-file-eip", imsic_m_pending(eiid), 0);
    EXPECT_EQ(&r, "mip.SEIP", csr_read(mip) & MIP_XEIP, MIP_SEIP);
    EXPECT_EQ(&r, "stopei-claim", stopei_claim(), TOPEI(eiid));
    EXPECT_EQ(&r, "mip.SEIP-after-claim", csr_read(mip) & MIP_SEIP, 0);
    /* Undelegated again: the machine-level domain has it back. */
    mmio_w32(APLIC_DOMAINCFG(sd), 0);
    aplic_off(sd, s);
    mmio_w32(APLIC_TARGET(sd, s), 0);
    aplic_off(m, s);
    mmio_w32(APLIC_SOURCECFG(m, s), APLIC_SM_EDGE_RISE);
    mmio_w32(APLIC_SETIPNUM(m), s);
    EXPECT_EQ(&r, "m-pending-after-undelegate", aplic_pending(m, s), 1);
    aplic_off(m, s);
    imsic_s_clear();
    end(&r);
}

/* The UART's THRE interrupt (source 10, a real device line) through the
   APLIC's machine-level domain, level-high then edge-rise, polled with
   mie = 0 (MSI mode: into hart 0's M-level file; direct mode: IDC 0). QEMU
   7.2 departs from the specification for level-sensitive sources: in MSI
   mode setipnum sets the pending bit while the input is low (specification:
   only while it is high); in direct mode the pending bit stays set when the
   input goes low (specification: it follows the input). */
#define QEMU_MSI_LEVEL_SETIPNUM_LOW  1
#define QEMU_DIRECT_LEVEL_KEPT_LOW   1
static void test_aplic_uart(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (intc == INTC_PLIC) {
        skip("aplic-uart", "needs an APLIC (-M virt,aia=aplic-imsic or aia=aplic)");
        return;
    }
    begin(&r, "aplic-uart");
    aia_quiet();
    int msi = intc == INTC_APLIC_IMSIC;
    const u64 d = APLIC_M, s = UART_IRQ, idc = APLIC_IDC(APLIC_M, 0), eiid = 0x21;
    const u32 want = msi ? (u32)TOPEI(eiid) : ((u32)s << 16) | 1;
#define TOP() (msi ? mtopei() : (u64)mmio_r32(idc + IDC_TOPI))
#define CLAIM() (msi ? mtopei_claim() : (u64)mmio_r32(idc + IDC_CLAIMI))
#define INPUT() ((mmio_r32(APLIC_IN_CLRIP(d, 0)) >> s) & 1)
    uart_lower();
    if (msi) {
        aplic_msi_config();
        imsic_m_clear();
        imsic_m_enable(eiid, 1);
        ireg_w(ISEL_EIDELIVERY, 1);
    } else {
        mmio_w32(idc + IDC_IDELIVERY, 1);
    }
    aplic_off(d, s);
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_LEVEL_HIGH);
    mmio_w32(APLIC_TARGET(d, s), msi ? MSI_TARGET(0, eiid) : DIRECT_TARGET(0, 1));
    mmio_w32(APLIC_SETIENUM(d), s);
    mmio_w32(APLIC_DOMAINCFG(d), APLIC_DOMAINCFG_IE);
    EXPECT_EQ(&r, "level-low: input", INPUT(), 0);
    EXPECT_EQ(&r, "level-low: mip.MEIP", csr_read(mip) & MIP_MEIP, 0);
    uart_raise();
    u64 m = poll_mip(MIP_MEIP, MIP_MEIP, 200 * TICKS_PER_MS);
    EXPECT_EQ(&r, "level-raised: mip.MEIP", m & MIP_MEIP, MIP_MEIP);
    EXPECT_EQ(&r, "level-raised: input", INPUT(), 1);
    EXPECT_EQ(&r, "level-raised: pending", aplic_pending(d, s), msi ? 0 : 1);
    EXPECT_EQ(&r, "level-raised: top", TOP(), want);
    EXPECT_EQ(&r, "level-raised: claim", CLAIM(), want);
    /* Still high: MSI mode forwards nothing more; direct mode keeps it pending. */
    EXPECT_EQ(&r, "level-claimed-high: mip.MEIP", csr_read(mip) & MIP_MEIP, msi ? 0 : MIP_MEIP);
    EXPECT_EQ(&r, "level-claimed-high: top", TOP(), msi ? 0 : want);
    if (msi) {
        /* setipnum while high: forwarded again. */
        mmio_w32(APLIC_SETIPNUM(d), s);
        EXPECT_EQ(&r, "level-setipnum-high: top", TOP(), want);
        EXPECT_EQ(&r, "level-setipnum-high: claim", CLAIM(), want);
    }
    uart_lower();
    EXPECT_EQ(&r, "level-lowered: input", INPUT(), 0);
    if (msi) {
        mmio_w32(APLIC_SETIPNUM(d), s);
        u64 t = TOP();
        EXPECT_EQ(&r, "level-setipnum-low: top", t, QEMU_MSI_LEVEL_SETIPNUM_LOW ? want : 0);
        if (native) note("aplic-uart", "MSI mode, level-high, input low: mtopei after setipnum (specification: 0)", t);
        if (t) EXPECT_EQ(&r, "level-setipnum-low: claim", CLAIM(), want);
    } else {
        u64 t = TOP(), mp = csr_read(mip) & MIP_MEIP;
        EXPECT_EQ(&r, "level-lowered: top", t, QEMU_DIRECT_LEVEL_KEPT_LOW ? want : 0);
        EXPECT_EQ(&r, "level-lowered: mip.MEIP", mp, QEMU_DIRECT_LEVEL_KEPT_LOW ? MIP_MEIP : 0);
        if (native) note("aplic-uart", "direct mode, level-high, input lowered: topi (specification: 0)", t);
        if (t) EXPECT_EQ(&r, "level-lowered: claim", CLAIM(), want);
        mmio_w32(APLIC_SETIPNUM(d), s);
        EXPECT_EQ(&r, "level-setipnum-ignored", aplic_pending(d, s), 0);
    }
    EXPECT_EQ(&r, "level-done: mip.MEIP", csr_read(mip) & MIP_MEIP, 0);
    /* Edge-rise: one interrupt per rising edge. */
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_EDGE_RISE);
    uart_raise();
    m = poll_mip(MIP_MEIP, MIP_MEIP, 200 * TICKS_PER_MS);
    EXPECT_EQ(&r, "edge-raised: mip.MEIP", m & MIP_MEIP, MIP_MEIP);
    EXPECT_EQ(&r, "edge-raised: claim", CLAIM(), want);
    EXPECT_EQ(&r, "edge-claimed-high: top", TOP(), 0);
    EXPECT_EQ(&r, "edge-claimed-high: mip.MEIP", csr_read(mip) & MIP_MEIP, 0);
    uart_lower();
    EXPECT_EQ(&r, "edge-lowered: top", TOP(), 0);
    /* Taken as an interrupt on the next edge. */
    u64 ni = hs->nirqs;
    hs->claim = 0xdead;
    csr_write(mie, MIP_MEIP);
    uart_raise();
    int ok = wait_irq(hs, ni, 500 * TICKS_PER_MS);
    csr_write(mie, 0);
    uart_lower();
    if (expect(&r, ok, "edge-taken: mei-timeout mip", csr_read(mip), MIP_MEIP)) {
        EXPECT_EQ(&r, "edge-taken: mcause", hs->mcause, CAUSE_INTR | IRQ_MEI);
        EXPECT_EQ(&r, "edge-taken: claim", hs->claim, want);
        EXPECT_EQ(&r, "edge-taken: nirqs", hs->nirqs - ni, 1);
    }
#undef TOP
#undef CLAIM
#undef INPUT
    aplic_off(d, s);
    mmio_w32(APLIC_TARGET(d, s), msi ? 0 : 1);
    mmio_w32(APLIC_DOMAINCFG(d), 0);
    if (msi) imsic_m_clear();
    else mmio_w32(idc + IDC_IDELIVERY, 0);
    end(&r);
}

/* mmsiaddrcfgh.L: the MSI address configuration locked until reset (so
   this test runs last). MSIs still go where the locked values say. */
static void test_aplic_msiaddr_lock(void)
{
    struct result r;
    if (aia_skip("aplic-msiaddr-lock", INTC_APLIC_IMSIC)) return;
    begin(&r, "aplic-msiaddr-lock");
    aia_quiet();
    const u64 d = APLIC_M, s = 44, eiid = 90;
    aplic_msi_config();
    u32 m0 = (u32)(IMSIC_M(0) >> 12), mh = MSIADDRCFGH_LHXW(MSI_LHXW);
    u32 s0 = (u32)(IMSIC_S(0) >> 12), shh = MSIADDRCFGH_LHXW(MSI_LHXW);
    mmio_w32(APLIC_MMSIADDRCFGH(d), mh | APLIC_MSIADDRCFGH_L);
    EXPECT_EQ(&r, "mmsiaddrcfgh-L", mmio_r32(APLIC_MMSIADDRCFGH(d)), mh | APLIC_MSIADDRCFGH_L);
    EXPECT_EQ(&r, "mmsiaddrcfg-kept", mmio_r32(APLIC_MMSIADDRCFG(d)), m0);
    /* Writes to all four. */
    mmio_w32(APLIC_MMSIADDRCFG(d), 0x12345);
    mmio_w32(APLIC_MMSIADDRCFGH(d), 0);
    mmio_w32(APLIC_SMSIADDRCFG(d), 0x23456);
    mmio_w32(APLIC_SMSIADDRCFGH(d), 0x00100001);
    EXPECT_EQ(&r, "locked-mmsiaddrcfg", mmio_r32(APLIC_MMSIADDRCFG(d)), m0);
    EXPECT_EQ(&r, "locked-mmsiaddrcfgh", mmio_r32(APLIC_MMSIADDRCFGH(d)), mh | APLIC_MSIADDRCFGH_L);
    u32 sa = mmio_r32(APLIC_SMSIADDRCFG(d)), sh = mmio_r32(APLIC_SMSIADDRCFGH(d));
    EXPECT_EQ(&r, "locked?-smsiaddrcfg", sa, QEMU_L_LOCKS_SMSI ? s0 : 0x23456);
    EXPECT_EQ(&r, "locked?-smsiaddrcfgh", sh, QEMU_L_LOCKS_SMSI ? shh : 0x00100001);
    if (native) {
        note("aplic-msiaddr-lock", "smsiaddrcfg after a write with mmsiaddrcfgh.L = 1 (specification: locked) reads", sa);
        note("aplic-msiaddr-lock", "smsiaddrcfgh likewise reads", sh);
    }
    /* smsiaddrcfgh's own bit 31 (reserved in the specification): QEMU
       keeps it and locks the supervisor pair with it. */
    mmio_w32(APLIC_SMSIADDRCFG(d), s0);
    mmio_w32(APLIC_SMSIADDRCFGH(d), shh | APLIC_MSIADDRCFGH_L);
    u32 shl = mmio_r32(APLIC_SMSIADDRCFGH(d));
    mmio_w32(APLIC_SMSIADDRCFG(d), 0x34567);
    mmio_w32(APLIC_SMSIADDRCFGH(d), 0);
    u32 sa2 = mmio_r32(APLIC_SMSIADDRCFG(d)), sh2 = mmio_r32(APLIC_SMSIADDRCFGH(d));
    EXPECT_EQ(&r, "smsiaddrcfgh-bit31", shl, QEMU_L_LOCKS_SMSI ? shh : (shh | APLIC_MSIADDRCFGH_L));
    EXPECT_EQ(&r, "smsiaddrcfg-after-bit31", sa2, s0);
    EXPECT_EQ(&r, "smsiaddrcfgh-after-bit31", sh2, QEMU_L_LOCKS_SMSI ? shh : (shh | APLIC_MSIADDRCFGH_L));
    /* MSIs with the locked configuration: hart 0's M file. */
    imsic_m_clear();
    imsic_m_enable(eiid, 1);
    aplic_off(d, s);
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_EDGE_RISE);
    mmio_w32(APLIC_TARGET(d, s), MSI_TARGET(0, eiid));
    mmio_w32(APLIC_DOMAINCFG(d), APLIC_DOMAINCFG_IE);
    mmio_w32(APLIC_SETIENUM(d), s);
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "msi-after-lock", mtopei_claim(), TOPEI(eiid));
    aplic_off(d, s);
    mmio_w32(APLIC_TARGET(d, s), 0);
    mmio_w32(APLIC_DOMAINCFG(d), 0);
    imsic_m_clear();
    end(&r);
}

/* ---- AIA, direct delivery mode (-M virt,aia=aplic) ---------------------------------- */

#define QEMU_APLIC_IPRIO_MASK  7U       /* 3 priority bits (virt's APLICs) */
/* target in direct mode keeps bits 17:8 (specification: reserved, read 0);
   the priority is its 3 low bits, 0 becoming 1. */
#define QEMU_DIRECT_TARGET(v)  (((v) & ~0xffU) | (((v) & QEMU_APLIC_IPRIO_MASK) ? ((v) & QEMU_APLIC_IPRIO_MASK) : 1))

static void test_aplic_direct_registers(void)
{
    struct result r;
    if (aia_skip("aplic-direct-registers", INTC_APLIC_DIRECT)) return;
    begin(&r, "aplic-direct-registers");
    aia_quiet();
    aplic_normalize();
    const u64 d = APLIC_M, s = 41;
    EXPECT_EQ(&r, "domaincfg-at-reset", mmio_r32(APLIC_DOMAINCFG(d)), APLIC_DOMAINCFG_RO);
    mmio_w32(APLIC_DOMAINCFG(d), ~0U);
    EXPECT_EQ(&r, "domaincfg-after-~0", mmio_r32(APLIC_DOMAINCFG(d)), APLIC_DOMAINCFG_RO | APLIC_DOMAINCFG_IE);
    mmio_w32(APLIC_DOMAINCFG(d), 0);
    EXPECT_EQ(&r, "domaincfg-after-0", mmio_r32(APLIC_DOMAINCFG(d)), APLIC_DOMAINCFG_RO);
    /* No MSI registers in direct mode. */
    mmio_w32(APLIC_MMSIADDRCFG(d), 0x24000);
    mmio_w32(APLIC_SMSIADDRCFGH(d), 0x3000);
    EXPECT_EQ(&r, "mmsiaddrcfg", mmio_r32(APLIC_MMSIADDRCFG(d)), 0);
    EXPECT_EQ(&r, "mmsiaddrcfgh", mmio_r32(APLIC_MMSIADDRCFGH(d)), 0);
    EXPECT_EQ(&r, "smsiaddrcfgh", mmio_r32(APLIC_SMSIADDRCFGH(d)), 0);
    mmio_w32(APLIC_GENMSI(d), 5);
    EXPECT_EQ(&r, "genmsi", mmio_r32(APLIC_GENMSI(d)), 0);
    /* target: hart index and priority; priority 0 becomes 1. */
    EXPECT_EQ(&r, "target-at-reset", mmio_r32(APLIC_TARGET(d, s)), 1);
    mmio_w32(APLIC_TARGET(d, s), 0);
    EXPECT_EQ(&r, "target-prio0", mmio_r32(APLIC_TARGET(d, s)), 1);
    mmio_w32(APLIC_TARGET(d, s), DIRECT_TARGET(1, 5));
    EXPECT_EQ(&r, "target-hart1-prio5", mmio_r32(APLIC_TARGET(d, s)), DIRECT_TARGET(1, 5));
    mmio_w32(APLIC_TARGET(d, s), ~0U);
    u32 tg = mmio_r32(APLIC_TARGET(d, s));
    EXPECT_EQ(&r, "target-~0", tg, QEMU_DIRECT_TARGET(~0U));
    if (native) note("aplic-direct-registers", "target after ~0 (specification: bits 17:8 read 0) reads", tg);
    mmio_w32(APLIC_TARGET(d, s), 8);
    u32 t8 = mmio_r32(APLIC_TARGET(d, s));
    EXPECT_EQ(&r, "target-prio8", t8, QEMU_DIRECT_TARGET(8U));
    if (native) note("aplic-direct-registers", "target after 8 (priority beyond 3 bits) reads", t8);
    mmio_w32(APLIC_TARGET(d, s), 1);
    /* IDCs: WARL fields, reserved words, IDCs beyond the harts. */
    for (u64 h = 0; h < nharts; h++) {
        u64 idc = APLIC_IDC(d, h);
        EXPECT_EQ(&r, "idelivery-at-reset", mmio_r32(idc + IDC_IDELIVERY), 0);
        EXPECT_EQ(&r, "ithreshold-at-reset", mmio_r32(idc + IDC_ITHRESHOLD), 0);
        mmio_w32(idc + IDC_IDELIVERY, ~0U);
        EXPECT_EQ(&r, "idelivery-~0", mmio_r32(idc + IDC_IDELIVERY), 1);
        mmio_w32(idc + IDC_IDELIVERY, 0);
        mmio_w32(idc + IDC_ITHRESHOLD, ~0U);
        EXPECT_EQ(&r, "ithreshold-~0", mmio_r32(idc + IDC_ITHRESHOLD), QEMU_APLIC_IPRIO_MASK);
        mmio_w32(idc + IDC_ITHRESHOLD, 0);
        mmio_w32(idc + IDC_IFORCE, ~0U);
        EXPECT_EQ(&r, "iforce-~0", mmio_r32(idc + IDC_IFORCE), 1);
        mmio_w32(idc + IDC_IFORCE, 0);
        EXPECT_EQ(&r, "iforce-0", mmio_r32(idc + IDC_IFORCE), 0);
        mmio_w32(idc + 0x0c, ~0U);
        mmio_w32(idc + 0x10, ~0U);
        EXPECT_EQ(&r, "idc+0xc", mmio_r32(idc + 0x0c), 0);
        EXPECT_EQ(&r, "idc+0x10", mmio_r32(idc + 0x10), 0);
        EXPECT_EQ(&r, "topi-idle", mmio_r32(idc + IDC_TOPI), 0);
    }
    mmio_w32(APLIC_IDC(d, nharts) + IDC_IDELIVERY, 1);
    EXPECT_EQ(&r, "idc[nharts]", mmio_r32(APLIC_IDC(d, nharts) + IDC_IDELIVERY), 0);
    /* Level-sensitive sources: setipnum ignored (pending = the input). */
    aplic_off(d, s);
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_LEVEL_HIGH);
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "level-high-setipnum", aplic_pending(d, s), 0);
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_EDGE_RISE);
    mmio_w32(APLIC_SETIPNUM(d), s);
    EXPECT_EQ(&r, "edge-setipnum", aplic_pending(d, s), 1);
    aplic_off(d, s);
    EXPECT_EQ(&r, "off-pending", aplic_pending(d, s), 0);
    end(&r);
}

/* iforce: MEI with no source pending; claimi returns 0 and clears it. */
static void test_aplic_idc_iforce(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (aia_skip("aplic-idc-iforce", INTC_APLIC_DIRECT)) return;
    begin(&r, "aplic-idc-iforce");
    aia_quiet();
    const u64 d = APLIC_M, idc = APLIC_IDC(d, 0);
    mmio_w32(idc + IDC_IFORCE, 1);
    EXPECT_EQ(&r, "mip.MEIP-IE=0", csr_read(mip) & MIP_MEIP, 0);
    mmio_w32(APLIC_DOMAINCFG(d), APLIC_DOMAINCFG_IE);
    EXPECT_EQ(&r, "mip.MEIP-idelivery=0", csr_read(mip) & MIP_MEIP, 0);
    mmio_w32(idc + IDC_IDELIVERY, 1);
    EXPECT_EQ(&r, "mip.MEIP-iforce", csr_read(mip) & MIP_MEIP, MIP_MEIP);
    EXPECT_EQ(&r, "topi-iforce", mmio_r32(idc + IDC_TOPI), 0);
    EXPECT_EQ(&r, "claimi-iforce", mmio_r32(idc + IDC_CLAIMI), 0);
    EXPECT_EQ(&r, "iforce-after-claimi", mmio_r32(idc + IDC_IFORCE), 0);
    u64 after = csr_read(mip) & MIP_MEIP;
    /* QEMU 7.2 clears iforce on the claim but re-evaluates the line only on
       the next register write (specification: the line drops). */
    EXPECT_EQ(&r, "mip.MEIP-after-claimi", after, MIP_MEIP);
    if (native) note("aplic-idc-iforce", "mip.MEIP right after claimi cleared iforce (specification: 0)", after);
    mmio_w32(idc + IDC_ITHRESHOLD, 0);
    EXPECT_EQ(&r, "mip.MEIP-after-a-write", csr_read(mip) & MIP_MEIP, 0);
    mmio_w32(idc + IDC_IFORCE, 1);
    mmio_w32(idc + IDC_IFORCE, 0);
    EXPECT_EQ(&r, "mip.MEIP-iforce-0", csr_read(mip) & MIP_MEIP, 0);
    /* Taken: the handler's claim returns 0. */
    u64 ni = hs->nirqs;
    hs->claim = 0xdead;
    csr_write(mie, MIP_MEIP);
    mmio_w32(idc + IDC_IFORCE, 1);
    int ok = wait_irq(hs, ni, 500 * TICKS_PER_MS);
    csr_write(mie, 0);
    if (expect(&r, ok, "mei-timeout mip", csr_read(mip), MIP_MEIP)) {
        EXPECT_EQ(&r, "mcause", hs->mcause, CAUSE_INTR | IRQ_MEI);
        EXPECT_EQ(&r, "claim", hs->claim, 0);
        EXPECT_EQ(&r, "mip.MEIP-after", hs->mip_after & MIP_MEIP, 0);
        EXPECT_EQ(&r, "nirqs", hs->nirqs - ni, 1);
    }
    mmio_w32(idc + IDC_IDELIVERY, 0);
    mmio_w32(idc + IDC_IFORCE, 0);
    mmio_w32(APLIC_DOMAINCFG(d), 0);
    end(&r);
}

/* topi/claimi: priorities, ties, ithreshold, MEIP. */
static void test_aplic_idc_topi(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    if (aia_skip("aplic-idc-topi", INTC_APLIC_DIRECT)) return;
    begin(&r, "aplic-idc-topi");
    aia_quiet();
    const u64 d = APLIC_M, idc = APLIC_IDC(d, 0);
#define TOPI(s, p) (((u32)(s) << 16) | (u32)(p))
    static const u8 src[3] = {40, 41, 42}, prio[3] = {5, 3, 3};
    for (int i = 0; i < 3; i++) {
        aplic_off(d, src[i]);
        mmio_w32(APLIC_SOURCECFG(d, src[i]), APLIC_SM_EDGE_RISE);
        mmio_w32(APLIC_TARGET(d, src[i]), DIRECT_TARGET(0, prio[i]));
        mmio_w32(APLIC_SETIPNUM(d), src[i]);
    }
    mmio_w32(APLIC_DOMAINCFG(d), APLIC_DOMAINCFG_IE);
    mmio_w32(idc + IDC_IDELIVERY, 1);
    EXPECT_EQ(&r, "topi-none-enabled", mmio_r32(idc + IDC_TOPI), 0);
    EXPECT_EQ(&r, "mip.MEIP-none-enabled", csr_read(mip) & MIP_MEIP, 0);
    mmio_w32(APLIC_SETIENUM(d), 40);
    EXPECT_EQ(&r, "topi-40", mmio_r32(idc + IDC_TOPI), TOPI(40, 5));
    EXPECT_EQ(&r, "mip.MEIP-40", csr_read(mip) & MIP_MEIP, MIP_MEIP);
    mmio_w32(APLIC_SETIENUM(d), 42);
    mmio_w32(APLIC_SETIENUM(d), 41);
    EXPECT_EQ(&r, "topi-41-tie-lower-number", mmio_r32(idc + IDC_TOPI), TOPI(41, 3));
    mmio_w32(idc + IDC_ITHRESHOLD, 3);
    EXPECT_EQ(&r, "topi-threshold-3", mmio_r32(idc + IDC_TOPI), 0);
    EXPECT_EQ(&r, "mip.MEIP-threshold-3", csr_read(mip) & MIP_MEIP, 0);
    EXPECT_EQ(&r, "claimi-threshold-3", mmio_r32(idc + IDC_CLAIMI), 0);
    EXPECT_EQ(&r, "pending-41-kept", aplic_pending(d, 41), 1);
    mmio_w32(idc + IDC_ITHRESHOLD, 4);
    EXPECT_EQ(&r, "topi-threshold-4", mmio_r32(idc + IDC_TOPI), TOPI(41, 3));
    mmio_w32(idc + IDC_ITHRESHOLD, 0);
    EXPECT_EQ(&r, "claimi-41", mmio_r32(idc + IDC_CLAIMI), TOPI(41, 3));
    EXPECT_EQ(&r, "pending-41-claimed", aplic_pending(d, 41), 0);
    EXPECT_EQ(&r, "claimi-42", mmio_r32(idc + IDC_CLAIMI), TOPI(42, 3));
    EXPECT_EQ(&r, "topi-40-last", mmio_r32(idc + IDC_TOPI), TOPI(40, 5));
    /* Another hart's target: not this IDC's. */
    mmio_w32(APLIC_TARGET(d, 40), DIRECT_TARGET(nharts, 5));
    EXPECT_EQ(&r, "topi-retargeted", mmio_r32(idc + IDC_TOPI), 0);
    mmio_w32(APLIC_TARGET(d, 40), DIRECT_TARGET(0, 5));
    EXPECT_EQ(&r, "claimi-40", mmio_r32(idc + IDC_CLAIMI), TOPI(40, 5));
    EXPECT_EQ(&r, "claimi-none", mmio_r32(idc + IDC_CLAIMI), 0);
    EXPECT_EQ(&r, "mip.MEIP-after-claims", csr_read(mip) & MIP_MEIP, 0);
    /* idelivery = 0: pending, no MEIP. */
    mmio_w32(APLIC_SETIPNUM(d), 41);
    mmio_w32(idc + IDC_IDELIVERY, 0);
    EXPECT_EQ(&r, "mip.MEIP-idelivery=0", csr_read(mip) & MIP_MEIP, 0);
    EXPECT_EQ(&r, "topi-idelivery=0", mmio_r32(idc + IDC_TOPI), TOPI(41, 3));
    /* Taken: the handler's claimi. */
    u64 ni = hs->nirqs;
    hs->claim = 0xdead;
    csr_write(mie, MIP_MEIP);
    mmio_w32(idc + IDC_IDELIVERY, 1);
    int ok = wait_irq(hs, ni, 500 * TICKS_PER_MS);
    csr_write(mie, 0);
    if (expect(&r, ok, "mei-timeout mip", csr_read(mip), MIP_MEIP)) {
        EXPECT_EQ(&r, "mcause", hs->mcause, CAUSE_INTR | IRQ_MEI);
        EXPECT_EQ(&r, "claim", hs->claim, TOPI(41, 3));
        EXPECT_EQ(&r, "topi-after", hs->claim2, 0);
        EXPECT_EQ(&r, "mip.MEIP-after", hs->mip_after & MIP_MEIP, 0);
    }
    mmio_w32(idc + IDC_IDELIVERY, 0);
    for (int i = 0; i < 3; i++) {
        aplic_off(d, src[i]);
        mmio_w32(APLIC_TARGET(d, src[i]), 1);
    }
    mmio_w32(APLIC_DOMAINCFG(d), 0);
#undef TOPI
    end(&r);
}

/* A source delegated to the S-level domain raises SEIP through its IDC;
   the machine-level domain ignores it. */
static void test_aplic_direct_delegation(void)
{
    struct result r;
    if (aia_skip("aplic-direct-delegation", INTC_APLIC_DIRECT)) return;
    begin(&r, "aplic-direct-delegation");
    aia_quiet();
    const u64 m = APLIC_M, sd = APLIC_S, s = 45;
    aplic_off(m, s);
    mmio_w32(APLIC_SOURCECFG(m, s), APLIC_SOURCECFG_D);
    EXPECT_EQ(&r, "sourcecfg-D-child0", mmio_r32(APLIC_SOURCECFG(m, s)), APLIC_SOURCECFG_D);
    mmio_w32(APLIC_TARGET(m, s), DIRECT_TARGET(0, 1));
    mmio_w32(APLIC_DOMAINCFG(m), APLIC_DOMAINCFG_IE);
    mmio_w32(APLIC_IDC(m, 0) + IDC_IDELIVERY, 1);
    mmio_w32(APLIC_SETIENUM(m), s);
    mmio_w32(APLIC_SETIPNUM(m), s);
    EXPECT_EQ(&r, "m-pending", aplic_pending(m, s), 0);
    EXPECT_EQ(&r, "m-topi", mmio_r32(APLIC_IDC(m, 0) + IDC_TOPI), 0);
    EXPECT_EQ(&r, "mip.MEIP", csr_read(mip) & MIP_MEIP, 0);
    EXPECT_EQ(&r, "s-domaincfg", mmio_r32(APLIC_DOMAINCFG(sd)), APLIC_DOMAINCFG_RO);
    mmio_w32(APLIC_SOURCECFG(sd, s), APLIC_SM_EDGE_RISE);
    EXPECT_EQ(&r, "s-sourcecfg", mmio_r32(APLIC_SOURCECFG(sd, s)), APLIC_SM_EDGE_RISE);
    mmio_w32(APLIC_TARGET(sd, s), DIRECT_TARGET(0, 2));
    mmio_w32(APLIC_DOMAINCFG(sd), APLIC_DOMAINCFG_IE);
    mmio_w32(APLIC_IDC(sd, 0) + IDC_IDELIVERY, 1);
    mmio_w32(APLIC_SETIENUM(sd), s);
    mmio_w32(APLIC_SETIPNUM(sd), s);
    EXPECT_EQ(&r, "s-topi", mmio_r32(APLIC_IDC(sd, 0) + IDC_TOPI), ((u32)s << 16) | 2);
    EXPECT_EQ(&r, "mip.SEIP", csr_read(mip) & MIP_XEIP, MIP_SEIP);
    EXPECT_EQ(&r, "s-claimi", mmio_r32(APLIC_IDC(sd, 0) + IDC_CLAIMI), ((u32)s << 16) | 2);
    EXPECT_EQ(&r, "mip.SEIP-after-claimi", csr_read(mip) & MIP_SEIP, 0);
    /* The S domain's iforce raises SEIP. */
    mmio_w32(APLIC_IDC(sd, 0) + IDC_IFORCE, 1);
    EXPECT_EQ(&r, "mip.SEIP-iforce", csr_read(mip) & MIP_XEIP, MIP_SEIP);
    mmio_w32(APLIC_IDC(sd, 0) + IDC_IFORCE, 0);
    EXPECT_EQ(&r, "mip.SEIP-iforce-0", csr_read(mip) & MIP_SEIP, 0);
    mmio_w32(APLIC_IDC(sd, 0) + IDC_IDELIVERY, 0);
    mmio_w32(APLIC_DOMAINCFG(sd), 0);
    aplic_off(sd, s);
    mmio_w32(APLIC_TARGET(sd, s), 1);
    mmio_w32(APLIC_IDC(m, 0) + IDC_IDELIVERY, 0);
    mmio_w32(APLIC_DOMAINCFG(m), 0);
    aplic_off(m, s);
    mmio_w32(APLIC_TARGET(m, s), 1);
    end(&r);
}

/* Each other hart's IDC: its mip.MEIP follows (watched with mie = 0), then
   it takes the interrupt and claims it itself. */
static void test_aplic_direct_harts(void)
{
    struct result r;
    if (aia_skip("aplic-direct-harts", INTC_APLIC_DIRECT)) return;
    if (nharts < 2) {
        skip("aplic-direct-harts", "needs 2 harts (-smp 2)");
        return;
    }
    begin(&r, "aplic-direct-harts");
    aia_quiet();
    const u64 d = APLIC_M, s = 46;
    aplic_off(d, s);
    mmio_w32(APLIC_SOURCECFG(d, s), APLIC_SM_EDGE_RISE);
    mmio_w32(APLIC_DOMAINCFG(d), APLIC_DOMAINCFG_IE);
    mmio_w32(APLIC_SETIENUM(d), s);
    for (u64 h = 1; h < nharts; h++) {
        u64 idc = APLIC_IDC(d, h);
        u32 want = ((u32)s << 16) | 4;
        mmio_w32(APLIC_TARGET(d, s), DIRECT_TARGET(h, 4));
        mmio_w32(idc + IDC_IDELIVERY, 1);
        /* Watched. */
        ack[h] = 0;
        __asm__ volatile("fence rw, rw" ::: "memory");
        cmd[h] = CMD_WATCH_MIP;
        if (!expect(&r, wait_value(&ack[h], 1, 2000 * TICKS_PER_MS), "watcher-ready (got=hart)", h, h)) {
            cmd[h] = 0;
            continue;
        }
        mmio_w32(APLIC_SETIPNUM(d), s);
        /* Generous waits: with -smp 8 on a small host a watcher's thread
           may not run for a while. */
        u64 start = mtime(), m1 = 0;
        while (mtime() - start < 2000 * TICKS_PER_MS) {
            m1 = watch_mip[h];
            if (m1 & MIP_MEIP) break;
        }
        u32 topi = mmio_r32(idc + IDC_TOPI);
        u64 m0 = csr_read(mip) & MIP_MEIP;
        u32 c = mmio_r32(idc + IDC_CLAIMI);
        u64 seq = watch_seq[h], m2 = ~0UL, seq2 = seq;
        start = mtime();
        while (mtime() - start < 2000 * TICKS_PER_MS) {
            seq2 = watch_seq[h];
            if (seq2 > seq + 2) {
                m2 = watch_mip[h];
                if (!(m2 & MIP_MEIP)) break;
            }
        }
        cmd[h] = 0;
        wait_value(&ack[h], 2, 2000 * TICKS_PER_MS);
        expect(&r, m1 & MIP_MEIP, "watched-mip.MEIP-raised (got=hart)", h, h);
        EXPECT_EQ(&r, "hart0-mip.MEIP", m0, 0);
        expect(&r, topi == want, "topi (got=hart<<32|topi)", (h << 32) | topi, (h << 32) | want);
        expect(&r, c == want, "claimi (got=hart<<32|claim)", (h << 32) | c, (h << 32) | want);
        expect(&r, seq2 > seq + 2, "watcher-stalled (got=hart<<32|samples)", (h << 32) | (seq2 - seq), (h << 32) | 3);
        expect(&r, !(m2 & MIP_MEIP), "watched-mip.MEIP-after-claim (got=hart<<32|mip)",
               (h << 32) | (m2 & 0xffffffffUL), h << 32);
        /* Taken on that hart. */
        if (!expect(&r, recv_start(h, 0), "receiver-ready (got=hart)", h, h)) continue;
        mmio_w32(APLIC_SETIPNUM(d), s);
        if (expect(&r, recv_done(h), "receiver-no-MEI (got=hart)", h, h)) {
            EXPECT_EQ(&r, "receiver-mcause", harts[h].mcause, CAUSE_INTR | IRQ_MEI);
            expect(&r, harts[h].claim == want, "receiver-claim (got=hart<<32|claim)",
                   (h << 32) | harts[h].claim, (h << 32) | want);
            EXPECT_EQ(&r, "receiver-topi-after", harts[h].claim2, 0);
            EXPECT_EQ(&r, "receiver-unexpected", harts[h].unexpected, 0);
        }
        mmio_w32(idc + IDC_IDELIVERY, 0);
    }
    aplic_off(d, s);
    mmio_w32(APLIC_TARGET(d, s), 1);
    mmio_w32(APLIC_DOMAINCFG(d), 0);
    end(&r);
}

/* ---- secondary harts ------------------------------------------------------- */

static void secondary(u64 h)
{
    struct hart_state *hs = &harts[h];
    __atomic_fetch_add(&checked_in, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        if (cmd[h] == CMD_WATCH_MIP) {
            /* Sample mip (mie = 0, MIE = 0: nothing is taken) until told. */
            ack[h] = 1;
            while (cmd[h] == CMD_WATCH_MIP) {
                watch_mip[h] = csr_read(mip);
                __asm__ volatile("fence rw, rw" ::: "memory");
                watch_seq[h]++;
            }
            __asm__ volatile("fence rw, rw" ::: "memory");
            ack[h] = 2;
            continue;
        }
        if (cmd[h] == CMD_SEND) {
            /* IPI_ID(h, b) to every other hart b < cmd_arg (imsic-ipi). */
            __asm__ volatile("fence rw, rw" ::: "memory");
            u64 n = cmd_arg[h];
            for (u64 b = 0; b < n; b++)
                if (b != h) mmio_w32(IMSIC_M(b), IPI_ID(h, b));
            __asm__ volatile("fence rw, rw" ::: "memory");
            cmd[h] = 0;
            ack[h] = 2;
            continue;
        }
        if (cmd[h] == CMD_RECV) {
            /* Take one MEI: with IMSICs, identity cmd_arg enabled in this
               hart's M-level file (delivery on); with the APLIC in direct
               mode, hart 0 has set up this hart's IDC. */
            __asm__ volatile("fence rw, rw" ::: "memory");
            hs->mode = TRAP_UNEXPECTED;
            u64 id = cmd_arg[h];
            if (intc == INTC_APLIC_IMSIC) {
                imsic_m_clear();           /* nothing left from earlier tests */
                imsic_m_enable(id, 1);
                ireg_w(ISEL_EIDELIVERY, 1);
            }
            u64 ni = hs->nirqs;
            csr_set(mie, MIP_MEIP);
            __asm__ volatile("fence rw, rw" ::: "memory");
            ack[h] = 1;
            wait_irq(hs, ni, 3000 * TICKS_PER_MS);
            csr_clear(mie, MIP_MEIP);
            if (intc == INTC_APLIC_IMSIC) {
                ireg_w(ISEL_EIDELIVERY, 0);
                imsic_m_enable(id, 0);
            }
            cmd[h] = 0;
            __asm__ volatile("fence rw, rw" ::: "memory");
            ack[h] = 2;
            continue;
        }
        if (cmd[h] != CMD_MSI) continue;
        __asm__ volatile("fence rw, rw" ::: "memory");
        hs->mode = TRAP_UNEXPECTED;
        hs->forward_msi = 1;
        u64 ni = hs->nirqs;
        csr_set(mie, MIP_MSIP);
        __asm__ volatile("fence rw, rw" ::: "memory");
        ack[h] = 1;
        wait_irq(hs, ni, 3000 * TICKS_PER_MS);
        csr_clear(mie, MIP_MSIP);
        hs->forward_msi = 0;
        cmd[h] = 0;
        __asm__ volatile("fence rw, rw" ::: "memory");
        ack[h] = 2;
    }
}

/* ---- main ------------------------------------------------------------------ */

static void power_off(int failed)
{
    mmio_w32(TEST_DEV, failed ? (0x3333 | (1U << 16)) : 0x5555);
    for (;;) __asm__ volatile("wfi");
}

void testfw_main(u64 a0, u64 fdt, u64 info)
{
    if (a0 != 0) {
        csr_write(mie, 0);
        secondary(a0);
    }
    csr_write(mie, 0);
    has_h = (csr_read(misa) >> 7) & 1;
    monitor_base = fdt_memory_end(fdt);
    native = monitor_base == DRAM_END;
    if (fdt_has_compatible(fdt, "riscv,imsics")) intc = INTC_APLIC_IMSIC;
    else if (fdt_has_compatible(fdt, "riscv,aplic")) intc = INTC_APLIC_DIRECT;
    else intc = INTC_PLIC;

    puts_("\nTESTFW: firmvisor test firmware at ");
    puthex((u64)_start);
    puts_(native ? " (native, real M-mode)\n" : " (under the monitor, which is at ");
    if (!native) {
        puthex(monitor_base);
        puts_(")\n");
    }
    puts_(intc == INTC_APLIC_IMSIC ? "TESTFW: interrupt controllers: APLIC (MSI mode) and IMSICs\n"
          : intc == INTC_APLIC_DIRECT ? "TESTFW: interrupt controller: APLIC (direct mode)\n"
          : "TESTFW: interrupt controller: PLIC\n");

    test_boot_args(a0, fdt, info);
    test_ecall();
    test_illegal_csr();
    test_warl();
    test_vectored();
    test_timer();
    test_harts(fdt);
    test_msi();
    test_mei();
    test_monitor_memory();
    test_smode();
    test_mprv_bare();
    test_mprv_sv39();
    test_plic_m_and_s();
    test_plic_pending_before_enable();
    test_plic_claim_right_after_raise();
    test_plic_claim_complete_pending();
    test_plic_claim_threshold();
    test_plic_reserved(fdt);
    test_plic_smode_m_context();
    test_plic_smode_s_context();
    test_plic_smode_pmp();
    test_plic_smode_reserved(fdt);
    test_plic_other_hart();
    test_clint_smode();
    test_csr_registers();
    test_trigger_csrs();
    test_trigger_execute();
    test_trigger_load_store();
    test_trigger_smode();
    test_h_vs_ecall();
    test_h_vs_illegal();
    test_h_vs_load_fault();
    test_h_vs_mti();
    test_aia_csrs_presence();
    test_imsic_eip_eie();
    test_imsic_miselect();
    test_aia_iprio();
    test_aia_mtopi();
    test_imsic_eidelivery();
    test_imsic_topei_order();
    test_imsic_threshold();
    test_imsic_mmio();
    test_imsic_ipi();
    test_imsic_s_file();
    test_aplic_msi_registers();
    test_aplic_msi_forward();
    test_aplic_msi_delegation();
    test_aplic_direct_registers();
    test_aplic_idc_iforce();
    test_aplic_idc_topi();
    test_aplic_direct_delegation();
    test_aplic_direct_harts();
    test_aplic_uart();
    test_aplic_msiaddr_lock();     /* last: the lock holds until reset */

    struct hart_state *hs = &harts[0];
    if (hs->unexpected) {
        puts_("TESTFW: NOTE unexpected traps on hart 0: ");
        putdec(hs->unexpected);
        puts_(" last mcause ");
        puthex(hs->unexp_cause);
        puts_(" mepc ");
        puthex(hs->unexp_epc);
        puts_(" mtval ");
        puthex(hs->unexp_tval);
        puts_("\n");
    }
    puts_("TESTFW: DONE pass=");
    putdec(npass);
    puts_(" fail=");
    putdec(nfail);
    puts_(" skip=");
    putdec(nskip);
    puts_("\n");
    power_off(nfail != 0);
}
