/*
 * Firmvisor adversarial firmware: a firmware (and its S/U-mode stubs) that
 * tries to break out of virtual M-mode or to wedge the monitor. Linked at
 * 0x80000000: QEMU's -bios puts it there natively, the monitor places the
 * same file there under it. The monitor lives in a naturally aligned
 * power-of-two region at the end of DRAM that it takes out of the device
 * tree's memory node; QEMU runs this firmware with -m 256M (DRAM
 * 0x8000_0000..0x9000_0000), so that region is [end of the memory node,
 * 0x9000_0000), and the attacks aim there. Every check is on the
 * architectural outcome the firmware can see. Hart 0 prints
 *   ADV: PASS <name> | ADV: FAIL <name> <what> got=0x.. want=0x..
 *   ADV: NOTE <name> <text> | ADV: DONE pass=N fail=M
 * and always powers off with 0x5555 (the verdict is in the lines); the
 * monitor prints "[firmvisor] monitor fault" if it ever traps itself.
 *
 * Natively (scripts/adversary --native: the memory node ends at 0x9000_0000,
 * nothing was taken out) the tests aimed at the monitor's memory are skipped;
 * the device tests are the baseline.
 *
 * Position independent: no pointers in data, no jump tables.
 */
#include "adversary.h"
#include "console.h"

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef long i64;

#define INTR (1UL << 63)
#define MSTATUS_SIE  (1UL << 1)
#define MSTATUS_MIE  (1UL << 3)
#define MSTATUS_SPIE (1UL << 5)
#define MSTATUS_MPIE (1UL << 7)
#define MSTATUS_SPP  (1UL << 8)
#define MSTATUS_MPP  (3UL << 11)
#define MSTATUS_MPRV (1UL << 17)
#define MSTATUS_SUM  (1UL << 18)
#define MSTATUS_TW   (1UL << 21)
#define MIP_SSIP (1UL << 1)
#define MIP_MSIP (1UL << 3)
#define MIP_MTIP (1UL << 7)
#define MIP_SEIP (1UL << 9)
#define MIP_MEIP (1UL << 11)

#define TEST_DEV    0x00100000UL
#define CLINT       0x02000000UL
#define MSIP(h)     (CLINT + 4UL * (h))
#define MTIMECMP(h) (CLINT + 0x4000UL + 8UL * (h))
#define MTIME       (CLINT + 0xbff8UL)
#define PLIC        0x0c000000UL
#define PLIC_PRIO(s)      (PLIC + 4UL * (s))
#define PLIC_ENABLE(c, w) (PLIC + 0x2000UL + 0x80UL * (c) + 4UL * (w))
#define PLIC_THRESH(c)    (PLIC + 0x200000UL + 0x1000UL * (c))
#define PLIC_CLAIM(c)     (PLIC_THRESH(c) + 4)
#define UART       0x10000000UL
#define UART_IER   (UART + 1)
#define UART_LSR   (UART + 5)
#define UART_IRQ   10
/* DRAM on QEMU virt with -m 256M (scripts/adversary). */
#define DRAM_BASE    0x80000000UL
#define DRAM_END     0x90000000UL
#define TICKS_PER_MS 10000UL
/* Random instructions scribble here: free DRAM outside this image and away
   from its state (32 KiB at 0x8019_0000; the parameters are at 0x8018_0000). */
#define WILD_BASE    0x80190000UL

#define csr_read(csr) ({ u64 __v; \
    __asm__ volatile("csrr %0, " #csr : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) \
    __asm__ volatile("csrw " #csr ", %0" :: "rK"((u64)(val)) : "memory")
#define csr_set(csr, val) \
    __asm__ volatile("csrs " #csr ", %0" :: "rK"((u64)(val)) : "memory")
#define csr_clear(csr, val) \
    __asm__ volatile("csrc " #csr ", %0" :: "rK"((u64)(val)) : "memory")

static inline u32 r32(u64 a) { return *(volatile u32 *)a; }
static inline void w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u64 r64(u64 a) { return *(volatile u64 *)a; }
static inline void w64(u64 a, u64 v) { *(volatile u64 *)a = v; }
static inline u8 r8(u64 a) { return *(volatile u8 *)a; }
static inline void w8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline u64 now(void) { return csr_read(time); }
static inline void barrier(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }
static inline u64 hartid(void) { return csr_read(mhartid); }

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

struct trap_frame { u64 x[32]; u64 slot; u64 pad; };

/* start.S */
extern const char _start[];
void trap_entry(void);
void restore_stub(void);
void s_handler(void);
extern const char s_handler_ecall[];
void launch(const u64 *regs);

u64 trap_stack_tops[ADV_MAX_HARTS];
u8 save_area[ADV_MAX_HARTS * SAVE_SLOT] __attribute__((aligned(8)));

/* Per-hart instruction slots (data, executable): [insn, j restore_stub]. */
static volatile u32 slots[ADV_MAX_HARTS][16] __attribute__((aligned(64), section(".data")));
/* Memory random instructions may scribble on, and page tables. */
static u8 scratch[ADV_MAX_HARTS][4096] __attribute__((aligned(4096)));
static u64 page_table[512] __attribute__((aligned(4096)));
static volatile u64 canary[4];

struct hart_state {
    volatile u64 ntraps, nexc, nirq;
    volatile u64 first_cause, first_epc, first_tval, first_status, first_valid;
    volatile u64 causes[32];
    volatile u64 msi, mti, mei, other_irq;
    volatile u64 s_ecalls, leaks, unexpected;
    volatile u64 in_run, probing;
    volatile u64 flood_done;
    volatile u64 rng;
};
static struct hart_state harts[ADV_MAX_HARTS];
/* The registers the firmware found at an S-mode ecall (sandbox-payload). */
static volatile u64 ecall_regs[32], capture_ecall;
static volatile u64 nharts_seen;
static volatile u64 flood_go, listen_go;
static u64 nharts = 1;
/* The monitor's region, [monitor_base, monitor_end): what the device tree's
   memory node no longer covers of DRAM (monitor_region). */
static u64 monitor_base, monitor_end;
/* Running natively as -bios (scripts/adversary --native): the memory node
   covers DRAM to its end, no monitor took anything; the tests aimed at the
   monitor's memory are skipped, the device and interrupt tests are the native
   baseline. */
static int native;

/* ---- console (hart 0 prints) ------------------------------------------------ */

/* ---- random numbers ----------------------------------------------------------- */

static u64 rnd(struct hart_state *hs)
{
    u64 x = hs->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    hs->rng = x;
    return x;
}

/* ---- trap handler ------------------------------------------------------------- */

static int in_slot(u64 h, u64 a)
{
    return a >= (u64)&slots[h][0] && a < (u64)&slots[h][16];
}

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
    struct hart_state *hs = &harts[h < ADV_MAX_HARTS ? h : 0];
    u64 cause = csr_read(mcause);
    u64 epc = csr_read(mepc);
    u64 tval = csr_read(mtval);
    u64 st = csr_read(mstatus);
    (void)f;
    hs->ntraps++;

    if (cause & INTR) {
        u64 code = cause & 63;
        if (code == 3) { w32(MSIP(h), 0); hs->msi++; }
        else if (code == 7) { w64(MTIMECMP(h), ~0UL); hs->mti++; }
        else if (code == 11) {
            u32 c = r32(PLIC_CLAIM(2 * h));
            w8(UART_IER, 0);
            if (c) w32(PLIC_CLAIM(2 * h), c);
            hs->mei++;
        } else {
            csr_write(mie, 0);
            hs->other_irq++;
        }
        hs->nirq++;
        return;
    }

    hs->nexc++;
    hs->causes[cause < 32 ? cause : 31]++;
    if (!hs->first_valid) {
        hs->first_cause = cause;
        hs->first_epc = epc;
        hs->first_tval = tval;
        hs->first_status = st;
        hs->first_valid = 1;
    }
    if (cause == 9 && epc == (u64)s_handler_ecall) hs->s_ecalls++;
    if (cause == 9 && h == 0 && capture_ecall) {
        for (int i = 0; i < 32; i++) ecall_regs[i] = f->x[i];
        capture_ecall = 0;
    }
    if (!hs->in_run) {
        if (cause == 9 && epc == (u64)s_handler_ecall) {
            /* The S handler ran while the firmware was running: an S-level
               interrupt reached the firmware's world. Resume where it was. */
            hs->leaks++;
            csr_write(mepc, csr_read(sepc));
            csr_set(mstatus, MSTATUS_MPP);
            return;
        }
        if (!hs->probing) hs->unexpected++;
        u32 b = insn_bits(epc);
        csr_write(mepc, epc + ((b & 3) == 3 ? 4 : 2));
        return;
    }
    if (((st >> 11) & 3) != 3 || !in_slot(h, epc)) {
        /* From S/U, or from M outside the slot (a jump, an xret): back to
           the firmware through restore_stub, in M-mode, MPRV off. */
        csr_write(mepc, (u64)restore_stub);
        csr_set(mstatus, MSTATUS_MPP);
        csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_MPIE);
        return;
    }
    u32 bits = insn_bits(epc);
    csr_write(mepc, epc + ((bits & 3) == 3 ? 4 : 2));
}

/* ---- running one instruction ------------------------------------------------- */

#define A2 12
#define A3 13
#define A4 14

static u32 j_insn(u64 from, u64 to)
{
    i64 off = (i64)(to - from);
    u32 imm = (u32)off;
    return (((imm >> 20) & 1) << 31) | (((imm >> 1) & 0x3ff) << 21) |
           (((imm >> 11) & 1) << 20) | (((imm >> 12) & 0xff) << 12) | 0x6f;
}

static u32 load_insn(u32 f3, u32 rd, u32 rs1) { return (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x03; }
static u32 store_insn(u32 f3, u32 rs2, u32 rs1) { return (rs2 << 20) | (rs1 << 15) | (f3 << 12) | 0x23; }

/*
 * Runs `insn` (a 16-bit one in the low half, padded with c.nop) in `mode`
 * (3 = M, 1 = S, 0 = U) with x1..x31 = regs[1..31]; extra mstatus bits in
 * `status` (MPIE, SUM, MPRV, TW...). Returns the number of exceptions; the
 * first one is in harts[h].first_*.
 */
static u64 run_insn(u32 insn, u64 mode, u64 status, const u64 *regs)
{
    u64 h = hartid();
    struct hart_state *hs = &harts[h];
    volatile u32 *slot = slots[h];
    slot[0] = insn;
    slot[1] = j_insn((u64)&slot[1], (u64)restore_stub);
    __asm__ volatile("fence.i" ::: "memory");
    u64 n = hs->nexc;
    hs->first_valid = 0;
    csr_clear(mstatus, MSTATUS_MIE);
    csr_clear(mstatus, MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_MPIE | MSTATUS_SUM | MSTATUS_TW | MSTATUS_SPP);
    csr_set(mstatus, (mode << 11) | status);
    csr_write(stvec, (u64)s_handler);
    csr_write(sepc, (u64)&slot[1]);
    csr_write(mepc, (u64)slot);
    hs->in_run = 1;
    launch(regs);
    hs->in_run = 0;
    return hs->nexc - n;
}

/* ---- bookkeeping --------------------------------------------------------------- */

static u64 npass, nfail;

struct result { const char *name; int failed; const char *what; u64 got, want; };

static void begin(struct result *r, const char *name)
{
    r->name = name; r->failed = 0; r->what = ""; r->got = r->want = 0;
}

static int expect(struct result *r, int ok, const char *what, u64 got, u64 want)
{
    if (!ok && !r->failed) {
        r->failed = 1; r->what = what; r->got = got; r->want = want;
    }
    return ok;
}

#define EXPECT_EQ(r, what, got, want) expect((r), (u64)(got) == (u64)(want), (what), (u64)(got), (u64)(want))

static void end(struct result *r)
{
    if (r->failed) {
        puts_("ADV: FAIL "); puts_(r->name); puts_(" "); puts_(r->what);
        puts_(" got="); puthex(r->got); puts_(" want="); puthex(r->want); puts_("\n");
        nfail++;
    } else {
        puts_("ADV: PASS "); puts_(r->name); puts_("\n");
        npass++;
    }
}

static void note(const char *name, const char *text, u64 v)
{
    puts_("ADV: NOTE "); puts_(name); puts_(" "); puts_(text); puts_(" "); puthex(v); puts_("\n");
}

static void sane_regs(u64 *regs, u64 h)
{
    for (int i = 0; i < 32; i++) regs[i] = (u64)&scratch[h][2048];
}

static void pmp_allow_all(void)
{
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, ~0UL);
    csr_write(pmpcfg0, 0x1f);
}

/* ---- The APLIC's MSIs aimed at the monitor (aia=aplic-imsic) ----------------- */

#define APLIC_M            0x0c000000UL
#define APLIC_DOMAINCFG    0x0000
#define APLIC_SOURCECFG(s) (4UL * (s))
#define APLIC_MMSIADDRCFG  0x1bc0
#define APLIC_MMSIADDRCFGH 0x1bc4
#define APLIC_SETIPNUM     0x1cdc
#define APLIC_SETIENUM     0x1edc
#define APLIC_GENMSI       0x3000
#define APLIC_TARGET(s)    (0x3000 + 4UL * (s))
#define APLIC_SOURCE       60          /* no device on QEMU virt */
#define APLIC_EIID         0x5a

/*
 * The APLIC is a bus master no PMP checks: a firmware that programs the M
 * domain's MSI address can make it write anywhere. Aim it at the monitor's
 * region (the first word, hart index 0, no group) and fire two MSIs, one
 * through a source (setipnum) and one through genmsi. Natively (the region
 * is plain DRAM there) both land, which the test checks; under the monitor
 * the configuration must stay virtual: the register reads back as written
 * (as on the hardware), the monitor reports it, and keeps running (the rest
 * of the run and the script's checks).
 */
static void test_aplic_msi_at_monitor(void)
{
    struct result r;
    begin(&r, "aplic-msi-at-monitor");
    u64 target = native ? (u64)&scratch[0][0] : monitor_base;
    if (native) w32(target, 0);
    u32 ppn = (u32)(target >> 12);
    w32(APLIC_M + APLIC_DOMAINCFG, 0);
    w32(APLIC_M + APLIC_SOURCECFG(APLIC_SOURCE), 4);               /* edge, rising */
    w32(APLIC_M + APLIC_TARGET(APLIC_SOURCE), APLIC_EIID);         /* hart index 0 */
    w32(APLIC_M + APLIC_MMSIADDRCFG, ppn);
    w32(APLIC_M + APLIC_MMSIADDRCFGH, (u32)(target >> 44));         /* LHXW = HHXW = 0 */
    EXPECT_EQ(&r, "mmsiaddrcfg-readback", r32(APLIC_M + APLIC_MMSIADDRCFG), ppn);
    w32(APLIC_M + APLIC_SETIENUM, APLIC_SOURCE);
    w32(APLIC_M + APLIC_DOMAINCFG, 1u << 8);                       /* IE */
    w32(APLIC_M + APLIC_SETIPNUM, APLIC_SOURCE);
    w32(APLIC_M + APLIC_GENMSI, APLIC_EIID + 1);                   /* hart index 0 */
    u64 t0 = now();
    while (now() - t0 < 20 * TICKS_PER_MS) ;
    if (native) {
        u32 landed = r32(target);
        EXPECT_EQ(&r, "native-msi-landed", landed == APLIC_EIID || landed == APLIC_EIID + 1, 1);
    }
    /* Put the domain back: no source, no MSI address, IE off. */
    w32(APLIC_M + APLIC_DOMAINCFG, 0);
    w32(APLIC_M + APLIC_SOURCECFG(APLIC_SOURCE), 0);
    w32(APLIC_M + APLIC_MMSIADDRCFG, 0);
    w32(APLIC_M + APLIC_MMSIADDRCFGH, 0);
    /* Still served: a trapped CSR access and a CLINT access. */
    csr_write(mscratch, 0x5a5a);
    EXPECT_EQ(&r, "mscratch-after", csr_read(mscratch), 0x5a5a);
    EXPECT_EQ(&r, "msip0-after", r32(MSIP(0)), 0);
    end(&r);
}

/* ---- A1: loads, stores, AMOs, jumps into the monitor ------------------------- */

static void test_monitor_sweep(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    u64 regs[32];
    begin(&r, "monitor-sweep");
    sane_regs(regs, 0);
    /* lb lh lw ld lbu lhu lwu, sb sh sw sd, amoswap.w/d, lr.d, sc.d, c.ld, c.sd */
    static const u32 loads[7] = {0, 1, 2, 3, 4, 5, 6};
    u64 probes = 0;
    /* The region the monitor announced by shrinking the memory node: a
       naturally aligned power of two at the end of DRAM. */
    u64 size = monitor_end - monitor_base;
    if (!expect(&r, size >= 0x1000 && (size & (size - 1)) == 0 && (monitor_base & (size - 1)) == 0 &&
                monitor_end == DRAM_END, "region-shape base", monitor_base, DRAM_END - size))
        goto out;
    for (u64 a = monitor_base; a < monitor_end; a += 0x1000) {
        u64 addrs[3] = {a, a + 0x7f8, a + 0xffc};
        for (int k = 0; k < 3; k++) {
            u64 addr = addrs[k];
            regs[A2] = addr;
            regs[A4] = 0x5a5a5a5a5a5a5a5aUL;
            for (int i = 0; i < 7; i++) {
                u32 f3 = loads[i];
                if ((addr & ((1UL << (f3 & 3)) - 1)) != 0) continue;
                u64 n = run_insn(load_insn(f3, A3, A2), 3, 0, regs);
                probes++;
                if (!expect(&r, n >= 1 && hs->first_cause == 5, "load-cause addr", addr, 5)) goto out;
                if (!expect(&r, hs->first_tval == addr, "load-mtval", hs->first_tval, addr)) goto out;
            }
            for (u32 f3 = 0; f3 < 4; f3++) {
                if ((addr & ((1UL << f3) - 1)) != 0) continue;
                u64 n = run_insn(store_insn(f3, A4, A2), 3, 0, regs);
                probes++;
                if (!expect(&r, n >= 1 && hs->first_cause == 7, "store-cause addr", addr, 7)) goto out;
                if (!expect(&r, hs->first_tval == addr, "store-mtval", hs->first_tval, addr)) goto out;
            }
            if ((addr & 7) == 0) {
                /* amoswap.d a3, a4, (a2); amoadd.w; lr.d; sc.d */
                static const u32 amos[4] = {0x08e636af, 0x00e626af, 0x100636af, 0x18e636af};
                /* QEMU 7.2 reports an AMO's access fault as 5 or 7 depending on
                   its atomics path; an sc.d without a reservation may fail
                   without any access. Never a success. */
                for (int i = 0; i < 4; i++) {
                    u64 n = run_insn(amos[i], 3, 0, regs);
                    probes++;
                    if (i == 3 && n == 0) continue;
                    if (!expect(&r, n >= 1 && (hs->first_cause == 5 || hs->first_cause == 7), "amo-cause",
                                (n ? hs->first_cause : 0xdead) | (u64)i << 32, 7))
                        goto out;
                }
                /* c.ld a3, 0(a2) / c.sd a4, 0(a2) (rvc registers x8..x15) */
                u64 n = run_insn(0x0001 << 16 | 0x6214, 3, 0, regs);   /* c.ld a3,0(a2) */
                probes++;
                if (!expect(&r, n >= 1 && hs->first_cause == 5, "c.ld-cause addr", addr, 5)) goto out;
                n = run_insn(0x0001 << 16 | 0xe218, 3, 0, regs);       /* c.sd a4,0(a2) */
                probes++;
                if (!expect(&r, n >= 1 && hs->first_cause == 7, "c.sd-cause addr", addr, 7)) goto out;
            }
            /* jr a2 */
            u64 n = run_insn(0x00060067, 3, 0, regs);
            probes++;
            if (!expect(&r, n >= 1 && hs->first_cause == 1, "jump-cause addr", addr, 1)) goto out;
            if (!expect(&r, hs->first_tval == addr && hs->first_epc == addr, "jump-mtval", hs->first_tval, addr))
                goto out;
        }
    }
    /* Accesses that straddle the start of the monitor's memory, from the
       firmware's own (an ld and an sd: 4 bytes each side). */
    regs[A2] = monitor_base - 4;
    run_insn(load_insn(3, A3, A2), 3, 0, regs);
    probes++;
    if (!expect(&r, hs->first_valid && (hs->first_cause == 5 || hs->first_cause == 4), "straddle-ld-cause",
                hs->first_valid ? hs->first_cause : 0xdead, 5))
        goto out;
    run_insn(store_insn(3, A4, A2), 3, 0, regs);
    probes++;
    expect(&r, hs->first_valid && (hs->first_cause == 7 || hs->first_cause == 6), "straddle-sd-cause",
           hs->first_valid ? hs->first_cause : 0xdead, 7);
out:
    end(&r);
    puts_("ADV: monitor-sweep probes="); putdec(probes); puts_("\n");
}

/* ---- A2: MPRV and the payload's page tables pointed at the monitor ----------- */

u64 mprv_load(u64 addr, u64 status);
__asm__(
    ".text\n.balign 4\n.globl mprv_load\n"
    "mprv_load:\n"
    "    li t0, 0xe1800\n    csrc mstatus, t0\n"
    "    li t0, 0x20000\n    or t1, a1, t0\n    csrs mstatus, t1\n"
    ".option push\n.option norvc\n.globl mprv_load_insn\nmprv_load_insn:\n"
    "    ld a0, 0(a0)\n"
    ".option pop\n"
    "    csrc mstatus, t0\n    ret\n");
extern const char mprv_load_insn[];
void mprv_store(u64 addr, u64 status, u64 value);
__asm__(
    ".text\n.balign 4\n.globl mprv_store\n"
    "mprv_store:\n"
    "    li t0, 0xe1800\n    csrc mstatus, t0\n"
    "    li t0, 0x20000\n    or t1, a1, t0\n    csrs mstatus, t1\n"
    ".option push\n.option norvc\n"
    "    sd a2, 0(a0)\n"
    ".option pop\n"
    "    csrc mstatus, t0\n    ret\n");

static void identity_gigapages(int user)
{
    for (int i = 0; i < 512; i++) page_table[i] = 0;
    for (u64 g = 0; g < 4; g++)
        page_table[g] = ((g << 30) >> 12 << 10) | 0xcf | (user ? 0x10 : 0);   /* V R W X A D */
    __asm__ volatile("fence rw, rw" ::: "memory");
}

static void test_mprv_monitor(void)
{
    struct result r;
    begin(&r, "mprv-and-paging-into-monitor");
    /* S/U accesses (Bare and Sv39 identity gigapages) and the firmware's own
       MPRV accesses: the monitor stays out of reach. */
    u64 regs[32];
    sane_regs(regs, 0);
    struct hart_state *hs = &harts[0];
    identity_gigapages(0);
    for (int sv39 = 0; sv39 < 2; sv39++) {
        u64 satp = sv39 ? ((8UL << 60) | ((u64)page_table >> 12)) : 0;
        for (u64 a = monitor_base; a < monitor_end; a += 0x2000) {
            /* S-mode load through the payload's translation. */
            regs[A2] = a;
            csr_write(satp, satp);
            __asm__ volatile("sfence.vma" ::: "memory");
            /* Any fault will do (access or page fault): never a success. */
            run_insn(load_insn(3, A3, A2), 1, 0, regs);
            if (!expect(&r, hs->first_valid && (hs->first_cause == 5 || hs->first_cause == 13) &&
                        hs->first_tval == a, sv39 ? "S-sv39-load cause" : "S-bare-load cause",
                        hs->first_valid ? hs->first_cause : 0xdead, 5))
                goto out;
            run_insn(store_insn(3, A4, A2), 0, 0, regs);
            if (!expect(&r, hs->first_valid && (hs->first_cause == 7 || hs->first_cause == 15) &&
                        hs->first_tval == a, sv39 ? "U-sv39-store cause" : "U-bare-store cause",
                        hs->first_valid ? hs->first_cause : 0xdead, 7))
                goto out;
            /* The firmware's own MPRV (MPP = S): performed by the monitor. */
            csr_write(satp, satp);
            __asm__ volatile("sfence.vma" ::: "memory");
            /* The firmware's own load with MPRV = 1, MPP = S (the monitor
               performs it with the payload's translation and PMP). */
            hs->first_valid = 0;
            hs->probing = 1;
            u64 v = mprv_load(a, 1UL << 11);
            hs->probing = 0;
            if (!hs->first_valid) {
                /* It read the monitor. Write the same value back: if that
                   works too, the firmware can patch the monitor. */
                hs->probing = 1;
                mprv_store(a, 1UL << 11, v);
                hs->probing = 0;
                note("mprv-and-paging-into-monitor", "MPRV load read the monitor at", a);
                note("mprv-and-paging-into-monitor", "value", v);
                if (!hs->first_valid)
                    note("mprv-and-paging-into-monitor", "and an MPRV store of it did not fault at", a);
                expect(&r, 0, sv39 ? "MPRV-sv39-load-read-monitor value" : "MPRV-bare-load-read-monitor value",
                       v, 0);
                goto out;
            }
            if (!expect(&r, (hs->first_cause == 5 || hs->first_cause == 13) && hs->first_tval == a,
                        sv39 ? "MPRV-sv39-load cause" : "MPRV-bare-load cause", hs->first_cause, 5))
                goto out;
        }
    }
out:
    csr_write(satp, 0);
    __asm__ volatile("sfence.vma" ::: "memory");
    end(&r);
}

/* An S/U run_insn whose slot instruction did not trap: the first exception
   is restore_stub's csrc (illegal below M), outside the slot. */
static int s_ran_clean(struct hart_state *hs)
{
    return hs->first_valid && hs->first_cause == 2 && !in_slot(0, hs->first_epc);
}

/* ---- A3: the devices are emulated, not reached ---------------------------------- */

static void test_devices(void)
{
    struct result r;
    begin(&r, "devices-emulated");
    if (nharts < 2) {
        note("devices-emulated", "one hart: cross-hart part skipped, harts", nharts);
    } else {
        struct hart_state *h1 = &harts[1];
        /* msip of hart 1 written by hart 0: read back (virtual) and delivered. */
        u64 n = h1->msi;
        listen_go = 1;
        barrier();
        u64 t0 = now();
        while (listen_go != 2 && now() - t0 < 2000 * TICKS_PER_MS) ;
        w32(MSIP(1), 1);
        u32 rb = r32(MSIP(1));
        t0 = now();
        while (h1->msi == n && now() - t0 < 2000 * TICKS_PER_MS) ;
        EXPECT_EQ(&r, "msip[1]-readback", rb, 1);
        EXPECT_EQ(&r, "hart1-msi", h1->msi - n, 1);
        EXPECT_EQ(&r, "msip[1]-after", r32(MSIP(1)), 0);
        /* mtimecmp of hart 1 written by hart 0. */
        n = h1->mti;
        w64(MTIMECMP(1), now() + 20000);
        EXPECT_EQ(&r, "mtimecmp[1]-readback-nonzero", r64(MTIMECMP(1)) != ~0UL, 1);
        t0 = now();
        while (h1->mti == n && now() - t0 < 2000 * TICKS_PER_MS) ;
        EXPECT_EQ(&r, "hart1-mti", h1->mti - n, 1);
        listen_go = 3;
    }
    /* PLIC M context of hart 0: threshold and enables read back. */
    w32(PLIC_THRESH(0), 5);
    EXPECT_EQ(&r, "plic-threshold-readback", r32(PLIC_THRESH(0)), 5);
    w32(PLIC_THRESH(0), 0);
    w32(PLIC_ENABLE(0, 0), 1U << UART_IRQ);
    EXPECT_EQ(&r, "plic-enable0-readback", r32(PLIC_ENABLE(0, 0)), 1U << UART_IRQ);
    w32(PLIC_ENABLE(0, 0), 0);
    /* The payload (S), allowed the PLIC by the firmware's PMP, writes the
       firmware's M-context enable and threshold: the firmware reads back
       what the payload wrote (one PLIC, as natively). */
    {
        struct hart_state *hs = &harts[0];
        u64 regs[32];
        sane_regs(regs, 0);
        pmp_allow_all();
        regs[A2] = PLIC_ENABLE(0, 0);
        regs[A4] = 1U << UART_IRQ;
        run_insn(store_insn(2, A4, A2), 1, 0, regs);
        /* No fault in the slot: the first exception is restore_stub's
           csrc, illegal in S. */
        expect(&r, s_ran_clean(hs),
               "S-store-enable0 cause", hs->first_valid ? hs->first_cause : 0xdead, 2);
        EXPECT_EQ(&r, "S-wrote-enable0: firmware-reads", r32(PLIC_ENABLE(0, 0)), 1U << UART_IRQ);
        regs[A2] = PLIC_THRESH(0);
        regs[A4] = 4;
        run_insn(store_insn(2, A4, A2), 1, 0, regs);
        expect(&r, s_ran_clean(hs),
               "S-store-threshold0 cause", hs->first_valid ? hs->first_cause : 0xdead, 2);
        EXPECT_EQ(&r, "S-wrote-threshold0: firmware-reads", r32(PLIC_THRESH(0)), 4);
        /* And the firmware's writes are what the payload's own context
           page shows: S stores 0 into its threshold (context 1). */
        w32(PLIC_THRESH(1), 6);
        regs[A2] = PLIC_THRESH(1);
        regs[A4] = 0;
        run_insn(store_insn(2, A4, A2), 1, 0, regs);
        EXPECT_EQ(&r, "S-wrote-threshold1: firmware-reads", r32(PLIC_THRESH(1)), 0);
        w32(PLIC_ENABLE(0, 0), 0);
        w32(PLIC_THRESH(0), 0);
    }
    /* mtime writes are ignored (the clock is shared with the payload);
       natively they are not (the native baseline skips this). */
    if (!native) {
        u64 before = r64(MTIME);
        w64(MTIME, 5);
        u64 after = r64(MTIME);
        expect(&r, after >= before, "mtime-went-back", after, before);
    }
    end(&r);
}

/* ---- A4: PMP lock over the monitor ----------------------------------------------- */

static void test_pmp_lock(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    u64 regs[32];
    begin(&r, "pmp-lock-over-monitor");
    sane_regs(regs, 0);
    /* Entry 0: NAPOT over the monitor's region, RWX + L. Entry 1: TOR up to
       its end RWX + L. Entry 2: everything RWX (for S/U). */
    u64 napot = (monitor_base >> 2) | (((monitor_end - monitor_base) >> 3) - 1);
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, napot);
    csr_write(pmpaddr1, monitor_end >> 2);
    csr_write(pmpaddr2, ~0UL);
    u64 cfg = 0x9fUL | (0x8fUL << 8) | (0x1fUL << 16);
    csr_write(pmpcfg0, cfg);
    u64 rb = csr_read(pmpcfg0) & 0xffffff;
    EXPECT_EQ(&r, "pmpcfg0-readback", rb, cfg);
    /* Locked: writes to entry 0 are ignored. */
    csr_write(pmpaddr0, 0x1234);
    EXPECT_EQ(&r, "pmpaddr0-locked", csr_read(pmpaddr0), napot);
    regs[A2] = monitor_base + 0x100;
    u64 n = run_insn(load_insn(3, A3, A2), 3, 0, regs);
    expect(&r, n >= 1 && hs->first_cause == 5, "firmware-load-cause", hs->first_cause, 5);
    n = run_insn(store_insn(3, A4, A2), 3, 0, regs);
    expect(&r, n >= 1 && hs->first_cause == 7, "firmware-store-cause", hs->first_cause, 7);
    n = run_insn(0x00060067, 3, 0, regs);
    expect(&r, n >= 1 && hs->first_cause == 1, "firmware-jump-cause", hs->first_cause, 1);
    n = run_insn(load_insn(3, A3, A2), 1, 0, regs);
    expect(&r, n >= 1 && hs->first_cause == 5, "S-load-cause", hs->first_cause, 5);
    n = run_insn(store_insn(2, A4, A2), 0, 0, regs);
    expect(&r, n >= 1 && hs->first_cause == 7, "U-store-cause", hs->first_cause, 7);
    regs[A2] = monitor_end - 8;
    n = run_insn(0x00060067, 1, 0, regs);
    expect(&r, n >= 1 && hs->first_cause == 1, "S-jump-cause", hs->first_cause, 1);
    end(&r);
}

/* ---- A5: mret with MPP = 2 --------------------------------------------------------- */

static void test_mret_mpp2(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    u64 regs[32];
    begin(&r, "mret-mpp2");
    sane_regs(regs, 0);
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, 2UL << 11);
    u64 mpp = (csr_read(mstatus) >> 11) & 3;
    expect(&r, mpp != 2, "mpp-readback", mpp, 0);
    /* The launcher's mret with whatever MPP the hart kept; an ecall tells
       where we landed (8 U, 9 S, 11 M). */
    volatile u32 *slot = slots[0];
    slot[0] = 0x00000073;
    slot[1] = j_insn((u64)&slot[1], (u64)restore_stub);
    __asm__ volatile("fence.i" ::: "memory");
    hs->first_valid = 0;
    csr_clear(mstatus, MSTATUS_MIE | MSTATUS_MPRV);
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, 2UL << 11);
    csr_write(mepc, (u64)slot);
    hs->in_run = 1;
    launch(regs);
    hs->in_run = 0;
    u64 c = hs->first_cause;
    expect(&r, hs->first_valid && (c == 8 || c == 9 || c == 11), "landed-cause", c, 11);
    expect(&r, c == 8 + (mpp == 3 ? 3 : mpp), "landed-in-mpp", c, 8 + (mpp == 3 ? 3 : mpp));
    end(&r);
}

/* ---- A6: wfi, MIE = 0, only the timer enabled ------------------------------------ */

static void test_wfi_timer(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    begin(&r, "wfi-timer-mie0");
    u64 n = hs->ntraps;
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, MIP_MTIP);
    /* On a busy host (8 harts' threads on a few cores) the deadline can pass
       before the first wfi: then again, twice as far out (at most 7 tries). */
    u64 wakes = 0, mipv = 0, tries = 0;
    for (u64 delay = 10 * TICKS_PER_MS; delay <= 640 * TICKS_PER_MS && !wakes; delay *= 2) {
        tries++;
        u64 t0 = now();
        w64(MTIMECMP(0), t0 + delay);
        while (!(csr_read(mip) & MIP_MTIP) && now() - t0 < 3000 * TICKS_PER_MS) {
            __asm__ volatile("wfi" ::: "memory");
            wakes++;
        }
        mipv = csr_read(mip);
        w64(MTIMECMP(0), ~0UL);
    }
    csr_write(mie, 0);
    expect(&r, (mipv & MIP_MTIP) != 0, "mip.MTIP", mipv, MIP_MTIP);
    EXPECT_EQ(&r, "traps", hs->ntraps - n, 0);
    expect(&r, wakes >= 1 && wakes < 1000, "wakes", wakes, 1);
    if (tries > 1) note("wfi-timer-mie0", "deadline passed before the first wfi; tries", tries);
    end(&r);
}

/* ---- A7/A8: random instruction words ------------------------------------------------ */

static u64 pick_value(struct hart_state *hs)
{
    u64 x = rnd(hs);
    switch (x % 10) {
    case 0: case 1: return monitor_base + (rnd(hs) & (monitor_end - monitor_base - 1) & ~7UL); /* the monitor */
    /* its first and last bytes (below: free DRAM; above: the end of DRAM) */
    case 2: return (x & 16) ? monitor_base - 8 + (rnd(hs) & 15) : monitor_end - 8 + (rnd(hs) & 7);
    case 3: return WILD_BASE + 0x4000 + (rnd(hs) & 0x7f8);                /* scratch */
    case 4: return CLINT + (rnd(hs) & 0xfff8);                           /* CLINT */
    case 5: return PLIC + (rnd(hs) & 0x3ffff8);                          /* PLIC */
    case 6: return rnd(hs) & 0xfff;                                      /* small */
    case 7: return 0x40000000UL + (rnd(hs) & 0xffff);                    /* unmapped */
    default: return rnd(hs);
    }
}

/* Control flow and the few words that would wait forever are not run. */
static int runnable_half(u32 w);

static int runnable(u32 w)
{
    if ((w & 3) != 3)
        return runnable_half(w & 0xffff) && runnable_half(w >> 16);
    return runnable_half(w);
}

/* One instruction: a 16-bit one, or a 32-bit one. */
static int runnable_half(u32 w)
{
    if ((w & 3) != 3) {
        u32 q = w & 3, f3 = (w >> 13) & 7;
        if (q == 1 && (f3 == 1 || f3 == 5 || f3 == 6 || f3 == 7)) return 0;   /* c.jal c.j c.beqz c.bnez */
        if (q == 2 && f3 == 4 && ((w >> 2) & 0x1f) == 0 && ((w >> 7) & 0x1f) != 0) return 0; /* c.jr c.jalr */
        return 1;
    }
    u32 op = w & 0x7f;
    if (op == 0x6f || op == 0x67 || op == 0x63) return 0;               /* jal jalr branches */
    if (w == 0x10500073) return 0;                                      /* wfi */
    if (op == 0x73 && ((w >> 12) & 7) == 0 && (w >> 25) == 0x08 && ((w >> 20) & 0x1f) == 5) return 0; /* wfi-like */
    return 1;
}

static int trace_words;
static u64 run_from, run_to = ~0UL;      /* only words with an index in [from, to) run */

static u64 random_words(const char *name, u64 mode, u64 count)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    u64 regs[32];
    begin(&r, name);
    for (int i = 0; i < 32; i++) hs->causes[i] = 0;
    u64 ran = 0, trapped = 0;
    canary[0] = 0x1122334455667788UL;
    pmp_allow_all();
    /* `count` words actually run (control flow and wfi are skipped). */
    for (u64 i = 0; ran < count && i < 4 * count; i++) {
        u32 w = (u32)rnd(hs);
        if ((rnd(hs) & 7) == 0) w = (w & 0xffff) | 0x00010000;   /* a compressed word + c.nop */
        /* A 16-bit first half: the second half must be a whole 16-bit
           instruction too, or it would pair with the slot's jump. */
        if ((w & 3) != 3 && ((w >> 16) & 3) == 3) w = (w & 0xffff) | 0x00010000;
        if (!runnable(w)) continue;
        for (int k = 1; k < 32; k++) regs[k] = pick_value(hs);
        if (mode == 3 && (i < run_from || i >= run_to)) continue;
        regs[2] = WILD_BASE + 0x4000;                             /* sp: scratch, c.*sp forms */
        if (mode != 3) {
            csr_write(satp, 0);
            csr_write(medeleg, 0);
            csr_write(mcounteren, 0);
        }
        if (trace_words) { puts_("W "); puthex(w); puts_(" s0="); puthex(regs[8]); puts_(" sp="); puthex(regs[2]); puts_("\n"); }
        if (run_insn(w, mode, 0, regs)) trapped++;
        ran++;
        /* The firmware is intact and still in control. */
        if (!expect(&r, canary[0] == 0x1122334455667788UL, "canary", canary[0], 0x1122334455667788UL)) break;
    }
    end(&r);
    puts_("ADV: "); puts_(name); puts_(" words="); putdec(ran); puts_(" trapped="); putdec(trapped);
    puts_(" causes:");
    for (int c = 0; c < 32; c++) {
        if (!hs->causes[c]) continue;
        puts_(" "); putdec((u64)c); puts_("="); putdec(hs->causes[c]);
    }
    puts_("\n");
    pmp_allow_all();
    csr_write(satp, 0);
    return ran;
}

/* ---- A9: IPI and timer flood on every hart, with world switches ----------------- */

static void flood(u64 h, u64 iterations)
{
    struct hart_state *hs = &harts[h];
    u64 regs[32];
    sane_regs(regs, h);
    csr_write(mie, MIP_MSIP | MIP_MTIP);
    for (u64 i = 0; i < iterations; i++) {
        u64 target = (h + 1 + rnd(hs) % (nharts > 1 ? nharts - 1 : 1)) % nharts;
        w32(MSIP(target), 1);
        w64(MTIMECMP(h), now() + (rnd(hs) & 0x7ff));
        csr_set(mstatus, MSTATUS_MIE);
        if ((i & 7) == 0) {
            /* An S-mode round trip (ecall) while interrupts fly. */
            run_insn(0x00000073, 1, MSTATUS_MPIE, regs);
            csr_write(mie, MIP_MSIP | MIP_MTIP);
            csr_set(mstatus, MSTATUS_MIE);
        }
        __asm__ volatile("nop; nop; nop" ::: "memory");
    }
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
    w64(MTIMECMP(h), ~0UL);
    w32(MSIP(h), 0);
    barrier();
    hs->flood_done = 1;
}

static void test_flood(u64 iterations)
{
    struct result r;
    begin(&r, "ipi-timer-flood");
    flood_go = iterations;
    barrier();
    flood(0, iterations);
    u64 t0 = now();
    for (u64 h = 1; h < nharts; h++)
        while (!harts[h].flood_done && now() - t0 < 60000 * TICKS_PER_MS) ;
    u64 msi = 0, mti = 0;
    for (u64 h = 0; h < nharts; h++) {
        expect(&r, harts[h].flood_done == 1, "hart-finished hart", h, 1);
        expect(&r, harts[h].other_irq == 0, "unexpected-irq hart", h, 0);
        msi += harts[h].msi;
        mti += harts[h].mti;
    }
    expect(&r, mti > 0, "mti", mti, 1);
    if (nharts > 1) expect(&r, msi > 0, "msi", msi, 1);
    end(&r);
    puts_("ADV: ipi-timer-flood harts="); putdec(nharts); puts_(" iterations="); putdec(iterations);
    puts_(" msi="); putdec(msi); puts_(" mti="); putdec(mti); puts_("\n");
}

/* ---- A10: S-level enables set by the payload must not reach the firmware ---- */

static void test_payload_sie_leak(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    u64 regs[32];
    begin(&r, "payload-sie-leak");
    sane_regs(regs, 0);
    pmp_allow_all();
    /* The payload (S) enables SEIE natively: csrs sie, a2. */
    regs[A2] = MIP_SEIP;
    run_insn(0x10462073, 1, 0, regs);          /* csrs sie, a2 */
    /* The firmware raises the PLIC S context of hart 0 (its right): real SEIP. */
    u64 n_exc = hs->nexc, n_s = hs->s_ecalls, n_leak = hs->leaks;
    w32(PLIC_PRIO(UART_IRQ), 7);
    w32(PLIC_ENABLE(1, 0), 1U << UART_IRQ);
    w32(PLIC_THRESH(1), 0);
    while (!(r8(UART_LSR) & 0x40)) ;
    w8(UART_IER, 0x02);
    u64 t0 = now(), seip = 0;
    while (now() - t0 < 20 * TICKS_PER_MS) seip |= csr_read(mip) & MIP_SEIP;
    w8(UART_IER, 0);
    u32 c = r32(PLIC_CLAIM(1));
    if (c) w32(PLIC_CLAIM(1), c);
    w32(PLIC_ENABLE(1, 0), 0);
    w32(PLIC_PRIO(UART_IRQ), 0);
    csr_write(sie, 0);
    /* Natively: mip.SEIP rises, virtual M-mode takes nothing (the interrupt
       is delegated to S and M-mode never takes an S-level interrupt). */
    EXPECT_EQ(&r, "mip.SEIP-seen", seip, MIP_SEIP);
    EXPECT_EQ(&r, "payload-handler-ran-in-firmware-world", hs->leaks - n_leak, 0);
    EXPECT_EQ(&r, "firmware-exceptions", hs->nexc - n_exc - (hs->s_ecalls - n_s), 0);
    end(&r);
}

/* ---- A13: the sandbox policy keeps the firmware out of the payload ------------- */

/* Payload memory for sandbox-payload: DRAM outside this firmware's 2 MiB. */
#define PAYLOAD_ADDR   0x80400000UL
#define FIRMWARE_SIZE  0x200000UL

/*
 * The firmware declares its memory as OpenSBI does (PMP entry 0: its 2 MiB,
 * no S/U permission; entry 1: the rest RWX for S/U), runs an S-mode ecall
 * from payload memory with distinct values in x1..x31, then reads and
 * writes payload memory directly and with MPRV (MPP = S). With the sandbox
 * (scripts/adversary --policy offload,sandbox) the ecall shows a0..a7 only
 * (the rest read 0) and every access faults (5/7, mtval = the address);
 * without it all the registers show and every access succeeds. The PMP
 * stays as set when `sandbox` (allowing all to S/U again would leave this
 * firmware no memory of its own).
 */
static void test_sandbox(int sandbox)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    begin(&r, "sandbox-payload");
    volatile u32 *code = (volatile u32 *)PAYLOAD_ADDR;
    volatile u64 *data = (volatile u64 *)(PAYLOAD_ADDR + 0x100);
    code[0] = 0x00000073;                       /* ecall */
    *data = 0x5afe5afe5afe5afeUL;
    __asm__ volatile("fence.i" ::: "memory");
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, (DRAM_BASE >> 2) | ((FIRMWARE_SIZE >> 3) - 1));
    csr_write(pmpaddr1, ~0UL);
    csr_write(pmpcfg0, 0x18UL | (0x1fUL << 8));

    /* The payload's SBI call: what does the firmware see? */
    u64 regs[32];
    for (int i = 0; i < 32; i++) regs[i] = 0x5a000000UL + i;
    capture_ecall = 1;
    hs->first_valid = 0;
    csr_clear(mstatus, MSTATUS_MIE);
    csr_clear(mstatus, MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_MPIE | MSTATUS_SUM | MSTATUS_TW | MSTATUS_SPP);
    csr_set(mstatus, 1UL << 11);
    csr_write(mepc, PAYLOAD_ADDR);
    hs->in_run = 1;
    launch(regs);
    hs->in_run = 0;
    EXPECT_EQ(&r, "ecall-cause", hs->first_valid ? hs->first_cause : 0xdead, 9);
    for (int i = 1; i < 32; i++) {
        int visible = !sandbox || (i >= 10 && i <= 17);
        if (!EXPECT_EQ(&r, visible ? "ecall-register-visible" : "ecall-register-hidden", ecall_regs[i],
                       visible ? regs[i] : 0))
            break;
    }

    /* Payload memory, directly and as the payload (MPRV, MPP = S). */
    hs->first_valid = 0;
    hs->probing = 1;
    u64 v = *data;
    hs->probing = 0;
    if (sandbox) {
        EXPECT_EQ(&r, "load-cause", hs->first_valid ? hs->first_cause : 0, 5);
        EXPECT_EQ(&r, "load-mtval", hs->first_tval, (u64)data);
    } else {
        EXPECT_EQ(&r, "load-fault", hs->first_valid, 0);
        EXPECT_EQ(&r, "load-value", v, 0x5afe5afe5afe5afeUL);
    }
    hs->first_valid = 0;
    hs->probing = 1;
    *data = 0xbad;
    hs->probing = 0;
    if (sandbox) EXPECT_EQ(&r, "store-cause", hs->first_valid ? hs->first_cause : 0, 7);
    else EXPECT_EQ(&r, "store-fault", hs->first_valid, 0);
    hs->first_valid = 0;
    hs->probing = 1;
    v = mprv_load((u64)data, 1UL << 11);
    hs->probing = 0;
    if (sandbox) {
        EXPECT_EQ(&r, "mprv-load-cause", hs->first_valid ? hs->first_cause : 0, 5);
        EXPECT_EQ(&r, "mprv-load-mtval", hs->first_tval, (u64)data);
    } else {
        EXPECT_EQ(&r, "mprv-load-fault", hs->first_valid, 0);
        EXPECT_EQ(&r, "mprv-load-value", v, 0xbad);
    }
    hs->first_valid = 0;
    hs->probing = 1;
    mprv_store((u64)data, 1UL << 11, 0x600d);
    hs->probing = 0;
    if (sandbox) EXPECT_EQ(&r, "mprv-store-cause", hs->first_valid ? hs->first_cause : 0, 7);
    else EXPECT_EQ(&r, "mprv-store-fault", hs->first_valid, 0);
    if (!sandbox) pmp_allow_all();
    end(&r);
}

/* ---- A11: the firmware's PMP denies the payload the PLIC ------------------------- */

/* One S (mode 1) or U (mode 0) access; it must fault with `cause` and
   mtval = addr, and the firmware must get the fault. */
static void expect_payload_fault(struct result *r, const char *what, u32 insn, u64 mode, u64 *regs,
                                 u64 cause, u64 addr)
{
    struct hart_state *hs = &harts[0];
    regs[A2] = addr;
    run_insn(insn, mode, 0, regs);
    if (!expect(r, hs->first_valid && hs->first_cause == cause, what,
                hs->first_valid ? hs->first_cause : 0, cause))
        return;
    expect(r, hs->first_tval == addr, what, hs->first_tval, addr);
}

static void test_payload_plic_pmp(void)
{
    struct result r;
    u64 regs[32];
    begin(&r, "payload-plic-pmp");
    sane_regs(regs, 0);
    /* The firmware's own settings, which the payload must not change. */
    w32(PLIC_THRESH(0), 2);
    w32(PLIC_THRESH(1), 1);
    /* Entry 0: PLIC (64 MiB NAPOT at 0x0c00_0000), no permission; entry 1: all. */
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, (PLIC >> 2) | ((0x4000000UL >> 3) - 1));
    csr_write(pmpaddr1, ~0UL);
    csr_write(pmpcfg0, 0x18UL | (0x1fUL << 8));
    regs[A4] = 3;
    u32 lw = load_insn(2, A3, A2), sw = store_insn(2, A4, A2);
    expect_payload_fault(&r, "S-load-priority", lw, 1, regs, 5, PLIC_PRIO(UART_IRQ));
    expect_payload_fault(&r, "S-store-priority", sw, 1, regs, 7, PLIC_PRIO(UART_IRQ));
    EXPECT_EQ(&r, "priority-unchanged", r32(PLIC_PRIO(UART_IRQ)), 0);
    /* The payload's own S-context page (context 1) is denied too. */
    expect_payload_fault(&r, "S-load-threshold1", lw, 1, regs, 5, PLIC_THRESH(1));
    expect_payload_fault(&r, "S-load-claim1", lw, 1, regs, 5, PLIC_CLAIM(1));
    expect_payload_fault(&r, "S-store-threshold1", sw, 1, regs, 7, PLIC_THRESH(1));
    expect_payload_fault(&r, "S-store-claim1", sw, 1, regs, 7, PLIC_CLAIM(1));
    expect_payload_fault(&r, "U-load-threshold1", lw, 0, regs, 5, PLIC_THRESH(1));
    EXPECT_EQ(&r, "threshold1-unchanged", r32(PLIC_THRESH(1)), 1);
    /* The firmware's M context: threshold and enables. */
    expect_payload_fault(&r, "S-store-threshold0", sw, 1, regs, 7, PLIC_THRESH(0));
    expect_payload_fault(&r, "S-store-enable0", sw, 1, regs, 7, PLIC_ENABLE(0, 0));
    expect_payload_fault(&r, "S-load-claim0", lw, 1, regs, 5, PLIC_CLAIM(0));
    expect_payload_fault(&r, "S-load-pending", lw, 1, regs, 5, PLIC + 0x1000);
    EXPECT_EQ(&r, "threshold0-unchanged", r32(PLIC_THRESH(0)), 2);
    EXPECT_EQ(&r, "enable0-unchanged", r32(PLIC_ENABLE(0, 0)), 0);
    /* A denied claim has no side effect: a pending source stays pending
       and the firmware still claims it. */
    w32(PLIC_PRIO(UART_IRQ), 1);
    w32(PLIC_THRESH(1), 0);
    w32(PLIC_ENABLE(1, 0), 1U << UART_IRQ);
    u64 t0 = now();
    while (!(r8(UART_LSR) & 0x40) && now() - t0 < 100 * TICKS_PER_MS) ;
    w8(UART_IER, 0x02);
    expect_payload_fault(&r, "S-load-claim1-pending", lw, 1, regs, 5, PLIC_CLAIM(1));
    u32 pend = (r32(PLIC + 0x1000) >> UART_IRQ) & 1;
    u32 c = r32(PLIC_CLAIM(1));
    w8(UART_IER, 0);
    /* Complete what we claimed, or what the payload's claim took if it was
       not denied after all (so the source is not lost for the next tests). */
    w32(PLIC_CLAIM(1), c ? c : UART_IRQ);
    EXPECT_EQ(&r, "pending-after-denied-claim", pend, 1);
    EXPECT_EQ(&r, "firmware-claim1", c, UART_IRQ);
    w32(PLIC_ENABLE(1, 0), 0);
    w32(PLIC_PRIO(UART_IRQ), 0);
    /* Only the S-context page denied, the rest allowed: that page faults,
       the M context works. */
    csr_write(pmpcfg0, 0);
    csr_write(pmpaddr0, (PLIC_THRESH(1) >> 2) | ((0x1000UL >> 3) - 1));
    csr_write(pmpaddr1, ~0UL);
    csr_write(pmpcfg0, 0x18UL | (0x1fUL << 8));
    expect_payload_fault(&r, "page-denied: S-load-threshold1", lw, 1, regs, 5, PLIC_THRESH(1));
    expect_payload_fault(&r, "page-denied: S-store-claim1", sw, 1, regs, 7, PLIC_CLAIM(1));
    regs[A2] = PLIC_THRESH(0);
    regs[A4] = 5;
    run_insn(sw, 1, 0, regs);
    expect(&r, s_ran_clean(&harts[0]),
           "page-denied: S-store-threshold0 cause", harts[0].first_valid ? harts[0].first_cause : 0xdead, 2);
    EXPECT_EQ(&r, "page-denied: threshold0", r32(PLIC_THRESH(0)), 5);
    w32(PLIC_THRESH(0), 0);
    w32(PLIC_THRESH(1), 0);
    pmp_allow_all();
    end(&r);
}

/* ---- A12: an external interrupt the firmware cannot take ----------------------- */

/*
 * The UART's line is high in hart 0's M context while the firmware keeps
 * mie.MEIE = 0: no storm (the firmware and its payload keep running at
 * speed), nothing is taken; the moment the firmware enables MEIE and MIE,
 * exactly one MEI arrives (its handler claims, lowers the line, completes).
 */
static u64 spin_count(u64 ticks)
{
    u64 t0 = now(), n = 0;
    while (now() - t0 < ticks) {
        n++;
        __asm__ volatile("nop" ::: "memory");
    }
    return n;
}

static void test_mei_masked(void)
{
    struct result r;
    struct hart_state *hs = &harts[0];
    u64 regs[32];
    begin(&r, "mei-masked-no-storm");
    sane_regs(regs, 0);
    pmp_allow_all();
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
    u64 base = spin_count(20 * TICKS_PER_MS);
    u64 mei0 = hs->mei, nirq0 = hs->nirq;
    w32(PLIC_PRIO(UART_IRQ), 1);
    w32(PLIC_THRESH(0), 0);
    w32(PLIC_ENABLE(0, 0), 1U << UART_IRQ);
    u64 t0 = now();
    while (!(r8(UART_LSR) & 0x40) && now() - t0 < 100 * TICKS_PER_MS) ;
    w8(UART_IER, 0x02);
    t0 = now();
    while (!(csr_read(mip) & MIP_MEIP) && now() - t0 < 200 * TICKS_PER_MS) ;
    u64 mipv = csr_read(mip);
    u64 high = spin_count(20 * TICKS_PER_MS);
    /* S-mode round trips with the line high: the payload is not taken
       into the firmware either (its MEIE is 0). */
    u64 s_ok = 0;
    for (int i = 0; i < 50; i++) {
        run_insn(0x00000013, 1, 0, regs);      /* nop, then restore_stub (illegal in S) */
        if (s_ran_clean(hs)) s_ok++;
    }
    u64 taken_masked = hs->nirq - nirq0;
    /* Now the firmware takes it. */
    csr_write(mie, MIP_MEIP);
    csr_set(mstatus, MSTATUS_MIE);
    t0 = now();
    while (hs->mei == mei0 && now() - t0 < 200 * TICKS_PER_MS) ;
    csr_clear(mstatus, MSTATUS_MIE);
    csr_write(mie, 0);
    w8(UART_IER, 0);
    u32 c = r32(PLIC_CLAIM(0));
    if (c) w32(PLIC_CLAIM(0), c);
    w32(PLIC_ENABLE(0, 0), 0);
    w32(PLIC_PRIO(UART_IRQ), 0);
    EXPECT_EQ(&r, "mip.MEIP", mipv & MIP_MEIP, MIP_MEIP);
    /* Natively about a third (QEMU stops chaining translation blocks while
       an interrupt is pending); a storm would be next to nothing. */
    expect(&r, high * 10 >= base, "slowed-down-while-masked loops", high, base);
    EXPECT_EQ(&r, "S-round-trips", s_ok, 50);
    EXPECT_EQ(&r, "interrupts-while-masked", taken_masked, 0);
    EXPECT_EQ(&r, "mei-after-unmask", hs->mei - mei0, 1);
    EXPECT_EQ(&r, "left-over-claim", c, 0);
    note("mei-masked-no-storm", "spin loops masked-high/idle (x1000)", high * 1000 / (base ? base : 1));
    end(&r);
}

/* ---- secondary harts ------------------------------------------------------------- */

static void secondary(u64 h)
{
    struct hart_state *hs = &harts[h];
    csr_write(mie, 0);
    __atomic_fetch_add(&nharts_seen, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        if (h == 1 && listen_go == 1) {
            csr_write(mie, MIP_MSIP | MIP_MTIP);
            barrier();
            listen_go = 2;
            while (listen_go == 2) {
                csr_set(mstatus, MSTATUS_MIE);
                __asm__ volatile("nop; nop" ::: "memory");
                csr_clear(mstatus, MSTATUS_MIE);
            }
            csr_write(mie, 0);
        }
        if (flood_go && !hs->flood_done) flood(h, flood_go);
    }
}

/* ---- main -------------------------------------------------------------------------- */

static void power_off(void)
{
    w32(TEST_DEV, 0x5555);
    for (;;) __asm__ volatile("wfi");
}

/* ---- the device tree: where the memory node ends ------------------------------------- */

static u32 be32(const u8 *p)
{
    return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

static int name_is_memory(const char *name)
{
    const char *m = "memory";
    while (*m && *name == *m) { m++; name++; }
    return !*m && (!*name || *name == '@');
}

/*
 * The highest end (base + size) of the ranges in the "reg" of the root's
 * memory@... nodes in the flattened device tree at `fdt` (a1 at entry), in
 * the root's #address-cells/#size-cells; 0 when there is no tree or no
 * memory node. Natively that is the end of DRAM; under the monitor, the
 * start of its region.
 */
static u64 fdt_memory_end(u64 fdt)
{
    const u8 *h = (const u8 *)fdt;
    if (!fdt || (fdt & 3) || be32(h) != 0xd00dfeed || be32(h + 20) < 17) return 0;
    u32 total = be32(h + 4), off_struct = be32(h + 8), off_strings = be32(h + 12), size_struct = be32(h + 36);
    if (off_struct >= total || size_struct > total - off_struct || off_strings >= total) return 0;
    const u8 *p = h + off_struct, *end = p + size_struct;
    const char *strings = (const char *)h + off_strings;
    u32 acells = 2, scells = 1, depth = 0;
    int memory = 0;
    u64 top = 0;
    while (p + 4 <= end) {
        u32 token = be32(p);
        p += 4;
        if (token == 1) {                       /* FDT_BEGIN_NODE */
            const char *name = (const char *)p;
            u64 n = 0;
            while (p + n < end && name[n]) n++;
            depth++;
            memory = depth == 2 && name_is_memory(name);
            p += (n + 4) & ~3UL;
        } else if (token == 2) {                /* FDT_END_NODE */
            depth--;
            memory = 0;
        } else if (token == 3) {                /* FDT_PROP */
            if (p + 8 > end) return 0;
            u32 len = be32(p), nameoff = be32(p + 4);
            p += 8;
            if (len > (u64)(end - p) || nameoff >= total - off_strings) return 0;
            const char *prop = strings + nameoff;
            if (depth == 1 && len == 4 && str_eq(prop, "#address-cells")) acells = be32(p);
            if (depth == 1 && len == 4 && str_eq(prop, "#size-cells")) scells = be32(p);
            if (memory && str_eq(prop, "reg") && acells >= 1 && acells <= 2 && scells >= 1 && scells <= 2) {
                u32 cells = acells + scells;
                for (u32 i = 0; (i + cells) * 4 <= len; i += cells) {
                    u64 base = be32(p + 4 * i), size = be32(p + 4 * (i + acells));
                    if (acells == 2) base = base << 32 | be32(p + 4 * i + 4);
                    if (scells == 2) size = size << 32 | be32(p + 4 * (i + acells) + 4);
                    if (base + size > top) top = base + size;
                }
            }
            p += (len + 3) & ~3U;
        } else if (token == 4) {                /* FDT_NOP */
        } else {
            break;                              /* FDT_END, or garbage */
        }
    }
    return top;
}

/*
 * Where the monitor is: DRAM that the memory node no longer covers. Returns
 * 1 natively (the node covers DRAM to its end), 0 under the monitor, -1 when
 * the device tree says something else (no memory node, or one that ends
 * outside DRAM).
 */
static int monitor_region(u64 fdt)
{
    u64 end = fdt_memory_end(fdt);
    monitor_base = end;
    monitor_end = DRAM_END;
    if (end == DRAM_END) return 1;
    if (end <= DRAM_BASE || end > DRAM_END) return -1;
    return 0;
}

void adversary_main(u64 a0, u64 a1)
{
    trap_stack_tops[a0] = csr_read(mscratch);
    const volatile u32 *p = (const volatile u32 *)PARAM_ADDR;
    u64 seed = 0x9e3779b97f4a7c15UL, words = 10000, flood_n = 2000;
    int sandbox = 0, aia = 0;
    if (p[0] == PARAM_MAGIC) {
        seed = ((u64)p[3] << 32) | p[2];
        words = p[4];
        flood_n = p[5];
        trace_words = p[6] != 0;
        if (p[7] | p[8]) { run_from = p[7]; run_to = p[8]; }
        sandbox = p[9] != 0;
        aia = p[10] != 0;
    }
    harts[a0].rng = seed ^ (0x100000001b3UL * (a0 + 1));
    if (a0 != 0) secondary(a0);

    puts_("\nADV: firmvisor adversarial firmware at ");
    puthex((u64)_start);
    puts_(" seed ");
    puthex(seed);
    puts_("\n");
    int where = monitor_region(a1);
    native = where != 0;
    if (where < 0) {
        /* Not QEMU virt with -m 256M, or a broken boot protocol: fail. */
        puts_("ADV: FAIL device-tree no memory node ending in DRAM at a1 = ");
        puthex(a1);
        puts_(" (end ");
        puthex(monitor_base);
        puts_("); the monitor tests are skipped\n");
        nfail++;
    } else if (!native) {
        puts_("ADV: monitor region ");
        puthex(monitor_base);
        puts_("..");
        puthex(monitor_end);
        puts_(" (DRAM past the memory node)\n");
    }
    u64 t0 = now();
    while (now() - t0 < 300 * TICKS_PER_MS && nharts_seen + 1 < ADV_MAX_HARTS) ;
    nharts = nharts_seen + 1;
    puts_("ADV: harts="); putdec(nharts); puts_("\n");
    csr_write(mie, 0);
    pmp_allow_all();

    if (native && aia) {
        test_aplic_msi_at_monitor();
    } else if (native) {
        if (where > 0)
            puts_("ADV: NOTE native run (the memory node ends at the end of DRAM): monitor-sweep, "
                  "mprv-and-paging-into-monitor, mret-mpp2, random-words-*, pmp-lock-over-monitor skipped\n");
        test_devices();
        test_wfi_timer();
        test_flood(flood_n);
        test_payload_plic_pmp();
        test_payload_sie_leak();
        test_mei_masked();
    } else if (aia) {
        puts_("ADV: NOTE aia=aplic-imsic: the PLIC tests do not apply\n");
        test_monitor_sweep();
        test_mprv_monitor();
        test_aplic_msi_at_monitor();
        test_mret_mpp2();
        random_words("random-words-vM", 3, words);
    } else if (sandbox) {
        puts_("ADV: NOTE sandbox policy: only sandbox-payload runs\n");
        test_sandbox(1);
    } else {
        test_monitor_sweep();
        test_mprv_monitor();
        test_devices();
        test_mret_mpp2();
        test_wfi_timer();
        random_words("random-words-vM", 3, words);
        random_words("random-words-S", 1, words / 2);
        random_words("random-words-U", 0, words / 4);
        test_flood(flood_n);
        test_payload_plic_pmp();
        test_payload_sie_leak();
        test_mei_masked();
        /* Before pmp-lock-over-monitor: its locked entries stay until reset. */
        test_sandbox(0);
        test_pmp_lock();
    }

    if (harts[0].unexpected) note("firmware", "unexpected exceptions on hart 0", harts[0].unexpected);
    puts_("ADV: DONE pass="); putdec(npass); puts_(" fail="); putdec(nfail); puts_("\n");
    power_off();
}
