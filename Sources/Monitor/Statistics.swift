#if arch(riscv64)
/// Per-hart counters printed when the guest powers off.
struct Statistics {
    /// Exceptions from the firmware, by cause (0…23).
    var firmwareExceptions: InlineArray<24, UInt64> = InlineArray(repeating: 0)
    /// Exceptions from the payload forwarded to the firmware, by cause.
    var payloadExceptions: InlineArray<24, UInt64> = InlineArray(repeating: 0)
    /// Physical interrupts taken, by cause (0…15).
    var physicalInterrupts: InlineArray<16, UInt64> = InlineArray(repeating: 0)
    /// Interrupts injected into virtual M-mode, by cause (0…15).
    var injectedInterrupts: InlineArray<16, UInt64> = InlineArray(repeating: 0)
    /// Emulated device accesses (CLINT, PLIC, test device).
    var deviceEmulations: UInt64 = 0
    /// Switches between the firmware's world and the payload's.
    var worldSwitches: UInt64 = 0
    /// Payload SBI calls served by the monitor (the offload path).
    var offloadedCalls: UInt64 = 0
    /// Machine timer expiries completed for the payload's offloaded
    /// set_timer without a trip through the firmware.
    var offloadedTimerEvents: UInt64 = 0
    /// Emulated `wfi` that had to wait on the real hart.
    var waits: UInt64 = 0

    init() {}
}
#endif
