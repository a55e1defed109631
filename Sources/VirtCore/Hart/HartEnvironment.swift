/// What the virtual hart needs from the real machine while it emulates.
///
/// A generic parameter rather than an existential, so the monitor's
/// implementation specialises into direct CSR instructions (Embedded Swift
/// has no existentials of non-class protocols anyway). Tests substitute a
/// plain struct.
public protocol HartEnvironment {
    /// The real `time` (the platform timer, `mtime`).
    mutating func readTime() -> UInt64
    /// The real `mcycle`.
    mutating func readCycle() -> UInt64
    /// The real `minstret`.
    mutating func readInstret() -> UInt64
    /// The level of the supervisor external interrupt line from the interrupt
    /// controller (the PLIC's S context), which `mip.SEIP` ORs with its latch.
    mutating func supervisorExternalInterruptLine() -> Bool
    /// Reads a CSR that belongs to the payload's world and that the firmware's
    /// U-mode execution cannot disturb (the H extension's state), from the
    /// real hart. Only called for CSRs the table marks `passthrough`.
    mutating func readPassthroughCSR(_ csr: CSR) -> UInt64
    /// Writes such a CSR on the real hart (the hardware legalises it).
    mutating func writePassthroughCSR(_ csr: CSR, _ value: UInt64)
    /// Reads one of the payload's AIA CSRs (`VirtualHart.isAIAPassthrough(_:)`)
    /// from the real hart, or `nil` when the real access traps (the firmware
    /// then takes an illegal-instruction exception).
    mutating func readGuardedCSR(_ csr: CSR) -> UInt64?
    /// Writes such a CSR on the real hart; a trap of the real access is
    /// ignored (the read before it succeeded, so the register exists).
    mutating func writeGuardedCSR(_ csr: CSR, _ value: UInt64)
}

extension HartEnvironment {
    /// A hart without Ssaia: every AIA CSR access is illegal.
    public mutating func readGuardedCSR(_ csr: CSR) -> UInt64? { nil }
    public mutating func writeGuardedCSR(_ csr: CSR, _ value: UInt64) {}
}
