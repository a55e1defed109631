// Firmvisor monitor executable.
//
// The bare-metal image starts in `_start` (Sources/CShim/start.S), which calls
// the Swift `firmvisor_hart_entry`; this top-level code is only the hosted
// build's stand-in.
#if !arch(riscv64)
print("Firmvisor monitor: a bare-metal image, build it with scripts/build")
#endif
