/*
 * Firmvisor differential firmware: a table-driven interpreter of privileged
 * operations. scripts/difftest generates the programs from seeds and loads
 * them as a blob at BLOB_ADDR; this firmware runs each one after resetting
 * the state programs touch, and prints a transcript of everything it
 * observed: values read, traps (cause, epc, tval and status bits), interrupt
 * outcomes. The same file runs natively (QEMU -bios, real M-mode) and
 * under the monitor (virtual M-mode), at 0x80000000 both times;
 * scripts/difftest compares the two transcripts op by op (after its
 * documented masks). Addresses inside this image are printed relative to
 * it ("I+off"), for the reader.
 *
 * Output: "DIFFFW: BEGIN n", then per program "P <seed> <nops>", one line per
 * op "<i> <fields...>", "E"; finally "DIFFFW: DONE n" and power-off (0x5555).
 *
 * Position independent: no pointers in data, no jump tables.
 */
#include "difffw.h"
#include "console.h"

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define INTR (1UL << 63)

#define MSTATUS_SIE  (1UL << 1)
#define MSTATUS_MIE  (1UL << 3)
#define MSTATUS_SPIE (1UL << 5)
#define MSTATUS_MPIE (1UL << 7)
#define MSTATUS_SPP  (1UL << 8)
#define MSTATUS_MPP  (3UL << 11)
#define MSTATUS_FS   (3UL << 13)
#define MSTATUS_MPRV (1UL << 17)
#define MSTATUS_SUM  (1UL << 18)
#define MSTATUS_MXR  (1UL << 19)
#define MSTATUS_TVM  (1UL << 20)
#define MSTATUS_TW   (1UL << 21)
#define MSTATUS_TSR  (1UL << 22)
#define MSTATUS_GVA  (1UL << 38)
#define MSTATUS_MPV  (1UL << 39)

#define MIP_SSIP (1UL << 1)
#define MIP_MSIP (1UL << 3)
#define MIP_STIP (1UL << 5)
#define MIP_MTIP (1UL << 7)
#define MIP_SEIP (1UL << 9)
#define MIP_MEIP (1UL << 11)

#define TEST_DEV    0x00100000UL
#define CLINT       0x02000000UL
#define MSIP(h)     (CLINT + 4UL * (h))
#define MTIMECMP(h) (CLINT + 0x4000UL + 8UL * (h))
#define PLIC        0x0c000000UL
#define PLIC_PRIO(s)      (PLIC + 4UL * (s))
#define PLIC_PENDING(w)   (PLIC + 0x1000UL + 4UL * (w))
#define PLIC_ENABLE(c, w) (PLIC + 0x2000UL + 0x80UL * (c) + 4UL * (w))
#define PLIC_THRESH(c)    (PLIC + 0x200000UL + 0x1000UL * (c))
#define PLIC_CLAIM(c)     (PLIC_THRESH(c) + 4)
#define PLIC_SOURCES 97        /* riscv,ndev = 96: sources 1..96 (priority[96] is real) */
#define UART       0x10000000UL
#define UART_IER   (UART + 1)
#define UART_LSR   (UART + 5)
#define UART_IRQ   10

/* AIA (-M virt,aia=aplic-imsic / aia=aplic): the APLIC's machine-level
   domain replaces the PLIC at 0x0c000000, its supervisor-level child is at
   0x0d000000; with IMSICs hart h's M-level file is at 0x24000000 + 0x1000 h,
   its S-level file at 0x28000000 + 0x1000 h. */
#define APLIC_M          0x0c000000UL
#define APLIC_S          0x0d000000UL
#define APLIC_SOURCECFG(d, s) ((d) + 4UL * (s))
#define APLIC_MMSIADDRCFG(d)  ((d) + 0x1bc0UL)
#define APLIC_MMSIADDRCFGH(d) ((d) + 0x1bc4UL)
#define APLIC_SMSIADDRCFG(d)  ((d) + 0x1bc8UL)
#define APLIC_SMSIADDRCFGH(d) ((d) + 0x1bccUL)
#define APLIC_SETIP(d, w)     ((d) + 0x1c00UL + 4UL * (w))
#define APLIC_SETIPNUM(d)     ((d) + 0x1cdcUL)
#define APLIC_IN_CLRIP(d, w)  ((d) + 0x1d00UL + 4UL * (w))
#define APLIC_SETIE(d, w)     ((d) + 0x1e00UL + 4UL * (w))
#define APLIC_SETIENUM(d)     ((d) + 0x1edcUL)
#define APLIC_CLRIENUM(d)     ((d) + 0x1fdcUL)
#define APLIC_GENMSI(d)       ((d) + 0x3000UL)
#define APLIC_TARGET(d, s)    ((d) + 0x3000UL + 4UL * (s))
#define APLIC_IDC(d, h)       ((d) + 0x4000UL + 32UL * (h))
#define IDC_IDELIVERY 0x00
#define IDC_IFORCE    0x04
#define IDC_ITHRESHOLD 0x08
#define IDC_TOPI      0x18
#define IDC_CLAIMI    0x1c
#define APLIC_SOURCES 96
#define APLIC_IE      0x100U
#define IMSIC_M(h)    (0x24000000UL + 0x1000UL * (h))
#define IMSIC_S(h)    (0x28000000UL + 0x1000UL * (h))
/* The MSI address configuration every program starts from: hart h's files
   at IMSIC_M(h) / IMSIC_S(h) (LHXW = 3, LHXS = 0, no groups). */
#define MSIADDRCFGH_RESET (3U << 12)
#define ISEL_IPRIO(k)     (0x30 + (k))
#define ISEL_EIDELIVERY   0x70
#define ISEL_EITHRESHOLD  0x72
#define ISEL_EIP(k)       (0x80 + (k))
#define ISEL_EIE(k)       (0xc0 + (k))

#define TICKS_PER_MS 10000UL
#define NHARTS_RESET 2

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
static inline void w64(u64 a, u64 v) { *(volatile u64 *)a = v; }
static inline u8 r8(u64 a) { return *(volatile u8 *)a; }
static inline void w8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline u64 now(void) { return csr_read(time); }
#define csr_readx(csr) csr_read(csr)
#define csr_writex(csr, val) csr_write(csr, val)
static inline void ireg_w(u64 sel, u64 v) { csr_writex(0x350, sel); csr_writex(0x351, v); }
static inline u64 ireg_r(u64 sel) { csr_writex(0x350, sel); return csr_readx(0x351); }
static inline void sireg_w(u64 sel, u64 v) { csr_writex(0x150, sel); csr_writex(0x151, v); }
static inline u64 mtopei_claim(void)
{
    u64 c;
    __asm__ volatile("csrrw %0, 0x35c, zero" : "=r"(c) :: "memory");
    return c;
}

/* The machine (blob header): which interrupt controllers there are. */
static u32 machine;
static inline void fence_i(void) { __asm__ volatile("fence.i" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }

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

struct op {
    u8 kind, flags;
    u16 csr;
    u32 insn;
    u64 a, b, c, d;
};

struct prog { u64 seed; u32 nops, pad; };

/* start.S */
extern const char _start[];
void trap_entry(void);
void trap_vector_table(void);
void s_vector_table(void);
void s_handler(void);
extern const char s_handler_ecall[];
u64 run_slot(u64 a2, u64 a4, volatile u32 *slot);
u64 lower_go(u64 a2, u64 a4);

/* The instruction slots: data, but executable (PMP allows it to the
   firmware and to its S/U stubs). */
static volatile u32 exec_slot[4] __attribute__((aligned(64), section(".data")));
static volatile u32 lower_stub[4] __attribute__((aligned(64), section(".data")));
/* Scratch memory for generated loads and stores. */
static volatile u64 scratch[64] __attribute__((aligned(64)));

volatile u64 s_record[5];      /* scause, sepc, stval, sstatus, valid */
volatile u64 slot_a4;          /* a4 after the slot (run_slot) */

/* ---- console --------------------------------------------------------------- */

static u64 image_base;

/* A value, relative to the image when it points into it. */
static void putval(u64 v)
{
    if (v >= image_base && v < image_base + 0x80000) {
        puts_("I+");
        puthex_digits(v - image_base);
    } else {
        puthex_digits(v);
    }
}

static void field(u64 v)
{
    putc_(' ');
    putval(v);
}

/* ---- trap log ----------------------------------------------------------------- */

struct tentry { u64 cause, epc, tval, status, slot; char who; };
#define TLOG 12
static struct tentry tlog[TLOG];
static volatile int ntlog;
static volatile int quiet;           /* reset: skip traps silently */
static volatile u64 ntraps_op, nirqs;
static volatile u64 irq_claim, irq_claim2, irq_mip, irq_mip_after;
static u64 tvec_current;

static void log_trap(char who, u64 cause, u64 epc, u64 tval, u64 status, u64 slot)
{
    if (ntlog < TLOG) {
        struct tentry *e = &tlog[ntlog];
        e->who = who; e->cause = cause; e->epc = epc; e->tval = tval;
        e->status = status; e->slot = slot;
    }
    ntlog++;
}

static int in_range(u64 a, volatile u32 *base)
{
    return a >= (u64)base && a < (u64)base + 16;
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
    u64 cause = csr_read(mcause);
    u64 epc = csr_read(mepc);
    u64 tval = csr_read(mtval);
    u64 st = csr_read(mstatus);
    u64 mpp = (st >> 11) & 3;
    ntraps_op++;

    if (cause & INTR) {
        u64 code = cause & 63;
        irq_mip = csr_read(mip);
        if (code == 7) {
            w64(MTIMECMP(0), ~0UL);
        } else if (code == 3) {
            w32(MSIP(0), 0);
        } else if (code == 11 && machine == MACH_APLIC_IMSIC) {
            irq_claim = mtopei_claim();
            irq_claim2 = csr_readx(0x35c);
        } else if (code == 11 && machine == MACH_APLIC_DIRECT) {
            irq_claim = r32(APLIC_IDC(APLIC_M, 0) + IDC_CLAIMI);
            if (!irq_claim) w32(APLIC_IDC(APLIC_M, 0) + IDC_IFORCE, 0);
            irq_claim2 = r32(APLIC_IDC(APLIC_M, 0) + IDC_TOPI);
        } else if (code == 11) {
            irq_claim = r32(PLIC_CLAIM(0));
            w8(UART_IER, 0);
            if (irq_claim) w32(PLIC_CLAIM(0), (u32)irq_claim);
            irq_claim2 = r32(PLIC_CLAIM(0));
            if (irq_claim2) w32(PLIC_CLAIM(0), (u32)irq_claim2);
        } else {
            csr_write(mie, 0);
        }
        irq_mip_after = csr_read(mip);
        if (ntraps_op > 32) csr_write(mie, 0);
        if (!quiet) {
            u64 shown = in_range(epc, exec_slot) || in_range(epc, lower_stub) ? epc : 0;
            log_trap('I', cause, shown, tval, st & (MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE), f->slot);
        }
        barrier();
        nirqs++;
        return;
    }

    if (mpp != 3) {
        /* From S or U: the stub (or the S handler) is done; resume the
           interpreter after lower_go, in M-mode. */
        if (!quiet) {
            if (cause == 9 && epc == (u64)s_handler_ecall && s_record[4]) {
                log_trap('S', s_record[0], s_record[1], s_record[2],
                         s_record[3] & (MSTATUS_SPP | MSTATUS_SPIE | MSTATUS_SIE), 0);
                s_record[4] = 0;
            }
            log_trap('M', cause, epc, tval, st & (MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE), f->slot);
        }
        csr_write(mepc, f->x[1]);
        csr_set(mstatus, MSTATUS_MPP);
        csr_clear(mstatus, MSTATUS_MPIE);     /* back in M with MIE = 0 */
        return;
    }

    if (!quiet) {
        int expected = in_range(epc, exec_slot);
        log_trap(expected ? 'M' : 'X', cause, epc, tval,
                 st & (MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE), f->slot);
    }
    if (cause == 1 || cause == 0 || cause == 12) {
        csr_write(mepc, f->x[1]);
    } else {
        u32 bits = insn_bits(epc);
        csr_write(mepc, epc + ((bits & 3) == 3 ? 4 : 2));
    }
}

static void print_traps(void)
{
    int n = ntlog < TLOG ? ntlog : TLOG;
    for (int i = 0; i < n; i++) {
        struct tentry *e = &tlog[i];
        putc_(' ');
        putc_(e->who);
        putc_(':');
        if (e->cause & INTR) { putc_('i'); puthex_digits(e->cause & ~INTR); }
        else puthex_digits(e->cause);
        putc_('@');
        putval(e->epc);
        putc_('/');
        if (e->cause == 2) puthex_digits(e->tval);     /* instruction bits, not an address */
        else putval(e->tval);
        putc_('/');
        puthex_digits(e->status);
        if (e->who == 'I' || e->who == 'M') {
            putc_('/');
            puthex_digits(e->slot + 1);   /* 0 = direct vector */
        }
    }
    if (ntlog > TLOG) { puts_(" +"); puthex_digits(ntlog - TLOG); }
    ntlog = 0;
}

/* ---- reset: the state every program starts from -------------------------------- */

static void set_tvec(int vectored)
{
    tvec_current = vectored ? ((u64)trap_vector_table | 1) : (u64)trap_entry;
    csr_write(mtvec, tvec_current);
}

/*
 * Claims and completes whatever source 10 left behind on contexts 0 (M) and
 * 1 (S) of hart 0, then leaves it disabled with priority 0. The writes to
 * context 1 come after those to context 0: on QEMU 7.2 an enable write does
 * not update the interrupt lines until the next PLIC event, and under the
 * monitor a pending source reaches the virtual M context only through a
 * real MEI.
 */
static void plic_drain(void)
{
    w8(UART_IER, 0);
    w32(PLIC_PRIO(UART_IRQ), 1);
    w32(PLIC_ENABLE(0, 0), 1U << UART_IRQ);
    w32(PLIC_THRESH(0), 0);
    w32(PLIC_ENABLE(1, 0), 1U << UART_IRQ);
    w32(PLIC_THRESH(1), 0);
    static const u8 order[3] = {0, 1, 0};
    for (int k = 0; k < 3; k++) {
        u64 c = order[k];
        for (int i = 0; i < 4; i++) {
            u32 id = r32(PLIC_CLAIM(c));
            if (!id) break;
            w32(PLIC_CLAIM(c), id);
        }
        w32(PLIC_CLAIM(c), UART_IRQ);
    }
    w32(PLIC_ENABLE(0, 0), 0);
    w32(PLIC_ENABLE(1, 0), 0);
    w32(PLIC_PRIO(UART_IRQ), 0);
}

/* QEMU 7.2's reset values of the iprio arrays: each interrupt's default
   priority (255 where it has none), the external interrupt's byte 0. */
static const u8 reset_iprio[64] = {
    255, 20, 24, 17, 255, 21, 25, 18, 255, 19, 23, 16, 22, 255, 255, 255,
    36, 33, 30, 27, 14, 11, 8, 5, 255, 255, 255, 255, 255, 255, 255, 255,
    37, 35, 34, 32, 31, 29, 28, 26, 15, 13, 12, 10, 9, 7, 6, 4,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};

static u64 iprio_reg(u64 k, u64 ext)
{
    u64 v = 0;
    for (u64 i = 0; i < 8; i++)
        if (4 * k + i != ext) v |= (u64)reset_iprio[4 * k + i] << (8 * i);
    return v;
}

/*
 * The AIA state programs may touch, as after a reset: both APLIC domains
 * off (every source inactive, which also clears the pending and enable bits
 * QEMU 7.2 leaves uninitialised at power-on), targets as at reset, the MSI
 * address configuration of the IMSIC pages (never locked: programs do not
 * set L), the IDCs of harts 0 and 1 idle; hart 0's M- and S-level interrupt
 * files empty and off, miselect/siselect 0, the iprio arrays as at reset.
 */
static void aia_reset(void)
{
    int msi = machine == MACH_APLIC_IMSIC;
    w8(UART_IER, 0);
    w32(APLIC_M, 0);
    w32(APLIC_S, 0);
    for (u64 src = 1; src <= APLIC_SOURCES; src++) {
        w32(APLIC_SOURCECFG(APLIC_M, src), 0);
        w32(APLIC_SOURCECFG(APLIC_S, src), 0);
        w32(APLIC_TARGET(APLIC_M, src), msi ? 0 : 1);
        w32(APLIC_TARGET(APLIC_S, src), msi ? 0 : 1);
    }
    if (msi) {
        w32(APLIC_MMSIADDRCFG(APLIC_M), (u32)(IMSIC_M(0) >> 12));
        w32(APLIC_MMSIADDRCFGH(APLIC_M), MSIADDRCFGH_RESET);
        w32(APLIC_SMSIADDRCFG(APLIC_M), (u32)(IMSIC_S(0) >> 12));
        w32(APLIC_SMSIADDRCFGH(APLIC_M), MSIADDRCFGH_RESET);
        w32(APLIC_GENMSI(APLIC_M), 0);       /* identity 0 to hart 0: ignored */
        w32(APLIC_GENMSI(APLIC_S), 0);
        for (u64 k = 0; k < 8; k += 2) {
            ireg_w(ISEL_EIE(k), 0);
            ireg_w(ISEL_EIP(k), 0);
            sireg_w(ISEL_EIE(k), 0);
            sireg_w(ISEL_EIP(k), 0);
        }
        ireg_w(ISEL_EIDELIVERY, 0);
        ireg_w(ISEL_EITHRESHOLD, 0);
        sireg_w(ISEL_EIDELIVERY, 0);
        sireg_w(ISEL_EITHRESHOLD, 0);
        for (u64 k = 0; k < 16; k += 2) {
            ireg_w(ISEL_IPRIO(k), iprio_reg(k, 11));
            sireg_w(ISEL_IPRIO(k), iprio_reg(k, 9));
        }
        csr_writex(0x350, 0);
        csr_writex(0x150, 0);
    } else {
        for (u64 h = 0; h < NHARTS_RESET; h++) {
            for (int dom = 0; dom < 2; dom++) {
                u64 idc = APLIC_IDC(dom ? APLIC_S : APLIC_M, h);
                w32(idc + IDC_IDELIVERY, 0);
                w32(idc + IDC_IFORCE, 0);
                w32(idc + IDC_ITHRESHOLD, 0);
            }
        }
    }
}

static void reset_state(void)
{
    quiet = 1;
    csr_write(mie, 0);
    csr_clear(mstatus, MSTATUS_MIE | MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP |
                       MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW |
                       MSTATUS_TSR | MSTATUS_GVA | MSTATUS_MPV);
    csr_set(mstatus, MSTATUS_MPP);
    set_tvec(0);
    csr_write(medeleg, 0);
    csr_write(mideleg, 0x222);
    csr_write(mcounteren, 0);
    csr_write(scounteren, 0);
    csr_write(menvcfg, 0);
    csr_write(senvcfg, 0);
    csr_write(mip, 0);
    csr_write(0x14d, ~0UL);            /* stimecmp (traps without Sstc) */
    csr_write(mscratch, 0);
    csr_write(sscratch, 0);
    csr_write(stvec, 0);
    csr_write(sepc, 0);
    csr_write(scause, 0);
    csr_write(stval, 0);
    csr_write(satp, 0);
    csr_write(sie, 0);
    csr_write(0x320, 0);               /* mcountinhibit */
    /* Hypervisor state (traps without H). */
    csr_write(0x600, 2UL << 32);       /* hstatus, VSXL = 64 */
    csr_write(0x602, 0);               /* hedeleg */
    csr_write(0x603, 0);               /* hideleg */
    csr_write(0x604, 0);               /* hie */
    csr_write(0x606, 0);               /* hcounteren */
    csr_write(0x607, 0);               /* hgeie */
    csr_write(0x60a, 0);               /* henvcfg */
    csr_write(0x645, 0);               /* hvip */
    csr_write(0x680, 0);               /* hgatp */
    csr_write(0x643, 0);               /* htval */
    csr_write(0x64a, 0);               /* htinst */
    csr_write(0x200, 2UL << 32);       /* vsstatus, UXL = 64 */
    csr_write(0x204, 0);               /* vsie */
    csr_write(0x205, 0);               /* vstvec */
    csr_write(0x240, 0);               /* vsscratch */
    csr_write(0x241, 0);               /* vsepc */
    csr_write(0x242, 0);               /* vscause */
    csr_write(0x243, 0);               /* vstval */
    csr_write(0x280, 0);               /* vsatp */
    csr_write(0x34a, 0);               /* mtinst */
    csr_write(0x34b, 0);               /* mtval2 */
    /* FP state: fcsr = 0, then FS = Off. */
    csr_set(mstatus, MSTATUS_FS);
    csr_write(fcsr, 0);
    csr_clear(mstatus, MSTATUS_FS);
    /* PMP: entry 0 = everything RWX, the rest off. */
    csr_write(pmpcfg0, 0);
    csr_write(pmpcfg2, 0);
    csr_write(pmpaddr1, 0); csr_write(pmpaddr2, 0); csr_write(pmpaddr3, 0);
    csr_write(pmpaddr4, 0); csr_write(pmpaddr5, 0); csr_write(pmpaddr6, 0);
    csr_write(pmpaddr7, 0); csr_write(pmpaddr8, 0); csr_write(pmpaddr9, 0);
    csr_write(pmpaddr10, 0); csr_write(pmpaddr11, 0); csr_write(pmpaddr12, 0);
    csr_write(pmpaddr13, 0); csr_write(pmpaddr14, 0); csr_write(pmpaddr15, 0);
    csr_write(pmpaddr0, ~0UL);
    csr_write(pmpcfg0, 0x1f);
    /* CLINT. */
    for (int h = 0; h < NHARTS_RESET; h++) {
        w64(MTIMECMP(h), ~0UL);
        w32(MSIP(h), 0);
    }
    /* PLIC (or the AIA devices) and UART. */
    w8(UART_IER, 0);
    if (machine == MACH_PLIC) {
        plic_drain();
        for (u32 s = 1; s < PLIC_SOURCES; s++) w32(PLIC_PRIO(s), 0);
        for (int c = 0; c < 2 * NHARTS_RESET; c++) {
            for (int w = 0; w < 3; w++) w32(PLIC_ENABLE(c, w), 0);
            w32(PLIC_THRESH(c), 0);
        }
    } else {
        aia_reset();
    }
    /* Any SC ends the reservation an lr of the last program may have left
       (sc.w zero, zero, (scratch)). */
    __asm__ volatile("sc.w zero, zero, (%0)" :: "r"(&scratch[0]) : "memory");
    for (int i = 0; i < 64; i++) scratch[i] = 0x0123456789abcdefUL * (u64)(i + 1);
    s_record[4] = 0;
    /* Debug triggers: QEMU 7.2's two back to type 2 with nothing armed
       (trap on a hart without them). */
    for (u64 t = 0; t < 2; t++) {
        csr_write(0x7a0, t);
        csr_write(0x7a1, 2UL << 60);
        csr_write(0x7a2, 0);
    }
    csr_write(0x7a0, 0);
    /* Last: the quiet traps above (CSRs this hart lacks) wrote these. */
    csr_write(mepc, 0);
    csr_write(mcause, 0);
    csr_write(mtval, 0);
    ntlog = 0;
    ntraps_op = 0;
    quiet = 0;
}

/* ---- the ops -------------------------------------------------------------------- */

static u64 exec_insn(u32 insn, u64 a2, u64 a4)
{
    exec_slot[0] = insn;
    exec_slot[1] = 0x00008067;          /* ret */
    fence_i();
    return run_slot(a2, a4, exec_slot);
}

/* Replaces the "scratch" placeholder address (generator: 0x5c5c0000 + off)
   by the real scratch buffer. */
static u64 fix_addr(u64 v)
{
    if ((v & ~0xffffUL) == 0x5c5c0000UL) return (u64)scratch + (v & 0x1ff);
    return v;
}

static void op_exec(const struct op *o)
{
    u64 v = exec_insn(o->insn, fix_addr(o->a), o->b);
    int quiet_op = o->flags & F_QUIET;
    if (!quiet_op) {
        puts_(" e");
        field(v);
        print_traps();
    }
    if (o->flags & F_READBACK) {
        u64 rb = exec_insn((u32)o->c, 0, 0);
        if (!quiet_op) {
            puts_(" rb");
            field(rb);
            print_traps();
        }
    }
    if (o->flags & F_RESTORE_MTVEC) csr_write(mtvec, tvec_current);
    if (o->flags & F_RESTORE_MIDELEG) csr_write(mideleg, 0x222);
    if (o->flags & F_FIX_MPP) csr_set(mstatus, MSTATUS_MPP);
    if (o->flags & F_SANITIZE) csr_clear(mstatus, MSTATUS_MIE | MSTATUS_MPRV | MSTATUS_MPV | MSTATUS_GVA);
    ntlog = 0;
}

static void op_lower(const struct op *o)
{
    lower_stub[0] = o->insn;
    lower_stub[1] = 0x00068513;         /* addi a0, a3, 0 */
    lower_stub[2] = 0x00000073;         /* ecall */
    lower_stub[3] = 0x0000006f;         /* j . */
    fence_i();
    if (o->a & L_KEEP_PMP) {
        /* Entries 8..15: off (the monitor gives the firmware fewer entries
           than the 16 of the native hart). QEMU 7.2 makes an mret below M
           illegal when no PMP entry is active: such an op is not run. */
        csr_write(pmpcfg2, 0);
        u64 c0 = csr_read(pmpcfg0);
        int active = 0;
        for (int i = 0; i < 8; i++)
            if ((c0 >> (8 * i + 3)) & 3) active = 1;
        if (!active) {
            puts_(" l nopmp");
            return;
        }
    } else {
        csr_write(pmpcfg0, 0);
        csr_write(pmpaddr0, ~0UL);
        csr_write(pmpcfg0, 0x1f);
    }
    if (!(o->a & L_KEEP_SATP)) {
        csr_write(satp, 0);
        __asm__ volatile("sfence.vma" ::: "memory");
    }
    csr_write(stvec, (o->a & L_STVEC_VEC) ? ((u64)s_vector_table | 1) : (u64)s_handler);
    csr_write(medeleg, o->c & ~(1UL << 9));
    csr_write(sepc, (u64)&lower_stub[1]);
    u64 keep = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR |
               MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR | MSTATUS_MPIE;
    csr_clear(mstatus, keep | MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_MPV | MSTATUS_GVA | MSTATUS_MIE);
    csr_set(mstatus, (o->b & keep) | ((o->a & L_MODE_S) ? (1UL << 11) : 0));
    csr_write(mepc, (u64)lower_stub);
    s_record[4] = 0;
    ntraps_op = 0;
    u64 v = lower_go(fix_addr(o->d), 5);
    puts_(" l");
    field(v);
    print_traps();
    puts_(" st");
    field(csr_read(mstatus) & (MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_SPP |
                                MSTATUS_SPIE | MSTATUS_SIE | MSTATUS_MPRV));
    ntlog = 0;
}

/* Wait for nirqs to move, MIE = 1 between checks; optional wfi. Returns 1 when it did. */
static int wait_irq(u64 n, u64 ticks, int use_wfi)
{
    u64 start = now();
    for (;;) {
        csr_clear(mstatus, MSTATUS_MIE);
        if (nirqs != n) return 1;
        if (now() - start > ticks) return 0;
        if (use_wfi) __asm__ volatile("wfi" ::: "memory");
        csr_set(mstatus, MSTATUS_MIE);
        __asm__ volatile("nop; nop" ::: "memory");
    }
}

static int wait_mip(u64 bit, u64 ticks, int use_wfi)
{
    u64 start = now();
    csr_clear(mstatus, MSTATUS_MIE);
    while (!(csr_read(mip) & bit)) {
        if (now() - start > ticks) return 0;
        if (use_wfi) __asm__ volatile("wfi" ::: "memory");
    }
    return 1;
}

/* TIMER: a = delta ticks; b bit 0: MIE = 1 (take it) else poll mip;
   bit 1: vectored mtvec; bit 2: wfi while waiting. */
static void op_timer(const struct op *o)
{
    int take = o->b & 1, vec = (o->b >> 1) & 1, use_wfi = (o->b >> 2) & 1;
    if (vec) csr_write(mtvec, (u64)trap_vector_table | 1);
    u64 saved_mie = csr_read(mie);      /* only this source: no races with others */
    csr_write(mie, 0);
    u64 n = nirqs;
    irq_mip = irq_mip_after = 0;
    csr_set(mie, MIP_MTIP);
    w64(MTIMECMP(0), now() + o->a);
    int got;
    u64 wake = 0;
    if (take) {
        got = wait_irq(n, 2000 * TICKS_PER_MS, use_wfi);
    } else {
        got = wait_mip(MIP_MTIP, 2000 * TICKS_PER_MS, use_wfi);
        wake = csr_read(mip) & MIP_MTIP;
    }
    w64(MTIMECMP(0), ~0UL);
    u64 after = csr_read(mip) & MIP_MTIP;
    csr_write(mie, saved_mie);
    if (vec) csr_write(mtvec, tvec_current);
    puts_(" t");
    field(got);
    field(nirqs - n);
    field(wake);
    field(irq_mip & MIP_MTIP);
    field(irq_mip_after & MIP_MTIP);
    field(after);
    print_traps();
}

/* MSI: a = variant: 0 self, taken (b bit 1: vectored); 1 self, MIE = 0;
   2 msip[b] of another hart: write 1, read, write 0, read. */
static void op_msi(const struct op *o)
{
    puts_(" m");
    if (o->a == 0) {
        int vec = (o->b >> 1) & 1;
        if (vec) csr_write(mtvec, (u64)trap_vector_table | 1);
        u64 saved_mie = csr_read(mie);
        csr_write(mie, 0);
        u64 n = nirqs;
        irq_mip = irq_mip_after = 0;
        csr_set(mie, MIP_MSIP);
        w32(MSIP(0), 1);
        int got = wait_irq(n, 2000 * TICKS_PER_MS, 0);
        csr_write(mie, saved_mie);
        if (vec) csr_write(mtvec, tvec_current);
        field(got);
        field(nirqs - n);
        field(irq_mip & MIP_MSIP);
        field(irq_mip_after & MIP_MSIP);
        field(r32(MSIP(0)));
    } else if (o->a == 1) {
        w32(MSIP(0), 1);
        u64 m1 = csr_read(mip) & MIP_MSIP;
        u32 r1 = r32(MSIP(0));
        w32(MSIP(0), 0);
        u64 m0 = csr_read(mip) & MIP_MSIP;
        field(m1); field(r1); field(m0); field(r32(MSIP(0)));
    } else {
        u64 h = o->b;
        w32(MSIP(h), 1);
        u32 r1 = r32(MSIP(h));
        u64 m = csr_read(mip) & MIP_MSIP;
        w32(MSIP(h), 0);
        u32 r0 = r32(MSIP(h));
        field(r1); field(m); field(r0);
    }
    print_traps();
}

/* PLIC: a = priority of source 10, b = threshold, c bit 0: S context (1)
   instead of M (0); bit 1: take the interrupt (MIE = 1, M context only);
   d = ticks to wait. */
static void op_plic(const struct op *o)
{
    int sctx = o->c & 1, take = (o->c >> 1) & 1 && !sctx;
    u64 ctx = sctx ? 1 : 0;
    u64 bit = sctx ? MIP_SEIP : MIP_MEIP;
    w32(PLIC_PRIO(UART_IRQ), (u32)o->a);
    u32 rprio = r32(PLIC_PRIO(UART_IRQ));
    w32(PLIC_ENABLE(ctx, 0), r32(PLIC_ENABLE(ctx, 0)) | (1U << UART_IRQ));
    w32(PLIC_THRESH(ctx), (u32)o->b);
    u32 rthresh = r32(PLIC_THRESH(ctx));
    while (!(r8(UART_LSR) & 0x40))      /* transmitter empty: THRE fires at once */
        ;
    u64 n = nirqs;
    irq_claim = irq_claim2 = 0xdead;
    irq_mip = irq_mip_after = 0;
    u64 saved_mie = csr_read(mie);
    csr_write(mie, sctx ? 0 : MIP_MEIP);
    w8(UART_IER, 0x02);
    int got;
    if (take) got = wait_irq(n, o->d, 0);
    else got = wait_mip(bit, o->d, 0);
    u64 mipv = csr_read(mip) & bit;
    u32 pend = r32(PLIC_PENDING(0)) & (1U << UART_IRQ);
    u32 claim = r32(PLIC_CLAIM(ctx));
    w8(UART_IER, 0);
    if (claim) w32(PLIC_CLAIM(ctx), claim);
    u64 mip_after = csr_read(mip) & bit;
    csr_write(mie, saved_mie);
    w32(PLIC_THRESH(ctx), 0);
    plic_drain();                       /* the same clean state on both sides */
    puts_(" p");
    field(rprio); field(rthresh); field(got); field(nirqs - n);
    field(take ? irq_claim : 0); field(take ? irq_claim2 : 0);
    field(irq_mip & bit); field(irq_mip_after & bit);
    field(mipv); field(pend); field(claim); field(mip_after);
    print_traps();
}

/* WFI with MIE = 0 and one enabled pending source: a = 0 SSIP, 1 STIP,
   2 SEIP (mip writes), 3 MSIP (msip[0]), 4 MTIP (mtimecmp = 0). A timer
   100 ms out (MTIE) bounds the wait for 0-3. */
static void op_wfi(const struct op *o)
{
    static const u8 bits[5] = {1, 5, 9, 3, 7};
    u64 src = 1UL << bits[o->a % 5];
    u64 saved_envcfg = 0;
    if (o->a == 1) {
        saved_envcfg = csr_read(menvcfg);
        csr_write(menvcfg, 0);
    }
    if (o->a <= 2) csr_set(mip, src);
    else if (o->a == 3) w32(MSIP(0), 1);
    else w64(MTIMECMP(0), 0);
    if (o->a != 4) w64(MTIMECMP(0), now() + 100 * TICKS_PER_MS);
    u64 saved_mie = csr_read(mie);
    csr_write(mie, src | MIP_MTIP);
    u64 t0 = now();
    __asm__ volatile("wfi" ::: "memory");
    u64 dt = now() - t0;
    u64 pending = csr_read(mip) & src;
    csr_write(mie, saved_mie);
    w64(MTIMECMP(0), ~0UL);
    if (o->a <= 2) csr_clear(mip, src);
    else if (o->a == 3) w32(MSIP(0), 0);
    if (o->a == 1) csr_write(menvcfg, saved_envcfg);
    puts_(" w");
    field(dt < 50 * TICKS_PER_MS);
    field(pending);
    print_traps();
}

static void op_mtvec(const struct op *o)
{
    set_tvec(o->a & 1);
    puts_(" v");
    field(csr_read(mtvec));
    print_traps();
}


/* ---- device access forms and PLIC scenarios --------------------------------------- */

#define I_LW_A3_A2  0x00062683u    /* lw a3, 0(a2) */
#define I_LD_A3_A2  0x00063683u    /* ld a3, 0(a2) */
#define I_SW_A4_A2  0x00e62023u    /* sw a4, 0(a2) */
#define I_SD_A4_A2  0x00e63023u    /* sd a4, 0(a2) */
#define I_RET       0x00008067u

/* DEV: run insn (a2 = a, a4 = b; with DV_SLOT2 followed by the second
   instruction d[31:0] in the same slot) on a device register, after an
   optional plain preset of the register(s) at d >> 32 with c, then read
   them back with plain lw/ld. Prints " d <preset traps> e <a3> <traps>
   [s <a4>] [rb <v> <traps> [<v2> <traps>]]". */
static void op_dev(const struct op *o)
{
    u64 rb = o->d >> 32;
    int dw = o->flags & DV_DWORD, two = (o->flags & DV_TWO) && !dw;
    puts_(" d");
    if (o->flags & DV_PRE) {
        exec_insn(dw ? I_SD_A4_A2 : I_SW_A4_A2, rb, o->c);
        if (two) exec_insn(I_SW_A4_A2, rb + 4, o->c >> 32);
        print_traps();
    }
    exec_slot[0] = o->insn;
    exec_slot[1] = (o->flags & DV_SLOT2) ? (u32)o->d : I_RET;
    exec_slot[2] = I_RET;
    fence_i();
    u64 v = run_slot(o->a, o->b, exec_slot);
    u64 v2 = slot_a4;
    puts_(" e");
    field(v);
    print_traps();
    if (o->flags & DV_SLOT2) {
        puts_(" s");
        field(v2);
    }
    if (o->flags & DV_RB) {
        puts_(" rb");
        field(exec_insn(dw ? I_LD_A3_A2 : I_LW_A3_A2, rb, 0));
        print_traps();
        if (two) {
            field(exec_insn(I_LW_A3_A2, rb + 4, 0));
            print_traps();
        }
    }
    /* A trap on one side only must not leak into later ops: the trap CSRs
       and mstatus.MPP/MPIE (the handler's mret changes them) are reset. */
    quiet = 1;
    csr_write(0x34a, 0);                /* mtinst (traps without H) */
    csr_write(0x34b, 0);                /* mtval2 */
    csr_set(mstatus, MSTATUS_MPP | MSTATUS_MPIE);
    csr_write(mepc, 0);
    csr_write(mcause, 0);
    csr_write(mtval, 0);
    quiet = 0;
    ntlog = 0;
}

#define IER_THRE 0x02
#define SRC10 (1U << UART_IRQ)

static u64 mip_ext(void) { return csr_read(mip) & (MIP_MEIP | MIP_SEIP); }
static u64 pend10(void) { return r32(PLIC_PENDING(0)) & SRC10; }
static u32 claim(u64 ctx) { return r32(PLIC_CLAIM(ctx)); }
static void complete(u64 ctx, u32 id) { w32(PLIC_CLAIM(ctx), id); }

/*
 * PLICX: the UART THRE interrupt (source 10), polled with mie = 0; nothing
 * is printed until the UART and the PLIC are quiet again (printing moves
 * THRE). a = variant, b = priority of source 10, c = threshold (variant
 * 4: the wrong id completed), d bit 0 = the claiming context (0 = M of
 * hart 0, 1 = its S context), bit 1 = enable order (variant 2).
 *  0: the line rises before context 0 enables the source
 *  1: enabled first, the line rises, a claim at once
 *  2: enabled in contexts 0 and 1: mip.MEIP/SEIP, a claim from each
 *  3: threshold against priority, then threshold 0
 *  4: claim twice, complete a wrong id, complete, the line re-raised
 */
static void op_plicx(const struct op *o)
{
    u64 r[24];
    int n = 0;
    u64 cx = o->d & 1, other = cx ^ 1;
    u32 id = 0, id2 = 0;
    u64 saved_mie = csr_read(mie);
    csr_write(mie, 0);
    while (!(r8(UART_LSR) & 0x40))      /* transmitter empty: THRE holds */
        ;
    w32(PLIC_PRIO(UART_IRQ), (u32)o->b);
    switch (o->a) {
    case 0:
        w32(PLIC_THRESH(0), (u32)o->c);
        w8(UART_IER, IER_THRE);
        r[n++] = pend10(); r[n++] = mip_ext();
        w32(PLIC_ENABLE(0, 0), SRC10);
        r[n++] = mip_ext(); r[n++] = pend10();
        id = claim(0);
        r[n++] = id; r[n++] = pend10(); r[n++] = mip_ext();
        w8(UART_IER, 0);
        if (id) complete(0, id);
        r[n++] = pend10(); r[n++] = mip_ext();
        break;
    case 1:
        w32(PLIC_ENABLE(cx, 0), SRC10);
        w32(PLIC_THRESH(cx), (u32)o->c);
        r[n++] = mip_ext();
        w8(UART_IER, IER_THRE);
        id = claim(cx);
        r[n++] = id; r[n++] = pend10(); r[n++] = mip_ext();
        w8(UART_IER, 0);
        if (id) complete(cx, id);
        r[n++] = pend10(); r[n++] = mip_ext();
        break;
    case 2:
        if (o->d & 2) {
            w32(PLIC_ENABLE(1, 0), SRC10);
            w32(PLIC_ENABLE(0, 0), SRC10);
        } else {
            w32(PLIC_ENABLE(0, 0), SRC10);
            w32(PLIC_ENABLE(1, 0), SRC10);
        }
        w32(PLIC_THRESH(cx), (u32)o->c);
        w8(UART_IER, IER_THRE);
        r[n++] = mip_ext(); r[n++] = pend10();
        id = claim(cx);
        r[n++] = id; r[n++] = pend10(); r[n++] = mip_ext();
        id2 = claim(other);
        r[n++] = id2; r[n++] = pend10(); r[n++] = mip_ext();
        w8(UART_IER, 0);
        if (id) complete(cx, id);
        if (id2) complete(other, id2);
        r[n++] = pend10(); r[n++] = mip_ext();
        break;
    case 3:
        w32(PLIC_ENABLE(cx, 0), SRC10);
        w32(PLIC_THRESH(cx), (u32)o->c);
        w8(UART_IER, IER_THRE);
        r[n++] = r32(PLIC_THRESH(cx)); r[n++] = mip_ext(); r[n++] = pend10();
        id = claim(cx);
        r[n++] = id; r[n++] = mip_ext();
        w32(PLIC_THRESH(cx), 0);
        r[n++] = mip_ext(); r[n++] = pend10();
        id2 = claim(cx);
        r[n++] = id2; r[n++] = mip_ext();
        w8(UART_IER, 0);
        if (id) complete(cx, id);
        if (id2) complete(cx, id2);
        r[n++] = pend10(); r[n++] = mip_ext();
        break;
    default:
        w32(PLIC_ENABLE(cx, 0), SRC10);
        w8(UART_IER, IER_THRE);
        id = claim(cx);
        id2 = claim(cx);
        r[n++] = id; r[n++] = id2; r[n++] = pend10(); r[n++] = mip_ext();
        complete(cx, (u32)o->c);
        r[n++] = pend10(); r[n++] = mip_ext();
        if (id) complete(cx, id);
        r[n++] = pend10(); r[n++] = mip_ext();
        w8(UART_IER, 0);
        w8(UART_IER, IER_THRE);
        r[n++] = pend10(); r[n++] = mip_ext();
        id = claim(cx);
        r[n++] = id;
        w8(UART_IER, 0);
        if (id) complete(cx, id);
        r[n++] = pend10(); r[n++] = mip_ext();
        break;
    }
    w8(UART_IER, 0);
    w32(PLIC_THRESH(0), 0);
    w32(PLIC_THRESH(1), 0);
    plic_drain();
    csr_write(mie, saved_mie);
    puts_(" x");
    for (int i = 0; i < n; i++) field(r[i]);
    print_traps();
}

/* ---- AIA (-M virt,aia=...) ---------------------------------------------------------- */

static u64 eiid_bit(int sfile, u64 id)
{
    if (!id || id > 255) return 0;
    u64 sel = ISEL_EIP(2 * (id / 64));
    u64 v;
    if (sfile) {
        csr_writex(0x150, sel);
        v = csr_readx(0x151);
    } else {
        csr_writex(0x350, sel);
        v = csr_readx(0x351);
    }
    return (v >> (id % 64)) & 1;
}

/*
 * AIA: a = 0: hart 0's interrupt files (MSI mode: mip.MEIP/SEIP, mtopei,
 * mtopi, eidelivery, eithreshold, eip0..6, eie0..6, stopei, stopi; miselect
 * kept) or the IDCs of harts 0 and 1 in both domains (direct mode);
 * a = 1: an APLIC domain (b bit 0: the S domain): domaincfg, setip[0..3],
 * setie[0..3], in_clrip[1..3] (word 0 has sources 1-3, whose input bits QEMU
 * 7.2 leaves uninitialised), genmsi and the MSI address registers;
 * a = 2: claims until none is left (MSI mode: csrrw mtopei; direct mode:
 * claimi of IDC c bit 0 of the domain b bit 0), then mip;
 * a = 3: source b[6:0] of the domain b bit 16 configured (sourcecfg = c,
 * target = d), enabled, domaincfg.IE set, setipnum: what it became. With
 * flags bit 0 first: MSI mode, the target's EIID enabled in hart 0's file of
 * that level, its eidelivery 1; direct mode, the idelivery of that domain's
 * IDC 0.
 */
static void op_aia(const struct op *o)
{
    int msi = machine == MACH_APLIC_IMSIC;
    u64 r[40];
    int n = 0;
    switch (o->a) {
    case 0:
        r[n++] = mip_ext();
        if (msi) {
            u64 sel = csr_readx(0x350);
            r[n++] = csr_readx(0x35c);
            r[n++] = csr_readx(0xfb0);
            r[n++] = ireg_r(ISEL_EIDELIVERY);
            r[n++] = ireg_r(ISEL_EITHRESHOLD);
            for (u64 k = 0; k < 8; k += 2) r[n++] = ireg_r(ISEL_EIP(k));
            for (u64 k = 0; k < 8; k += 2) r[n++] = ireg_r(ISEL_EIE(k));
            csr_writex(0x350, sel);
            r[n++] = csr_readx(0x15c);
            r[n++] = csr_readx(0xdb0);
        } else {
            for (u64 h = 0; h < NHARTS_RESET; h++) {
                for (int dom = 0; dom < 2; dom++) {
                    u64 idc = APLIC_IDC(dom ? APLIC_S : APLIC_M, h);
                    r[n++] = r32(idc + IDC_IDELIVERY);
                    r[n++] = r32(idc + IDC_IFORCE);
                    r[n++] = r32(idc + IDC_ITHRESHOLD);
                    r[n++] = r32(idc + IDC_TOPI);
                }
            }
        }
        break;
    case 1: {
        u64 d = (o->b & 1) ? APLIC_S : APLIC_M;
        r[n++] = r32(d);
        for (u64 w = 0; w < 4; w++) r[n++] = r32(APLIC_SETIP(d, w));
        for (u64 w = 0; w < 4; w++) r[n++] = r32(APLIC_SETIE(d, w));
        for (u64 w = 1; w < 4; w++) r[n++] = r32(APLIC_IN_CLRIP(d, w));
        if (msi) {
            r[n++] = r32(APLIC_GENMSI(d));
            r[n++] = r32(APLIC_MMSIADDRCFG(d));
            r[n++] = r32(APLIC_MMSIADDRCFGH(d));
            r[n++] = r32(APLIC_SMSIADDRCFG(d));
            r[n++] = r32(APLIC_SMSIADDRCFGH(d));
        }
        break;
    }
    case 2:
        for (int i = 0; i < 8; i++) {
            u64 c;
            if (msi) c = mtopei_claim();
            else c = r32(APLIC_IDC((o->b & 1) ? APLIC_S : APLIC_M, o->c & 1) + IDC_CLAIMI);
            r[n++] = c;
            if (!c) break;
        }
        r[n++] = mip_ext();
        break;
    default: {
        u64 d = ((o->b >> 16) & 1) ? APLIC_S : APLIC_M, src = o->b & 0x7f;
        if (o->flags & 1) {
            u64 id = o->d & 0x7ff;
            if (msi && id && id < 256) {
                u64 sel = csr_readx(0x350), ssel = csr_readx(0x150);
                if (d == APLIC_S) {
                    csr_writex(0x150, ISEL_EIE(2 * (id / 64)));
                    csr_set(0x151, 1UL << (id % 64));
                    sireg_w(ISEL_EIDELIVERY, 1);
                } else {
                    csr_writex(0x350, ISEL_EIE(2 * (id / 64)));
                    csr_set(0x351, 1UL << (id % 64));
                    ireg_w(ISEL_EIDELIVERY, 1);
                }
                csr_writex(0x350, sel);
                csr_writex(0x150, ssel);
            } else if (!msi) {
                w32(APLIC_IDC(d, 0) + IDC_IDELIVERY, 1);
            }
        }
        w32(APLIC_SOURCECFG(d, src), (u32)o->c);
        w32(APLIC_TARGET(d, src), (u32)o->d);
        w32(APLIC_SETIENUM(d), (u32)src);
        w32(d, APLIC_IE);
        w32(APLIC_SETIPNUM(d), (u32)src);
        r[n++] = r32(APLIC_SOURCECFG(d, src));
        r[n++] = r32(APLIC_TARGET(d, src));
        r[n++] = (r32(APLIC_SETIP(d, src / 32)) >> (src % 32)) & 1;
        r[n++] = (r32(APLIC_SETIE(d, src / 32)) >> (src % 32)) & 1;
        r[n++] = mip_ext();
        if (msi) {
            u64 sel = csr_readx(0x350), ssel = csr_readx(0x150);
            r[n++] = csr_readx(0x35c);
            r[n++] = csr_readx(0x15c);
            r[n++] = eiid_bit(d == APLIC_S, o->d & 0x7ff);
            csr_writex(0x350, sel);
            csr_writex(0x150, ssel);
        } else {
            r[n++] = r32(APLIC_IDC(d, 0) + IDC_TOPI);
            r[n++] = r32(APLIC_IDC(d, 1) + IDC_TOPI);
        }
        break;
    }
    }
    puts_(" a");
    for (int i = 0; i < n; i++) field(r[i]);
    print_traps();
}

/*
 * APLICX: the UART THRE interrupt (source 10 of the machine-level domain),
 * polled with mie = 0; nothing is printed until the UART is quiet again.
 * a = source mode (sourcecfg), b = target: MSI mode hart 0 with EIID b,
 * direct mode hart 0 with priority b; c bit 0: the source enabled after
 * the line rises (else before), bit 1: domaincfg.IE set after it rises,
 * bit 2: delivery on (eidelivery of hart 0's M file, or IDC 0's idelivery).
 * Source 10's sourcecfg and target, domaincfg and the delivery bit are
 * restored afterwards; the EIID's pending and enable bits cleared.
 */
static void op_aplicx(const struct op *o)
{
    int msi = machine == MACH_APLIC_IMSIC;
    const u64 d = APLIC_M, src = UART_IRQ, idc = APLIC_IDC(APLIC_M, 0);
    u64 eiid = o->b & 0xff;
    u64 r[32];
    int n = 0;
    u64 saved_mie = csr_read(mie);
    csr_write(mie, 0);
    while (!(r8(UART_LSR) & 0x40))      /* transmitter empty: THRE holds */
        ;
    w8(UART_IER, 0);
    u32 saved_cfg = r32(APLIC_SOURCECFG(d, src)), saved_target = r32(APLIC_TARGET(d, src));
    u32 saved_dc = r32(d) & APLIC_IE;
    u64 saved_sel = msi ? csr_readx(0x350) : 0;
    u64 saved_delivery = msi ? ireg_r(ISEL_EIDELIVERY) : r32(idc + IDC_IDELIVERY);
    w32(APLIC_SOURCECFG(d, src), 0);
    w32(APLIC_SOURCECFG(d, src), (u32)(o->a & 7));
    w32(APLIC_TARGET(d, src), (u32)(o->b & 0xff));
    if (msi) {
        csr_writex(0x350, ISEL_EIE(2 * (eiid / 64)));
        csr_set(0x351, 1UL << (eiid % 64));
        ireg_w(ISEL_EIDELIVERY, (o->c >> 2) & 1);
    } else {
        w32(idc + IDC_IDELIVERY, (u32)((o->c >> 2) & 1));
    }
    if (!(o->c & 1)) w32(APLIC_SETIENUM(d), (u32)src);
    if (!(o->c & 2)) w32(d, APLIC_IE);
#define AX_PEND()  ((r32(APLIC_SETIP(d, 0)) >> src) & 1)
#define AX_INPUT() ((r32(APLIC_IN_CLRIP(d, 0)) >> src) & 1)
#define AX_TOP()   (msi ? csr_readx(0x35c) : (u64)r32(idc + IDC_TOPI))
#define AX_EIP()   (msi ? eiid_bit(0, eiid) : 0)
    r[n++] = AX_PEND(); r[n++] = AX_INPUT(); r[n++] = mip_ext(); r[n++] = AX_TOP();
    w8(UART_IER, IER_THRE);
    r[n++] = AX_PEND(); r[n++] = AX_INPUT(); r[n++] = mip_ext(); r[n++] = AX_TOP(); r[n++] = AX_EIP();
    if (o->c & 1) w32(APLIC_SETIENUM(d), (u32)src);
    if (o->c & 2) w32(d, APLIC_IE);
    r[n++] = AX_PEND(); r[n++] = mip_ext(); r[n++] = AX_TOP(); r[n++] = AX_EIP();
    u64 c = msi ? mtopei_claim() : r32(idc + IDC_CLAIMI);
    r[n++] = c; r[n++] = AX_PEND(); r[n++] = mip_ext(); r[n++] = AX_TOP();
    w8(UART_IER, 0);
    r[n++] = AX_PEND(); r[n++] = AX_INPUT(); r[n++] = mip_ext(); r[n++] = AX_TOP(); r[n++] = AX_EIP();
#undef AX_PEND
#undef AX_INPUT
#undef AX_TOP
#undef AX_EIP
    w32(APLIC_SOURCECFG(d, src), 0);
    w32(APLIC_SOURCECFG(d, src), saved_cfg);
    w32(APLIC_TARGET(d, src), saved_target);
    w32(d, saved_dc);
    if (msi) {
        csr_writex(0x350, ISEL_EIE(2 * (eiid / 64)));
        csr_clear(0x351, 1UL << (eiid % 64));
        csr_writex(0x350, ISEL_EIP(2 * (eiid / 64)));
        csr_clear(0x351, 1UL << (eiid % 64));
        ireg_w(ISEL_EIDELIVERY, saved_delivery);
        csr_writex(0x350, saved_sel);
    } else {
        w32(idc + IDC_IDELIVERY, (u32)saved_delivery);
    }
    csr_write(mie, saved_mie);
    puts_(" y");
    for (int i = 0; i < n; i++) field(r[i]);
    print_traps();
}

/* ---- main ------------------------------------------------------------------------- */

static void power_off(u32 code)
{
    w32(TEST_DEV, code);
    for (;;) __asm__ volatile("wfi");
}

void difffw_main(void)
{
    image_base = (u64)_start;
    csr_write(mie, 0);
    const volatile u32 *hdr = (const volatile u32 *)BLOB_ADDR;
    puts_("\nDIFFFW: firmvisor differential firmware at ");
    puthex_digits(image_base);
    puts_("\n");
    if (hdr[0] != BLOB_MAGIC) {
        puts_("DIFFFW: no program blob at 0x80180000\n");
        power_off(0x3333 | (2U << 16));
    }
    u32 nprogs = hdr[1];
    machine = hdr[2];
    puts_("DIFFFW: BEGIN ");
    puthex_digits(nprogs);
    puts_("\n");
    const volatile u8 *p = (const volatile u8 *)(BLOB_ADDR + 16);
    for (u32 i = 0; i < nprogs; i++) {
        const struct prog *pr = (const struct prog *)p;
        p += sizeof(struct prog);
        reset_state();
        puts_("P ");
        puthex_digits(pr->seed);
        putc_(' ');
        puthex_digits(pr->nops);
        puts_("\n");
        for (u32 j = 0; j < pr->nops; j++) {
            const struct op *o = (const struct op *)p;
            p += sizeof(struct op);
            if (!(o->kind == OP_EXEC && (o->flags & F_QUIET))) puthex_digits(j);
            ntraps_op = 0;
            ntlog = 0;
            switch (o->kind) {
            case OP_EXEC: op_exec(o); break;
            case OP_LOWER: op_lower(o); break;
            case OP_TIMER: op_timer(o); break;
            case OP_MSI: op_msi(o); break;
            case OP_PLIC: if (machine == MACH_PLIC) op_plic(o); else puts_(" ?"); break;
            case OP_WFI: op_wfi(o); break;
            case OP_MTVEC: op_mtvec(o); break;
            case OP_DEV: op_dev(o); break;
            case OP_PLICX: if (machine == MACH_PLIC) op_plicx(o); else puts_(" ?"); break;
            case OP_AIA: if (machine != MACH_PLIC) op_aia(o); else puts_(" ?"); break;
            case OP_APLICX: if (machine != MACH_PLIC) op_aplicx(o); else puts_(" ?"); break;
            default: puts_(" ?"); break;
            }
            if (!(o->kind == OP_EXEC && (o->flags & F_QUIET))) puts_("\n");
        }
        puts_("E\n");
    }
    reset_state();
    puts_("DIFFFW: DONE ");
    puthex_digits(nprogs);
    puts_("\n");
    power_off(0x5555);
}
