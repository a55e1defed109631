/* Firmvisor differential firmware: constants shared by C, assembly and the
   generator (scripts/difftest keeps its copy of the blob layout in sync). */
#ifndef DIFFFW_H
#define DIFFFW_H

#define DIFFFW_STACK_SIZE  16384
/* The program blob: loaded by QEMU's -device loader at a fixed address
   above this firmware (at 0x8000_0000, natively and under the monitor alike,
   which must end below it) and clear of the monitor's load image, which the
   monitor clears before it places the firmware. */
#define BLOB_ADDR          0x80180000
#define BLOB_MAGIC         0x31544644     /* "DFT1" */

/* Sentinel preloaded into a3 (the rd of generated instructions). */
#define SENTINEL           0x5eed5eed5eed5eedUL

/* Op kinds. */
#define OP_EXEC     1   /* run insn in M (a2 = a, a4 = b), print a3 and traps */
#define OP_LOWER    2   /* mret into S/U at a stub [insn, mv a0,a3, ecall] */
#define OP_TIMER    3   /* CLINT mtimecmp interrupt */
#define OP_MSI      4   /* CLINT msip interrupt */
#define OP_PLIC     5   /* PLIC + UART THRE interrupt */
#define OP_WFI      6   /* wfi with an enabled pending bit (MIE = 0) */
#define OP_MTVEC    7   /* mtvec direct (a = 0) or vectored (a = 1) */
#define OP_DEV      8   /* a device access form (AMO, LR/SC, misaligned, RVC) */
#define OP_PLICX    9   /* PLIC + UART THRE scenarios, polled */
#define OP_AIA      10  /* AIA state: a = 0 interrupt-file/IDC snapshot, 1 APLIC
                           snapshot (b: 0 M domain, 1 S domain), 2 claim loop,
                           3 configure a source and fire it */
#define OP_APLICX   11  /* APLIC + UART THRE (source 10) scenarios, polled */

/* The machine (blob header word 2, from scripts/difftest --aia). */
#define MACH_PLIC         0   /* -M virt */
#define MACH_APLIC_IMSIC  1   /* -M virt,aia=aplic-imsic */
#define MACH_APLIC_DIRECT 2   /* -M virt,aia=aplic */

/* DEV flags: preset/read back the register(s) at d >> 32 (and +4). */
#define DV_PRE      0x01   /* preset: c (and c >> 32 at +4 with DV_TWO) */
#define DV_RB       0x02   /* read back after the access */
#define DV_TWO      0x04   /* two words (rbaddr, rbaddr + 4) with sw/lw */
#define DV_DWORD    0x08   /* one doubleword with sd/ld instead */
#define DV_SLOT2    0x10   /* d bits 31:0 = second instruction in the slot;
                              its rd is a4, printed after the first result */

/* EXEC flags. */
#define F_READBACK        0x01   /* then run c (a read of the CSR) */
#define F_RESTORE_MTVEC   0x02
#define F_RESTORE_MIDELEG 0x04
#define F_FIX_MPP         0x08   /* then MPP = M again */
#define F_QUIET           0x10   /* print nothing for this op */
#define F_SANITIZE        0x20   /* then clear mstatus.MIE/MPRV/MPV */

/* LOWER a bits. */
#define L_MODE_S       0x01
#define L_KEEP_PMP     0x10
#define L_STVEC_VEC    0x20
#define L_KEEP_SATP    0x40

#endif
