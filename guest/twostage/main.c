/*
 * Two-stage translation test firmware: accesses that need the hart's (or the
 * monitor's) VS-stage and G-stage walks, natively and under the monitor.
 *
 *   vs-*    a VS-mode guest reaches the CLINT and the PLIC through its own
 *           page table (vsatp, Sv39) and the hypervisor's (hgatp, Sv39x4);
 *           the firmware's PMP grants S/U-mode everything, so natively the
 *           accesses complete, and under the monitor, whose PMP walls the
 *           devices, they must complete too (the monitor walks both stages).
 *   mprv-*  the firmware's own loads and stores with mstatus.MPRV = 1,
 *           MPP = S and MPV = 1: translated by vsatp and hgatp, not by satp.
 *
 * Where QEMU 7.2's own walk differs from the privileged specification (a
 * G-stage fault of an MPRV access reported as a page fault, a VS-stage
 * fault as an access fault while satp is Bare, SUM ignored under MPRV with
 * MPV = 1), the native run prints a NOTE and accepts QEMU's value; the
 * monitor follows the specification, so its run prints no NOTE.
 *
 * Output: "TWOSTAGE: PASS name" / "TWOSTAGE: FAIL name: ...", then
 * "TWOSTAGE: DONE pass=N fail=M"; the machine powers off through the test
 * device (exit status 0 when nothing failed).
 */
#include <stdint.h>
#include "console.h"

typedef uint64_t u64;
typedef uint32_t u32;

#define CLINT           0x02000000UL
#define CLINT_MTIMECMP0 (CLINT + 0x4000)
#define CLINT_MTIME     (CLINT + 0xBFF8)
#define PLIC            0x0C000000UL
#define PLIC_DENIED     (PLIC + 0x3FF000)   /* a 4 KiB page S/U-mode may not touch */
#define TEST_DEVICE     0x00100000UL

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)

#define MSTATUS_MPP_S (1UL << 11)
#define MSTATUS_MPRV  (1UL << 17)
#define MSTATUS_SUM   (1UL << 18)
#define MSTATUS_MXR   (1UL << 19)
#define MSTATUS_GVA   (1UL << 38)
#define MSTATUS_MPV   (1UL << 39)

#define CAUSE_LOAD_ACCESS  5
#define CAUSE_ECALL_VS     10
#define CAUSE_LOAD_PAGE    13
#define CAUSE_LOAD_GUEST   21

#define csr_read(csr) ({ u64 v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" : : "r"((u64)(v)) : "memory")

struct trap { u64 cause, epc, tval, tval2, tinst, status, a0, valid; };
extern struct trap trap_record;
extern void run_guest(void (*entry)(void), u64 a0, u64 a1, u64 mstatus);
extern u64 mprv_access(u64 address, u64 value, u64 mstatus_bits, u64 is_store);
extern void vs_load64(void), vs_store64(void), vs_load32(void), vs_store32(void);

/* The G-stage root (Sv39x4: 2048 entries, 16 KiB aligned) and the VS-stage
   root (Sv39). Both map with 1 GiB leaves. The VS table's guest physical
   address is its physical address (the G stage maps DRAM one to one). */
static u64 g_root[2048] __attribute__((aligned(16384)));
static u64 vs_root[512] __attribute__((aligned(4096)));
static volatile u64 word = 0x1122334455667788UL;
static volatile u64 store_target;

/* VS-stage slots (GVA = slot << 30). */
enum {
    VS_DEVICES = 1,   /* GVA 0x4000_0000 -> GPA 0: the CLINT, the PLIC */
    VS_DRAM = 2,      /* GVA 0x8000_0000 -> GPA 0x8000_0000: this image */
    VS_ALIAS = 3,     /* GVA 0xC000_0000 -> GPA 0x8000_0000 */
    VS_NO_GPA = 4,    /* GVA 0x1_0000_0000 -> GPA 0x4000_0000, not G-mapped */
    VS_INVALID = 5,   /* GVA 0x1_4000_0000: no entry */
    VS_CLEAN = 6,     /* GVA 0x1_8000_0000 -> DRAM, A = D = 0 */
    VS_USER = 7,      /* GVA 0x1_C000_0000 -> DRAM, U = 1 */
};
#define GVA(slot, pa) (((u64)(slot) << 30) + ((u64)(pa) & 0x3FFFFFFFUL))

/* Struct copies compile to memcpy calls. */
void *memcpy(void *to, const void *from, unsigned long n);
void *memcpy(void *to, const void *from, unsigned long n)
{
    volatile char *d = to;
    const volatile char *s = from;
    while (n--) *d++ = *s++;
    return to;
}

static int passes, failures, notes;
static const char *current;

static void note(const char *what, u64 value)
{
    puts_("TWOSTAGE: NOTE ");
    puts_(current);
    puts_(" ");
    puts_(what);
    puts_(" ");
    puthex(value);
    puts_("\n");
    notes++;
}

static int check(int ok, const char *what, u64 got, u64 want)
{
    if (!ok) {
        puts_("TWOSTAGE: FAIL ");
        puts_(current);
        puts_(": ");
        puts_(what);
        puts_(" got ");
        puthex(got);
        puts_(" want ");
        puthex(want);
        puts_("\n");
        failures++;
    }
    return ok;
}
#define EQ(what, got, want) check((u64)(got) == (u64)(want), what, (u64)(got), (u64)(want))

static int begin_failures;
static void begin(const char *name) { current = name; begin_failures = failures; }
static void end(void)
{
    if (failures == begin_failures) {
        puts_("TWOSTAGE: PASS ");
        puts_(current);
        puts_("\n");
        passes++;
    }
}

static u64 leaf(u64 pa, u64 flags) { return (pa >> 12) << 10 | flags | PTE_V; }

static void hfence(void)
{
    __asm__ volatile(".insn r 0x73, 0, 0x31, x0, x0, x0" ::: "memory");   /* hfence.gvma */
    __asm__ volatile(".insn r 0x73, 0, 0x11, x0, x0, x0" ::: "memory");   /* hfence.vvma */
}

static void setup(void)
{
    /* PMP: S/U-mode may access everything (natively the devices too) but
       one PLIC page (so that the monitor must check each PLIC access
       against this PMP rather than open the PLIC to the payload). */
    csr_write(pmpaddr0, (PLIC_DENIED >> 2) | 0x1FF);
    csr_write(pmpaddr1, ~0UL);
    csr_write(pmpcfg0, 0x1F18);         /* entry 0: NAPOT, no access; 1: NAPOT, R W X */
    csr_write(medeleg, 0);
    csr_write(0x602, 0);                /* hedeleg */
    u64 g = PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D;
    g_root[0] = leaf(0, g);
    g_root[2] = leaf(0x80000000UL, g);
    u64 s = PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
    vs_root[VS_DEVICES] = leaf(0, PTE_R | PTE_W | PTE_A | PTE_D);
    vs_root[VS_DRAM] = leaf(0x80000000UL, s);
    vs_root[VS_ALIAS] = leaf(0x80000000UL, PTE_R | PTE_W | PTE_A | PTE_D);
    vs_root[VS_NO_GPA] = leaf(0x40000000UL, PTE_R | PTE_W | PTE_A | PTE_D);
    vs_root[VS_CLEAN] = leaf(0x80000000UL, PTE_R | PTE_W);
    vs_root[VS_USER] = leaf(0x80000000UL, PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    csr_write(0x680, 8UL << 60 | (u64)g_root >> 12);   /* hgatp: Sv39x4 */
    csr_write(0x280, 8UL << 60 | (u64)vs_root >> 12);  /* vsatp: Sv39 */
    csr_write(0x200, 0);                               /* vsstatus */
    csr_write(satp, 0);
    hfence();
}

/* Runs one guest access in VS-mode; returns the trap that ended it. */
static struct trap guest(void (*entry)(void), u64 a0, u64 a1)
{
    trap_record.valid = 0;
    run_guest(entry, a0, a1, MSTATUS_MPP_S | MSTATUS_MPV);
    return trap_record;
}

static int guest_ok(struct trap t, void (*entry)(void))
{
    return EQ("guest ends with its ecall (mcause)", t.cause, CAUSE_ECALL_VS)
        && EQ("ecall pc", t.epc, (u64)entry + 4);
}

static void test_vs_clint_load(void)
{
    begin("vs-clint-load");
    u64 before = *(volatile u64 *)CLINT_MTIME;
    struct trap t = guest(vs_load64, GVA(VS_DEVICES, CLINT_MTIME), 0);
    u64 after = *(volatile u64 *)CLINT_MTIME;
    if (guest_ok(t, vs_load64))
        check(t.a0 >= before && t.a0 <= after, "mtime read in VS", t.a0, before);
    end();
}

static void test_vs_clint_store(void)
{
    begin("vs-clint-store");
    u64 deadline = *(volatile u64 *)CLINT_MTIME + 1000000000UL;
    struct trap t = guest(vs_store64, GVA(VS_DEVICES, CLINT_MTIMECMP0), deadline);
    if (guest_ok(t, vs_store64))
        EQ("mtimecmp[0] after the guest's store", *(volatile u64 *)CLINT_MTIMECMP0, deadline);
    *(volatile u64 *)CLINT_MTIMECMP0 = ~0UL;
    end();
}

static void test_vs_plic(void)
{
    begin("vs-plic-priority");
    struct trap t = guest(vs_store32, GVA(VS_DEVICES, PLIC + 4), 5);
    if (guest_ok(t, vs_store32)) {
        EQ("priority[1] after the guest's store", *(volatile u32 *)(PLIC + 4), 5);
        t = guest(vs_load32, GVA(VS_DEVICES, PLIC + 4), 0);
        if (guest_ok(t, vs_load32)) EQ("priority[1] read in VS", t.a0, 5);
    }
    *(volatile u32 *)(PLIC + 4) = 0;
    /* A page the firmware's PMP denies: the guest gets the PMP's fault
       (QEMU 7.2: a load guest-page fault with the guest physical address;
       the specification: a load access fault). */
    u64 gva = GVA(VS_DEVICES, PLIC_DENIED + 8);
    t = guest(vs_load32, gva, 0);
    if (t.cause == CAUSE_LOAD_GUEST) EQ("denied: mtval2", t.tval2, (PLIC_DENIED + 8) >> 2);
    else if (EQ("denied: mcause (load access fault)", t.cause, CAUSE_LOAD_ACCESS)) EQ("denied: mtval2", t.tval2, 0);
    EQ("denied: mepc", t.epc, (u64)vs_load32);
    EQ("denied: mtval", t.tval, gva);
    EQ("denied: mstatus.GVA", (t.status & MSTATUS_GVA) != 0, 1);
    EQ("denied: mstatus.MPV", (t.status & MSTATUS_MPV) != 0, 1);
    end();
}

#define MPRV_S (MSTATUS_MPRV | MSTATUS_MPP_S | MSTATUS_MPV)

static void test_mprv_load_store(void)
{
    begin("mprv-mpv-load-store");
    trap_record.valid = 0;
    u64 v = mprv_access(GVA(VS_ALIAS, &word), 0, MPRV_S, 0);
    if (EQ("no trap on the load", trap_record.valid, 0)) EQ("value through vsatp/hgatp", v, word);
    mprv_access(GVA(VS_ALIAS, &store_target), 0xABCD, MPRV_S, 1);
    if (EQ("no trap on the store", trap_record.valid, 0)) EQ("stored through vsatp/hgatp", store_target, 0xABCD);
    end();
}

static void test_mprv_guest_page_fault(void)
{
    begin("mprv-mpv-guest-page-fault");
    trap_record.valid = 0;
    u64 gva = GVA(VS_NO_GPA, 0x40);
    mprv_access(gva, 0, MPRV_S, 0);
    struct trap t = trap_record;
    if (EQ("trapped", t.valid, 1)) {
        if (t.cause == CAUSE_LOAD_PAGE) note("QEMU reports a G-stage fault under MPRV as cause", t.cause);
        else EQ("mcause (load guest-page fault)", t.cause, CAUSE_LOAD_GUEST);
        EQ("mtval", t.tval, gva);
        EQ("mtval2 (the guest physical address >> 2)", t.tval2, 0x40000040UL >> 2);
        if (t.cause == CAUSE_LOAD_GUEST) EQ("mstatus.GVA", (t.status & MSTATUS_GVA) != 0, 1);
        EQ("mstatus.MPV", (t.status & MSTATUS_MPV) != 0, 0);
    }
    end();
}

static void test_mprv_page_fault(void)
{
    begin("mprv-mpv-page-fault");
    trap_record.valid = 0;
    u64 gva = GVA(VS_INVALID, 0x80);
    mprv_access(gva, 0, MPRV_S, 0);
    struct trap t = trap_record;
    if (EQ("trapped", t.valid, 1)) {
        if (t.cause == CAUSE_LOAD_ACCESS) note("QEMU reports a VS-stage fault under MPRV with satp Bare as cause", t.cause);
        else EQ("mcause (load page fault)", t.cause, CAUSE_LOAD_PAGE);
        EQ("mtval", t.tval, gva);
        EQ("mtval2", t.tval2, 0);
    }
    end();
}

/* A/D: QEMU 7.2 sets them in hardware, natively and (through the real
   hart) under the monitor. */
static void test_mprv_accessed_dirty(void)
{
    begin("mprv-mpv-accessed-dirty");
    trap_record.valid = 0;
    u64 v = mprv_access(GVA(VS_CLEAN, &word), 0, MPRV_S, 0);
    if (EQ("no trap on the load", trap_record.valid, 0)) {
        EQ("value", v, word);
        EQ("VS leaf A set, D clear", vs_root[VS_CLEAN] & (PTE_A | PTE_D), PTE_A);
    }
    mprv_access(GVA(VS_CLEAN, &store_target), 0x5A5A, MPRV_S, 1);
    if (EQ("no trap on the store", trap_record.valid, 0)) {
        EQ("stored", store_target, 0x5A5A);
        EQ("VS leaf A and D set", vs_root[VS_CLEAN] & (PTE_A | PTE_D), PTE_A | PTE_D);
    }
    end();
}

/* SUM for MPRV with MPV = 1 is vsstatus.SUM. */
static void test_mprv_sum(void)
{
    begin("mprv-mpv-sum");
    trap_record.valid = 0;
    u64 gva = GVA(VS_USER, &word);
    u64 v = mprv_access(gva, 0, MPRV_S | MSTATUS_SUM, 0);
    if (trap_record.valid) {
        EQ("mcause without vsstatus.SUM (load page fault)", trap_record.cause, CAUSE_LOAD_PAGE);
        EQ("mtval", trap_record.tval, gva);
    } else {
        note("QEMU ignores vsstatus.SUM under MPRV with MPV = 1; loaded", v);
    }
    csr_write(0x200, MSTATUS_SUM);      /* vsstatus.SUM */
    trap_record.valid = 0;
    v = mprv_access(gva, 0, MPRV_S, 0);
    if (EQ("no trap with vsstatus.SUM", trap_record.valid, 0)) EQ("value", v, word);
    csr_write(0x200, 0);
    end();
}

void twostage_main(void)
{
    puts_("TWOSTAGE: two-stage translation tests\n");
    if (!((csr_read(misa) >> 7) & 1)) {
        puts_("TWOSTAGE: SKIP all: no H extension\n");
    } else {
        setup();
        test_vs_clint_load();
        test_vs_clint_store();
        test_vs_plic();
        test_mprv_load_store();
        test_mprv_guest_page_fault();
        test_mprv_page_fault();
        test_mprv_accessed_dirty();
        test_mprv_sum();
    }
    puts_("TWOSTAGE: DONE pass=");
    putdec((u64)passes);
    puts_(" fail=");
    putdec((u64)failures);
    puts_(" notes=");
    putdec((u64)notes);
    puts_("\n");
    *(volatile u32 *)TEST_DEVICE = failures ? (0x3333 | 1 << 16) : 0x5555;
    for (;;) __asm__ volatile("wfi");
}
