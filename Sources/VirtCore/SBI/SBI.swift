/// The RISC-V Supervisor Binary Interface calls the monitor may serve itself
/// on the firmware's behalf (RISC-V SBI specification v1.0: chapter 3
/// "Binary Encoding", 6 "Timer Extension", 7 "IPI Extension", 8 "RFENCE
/// Extension", 5 "Legacy Extensions").
public enum SBI {
    /// `a7`: extension IDs.
    public static let timerExtension: UInt64 = 0x5449_4D45     // "TIME"
    public static let ipiExtension: UInt64 = 0x0073_5049       // "sPI"
    public static let rfenceExtension: UInt64 = 0x5246_4E43    // "RFNC"
    /// The legacy `sbi_console_putchar` (extension 0x01, "Legacy Extensions").
    public static let legacyConsolePutchar: UInt64 = 0x01

    /// `a0` on return: standard error codes ("Standard SBI Errors").
    public static let success: UInt64 = 0
    public static let invalidParameter = UInt64(bitPattern: -3)

    /// A call the monitor may serve without entering the firmware.
    public enum Call: Equatable, Sendable {
        /// `sbi_set_timer(stime_value)`.
        case setTimer(deadline: UInt64)
        /// `sbi_send_ipi(hart_mask, hart_mask_base)`: harts as a bitmap.
        case sendIPI(harts: UInt64)
        /// `sbi_remote_fence_i` and `sbi_remote_sfence_vma[_asid]`: the monitor
        /// flushes more than asked (the whole TLB), which the specification allows.
        case remoteFence(harts: UInt64, instructionCache: Bool)
        /// The legacy `sbi_console_putchar(ch)`: one byte to the console.
        /// Legacy calls return in `a0` only (`a1` keeps its value).
        case consolePutchar(UInt8)

        /// The call is a legacy one: the firmware writes `a0` alone.
        @inlinable public var isLegacy: Bool {
            if case .consolePutchar = self { return true }
            return false
        }
    }

    /// Decodes `a7`/`a6`/`a0`… into a call the monitor can serve for a machine
    /// of `hartCount` harts, or `nil` when the firmware must see it: unknown
    /// calls, hypervisor fences, and any hart mask naming a hart that does not
    /// exist (the firmware then returns its own error, as it would natively).
    public static func decode(extension eid: UInt64, function fid: UInt64,
                              arguments a0: UInt64, _ a1: UInt64, hartCount: Int) -> Call? {
        switch (eid, fid) {
        case (timerExtension, 0):
            return .setTimer(deadline: a0)
        case (ipiExtension, 0):
            guard let harts = hartMask(a0, base: a1, hartCount: hartCount) else { return nil }
            return .sendIPI(harts: harts)
        case (rfenceExtension, 0), (rfenceExtension, 1), (rfenceExtension, 2):
            guard let harts = hartMask(a0, base: a1, hartCount: hartCount) else { return nil }
            return .remoteFence(harts: harts, instructionCache: fid == 0)
        case (legacyConsolePutchar, _):
            // Legacy calls have no function ID: a6 is not looked at.
            return .consolePutchar(UInt8(truncatingIfNeeded: a0))
        default:
            return nil
        }
    }

    /// The harts a `(hart_mask, hart_mask_base)` pair names ("Hart List
    /// Parameter"): a base of all ones means every hart. `nil` when a named
    /// hart is at or above `hartCount`.
    public static func hartMask(_ mask: UInt64, base: UInt64, hartCount: Int) -> UInt64? {
        let all: UInt64 = hartCount >= 64 ? ~0 : (1 << UInt64(hartCount)) - 1
        if base == ~0 { return all }
        guard base < UInt64(hartCount) else { return nil }
        let shifted = mask << base
        guard shifted >> base == mask, shifted & ~all == 0 else { return nil }
        return shifted
    }
}
