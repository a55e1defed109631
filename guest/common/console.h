/*
 * The polled console shared by the guest programs (test, differential and
 * adversarial firmwares): QEMU virt's 16550 UART at 0x1000_0000, written by
 * polling LSR bit 5 (THR empty). `static inline` so a program that does not
 * use a function does not trip -Wunused-function.
 */
#ifndef GUEST_COMMON_CONSOLE_H
#define GUEST_COMMON_CONSOLE_H

#include <stdint.h>

#define GUEST_UART_THR 0x10000000UL
#define GUEST_UART_LSR 0x10000005UL

static inline void putc_(char c)
{
    while (!(*(volatile uint8_t *)GUEST_UART_LSR & 0x20))
        ;
    *(volatile uint8_t *)GUEST_UART_THR = (uint8_t)c;
}

static inline void puts_(const char *s)
{
    while (*s) {
        if (*s == '\n') putc_('\r');
        putc_(*s++);
    }
}

/* Hexadecimal without leading zeros and without a prefix. */
static inline void puthex_digits(uint64_t v)
{
    int started = 0;
    for (int i = 60; i >= 0; i -= 4) {
        uint64_t d = (v >> i) & 0xf;
        if (d || started || i == 0) {
            putc_((char)(d < 10 ? '0' + d : 'a' + d - 10));
            started = 1;
        }
    }
}

static inline void puthex(uint64_t v)
{
    puts_("0x");
    puthex_digits(v);
}

static inline void putdec(uint64_t v)
{
    char buf[24];
    int n = 0;
    do { buf[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) putc_(buf[--n]);
}

#endif /* GUEST_COMMON_CONSOLE_H */
