/// The firmware's view of the debug trigger module of one hart (RISC-V
/// Debug Specification, Sdtrig, "Trigger Module Registers"): `tselect`,
/// `tdata1`, `tdata2`, `tdata3`, `tinfo`, and the optional `tcontrol` and
/// `mcontext`.
///
/// The registers are M-mode CSRs (address bits 9:8 = 3), so below M they are
/// illegal, and so is every one of them on a hart whose
/// ``TriggerConfiguration`` has no trigger. What the firmware writes is
/// legalised as QEMU 7.2 does (target/riscv/debug.c), so it cannot tell
/// virtual M-mode from the real one:
///
/// - `tselect`: a write of an index that does not exist is ignored (the
///   old index stays; `tselect_csr_write`).
/// - `tdata1`: the written `type` selects the trigger's new type; a type the
///   trigger does not support drops the whole write (QEMU 7.2 logs and
///   ignores types 0, 3, 4, 5, 7 and 15, and aborts on 1 and 8…14; here every
///   unsupported type is ignored). `dmode` reads 0 (only Debug Mode could set
///   it); of `mcontrol` and `mcontrol6` only the access kinds, the privilege
///   bits and a legal size are kept (``MatchControl/writable``,
///   ``MatchControl6/writable``, ``TriggerSize/legal``): `action` is always 0,
///   a breakpoint exception, the only action a monitor can give a
///   deprivileged firmware.
/// - `tdata2`: any value (the address to match).
/// - `tdata3`: reads 0, writes are ignored (QEMU 7.2 has no `textra`).
/// - `tinfo`: the selected trigger's types; writes are ignored (QEMU 7.2's
///   `write_ignore`).
/// - `tcontrol` (not on QEMU 7.2): `mte` and `mpte`, saved on a trap into
///   M-mode and restored by `mret` (``enterMachineTrap()``,
///   ``returnFromMachineTrap()``).
/// - `mcontext` (not on QEMU 7.2): storage for its writable bits; with
///   `tdata3` read-only zero no trigger compares it.
///
/// Every change to what the real triggers must hold advances
/// ``generation``, so a monitor reinstalls them only then
/// (``physicalData1(_:for:)``).
public struct TriggerModule: Sendable {
    /// What the real hart's trigger module offers.
    public let configuration: TriggerConfiguration
    /// `tselect`: the trigger the other registers show.
    public private(set) var select: Int = 0
    /// `tdata1` of each trigger, as the firmware reads it.
    @usableFromInline var data1: InlineArray<8, UInt64>
    /// `tdata2` of each trigger.
    @usableFromInline var data2: InlineArray<8, UInt64> = InlineArray(repeating: 0)
    /// `tcontrol` (``TriggerControl``), when it exists.
    public private(set) var control: UInt64 = 0
    /// `mcontext`, when it exists.
    public private(set) var machineContext: UInt64 = 0
    /// Advances whenever a change alters what ``physicalData1(_:for:)`` or
    /// ``physicalData2(_:)`` return (a `tdata1`/`tdata2` write that changed
    /// a trigger, `tcontrol.mte`), and never otherwise.
    public private(set) var generation: UInt32 = 0

    /// The triggers at reset: `tselect = 0`, each `tdata1` of its reset type
    /// with every other field 0 (disabled: no privilege bit set), `tdata2`
    /// and `tcontrol` and `mcontext` 0.
    public init(configuration: TriggerConfiguration) {
        self.configuration = configuration
        var data = InlineArray<8, UInt64>(repeating: 0)
        for i in 0..<configuration.count {
            data[i] = configuration.resetType(of: i) << 60
        }
        self.data1 = data
    }

    /// The hart has a trigger module.
    @inlinable public var isImplemented: Bool { configuration.count > 0 }

    /// `tdata1` of trigger `index` (0 for one that does not exist).
    @inlinable public func data1(_ index: Int) -> UInt64 {
        index >= 0 && index < configuration.count ? data1[index] : 0
    }

    /// `tdata2` of trigger `index`.
    @inlinable public func data2(_ index: Int) -> UInt64 {
        index >= 0 && index < configuration.count ? data2[index] : 0
    }

    /// Reads a trigger CSR, or returns `nil` when this hart does not have it
    /// (an illegal instruction).
    public func read(_ csr: CSR) -> UInt64? {
        let c = configuration
        guard c.count > 0 else { return nil }
        switch csr.rawValue {
        case CSR.tselect.rawValue: return UInt64(select)
        case CSR.tdata1.rawValue: return data1[select]
        case CSR.tdata2.rawValue: return data2[select]
        case CSR.tdata3.rawValue: return 0
        case CSR.tinfo.rawValue: return c.hasInfo ? UInt64(c.types(of: select)) : nil
        case CSR.tcontrol.rawValue: return c.hasControl ? control : nil
        case CSR.mcontext.rawValue: return c.hasMachineContext ? machineContext : nil
        default: return nil
        }
    }

    /// Writes a trigger CSR that ``read(_:)`` found, with the WARL rules above.
    public mutating func write(_ csr: CSR, _ value: UInt64) {
        guard read(csr) != nil else { return }
        switch csr.rawValue {
        case CSR.tselect.rawValue:
            if value < UInt64(configuration.count) { select = Int(value) }
        case CSR.tdata1.rawValue:
            guard let legal = legalizeData1(value, trigger: select), legal != data1[select] else { return }
            data1[select] = legal
            generation &+= 1
        case CSR.tdata2.rawValue:
            guard value != data2[select] else { return }
            data2[select] = value
            generation &+= 1
        case CSR.tcontrol.rawValue:
            setControl(value & TriggerControl.writable)
        case CSR.mcontext.rawValue:
            machineContext = value & configuration.machineContextWritable
        default:
            // tdata3 and tinfo: writes are ignored.
            break
        }
    }

    /// The `tdata1` a write of `value` leaves in trigger `index`, or `nil`
    /// when the write is dropped (its `type` is not one the trigger supports).
    public func legalizeData1(_ value: UInt64, trigger index: Int) -> UInt64? {
        let type = TriggerData1.type(of: value)
        guard configuration.supports(type, trigger: index) else { return nil }
        let hit = configuration.hitWritable
        switch type {
        case TriggerType.mcontrol:
            var kept = value & (MatchControl.writable | (hit ? MatchControl.hit : 0))
            if !TriggerSize.isLegal(MatchControl.size(of: value)) {
                kept &= ~(MatchControl.sizelo | MatchControl.sizehi)
            }
            return type << 60 | kept
        case TriggerType.mcontrol6:
            var kept = value & (MatchControl6.writable | (hit ? MatchControl6.hit : 0))
            if !TriggerSize.isLegal(MatchControl6.size(of: value)) { kept &= ~MatchControl6.size }
            return type << 60 | kept
        default:
            // disabled: "the remaining bits ... are ignored".
            return type << 60
        }
    }

    /// Records the `hit` bit the real trigger `index` reports in
    /// `physical` (its real `tdata1`): the hardware sets it when the
    /// trigger fires, in either world. Nothing else of the real value is
    /// the firmware's (the privilege bits are translated,
    /// ``physicalData1(_:for:)``). Does not advance ``generation``: the
    /// real trigger already holds the bit.
    public mutating func absorbHit(physical: UInt64, trigger index: Int) {
        guard configuration.hitWritable, index >= 0, index < configuration.count else { return }
        let value = data1[index]
        guard TriggerData1.type(of: physical) == TriggerData1.type(of: value) else { return }
        switch TriggerData1.type(of: value) {
        case TriggerType.mcontrol: data1[index] = value | (physical & MatchControl.hit)
        case TriggerType.mcontrol6: data1[index] = value | (physical & MatchControl6.hit)
        default: break
        }
    }

    /// `tcontrol` on a trap into M-mode: `mpte <- mte`, `mte <- 0`
    /// ("Trigger Control (tcontrol)"). Nothing without `tcontrol`.
    @inlinable
    public mutating func enterMachineTrap() {
        guard configuration.hasControl else { return }
        setControl(control & TriggerControl.mte != 0 ? TriggerControl.mpte : 0)
    }

    /// `tcontrol` on `mret`: `mte <- mpte`.
    @inlinable
    public mutating func returnFromMachineTrap() {
        guard configuration.hasControl else { return }
        let mte = control & TriggerControl.mpte != 0 ? TriggerControl.mte : 0
        setControl(control & ~TriggerControl.mte | mte)
    }

    /// Whether triggers with `action = 0` fire in (virtual) M-mode: always,
    /// unless `tcontrol` exists and `mte = 0`.
    @inlinable
    public var firesInMachineMode: Bool {
        !configuration.hasControl || control & TriggerControl.mte != 0
    }

    @usableFromInline
    mutating func setControl(_ value: UInt64) {
        if (value ^ control) & TriggerControl.mte != 0 { generation &+= 1 }
        control = value
    }
}

extension CSR {
    /// `tselect`: which trigger `tdata1`…`tinfo` show (Sdtrig).
    public static let tselect = CSR(0x7A0)
    /// `tdata1`: the selected trigger's type and control fields.
    public static let tdata1 = CSR(0x7A1)
    /// `tdata2`: the selected trigger's compare value.
    public static let tdata2 = CSR(0x7A2)
    /// `tdata3`: the selected trigger's extra match conditions (`textra`).
    public static let tdata3 = CSR(0x7A3)
    /// `tinfo`: the types the selected trigger supports.
    public static let tinfo = CSR(0x7A4)
    /// `tcontrol`: M-mode trigger enable.
    public static let tcontrol = CSR(0x7A5)
    /// `mcontext`: the machine context triggers may compare.
    public static let mcontext = CSR(0x7A8)
}
