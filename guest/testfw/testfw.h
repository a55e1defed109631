/* Firmvisor test firmware: constants shared by C and assembly. */
#ifndef TESTFW_H
#define TESTFW_H

#define TESTFW_MAX_HARTS   8
#define TESTFW_STACK_SIZE  8192

#define MSTATUS_SIE   (1 << 1)
#define MSTATUS_MIE   (1 << 3)
#define MSTATUS_MPIE  (1 << 7)
#define MSTATUS_MPP   (3 << 11)
#define MSTATUS_GVA   0x4000000000   /* bit 38 (H extension) */
#define MSTATUS_MPV   0x8000000000   /* bit 39 (H extension) */

#define MIP_SEIP      (1 << 9)
#define MIP_MSIP      (1 << 3)
#define MIP_MTIP      (1 << 7)
#define MIP_MEIP      (1 << 11)

#ifndef __ASSEMBLER__

typedef unsigned long      u64;
typedef unsigned int       u32;
typedef unsigned short     u16;
typedef unsigned char      u8;
typedef long               i64;

#define CAUSE_INTR        (1UL << 63)
#define CAUSE_FETCH_FAULT 1
#define CAUSE_ILLEGAL     2
#define CAUSE_BREAKPOINT  3
#define CAUSE_LOAD_FAULT  5
#define CAUSE_STORE_FAULT 7
#define CAUSE_ECALL_S     9
#define CAUSE_ECALL_M     11
#define IRQ_MSI           3
#define IRQ_MTI           7
#define IRQ_MEI           11

/* Machine memory map (QEMU virt). */
#define TEST_DEV      0x00100000UL
#define CLINT_BASE    0x02000000UL
#define CLINT_MSIP(h)      (CLINT_BASE + 4UL * (h))
#define CLINT_MTIMECMP(h)  (CLINT_BASE + 0x4000UL + 8UL * (h))
#define CLINT_MTIME        (CLINT_BASE + 0xbff8UL)
#define PLIC_BASE     0x0c000000UL
#define PLIC_PRIORITY(s)   (PLIC_BASE + 4UL * (s))
#define PLIC_ENABLE(c, s)  (PLIC_BASE + 0x2000UL + 0x80UL * (c) + 4UL * ((s) / 32))
#define PLIC_THRESHOLD(c)  (PLIC_BASE + 0x200000UL + 0x1000UL * (c))
#define PLIC_CLAIM(c)      (PLIC_THRESHOLD(c) + 4)
#define PLIC_PENDING(s)    (PLIC_BASE + 0x1000UL + 4UL * ((s) / 32))
#define UART_BASE     0x10000000UL
#define UART_THR      (UART_BASE + 0)
#define UART_IER      (UART_BASE + 1)
#define UART_LSR      (UART_BASE + 5)
#define UART_IRQ      10
#define DRAM_END      0x90000000UL   /* QEMU virt -m 256M (scripts/testfw) */

/* AIA (-M virt,aia=aplic-imsic or aia=aplic): the APLIC's machine-level
   domain replaces the PLIC at 0x0c000000, its supervisor-level child is at
   0x0d000000; with aia=aplic-imsic every hart has an M-level IMSIC file
   (4 KiB) at 0x24000000 + 0x1000 * hart and an S-level one at
   0x28000000 + 0x1000 * hart (255 identities each). */
#define APLIC_M       0x0c000000UL
#define APLIC_S       0x0d000000UL
#define APLIC_DOMAINCFG(d)     ((d) + 0x0000UL)
#define APLIC_SOURCECFG(d, s)  ((d) + 4UL * (s))
#define APLIC_MMSIADDRCFG(d)   ((d) + 0x1bc0UL)
#define APLIC_MMSIADDRCFGH(d)  ((d) + 0x1bc4UL)
#define APLIC_SMSIADDRCFG(d)   ((d) + 0x1bc8UL)
#define APLIC_SMSIADDRCFGH(d)  ((d) + 0x1bccUL)
#define APLIC_SETIP(d, w)      ((d) + 0x1c00UL + 4UL * (w))
#define APLIC_SETIPNUM(d)      ((d) + 0x1cdcUL)
#define APLIC_IN_CLRIP(d, w)   ((d) + 0x1d00UL + 4UL * (w))
#define APLIC_CLRIPNUM(d)      ((d) + 0x1ddcUL)
#define APLIC_SETIE(d, w)      ((d) + 0x1e00UL + 4UL * (w))
#define APLIC_SETIENUM(d)      ((d) + 0x1edcUL)
#define APLIC_CLRIE(d, w)      ((d) + 0x1f00UL + 4UL * (w))
#define APLIC_CLRIENUM(d)      ((d) + 0x1fdcUL)
#define APLIC_SETIPNUM_LE(d)   ((d) + 0x2000UL)
#define APLIC_SETIPNUM_BE(d)   ((d) + 0x2004UL)
#define APLIC_GENMSI(d)        ((d) + 0x3000UL)
#define APLIC_TARGET(d, s)     ((d) + 0x3000UL + 4UL * (s))
#define APLIC_IDC(d, h)        ((d) + 0x4000UL + 32UL * (h))
#define IDC_IDELIVERY 0x00
#define IDC_IFORCE    0x04
#define IDC_ITHRESHOLD 0x08
#define IDC_TOPI      0x18
#define IDC_CLAIMI    0x1c
#define APLIC_DOMAINCFG_RO  0x80000000U
#define APLIC_DOMAINCFG_IE  0x100U
#define APLIC_DOMAINCFG_DM  0x4U
#define APLIC_SM_INACTIVE   0
#define APLIC_SM_DETACHED   1
#define APLIC_SM_EDGE_RISE  4
#define APLIC_SM_EDGE_FALL  5
#define APLIC_SM_LEVEL_HIGH 6
#define APLIC_SM_LEVEL_LOW  7
#define APLIC_SOURCECFG_D   0x400U
#define APLIC_MSIADDRCFGH_L 0x80000000U
#define APLIC_SOURCES       96
#define IMSIC_M(h)    (0x24000000UL + 0x1000UL * (h))
#define IMSIC_S(h)    (0x28000000UL + 0x1000UL * (h))
#define IMSIC_IDS     255

/* AIA CSRs (Smaia/Ssaia) and the indirectly accessed registers. */
#define CSR_MISELECT  0x350
#define CSR_MIREG     0x351
#define CSR_MTOPEI    0x35c
#define CSR_MTOPI     0xfb0
#define CSR_MVIEN     0x308
#define CSR_MVIP      0x309
#define CSR_SISELECT  0x150
#define CSR_SIREG     0x151
#define CSR_STOPEI    0x15c
#define CSR_STOPI     0xdb0
#define ISEL_IPRIO(k)      (0x30 + (k))
#define ISEL_EIDELIVERY    0x70
#define ISEL_EITHRESHOLD   0x72
#define ISEL_EIP(k)        (0x80 + (k))
#define ISEL_EIE(k)        (0xc0 + (k))

#define csr_read(csr) ({ u64 __v; \
    __asm__ volatile("csrr %0, " #csr : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) \
    __asm__ volatile("csrw " #csr ", %0" :: "rK"((u64)(val)) : "memory")
#define csr_set(csr, val) \
    __asm__ volatile("csrs " #csr ", %0" :: "rK"((u64)(val)) : "memory")
#define csr_clear(csr, val) \
    __asm__ volatile("csrc " #csr ", %0" :: "rK"((u64)(val)) : "memory")

static inline u32 mmio_r32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline u64 mmio_r64(u64 a) { return *(volatile u64 *)a; }
static inline void mmio_w64(u64 a, u64 v) { *(volatile u64 *)a = v; }
static inline u8 mmio_r8(u64 a) { return *(volatile u8 *)a; }
static inline void mmio_w8(u64 a, u8 v) { *(volatile u8 *)a = v; }

struct trap_frame {
    u64 x[32];     /* x[2] = sp at the trap */
    u64 slot;      /* vector slot, -1 for the direct vector */
    u64 pad;
};

/* What the trap handler does with an exception. */
enum trap_mode {
    TRAP_UNEXPECTED = 0,  /* count it as unexpected, skip the instruction */
    TRAP_SKIP,            /* expected: record it, skip the instruction */
    TRAP_RECOVER_RA,      /* expected: record it, resume at frame ra in M */
};

/* Per-hart record, written by the trap handler. */
struct hart_state {
    volatile u64 mode;
    volatile u64 ntraps;       /* every trap */
    volatile u64 nirqs;        /* interrupts handled */
    volatile u64 mcause, mepc, mtval, mstatus, slot;
    volatile u64 mip, mip_after;
    volatile u64 claim, claim2;
    volatile u64 msip_after;
    volatile u64 forward_msi;  /* MSI handler writes msip[0] = 1 */
    volatile u64 unexpected, unexp_cause, unexp_epc, unexp_tval;
    volatile u64 mtinst, mtval2;          /* exceptions, with H */
    volatile u64 irq_mcause, irq_mepc, irq_mstatus;  /* the last interrupt */
    volatile u64 irq_mtinst, irq_mtval2;  /* the last interrupt, with H */
    volatile u64 irq_log[4];  /* mcause of the interrupts, in the order taken */
};

/* start.S */
void trap_entry(void);
void trap_vector_table(void);
void do_ecall(void);
extern const char ecall_insn[];
u64 read_csr_7c0(void);
extern const char csr_7c0_insn[];
u64 read_csr_5c0(void);
extern const char csr_5c0_insn[];
void csrrs_x0_mhartid(void);
u64 csrrw_mhartid(u64 v);
extern const char csrrw_mhartid_insn[];
u64 probe_load(u64 addr);
extern const char probe_load_insn[];
void probe_store(u64 addr);
extern const char probe_store_insn[];
void probe_jump(u64 addr);
void enter_smode(void);
extern const char s_mode_ecall[];
u64 smode_access(u64 op, u64 addr, u64 value);
extern const char smode_access_ecall[];
extern const char smode_access_load[];
u64 enter_vs(u64 a0, u64 a1, u64 a2, u64 target);
extern const char vs_ecall[], vs_illegal[], vs_illegal_insn[], vs_load[], vs_load_insn[];
extern const char vs_wait[], vs_wait_ecall[];
u64 trigger_exec(u64 v);
extern const char trigger_exec_insn[];
extern const char _start[];

#endif /* __ASSEMBLER__ */
#endif /* TESTFW_H */
