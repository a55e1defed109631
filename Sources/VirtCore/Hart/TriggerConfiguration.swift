/// The debug trigger module of the real hart, as the platform measured it at
/// boot (RISC-V Debug Specification, Sdtrig, "Trigger Module Registers").
///
/// The virtual hart offers the firmware the same triggers: the count, and per
/// trigger the types `tinfo` reports, less those the monitor cannot
/// virtualize (``TriggerType/virtualizable``). The default has no trigger, so
/// `tselect` and the other trigger CSRs are illegal instructions.
public struct TriggerConfiguration: Sendable, Equatable {
    /// The most triggers a virtual hart keeps (the storage is fixed, nothing
    /// is allocated); a probe stops counting here.
    public static let maximumCount = 8

    /// The number of triggers: `tselect` accepts `0..<count`.
    public private(set) var count: Int = 0
    /// Per trigger, `tinfo.info` as the real hart reports it (bit N = type N).
    @usableFromInline var info: InlineArray<8, UInt16> = InlineArray(repeating: 0)
    /// Per trigger, the `tdata1.type` it has at reset.
    @usableFromInline var resetType: InlineArray<8, UInt8> = InlineArray(repeating: 0)
    /// `tinfo` exists. Without it (Sdtrig: optional when `tdata1.type` is
    /// not writable) software reads the one type from `tdata1`.
    public var hasInfo: Bool = false
    /// `tcontrol` exists (its `mte`/`mpte` gate M-mode triggers).
    public var hasControl: Bool = false
    /// `mcontext` exists, with these writable bits.
    public var hasMachineContext: Bool = false
    public var machineContextWritable: UInt64 = 0
    /// The `hit` bit of the match controls can be written (and is set by
    /// the hardware when a trigger fires). QEMU 7.2 hard-wires it to 0.
    public var hitWritable: Bool = false

    /// No trigger module.
    public init() {}

    /// No trigger module: the trigger CSRs are illegal instructions.
    public static let none = TriggerConfiguration()

    /// QEMU 7.2's default hart (`debug=true`, target/riscv/debug.c):
    /// `RV_MAX_TRIGGERS` = 2 triggers, each of type 2 at reset, `tinfo` =
    /// types 2 and 6 (`tinfo_csr_read`), no `tcontrol`, no `mcontext`, `hit`
    /// hard-wired to 0.
    public static let qemuRV64: TriggerConfiguration = {
        var c = TriggerConfiguration()
        c.hasInfo = true
        for _ in 0..<2 { _ = c.addTrigger(types: 1 << 2 | 1 << 6, resetType: 2) }
        return c
    }()

    /// Adds the next trigger with `types` (`tinfo.info` of the real one) and
    /// the type its `tdata1` holds at reset. Returns false, adding nothing,
    /// when the storage is full or the trigger has no virtualizable type
    /// (triggers must be contiguous from 0, so a probe stops there). A reset
    /// type the monitor does not virtualize becomes the trigger's lowest
    /// virtualizable one.
    public mutating func addTrigger(types: UInt16, resetType: UInt8) -> Bool {
        let usable = types & TriggerType.virtualizable
        guard count < TriggerConfiguration.maximumCount, usable != 0 else { return false }
        info[count] = types
        let reset = resetType < 16 && (usable >> UInt16(resetType)) & 1 == 1
            ? resetType : UInt8(usable.trailingZeroBitCount)
        self.resetType[count] = reset
        count += 1
        return true
    }

    /// The types trigger `index` offers the firmware (its `tinfo.info`):
    /// the real ones the monitor virtualizes.
    @inlinable
    public func types(of index: Int) -> UInt16 {
        index >= 0 && index < count ? info[index] & TriggerType.virtualizable : 0
    }

    /// The `tdata1.type` trigger `index` holds at reset.
    @inlinable
    public func resetType(of index: Int) -> UInt64 {
        index >= 0 && index < count ? UInt64(resetType[index]) : TriggerType.none
    }

    /// Whether trigger `index` can take `type`.
    @inlinable
    public func supports(_ type: UInt64, trigger index: Int) -> Bool {
        type < 16 && (types(of: index) >> UInt16(type)) & 1 == 1
    }

    public static func == (a: TriggerConfiguration, b: TriggerConfiguration) -> Bool {
        guard a.count == b.count, a.hasInfo == b.hasInfo, a.hasControl == b.hasControl,
              a.hasMachineContext == b.hasMachineContext,
              a.machineContextWritable == b.machineContextWritable,
              a.hitWritable == b.hitWritable else { return false }
        for i in 0..<a.count where a.info[i] != b.info[i] || a.resetType[i] != b.resetType[i] {
            return false
        }
        return true
    }
}
