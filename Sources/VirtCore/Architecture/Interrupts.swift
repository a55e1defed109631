/// The interrupt bits of `mip`, `mie` and `mideleg` (privileged specification,
/// "Machine Interrupt Registers (mip and mie)", and the H extension's
/// "Hypervisor Interrupt Registers").
///
/// The bit position of each member is its interrupt cause code.
public struct InterruptBits: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Supervisor software interrupt (cause 1).
    public static let ssip = InterruptBits(rawValue: 1 << 1)
    /// Virtual-supervisor software interrupt (cause 2, H extension).
    public static let vssip = InterruptBits(rawValue: 1 << 2)
    /// Machine software interrupt (cause 3), driven by the CLINT's `msip`.
    public static let msip = InterruptBits(rawValue: 1 << 3)
    /// Supervisor timer interrupt (cause 5).
    public static let stip = InterruptBits(rawValue: 1 << 5)
    /// Virtual-supervisor timer interrupt (cause 6, H extension).
    public static let vstip = InterruptBits(rawValue: 1 << 6)
    /// Machine timer interrupt (cause 7), driven by `mtime >= mtimecmp`.
    public static let mtip = InterruptBits(rawValue: 1 << 7)
    /// Supervisor external interrupt (cause 9).
    public static let seip = InterruptBits(rawValue: 1 << 9)
    /// Virtual-supervisor external interrupt (cause 10, H extension).
    public static let vseip = InterruptBits(rawValue: 1 << 10)
    /// Machine external interrupt (cause 11), driven by the PLIC's M context.
    public static let meip = InterruptBits(rawValue: 1 << 11)
    /// Supervisor guest external interrupt (cause 12, H extension).
    public static let sgeip = InterruptBits(rawValue: 1 << 12)
    /// Local counter-overflow interrupt (cause 13, Sscofpmf).
    public static let lcofip = InterruptBits(rawValue: 1 << 13)

    /// The M-level interrupts, which the monitor virtualizes.
    public static let machineLevel: InterruptBits = [.msip, .mtip, .meip]
    /// The S-level interrupts of a hart without H (always delegated under the monitor).
    public static let supervisorLevel: InterruptBits = [.ssip, .stip, .seip]
    /// The interrupts the H extension adds, which the specification makes
    /// read-only one in `mideleg` ("Hypervisor Interrupt Registers").
    public static let hypervisorLevel: InterruptBits = [.vssip, .vstip, .vseip, .sgeip]
}

/// An interrupt cause code (the low bits of `mcause` when its top bit is set).
public enum Interrupt: UInt64, Sendable, CaseIterable {
    case supervisorSoftware = 1
    case virtualSupervisorSoftware = 2
    case machineSoftware = 3
    case supervisorTimer = 5
    case virtualSupervisorTimer = 6
    case machineTimer = 7
    case supervisorExternal = 9
    case virtualSupervisorExternal = 10
    case machineExternal = 11
    case supervisorGuestExternal = 12
    case counterOverflow = 13

    /// The `mip`/`mie` bit of this interrupt.
    @inlinable public var bit: InterruptBits { InterruptBits(rawValue: 1 << rawValue) }

    /// The highest-priority interrupt among `bits`, or `nil` when none is set.
    ///
    /// Privileged specification, "Machine Interrupt Registers": MEI, MSI, MTI,
    /// SEI, SSI, STI; then the H extension's SGEI, VSEI, VSSI, VSTI; LCOFI last.
    @inlinable
    public static func highestPriority(in bits: InterruptBits) -> Interrupt? {
        if bits.isEmpty { return nil }
        // Unrolled rather than iterating `priorityOrder`: this runs on every
        // return to a guest and must not touch an array.
        if bits.contains(.meip) { return .machineExternal }
        if bits.contains(.msip) { return .machineSoftware }
        if bits.contains(.mtip) { return .machineTimer }
        if bits.contains(.seip) { return .supervisorExternal }
        if bits.contains(.ssip) { return .supervisorSoftware }
        if bits.contains(.stip) { return .supervisorTimer }
        if bits.contains(.sgeip) { return .supervisorGuestExternal }
        if bits.contains(.vseip) { return .virtualSupervisorExternal }
        if bits.contains(.vssip) { return .virtualSupervisorSoftware }
        if bits.contains(.vstip) { return .virtualSupervisorTimer }
        if bits.contains(.lcofip) { return .counterOverflow }
        return nil
    }
}
