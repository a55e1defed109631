/*
 * The few C runtime symbols an Embedded Swift image may reference.
 * The monitor never allocates: the allocator entry points fail.
 * With --gc-sections only the ones actually referenced stay in the image.
 */
#if defined(__riscv)

#include <stddef.h>
#include <stdint.h>

#include "mmio.h"

/*
 * Built with -ffreestanding -fno-builtin, so the compiler does not turn these
 * loops back into calls to themselves (check with llvm-objdump after changes).
 * Word-at-a-time when both pointers are 8-byte aligned.
 */
typedef uint64_t __attribute__((may_alias)) word_t;

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    uint64_t pattern = (unsigned char)c * 0x0101010101010101ULL;
    while (n && ((uintptr_t)d & 7)) {
        *d++ = (unsigned char)c;
        n--;
    }
    /* Four words an iteration: the monitor clears the firmware's bss and
       its own load image at boot (~250 KiB). */
    for (; n >= 32; n -= 32, d += 32) {
        ((word_t *)d)[0] = pattern;
        ((word_t *)d)[1] = pattern;
        ((word_t *)d)[2] = pattern;
        ((word_t *)d)[3] = pattern;
    }
    for (; n >= 8; n -= 8, d += 8)
        *(word_t *)d = pattern;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

/* Forward copy; also correct for overlapping ranges with dst < src. */
static void *copy_forward(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
        /* Four words an iteration, all loaded before any is stored: still a
           correct forward copy when dst < src overlap. */
        for (; n >= 32; n -= 32, d += 32, s += 32) {
            word_t a = ((const word_t *)s)[0], b = ((const word_t *)s)[1];
            word_t e = ((const word_t *)s)[2], f = ((const word_t *)s)[3];
            ((word_t *)d)[0] = a;
            ((word_t *)d)[1] = b;
            ((word_t *)d)[2] = e;
            ((word_t *)d)[3] = f;
        }
        for (; n >= 8; n -= 8, d += 8, s += 8)
            *(word_t *)d = *(const word_t *)s;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    return copy_forward(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if ((uintptr_t)d < (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n)
        return copy_forward(dst, src, n);
    d += n;
    s += n;
    while (n--)
        *--d = *--s;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

/* No heap: every allocation fails. */
int posix_memalign(void **out, size_t alignment, size_t size) {
    (void)alignment;
    (void)size;
    if (out)
        *out = NULL;
    return 12; /* ENOMEM */
}

void *malloc(size_t size) {
    (void)size;
    return NULL;
}

void free(void *p) { (void)p; }

/* Fallback console: QEMU virt 16550 UART (THR +0, LSR +5, bit 5 = THR empty). */
#define FIRMVISOR_UART0 0x10000000UL

int putchar(int c) {
    while ((mmio_read8(FIRMVISOR_UART0 + 5) & 0x20) == 0)
        ;
    mmio_write8(FIRMVISOR_UART0, (uint8_t)c);
    return (unsigned char)c;
}

/* No entropy source: deterministic zeros (hash seeds only). */
void arc4random_buf(void *buf, size_t n) { memset(buf, 0, n); }

#endif /* __riscv */
