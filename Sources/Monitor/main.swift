// The monitor is a bare-metal image: `scripts/build` compiles this target as
// Embedded Swift for riscv64 and QEMU boots it with `-bios`. Its real entry
// points are `firmvisor_hart_entry` (Boot.swift) and `firmvisor_trap`
// (TrapHandler.swift), called from CShim's start.S and trap.S.
#if !arch(riscv64)
print("Firmvisor monitor: a bare-metal image; build it with scripts/build and run it with scripts/run")
#endif
