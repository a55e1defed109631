import VirtCore

/// A stand-in for the real hart under the virtual one: settable counters, the
/// supervisor external interrupt line, and a dictionary of passthrough CSRs
/// (the H extension's registers, which the real hart would hold).
///
/// `hip` is modelled the way the hypervisor specification defines it from
/// `hvip` ("Hypervisor Interrupt Registers"): VSSIP is an alias of
/// `hvip.VSSIP`, VSTIP and VSEIP are ORed with the `hvip` bits, and any
/// value stored directly under `hip` stands for the other sources (guest
/// external interrupts, `vstimecmp`).
struct FakeEnvironment: HartEnvironment, Equatable {
    var time: UInt64 = 0
    var cycle: UInt64 = 0
    var instret: UInt64 = 0
    var supervisorExternalLine = false
    var passthrough: [UInt16: UInt64] = [:]
    /// Every passthrough write, in order.
    var passthroughWrites: [WrittenCSR] = []

    struct WrittenCSR: Equatable {
        var number: UInt16
        var value: UInt64
    }

    static let hipNumber: UInt16 = 0x644
    static let hvipNumber: UInt16 = 0x645
    /// VSSIP, VSTIP and VSEIP: the bits `hvip` feeds into `hip`.
    static let hvipBits: UInt64 = (1 << 2) | (1 << 6) | (1 << 10)

    mutating func readTime() -> UInt64 { time }
    mutating func readCycle() -> UInt64 { cycle }
    mutating func readInstret() -> UInt64 { instret }
    mutating func supervisorExternalInterruptLine() -> Bool { supervisorExternalLine }

    mutating func readPassthroughCSR(_ csr: CSR) -> UInt64 {
        let n = csr.rawValue
        if n == FakeEnvironment.hipNumber {
            let vssip: UInt64 = 1 << 2
            let other = (passthrough[n] ?? 0) & ~vssip
            return other | ((passthrough[FakeEnvironment.hvipNumber] ?? 0) & FakeEnvironment.hvipBits)
        }
        return passthrough[n] ?? 0
    }

    mutating func writePassthroughCSR(_ csr: CSR, _ value: UInt64) {
        passthrough[csr.rawValue] = value
        passthroughWrites.append(WrittenCSR(number: csr.rawValue, value: value))
    }
}
