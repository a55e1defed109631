/// Synchronous exception cause codes (privileged specification, table
/// "Machine cause register (mcause) values after trap").
public enum Exception: UInt64, Sendable, CaseIterable {
    case instructionAddressMisaligned = 0
    case instructionAccessFault = 1
    case illegalInstruction = 2
    case breakpoint = 3
    case loadAddressMisaligned = 4
    case loadAccessFault = 5
    case storeAddressMisaligned = 6
    case storeAccessFault = 7
    case environmentCallFromU = 8
    case environmentCallFromS = 9
    case environmentCallFromVS = 10
    case environmentCallFromM = 11
    case instructionPageFault = 12
    case loadPageFault = 13
    case storePageFault = 15
    case instructionGuestPageFault = 20
    case loadGuestPageFault = 21
    case virtualInstruction = 22
    case storeGuestPageFault = 23

    /// Instruction, load or store/AMO guest-page fault (20, 21, 23: H extension).
    @inlinable
    public var isGuestPageFault: Bool {
        self == .instructionGuestPageFault || self == .loadGuestPageFault || self == .storeGuestPageFault
    }

    /// The environment-call cause for an `ecall` executed in `mode`.
    @inlinable
    public static func environmentCall(from mode: PrivilegeMode) -> Exception {
        switch mode {
        case .user: return .environmentCallFromU
        case .supervisor: return .environmentCallFromS
        case .machine: return .environmentCallFromM
        }
    }
}

/// A trap cause as written to `mcause`: an exception or an interrupt.
public enum TrapCause: Sendable, Equatable {
    case exception(Exception)
    case interrupt(Interrupt)

    /// The `mcause` encoding: bit 63 set for interrupts (RV64).
    @inlinable
    public var mcause: UInt64 {
        switch self {
        case .exception(let e): return e.rawValue
        case .interrupt(let i): return (1 << 63) | i.rawValue
        }
    }
}
