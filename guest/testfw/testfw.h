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
