/// What the monitor must do on the real machine after the virtual interrupt
/// hardware changed: the physical side of the seed's life cycle, as data.
public struct PhysicalActions: Equatable, Sendable {
    /// Harts whose doorbell (real `msip`) must ring so they re-read their
    /// virtual lines: a remote `msip` or `mtimecmp` write, or a PLIC change
    /// that moved another hart's MEIP.
    public var doorbells: UInt32 = 0
    /// A hart whose real `mtimecmp` must be set to ``deadline`` (-1: none).
    public var timerHart: Int = -1
    public var deadline: UInt64 = 0
    /// A source to complete on the real PLIC, in the M context of hart
    /// ``completeHart`` (0: none): the firmware completed it virtually.
    public var completeSource: Int = 0
    public var completeHart: Int = 0
    /// A hart whose real M-context enables must mirror the virtual ones (-1: none).
    public var mirrorEnablesHart: Int = -1
    /// The firmware wrote `mtime`, which the monitor cannot move.
    public var mtimeWriteIgnored = false

    public init() {}
}

/// The result of a firmware access to a virtual device.
public enum DeviceAccessResult: Equatable, Sendable {
    /// An emulated load: this value (zero-extended) goes to the register.
    case loaded(UInt64)
    /// An emulated store.
    case stored
    /// Not virtualized: the monitor performs the same access on the real
    /// device; for a load it ORs `orBits` into the value read.
    case passthrough(orBits: UInt32)
    /// No such register: the monitor injects an access fault.
    case fault
}

/// The machine-wide virtual interrupt hardware: the firmware's CLINT and
/// PLIC, plus the bookkeeping that binds them to the real devices.
///
/// The monitor keeps one instance for all harts (under a lock) and calls it
/// for every firmware device access and every real external interrupt; the
/// harts read their M-level lines from it (``lines(hart:time:)``) into
/// ``VirtualHart/mipDevices``. All decisions about the real hardware are
/// returned as ``PhysicalActions``, so that the whole policy is testable.
public struct InterruptFabric: Sendable {
    public var clint: VirtualCLINT
    public var plic: VirtualPLIC
    /// For each source the monitor claimed, the hart whose real M context
    /// holds it, so the firmware's complete reaches that context (while it
    /// still enables the source).
    var claimedBy: InlineArray<128, UInt8>

    public init(harts: Int, plicSources: Int) {
        clint = VirtualCLINT(harts: harts)
        plic = VirtualPLIC(sources: plicSources, harts: harts)
        claimedBy = InlineArray(repeating: 0)
    }

    /// The M-level lines of hart `hart` at real time `time`: MSIP from
    /// `msip`, MTIP from `mtime >= mtimecmp`, MEIP from its M context.
    @inlinable
    public func lines(hart: Int, time: UInt64) -> InterruptBits {
        var bits: InterruptBits = []
        if clint.msip(hart: hart) { bits.insert(.msip) }
        if clint.mtip(hart: hart, time: time) { bits.insert(.mtip) }
        if plic.meip(hart: hart) { bits.insert(.meip) }
        return bits
    }

    /// The firmware of hart `hart` accessed the CLINT at `offset`.
    public mutating func clintAccess(hart: Int, offset: UInt64, width: Int, isStore: Bool, value: UInt64,
                                     time: UInt64, actions: inout PhysicalActions) -> DeviceAccessResult {
        guard isStore else {
            guard let v = clint.read(offset: offset, width: width, time: time) else { return .fault }
            return .loaded(v)
        }
        switch clint.write(offset: offset, width: width, value: value) {
        case nil:
            return .fault
        case .msip(let target)?:
            actions.doorbells |= 1 << UInt32(target)
        case .mtimecmp(let target)?:
            // The real comparator follows the firmware's deadline; the target
            // re-reads MTIP (and re-arms its real MTIE) on its doorbell.
            actions.timerHart = target
            actions.deadline = clint.mtimecmp(hart: target)
            actions.doorbells |= 1 << UInt32(target)
        case .mtime?:
            actions.mtimeWriteIgnored = true
        case .unchanged?:
            break
        }
        actions.doorbells &= ~(1 << UInt32(hart))
        return .stored
    }

    /// The firmware of hart `hart` accessed the PLIC at `offset`.
    public mutating func plicAccess(hart: Int, offset: UInt64, width: Int, isStore: Bool, value: UInt64,
                                    actions: inout PhysicalActions) -> DeviceAccessResult {
        let before = plic.meipHarts
        let outcome = isStore
            ? plic.write(offset: offset, width: width, value: UInt32(truncatingIfNeeded: value))
            : plic.read(offset: offset, width: width)
        actions.doorbells |= (before ^ plic.meipHarts) & ~(1 << UInt32(hart))
        switch outcome {
        case .value(let v):
            return .loaded(UInt64(v))
        case .done:
            return .stored
        case .completed(let source):
            actions.completeSource = source
            actions.completeHart = enablingHart(source: source, preferring: Int(claimedBy[source & 127]))
            return .stored
        case .enablesChanged(let target):
            actions.mirrorEnablesHart = target
            return .stored
        case .passthrough, .passthroughAndRecord:
            return .passthrough(orBits: 0)
        case .passthroughOr(let bits):
            return .passthrough(orBits: bits)
        case .fault:
            return .fault
        }
    }

    /// A hart whose M context enables `source`, `preferred` if it does. The
    /// real PLIC ignores a complete for a source the completing context does
    /// not enable (PLIC specification, "Interrupt Completion"), which would
    /// leave the source silenced for good; the claiming context may no longer
    /// enable it, but the context the firmware completed on does (the virtual
    /// complete checks it), and the real enables mirror the virtual ones.
    func enablingHart(source: Int, preferring preferred: Int) -> Int {
        let word = source / 32
        let bit = UInt32(1) << UInt32(source % 32)
        if plic.enables(hart: preferred, word: word) & bit != 0 { return preferred }
        for hart in 0..<plic.harts where plic.enables(hart: hart, word: word) & bit != 0 { return hart }
        return preferred
    }

    /// The real M context of hart `hart` delivered `source` and the monitor
    /// claimed it (which silences it at the real PLIC until completed): it is
    /// now pending in the virtual PLIC. Returns the harts (other than `hart`)
    /// whose virtual MEIP changed.
    public mutating func claimed(source: Int, byHart hart: Int) -> UInt32 {
        let before = plic.meipHarts
        plic.raise(source: source)
        claimedBy[source & 127] = UInt8(truncatingIfNeeded: hart)
        return (before ^ plic.meipHarts) & ~(1 << UInt32(hart))
    }
}
