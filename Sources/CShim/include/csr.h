/*
 * CSR accessors for the monitor (real M-mode).
 *
 * Every accessor is `static inline __attribute__((always_inline))`, so a call
 * from Swift compiles to a single csrr/csrw/csrs/csrc/csrrw instruction and no
 * helper symbol survives in the image.
 *
 * RISC-V only: a hosted build sees no declarations (Swift code that touches
 * real CSRs lives under `#if arch(riscv64)`).
 */
#ifndef FIRMVISOR_CSR_H
#define FIRMVISOR_CSR_H

#if defined(__riscv)

#include <stdint.h>

#define FIRMVISOR_CSR_INLINE static inline __attribute__((always_inline))

/* Read-only CSRs (mhartid, time, cycle, instret): read accessor only. */
#define FIRMVISOR_CSR_RO(name, csr)                                           \
    FIRMVISOR_CSR_INLINE uint64_t csr_read_##name(void) {                     \
        uint64_t value;                                                       \
        __asm__ volatile("csrr %0, " #csr : "=r"(value) : : "memory");        \
        return value;                                                         \
    }

/* Read-write CSRs: read, write, set bits, clear bits, swap (returns old). */
#define FIRMVISOR_CSR_RW(name, csr)                                           \
    FIRMVISOR_CSR_RO(name, csr)                                               \
    FIRMVISOR_CSR_INLINE void csr_write_##name(uint64_t value) {              \
        __asm__ volatile("csrw " #csr ", %0" : : "r"(value) : "memory");      \
    }                                                                         \
    FIRMVISOR_CSR_INLINE void csr_set_##name(uint64_t mask) {                 \
        __asm__ volatile("csrs " #csr ", %0" : : "r"(mask) : "memory");       \
    }                                                                         \
    FIRMVISOR_CSR_INLINE void csr_clear_##name(uint64_t mask) {               \
        __asm__ volatile("csrc " #csr ", %0" : : "r"(mask) : "memory");       \
    }                                                                         \
    FIRMVISOR_CSR_INLINE uint64_t csr_swap_##name(uint64_t value) {           \
        uint64_t old;                                                         \
        __asm__ volatile("csrrw %0, " #csr ", %1"                             \
                         : "=r"(old) : "r"(value) : "memory");                \
        return old;                                                           \
    }

/* Machine level */
FIRMVISOR_CSR_RW(mstatus, mstatus)
FIRMVISOR_CSR_RW(misa, misa)
FIRMVISOR_CSR_RW(medeleg, medeleg)
FIRMVISOR_CSR_RW(mideleg, mideleg)
FIRMVISOR_CSR_RW(mie, mie)
FIRMVISOR_CSR_RW(mip, mip)
FIRMVISOR_CSR_RW(mtvec, mtvec)
FIRMVISOR_CSR_RW(mscratch, mscratch)
FIRMVISOR_CSR_RW(mepc, mepc)
FIRMVISOR_CSR_RW(mcause, mcause)
FIRMVISOR_CSR_RW(mtval, mtval)
FIRMVISOR_CSR_RW(mcounteren, mcounteren)
FIRMVISOR_CSR_RW(mcountinhibit, 0x320)
FIRMVISOR_CSR_RW(menvcfg, 0x30A)
FIRMVISOR_CSR_RO(mhartid, mhartid)
FIRMVISOR_CSR_RO(mvendorid, 0xF11)
FIRMVISOR_CSR_RO(marchid, 0xF12)
FIRMVISOR_CSR_RO(mimpid, 0xF13)
FIRMVISOR_CSR_RW(mcycle, mcycle)
FIRMVISOR_CSR_RW(minstret, minstret)

/* Unprivileged counters (read-only) */
FIRMVISOR_CSR_RO(time, time)
FIRMVISOR_CSR_RO(cycle, cycle)
FIRMVISOR_CSR_RO(instret, instret)

/* Supervisor level */
FIRMVISOR_CSR_RW(satp, satp)
FIRMVISOR_CSR_RW(stvec, stvec)
FIRMVISOR_CSR_RW(sscratch, sscratch)
FIRMVISOR_CSR_RW(sepc, sepc)
FIRMVISOR_CSR_RW(scause, scause)
FIRMVISOR_CSR_RW(stval, stval)
FIRMVISOR_CSR_RW(sie, sie)
FIRMVISOR_CSR_RW(sip, sip)
FIRMVISOR_CSR_RW(sstatus, sstatus)
FIRMVISOR_CSR_RW(scounteren, scounteren)
FIRMVISOR_CSR_RW(senvcfg, 0x10A)
FIRMVISOR_CSR_RW(stimecmp, 0x14D)

/* Physical memory protection (RV64: even pmpcfg only) */
FIRMVISOR_CSR_RW(pmpcfg0, pmpcfg0)
FIRMVISOR_CSR_RW(pmpcfg2, pmpcfg2)
FIRMVISOR_CSR_RW(pmpaddr0, pmpaddr0)
FIRMVISOR_CSR_RW(pmpaddr1, pmpaddr1)
FIRMVISOR_CSR_RW(pmpaddr2, pmpaddr2)
FIRMVISOR_CSR_RW(pmpaddr3, pmpaddr3)
FIRMVISOR_CSR_RW(pmpaddr4, pmpaddr4)
FIRMVISOR_CSR_RW(pmpaddr5, pmpaddr5)
FIRMVISOR_CSR_RW(pmpaddr6, pmpaddr6)
FIRMVISOR_CSR_RW(pmpaddr7, pmpaddr7)
FIRMVISOR_CSR_RW(pmpaddr8, pmpaddr8)
FIRMVISOR_CSR_RW(pmpaddr9, pmpaddr9)
FIRMVISOR_CSR_RW(pmpaddr10, pmpaddr10)
FIRMVISOR_CSR_RW(pmpaddr11, pmpaddr11)
FIRMVISOR_CSR_RW(pmpaddr12, pmpaddr12)
FIRMVISOR_CSR_RW(pmpaddr13, pmpaddr13)
FIRMVISOR_CSR_RW(pmpaddr14, pmpaddr14)
FIRMVISOR_CSR_RW(pmpaddr15, pmpaddr15)

/* Debug triggers (Sdtrig). Only after firmvisor_probe_read_tselect found them:
   on a hart without a trigger module every access traps. */
FIRMVISOR_CSR_RW(tselect, 0x7A0)
FIRMVISOR_CSR_RW(tdata1, 0x7A1)
FIRMVISOR_CSR_RW(tdata2, 0x7A2)
FIRMVISOR_CSR_RW(tdata3, 0x7A3)
FIRMVISOR_CSR_RW(tinfo, 0x7A4)
FIRMVISOR_CSR_RW(tcontrol, 0x7A5)
FIRMVISOR_CSR_RW(mcontext, 0x7A8)

/* Hypervisor extension: the payload's state, passed through for the firmware. */
FIRMVISOR_CSR_RW(hstatus, 0x600)
FIRMVISOR_CSR_RW(hedeleg, 0x602)
FIRMVISOR_CSR_RW(hideleg, 0x603)
FIRMVISOR_CSR_RW(hie, 0x604)
FIRMVISOR_CSR_RW(htimedelta, 0x605)
FIRMVISOR_CSR_RW(hcounteren, 0x606)
FIRMVISOR_CSR_RW(hgeie, 0x607)
FIRMVISOR_CSR_RW(henvcfg, 0x60A)
FIRMVISOR_CSR_RW(htval, 0x643)
FIRMVISOR_CSR_RW(hip, 0x644)
FIRMVISOR_CSR_RW(hvip, 0x645)
FIRMVISOR_CSR_RW(htinst, 0x64A)
/* The real trap's H-extension values (only on a hart with H: they trap otherwise). */
FIRMVISOR_CSR_RW(mtinst, 0x34A)
FIRMVISOR_CSR_RW(mtval2, 0x34B)
FIRMVISOR_CSR_RW(hgatp, 0x680)
FIRMVISOR_CSR_RO(hgeip, 0xE12)

/* Advanced Interrupt Architecture, machine level (Smaia). Only after
   firmvisor_probe_read_mtopi found it: the monitor's own M-level IMSIC file
   through miselect/mireg, its claims through mtopei. */
FIRMVISOR_CSR_RW(miselect, 0x350)
FIRMVISOR_CSR_RW(mireg, 0x351)
FIRMVISOR_CSR_RW(mtopei, 0x35C)
FIRMVISOR_CSR_RW(vsstatus, 0x200)
FIRMVISOR_CSR_RW(vsie, 0x204)
FIRMVISOR_CSR_RW(vstvec, 0x205)
FIRMVISOR_CSR_RW(vsscratch, 0x240)
FIRMVISOR_CSR_RW(vsepc, 0x241)
FIRMVISOR_CSR_RW(vscause, 0x242)
FIRMVISOR_CSR_RW(vstval, 0x243)
FIRMVISOR_CSR_RW(vsip, 0x244)
FIRMVISOR_CSR_RW(vstimecmp, 0x24D)
FIRMVISOR_CSR_RW(vsatp, 0x280)

#undef FIRMVISOR_CSR_RW
#undef FIRMVISOR_CSR_RO

FIRMVISOR_CSR_INLINE void cpu_wfi(void) { __asm__ volatile("wfi" : : : "memory"); }
/* Zihintpause `pause` (a hint: a no-op where not implemented), for spin loops. */
FIRMVISOR_CSR_INLINE void cpu_pause(void) { __asm__ volatile(".insn i 0x0f, 0, x0, x0, 0x010" : : : "memory"); }
FIRMVISOR_CSR_INLINE void cpu_fence(void) { __asm__ volatile("fence rw, rw" : : : "memory"); }
FIRMVISOR_CSR_INLINE void cpu_fence_i(void) { __asm__ volatile("fence.i" : : : "memory"); }
FIRMVISOR_CSR_INLINE void cpu_sfence_vma_all(void) { __asm__ volatile("sfence.vma zero, zero" : : : "memory"); }
FIRMVISOR_CSR_INLINE void cpu_sfence_vma(uint64_t vaddr, uint64_t asid) {
    __asm__ volatile("sfence.vma %0, %1" : : "r"(vaddr), "r"(asid) : "memory");
}
FIRMVISOR_CSR_INLINE void cpu_sfence_vma_address(uint64_t vaddr) {
    __asm__ volatile("sfence.vma %0, zero" : : "r"(vaddr) : "memory");
}
FIRMVISOR_CSR_INLINE void cpu_sfence_vma_asid(uint64_t asid) {
    __asm__ volatile("sfence.vma zero, %0" : : "r"(asid) : "memory");
}
/* hfence.vvma / hfence.gvma zero, zero (encoded: the assembler may lack H). */
FIRMVISOR_CSR_INLINE void cpu_hfence_vvma_all(void) { __asm__ volatile(".insn r 0x73, 0, 0x11, x0, x0, x0" : : : "memory"); }
FIRMVISOR_CSR_INLINE void cpu_hfence_gvma_all(void) { __asm__ volatile(".insn r 0x73, 0, 0x31, x0, x0, x0" : : : "memory"); }

#undef FIRMVISOR_CSR_INLINE

#endif /* __riscv */

#endif /* FIRMVISOR_CSR_H */
