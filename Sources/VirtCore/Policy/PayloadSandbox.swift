/// The pure decisions of the sandbox policy (`scripts/run --policy sandbox`):
/// which of the payload's registers the firmware sees when it is entered
/// for a payload trap, what the payload gets back when the firmware returns,
/// and for which traps the firmware may act on payload memory through
/// `mstatus.MPRV`. The monitor keeps the plumbing (Sources/Monitor/Policy.swift).
///
/// The rule follows what the firmware needs for the trap it is given:
///
/// | trap the firmware takes (its `mcause`) | registers it sees | payload gets back at `mepc + step` | MPRV |
/// |---|---|---|---|
/// | ecall from S (9): an SBI call | `a0`…`a7` (x10…x17) | every register as it was, `a0`/`a1` from the firmware | no |
/// | an M-level interrupt | none | every register as it was | no |
/// | illegal instruction (2), misaligned load (4) or store/AMO (6) | all (emulation reads and writes them) | what the firmware left | yes, for this trap only |
/// | any other exception | all | what the firmware left | no |
///
/// When the firmware returns to the payload anywhere else (an HSM start, a
/// redirected trap), the hidden registers are dropped: the payload gets what
/// the firmware wrote, as natively.
public struct PayloadSandbox: Equatable, Sendable {
    /// The firmware is entered for a payload trap with this `mcause`.
    public let cause: UInt64

    @inlinable
    public init(cause: UInt64) { self.cause = cause }

    /// `a0`…`a7`: an SBI call's extension, function and arguments.
    public static let callRegisters: UInt32 = 0xFF << 10
    /// `a0`, `a1`: an SBI call's error and value.
    public static let resultRegisters: UInt32 = 0b11 << 10
    /// x1…x31.
    public static let allRegisters: UInt32 = ~1

    @inlinable var isInterrupt: Bool { cause >> 63 == 1 }
    @inlinable var isSupervisorCall: Bool { cause == Exception.environmentCallFromS.rawValue }

    /// Registers hidden from the firmware (zeroed while it runs), one bit per
    /// `x` register; 0 means the firmware sees them all.
    @inlinable
    public var hiddenRegisters: UInt32 {
        if isInterrupt { return PayloadSandbox.allRegisters }
        if isSupervisorCall { return PayloadSandbox.allRegisters & ~PayloadSandbox.callRegisters }
        return 0
    }

    /// Where the payload resumes when the firmware is done, as an offset
    /// from the trap's `mepc` (past the `ecall`; the interrupted instruction
    /// itself); `nil` when nothing is hidden.
    @inlinable
    public var resumeOffset: UInt64? {
        if isInterrupt { return 0 }
        if isSupervisorCall { return 4 }
        return nil
    }

    /// Registers the payload takes from the firmware on that return; the
    /// rest are restored from before the trap.
    @inlinable
    public var returnedRegisters: UInt32 {
        isSupervisorCall ? PayloadSandbox.resultRegisters : 0
    }

    /// Whether the firmware may load and store with `mstatus.MPRV` (as the
    /// payload) while it handles this trap: OpenSBI's emulation of an
    /// illegal instruction and of a misaligned access reads the payload's
    /// instruction and data that way.
    @inlinable
    public var permitsMPRV: Bool {
        cause == Exception.illegalInstruction.rawValue
            || cause == Exception.loadAddressMisaligned.rawValue
            || cause == Exception.storeAddressMisaligned.rawValue
    }
}
