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
}
