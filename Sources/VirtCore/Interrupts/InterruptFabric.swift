/// What the monitor must do on the real machine after the virtual CLINT
/// changed: the physical side of the seed's life cycle, as data.
public struct PhysicalActions: Equatable, Sendable {
    /// Harts whose doorbell (real `msip`) must ring so they re-read their
    /// virtual lines: a remote `msip` or `mtimecmp` write.
    public var doorbells: UInt64 = 0
    /// A hart whose real `mtimecmp` must be set to ``deadline`` (-1: none).
    public var timerHart: Int = -1
    public var deadline: UInt64 = 0
    /// The firmware wrote `mtime`, which the monitor cannot move.
    public var mtimeWriteIgnored = false

    public init() {}
}

/// The machine-wide virtual interrupt hardware: the firmware's CLINT, and the
/// firmware's view of the PLIC.
///
/// The monitor keeps one instance for all harts (under a lock). MSIP and MTIP
/// come from the virtual CLINT (``lines(hart:time:)``); MEIP is the real
/// `mip.MEIP`, because the real PLIC's M contexts hold the firmware's own
/// state (see ``VirtualPLIC``). All decisions about the real hardware are
/// returned as ``PhysicalActions``, so that the whole policy is testable.
public struct InterruptFabric: Sendable {
    public var clint: VirtualCLINT
    public let plic: VirtualPLIC

    public init(harts: Int, plicSources: Int) {
        clint = VirtualCLINT(harts: harts)
        plic = VirtualPLIC(sources: plicSources, harts: harts)
    }

    /// The CLINT-driven M-level lines of hart `hart` at real time `time`:
    /// MSIP from `msip`, MTIP from `mtime >= mtimecmp`.
    @inlinable
    @inline(__always) public func lines(hart: Int, time: UInt64) -> InterruptBits {
        var bits: InterruptBits = []
        if clint.msip(hart: hart) { bits.insert(.msip) }
        if clint.mtip(hart: hart, time: time) { bits.insert(.mtip) }
        return bits
    }

    /// ``lines(hart:time:)`` and `mtimecmp[hart]` read in place
    /// (``VirtualCLINT/state(hart:time:)``): the monitor's re-read after a
    /// doorbell or a timer change, without copying the CLINT's tables.
    public mutating func linesAndDeadline(hart: Int, time: UInt64) -> (lines: InterruptBits, deadline: UInt64) {
        let s = clint.state(hart: hart, time: time)
        var bits: InterruptBits = []
        if s.msip { bits.insert(.msip) }
        if s.mtip { bits.insert(.mtip) }
        return (bits, s.mtimecmp)
    }

    /// The firmware of hart `hart` performed `operation` at `offset` in the
    /// CLINT, as the host performs it (``HostDeviceAccess``).
    public mutating func clintAccess(hart: Int, operation: DeviceOperation, offset: UInt64, value: UInt64,
                                     time: UInt64, reservation: inout DeviceReservation,
                                     actions: inout PhysicalActions) -> DeviceAccessOutcome {
        // The port reaches the CLINT through its address: a copy in and out
        // would move its 64-entry table twice per access.
        let (outcome, port) = withUnsafeMutablePointer(to: &clint) { pointer in
            var port = CLINTPort(clint: pointer, hart: hart, time: time)
            let outcome = HostDeviceAccess.perform(operation, offset: offset, value: value,
                                                   reservation: &reservation, on: &port)
            return (outcome, port)
        }
        actions.doorbells |= port.actions.doorbells
        if port.actions.timerHart >= 0 {
            actions.timerHart = port.actions.timerHart
            actions.deadline = port.actions.deadline
        }
        actions.mtimeWriteIgnored = actions.mtimeWriteIgnored || port.actions.mtimeWriteIgnored
        return outcome
    }
}

/// The virtual CLINT as one hart's accesses reach it, collecting the
/// physical consequences of its stores.
struct CLINTPort: DeviceRegisters {
    let clint: UnsafeMutablePointer<VirtualCLINT>
    let hart: Int
    let time: UInt64
    var actions = PhysicalActions()

    func accepts(offset: UInt64, width: Int) -> Bool {
        clint.pointee.accepts(offset: offset, width: width)
    }

    mutating func load(offset: UInt64, width: Int) -> UInt64 {
        clint.pointee.readInPlace(offset: offset, width: width, time: time) ?? 0
    }

    mutating func store(offset: UInt64, width: Int, value: UInt64) {
        switch clint.pointee.write(offset: offset, width: width, value: value) {
        case .msip(let target)?:
            if target != hart { actions.doorbells |= 1 << UInt64(target) }
        case .mtimecmp(let target)?:
            // The real comparator follows the firmware's deadline; the target
            // re-reads MTIP (and re-arms its real MTIE) on its doorbell.
            actions.timerHart = target
            actions.deadline = clint.pointee.state(hart: target, time: time).mtimecmp
            if target != hart { actions.doorbells |= 1 << UInt64(target) }
        case .mtime?:
            actions.mtimeWriteIgnored = true
        case .unchanged?, nil:
            break
        }
    }
}
