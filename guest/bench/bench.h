/* Firmvisor bench guests: constants and helpers shared by the bench firmware
 * (M-mode, guest/bench/fw*) and the bench payload (S-mode, guest/bench/payload*). */
#ifndef BENCH_H
#define BENCH_H

#define BENCH_STACK_SIZE 8192

#ifndef __ASSEMBLER__

typedef unsigned long  u64;
typedef unsigned int   u32;
typedef unsigned char  u8;

#define TEST_DEV    0x00100000UL
#define UART_THR    0x10000000UL
#define UART_LSR    0x10000005UL

#define csr_read(csr) ({ u64 __v; \
    __asm__ volatile("csrr %0, " #csr : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) \
    __asm__ volatile("csrw " #csr ", %0" :: "rK"((u64)(val)) : "memory")

static inline void mmio_w8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static inline u8 mmio_r8(u64 a) { return *(volatile u8 *)a; }
static inline void mmio_w32(u64 a, u32 v) { *(volatile u32 *)a = v; }

static void putc_(char c)
{
    while (!(mmio_r8(UART_LSR) & 0x20))
        ;
    mmio_w8(UART_THR, (u8)c);
}

static void puts_(const char *s)
{
    while (*s) {
        if (*s == '\n') putc_('\r');
        putc_(*s++);
    }
}

static void putdec(u64 v)
{
    char buf[24];
    int n = 0;
    do { buf[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) putc_(buf[--n]);
}

static void puthex(u64 v)
{
    puts_("0x");
    for (int i = 60; i >= 0; i -= 4) {
        u64 d = (v >> i) & 0xf;
        putc_((char)(d < 10 ? '0' + d : 'a' + d - 10));
    }
}

/* BENCH: name=value */
static void report(const char *name, u64 v)
{
    puts_("BENCH: ");
    puts_(name);
    putc_('=');
    putdec(v);
    puts_("\n");
}

/* Instructions one measured instruction costs: the loop with it minus the
 * loop with a nop, per iteration, plus the nop's own 1; rounded. */
static u64 per_op(u64 with, u64 base, u64 n)
{
    u64 extra = with > base ? with - base : 0;
    return (extra + n / 2) / n + 1;
}

#endif /* __ASSEMBLER__ */
#endif /* BENCH_H */
