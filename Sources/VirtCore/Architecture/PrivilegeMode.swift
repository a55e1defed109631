/// A RISC-V privilege level, encoded as in `mstatus.MPP` and `sstatus.SPP`.
///
/// Privileged specification, "Privilege Levels": U = 0, S = 1, M = 3; the
/// encoding 2 is reserved (it was H in older drafts) and never stored.
public enum PrivilegeMode: UInt8, Sendable, Comparable {
    /// User mode (U).
    case user = 0
    /// Supervisor mode (S, or HS when the H extension is present).
    case supervisor = 1
    /// Machine mode (M). For a deprivileged firmware this is virtual M-mode.
    case machine = 3

    public static func < (lhs: PrivilegeMode, rhs: PrivilegeMode) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// Decodes a two-bit privilege field; the reserved value 2 yields `nil`.
    @inlinable
    public init?(field: UInt64) {
        switch field & 3 {
        case 0: self = .user
        case 1: self = .supervisor
        case 3: self = .machine
        default: return nil
        }
    }
}
