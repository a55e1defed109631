/// The eight `iprio` registers of RV64 (AIA specification, "Interrupt
/// priorities", `miselect` 0x30, 0x32, ... 0x3E): one byte per major
/// interrupt, interrupt `i` in byte `i % 8` of register `i / 8`.
public struct InterruptPriorityRegisters: Sendable, Equatable {
    public var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    public init() {}

    /// Register `index` (0...7), the one `miselect = 0x30 + 2 * index` names.
    @inlinable public subscript(index: Int) -> UInt64 {
        get {
            switch index & 7 {
            case 0: return words.0
            case 1: return words.1
            case 2: return words.2
            case 3: return words.3
            case 4: return words.4
            case 5: return words.5
            case 6: return words.6
            default: return words.7
            }
        }
        set {
            switch index & 7 {
            case 0: words.0 = newValue
            case 1: words.1 = newValue
            case 2: words.2 = newValue
            case 3: words.3 = newValue
            case 4: words.4 = newValue
            case 5: words.5 = newValue
            case 6: words.6 = newValue
            default: words.7 = newValue
            }
        }
    }

    /// The priority number of major interrupt `interrupt` (0...63).
    @inlinable public func priority(of interrupt: Int) -> UInt64 {
        (self[interrupt >> 3] >> (UInt64(interrupt & 7) * 8)) & 0xFF
    }

    public static func == (a: Self, b: Self) -> Bool {
        for i in 0..<8 where a[i] != b[i] { return false }
        return true
    }
}

/// What the real hart implements of the Smaia extension (AIA specification,
/// "Extensions Smaia and Ssaia"), as the monitor probed it at boot.
public struct SmaiaConfiguration: Sendable, Equatable {
    /// Smaia's CSRs exist (`miselect`, `mireg`, `mtopi`, `mvien`, `mvip`,
    /// and `mtopei` with an IMSIC). QEMU 7.2 enables Smaia and Ssaia exactly
    /// when the machine has IMSIC files (`aia=aplic-imsic`).
    public var isImplemented = false
    /// Identities of the hart's M-level IMSIC interrupt file (`riscv,num-ids`);
    /// 0 when there is none, and then `mtopei` and `mireg`'s IMSIC range
    /// (0x70-0xFF) are illegal.
    public var imsicIdentities = 0
    /// The bits of `miselect` that hold a value (WARL; QEMU 7.2: 0x1FF).
    public var miselectWritable: UInt64 = 0x1FF
    /// The `iprio` registers at reset (QEMU 7.2 resets each interrupt's
    /// priority number to its default-priority rank; MEI's is read-only 0).
    public var iprioReset = InterruptPriorityRegisters()
    /// The writable bits of each `iprio` register.
    public var iprioWritable = InterruptPriorityRegisters()

    public init() {}
}

/// `miselect` values of the major interrupts' priority registers.
public enum InterruptSelect {
    public static let iprioFirst: UInt64 = 0x30
    public static let iprioLast: UInt64 = 0x3F
    public static let imsicFirst: UInt64 = 0x70
    public static let imsicLast: UInt64 = 0xFF
}

/// The firmware's machine-level AIA state on one hart: `miselect`, the
/// `iprio` array and the M-level IMSIC interrupt file (AIA specification,
/// "Machine-level CSRs" and "Incoming MSI Controller").
///
/// The real M-level file belongs to the monitor: every identity that arrives
/// there (an MSI from the APLIC's M domain, another hart's IPI through the
/// file's `seteipnum_le`) is moved into ``imsic`` by the monitor
/// (``VirtualIMSICFile/setPending(identity:)``), and the firmware's view of
/// `eidelivery`, `eithreshold`, `eip*`, `eie*` and `mtopei` is this file's.
public struct MachineLevelAIA: Sendable {
    public var miselect: UInt64 = 0
    public var iprio: InterruptPriorityRegisters
    public var imsic: VirtualIMSICFile

    public init(configuration: SmaiaConfiguration) {
        iprio = configuration.iprioReset
        imsic = VirtualIMSICFile(identities: max(configuration.imsicIdentities, 63))
    }
}

extension VirtualHart {
    /// `mireg` read: the register `miselect` names, or `nil` (illegal
    /// instruction) when it does not exist (AIA specification, "Machine-level
    /// window to indirectly accessed registers"): odd `iprio` numbers on
    /// RV64, the IMSIC range without an IMSIC, reserved values.
    mutating func readIndirect() -> UInt64? {
        let select = aia.miselect
        if select >= InterruptSelect.iprioFirst && select <= InterruptSelect.iprioLast {
            guard select & 1 == 0 else { return nil }
            return aia.iprio[Int((select - InterruptSelect.iprioFirst) >> 1)]
        }
        if select >= InterruptSelect.imsicFirst && select <= InterruptSelect.imsicLast {
            guard configuration.smaia.imsicIdentities > 0 else { return nil }
            return aia.imsic.read(select: select)
        }
        return nil
    }

    /// `mireg` write, after ``readIndirect()`` found the register.
    mutating func writeIndirect(_ value: UInt64) {
        let select = aia.miselect
        if select >= InterruptSelect.iprioFirst && select <= InterruptSelect.iprioLast {
            let index = Int((select - InterruptSelect.iprioFirst) >> 1)
            aia.iprio[index] = merge(aia.iprio[index], value, configuration.smaia.iprioWritable[index])
        } else {
            aia.imsic.write(select: select, value: value)
            refreshIMSICLine()
        }
    }

    /// Moves the M-level file's interrupt line into `mip.MEIP` (with an
    /// IMSIC, MEIP is the file's line and nothing else's).
    @inlinable
    public mutating func refreshIMSICLine() {
        guard configuration.smaia.imsicIdentities > 0 else { return }
        if aia.imsic.interruptPending() { mipDevices.insert(.meip) } else { mipDevices.remove(.meip) }
    }

    /// `mtopi` (AIA specification, "Machine-level CSRs", `mtopi`): the
    /// highest-priority interrupt that is pending, enabled and not delegated,
    /// whatever `mstatus.MIE`, as `IID << 16 | IPRIO`; 0 when there is none.
    /// Documented difference (QEMU 7.2's `read_mtopi`, which the firmware
    /// must not be able to tell apart): MEI reports its `iprio` byte, which
    /// is read-only 0, and competes at rank 16, where the specification
    /// takes both from the IMSIC's top identity.
    mutating func machineTopInterrupt<E: HartEnvironment>(environment env: inout E) -> UInt64 {
        let ready = currentMIP(environment: &env).intersection(mie).subtracting(mideleg)
            .subtracting([.sgeip, .vssip, .vstip, .vseip])
        guard let interrupt = InterruptPriorityOrder.highest(in: ready, iprio: aia.iprio) else { return 0 }
        let number = Int(interrupt.rawValue)
        var priority = aia.iprio.priority(of: number)
        if priority == 0 && InterruptPriorityOrder.defaultRank(number) > InterruptPriorityOrder.machineExternalRank {
            priority = 255
        }
        return UInt64(number) << 16 | priority
    }
}

/// The order in which major interrupts are taken when Smaia is implemented
/// (AIA specification, "Interrupt priorities"), as QEMU 7.2 decides it
/// (`riscv_cpu_pending_to_irq`): an interrupt's priority number is its
/// `iprio` byte; a zero byte means MEI's own rank (16) for MEI, and for any
/// other interrupt 1 if its default priority is above MEI's, else 255. The
/// lowest number wins; among equal numbers the higher interrupt number wins
/// (QEMU scans upwards with `<=`). Documented difference: the specification
/// breaks ties by default priority; with the priority numbers QEMU 7.2
/// resets `iprio` to (each interrupt's own default rank), no two M-level
/// interrupts tie until the firmware writes equal numbers.
public enum InterruptPriorityOrder {
    /// MEI's default rank (QEMU `IPRIO_DEFAULT_M`).
    public static let machineExternalRank = 16

    /// The default priority rank of major interrupt `n` (AIA specification,
    /// "Default priority order", as QEMU 7.2's `default_iprio`; 255 for
    /// custom interrupts and the lowest group).
    public static func defaultRank(_ n: Int) -> Int {
        switch n {
        case 47: return 4
        case 23: return 5
        case 46: return 6
        case 45: return 7
        case 22: return 8
        case 44: return 9
        case 43: return 10
        case 21: return 11
        case 42: return 12
        case 41: return 13
        case 20: return 14
        case 40: return 15
        case 11: return 16
        case 3: return 17
        case 7: return 18
        case 9: return 19
        case 1: return 20
        case 5: return 21
        case 12: return 22
        case 10: return 23
        case 2: return 24
        case 6: return 25
        case 39: return 26
        case 19: return 27
        case 38: return 28
        case 37: return 29
        case 18: return 30
        case 36: return 31
        case 35: return 32
        case 17: return 33
        case 34: return 34
        case 33: return 35
        case 16: return 36
        case 32: return 37
        default: return 255
        }
    }

    /// The interrupt among `pending` that is taken first.
    public static func highest(in pending: InterruptBits, iprio: InterruptPriorityRegisters) -> Interrupt? {
        var rest = pending.rawValue
        var best: Int = -1
        var bestPriority = UInt64.max
        while rest != 0 {
            let n = rest.trailingZeroBitCount
            rest &= rest - 1
            var priority = iprio.priority(of: n)
            if priority == 0 {
                if n == Interrupt.machineExternal.rawValue {
                    priority = UInt64(machineExternalRank)
                } else {
                    priority = defaultRank(n) < machineExternalRank ? 1 : 255
                }
            }
            if priority <= bestPriority {
                best = n
                bestPriority = priority
            }
        }
        return best < 0 ? nil : Interrupt(rawValue: UInt64(best))
    }
}
