import PropertyBased
import Testing
import VirtCore

// MARK: - Reference

/// A trigger module written field by field from the Sdtrig register
/// descriptions (RISC-V Debug Specification, "Trigger Module Registers":
/// `tselect`, `tdata1`, `mcontrol`, `mcontrol6`, `tinfo`, `tcontrol`) and
/// the rules QEMU 7.2's target/riscv/debug.c applies to them, stated as
/// data: each `tdata1` is decoded into named fields and encoded back from a
/// per-type layout table. Independent of `TriggerModule`'s mask arithmetic.
struct ReferenceTriggers {
    /// One field of a `tdata1` layout: its bit position and width.
    struct Field {
        var shift: UInt64
        var width: UInt64
        func get(_ v: UInt64) -> UInt64 { (v >> shift) & ((1 << width) - 1) }
        func put(_ x: UInt64) -> UInt64 { (x & ((1 << width) - 1)) << shift }
    }

    /// The fields QEMU 7.2 keeps per type, as (name, field) rows from the
    /// register figures. Every other bit of `tdata1` reads 0 there.
    static let layout: [UInt64: [String: Field]] = [
        2: ["load": Field(shift: 0, width: 1), "store": Field(shift: 1, width: 1),
            "execute": Field(shift: 2, width: 1), "u": Field(shift: 3, width: 1),
            "s": Field(shift: 4, width: 1), "m": Field(shift: 6, width: 1),
            "sizelo": Field(shift: 16, width: 2), "hit": Field(shift: 20, width: 1),
            "sizehi": Field(shift: 21, width: 2)],
        6: ["load": Field(shift: 0, width: 1), "store": Field(shift: 1, width: 1),
            "execute": Field(shift: 2, width: 1), "u": Field(shift: 3, width: 1),
            "s": Field(shift: 4, width: 1), "m": Field(shift: 6, width: 1),
            "size": Field(shift: 16, width: 4), "hit": Field(shift: 22, width: 1),
            "vu": Field(shift: 23, width: 1), "vs": Field(shift: 24, width: 1)],
        15: [:],
    ]
    /// Fields a write never sets (`hit` only where the hart implements it).
    static let hardwareOnly: Set<String> = ["hit"]

    /// Decoded `tdata1`: the type and the named fields.
    struct Control: Equatable {
        var type: UInt64
        var fields: [String: UInt64]

        subscript(name: String) -> UInt64 {
            get { fields[name] ?? 0 }
            set { fields[name] = newValue }
        }

        /// The access size: `sizehi:sizelo` for type 2, `size` for type 6.
        var size: UInt64 { type == 2 ? self["sizehi"] << 2 | self["sizelo"] : self["size"] }

        static func decode(_ v: UInt64) -> Control {
            let type = v >> 60
            var c = Control(type: type, fields: [:])
            for (name, field) in ReferenceTriggers.layout[type] ?? [:] { c.fields[name] = field.get(v) }
            return c
        }

        func encode() -> UInt64 {
            var v = type << 60
            for (name, field) in ReferenceTriggers.layout[type] ?? [:] { v |= field.put(self[name]) }
            return v
        }
    }

    struct Options {
        var types: [Set<UInt64>]
        var resetTypes: [UInt64]
        var hasInfo = true
        var hasControl = false
        var machineContextMask: UInt64? = nil
        var hitWritable = false
    }

    let options: Options
    var controls: [Control]
    var addresses: [UInt64]
    var tselect = 0
    var mte = false, mpte = false
    var machineContext: UInt64 = 0

    init(_ o: Options) {
        options = o
        controls = o.resetTypes.map { Control(type: $0, fields: [:]) }
        addresses = Array(repeating: 0, count: o.types.count)
    }

    var count: Int { options.types.count }

    /// QEMU 7.2's `access_size`: encodings 0, 1, 2, 3 and 5 exist.
    static let sizes: Set<UInt64> = [0, 1, 2, 3, 5]

    func read(_ csr: UInt16) -> UInt64? {
        guard count > 0 else { return nil }
        switch csr {
        case 0x7A0: return UInt64(tselect)
        case 0x7A1: return controls[tselect].encode()
        case 0x7A2: return addresses[tselect]
        case 0x7A3: return 0
        case 0x7A4:
            guard options.hasInfo else { return nil }
            return options.types[tselect].reduce(0) { $0 | 1 << $1 }
        case 0x7A5:
            guard options.hasControl else { return nil }
            return (mte ? 1 << 3 : 0) | (mpte ? 1 << 7 : 0)
        case 0x7A8:
            return options.machineContextMask.map { _ in machineContext }
        default: return nil
        }
    }

    mutating func write(_ csr: UInt16, _ value: UInt64) {
        switch csr {
        case 0x7A0:
            if value < UInt64(count) { tselect = Int(value) }
        case 0x7A1:
            let type = value >> 60
            guard options.types[tselect].contains(type) else { return }
            var written = Control.decode(value)
            for name in Self.hardwareOnly where !options.hitWritable { written[name] = 0 }
            if !Self.sizes.contains(written.size) {
                for name in ["sizelo", "sizehi", "size"] where written.fields[name] != nil { written[name] = 0 }
            }
            controls[tselect] = written
        case 0x7A2:
            addresses[tselect] = value
        case 0x7A5:
            if options.hasControl { mte = value >> 3 & 1 == 1; mpte = value >> 7 & 1 == 1 }
        case 0x7A8:
            if let mask = options.machineContextMask { machineContext = value & mask }
        default:
            break
        }
    }

    /// "When any trap into M-mode is taken, mpte is set to the value of mte"
    /// and mte to 0; "when mret is executed, mte is set to the value of mpte".
    mutating func trapIntoMachineMode() {
        guard options.hasControl else { return }
        mpte = mte
        mte = false
    }

    mutating func returnFromMachineMode() {
        guard options.hasControl else { return }
        mte = mpte
    }

    /// Whether trigger `i` is armed for `mode` (its privilege bit; in M also
    /// `tcontrol.mte` where `tcontrol` exists).
    func armed(_ i: Int, in mode: PrivilegeMode) -> Bool {
        let c = controls[i]
        switch mode {
        case .machine: return c["m"] == 1 && (!options.hasControl || mte)
        case .supervisor: return c["s"] == 1
        case .user: return c["u"] == 1
        }
    }
}

// MARK: - Configurations

enum TriggerHarts {
    /// QEMU 7.2's hart with its two triggers.
    static let qemu: HartConfiguration = {
        var c = HartConfiguration.qemuRV64()
        c.triggers = .qemuRV64
        return c
    }()

    static let qemuReference = ReferenceTriggers.Options(types: [[2, 6], [2, 6]], resetTypes: [2, 2])

    /// A richer module: four triggers with different types, `hit`,
    /// `tcontrol` and a 13-bit `mcontext`.
    static let rich: HartConfiguration = {
        var c = HartConfiguration.qemuRV64()
        var t = TriggerConfiguration()
        t.hasInfo = true
        _ = t.addTrigger(types: 1 << 2, resetType: 2)
        _ = t.addTrigger(types: 1 << 6 | 1 << 3, resetType: 3)  // icount is not offered: resets to 6
        _ = t.addTrigger(types: 1 << 2 | 1 << 6 | 1 << 15, resetType: 15)
        _ = t.addTrigger(types: 1 << 6 | 1 << 15, resetType: 6)
        t.hasControl = true
        t.hasMachineContext = true
        t.machineContextWritable = 0x1FFF
        t.hitWritable = true
        c.triggers = t
        return c
    }()

    static let richReference = ReferenceTriggers.Options(
        types: [[2], [6], [2, 6, 15], [6, 15]], resetTypes: [2, 6, 15, 6],
        hasControl: true, machineContextMask: 0x1FFF, hitWritable: true)
}

// MARK: - Behaviour

@Suite struct TriggerModuleTests {
    static let tinfo: UInt16 = 0x7A4, tdata1: UInt16 = 0x7A1, tdata2: UInt16 = 0x7A2, tdata3: UInt16 = 0x7A3
    static let tcontrol: UInt16 = 0x7A5, mcontext: UInt16 = 0x7A8
    static let all: [UInt16] = [N.tselect, tdata1, tdata2, tdata3, tinfo, tcontrol, mcontext]

    /// `tdata1` of type 2 (`mcontrol`) and 6 (`mcontrol6`) with `bits`.
    static func mcontrol(_ bits: UInt64) -> UInt64 { 2 << 60 | bits }
    static func mcontrol6(_ bits: UInt64) -> UInt64 { 6 << 60 | bits }
    // mcontrol/mcontrol6 bits from the register figures.
    static let load = B.bit(0), store = B.bit(1), execute = B.bit(2), u = B.bit(3), s = B.bit(4), m = B.bit(6)
    static let vu = B.bit(23), vs = B.bit(24)

    @Test(arguments: all)
    func everyTriggerCSRIsIllegalWithoutATriggerModule(csr: UInt16) {
        var f = HartFixture(TestHarts.qemu)
        #expect(f.read(csr) == nil)
        f.expectIllegal(Encode.csrrw(rd: 5, csr: csr, rs1: 6))
    }

    @Test(arguments: [PrivilegeMode.supervisor, .user])
    func triggerCSRsAreMachineModeOnly(mode: PrivilegeMode) {
        var f = HartFixture(TriggerHarts.qemu, mode: mode)
        for csr in [N.tselect, Self.tdata1, Self.tdata2, Self.tdata3, Self.tinfo] {
            f.expectIllegal(Encode.csrrs(rd: 5, csr: csr, rs1: 0))
        }
    }

    @Test func qemuHasTwoTriggersOfTypeTwoAtReset() {
        var f = HartFixture(TriggerHarts.qemu)
        #expect(f.read(N.tselect) == 0)
        for i: UInt64 in 0..<2 {
            f.write(N.tselect, i)
            #expect(f.read(Self.tdata1) == 0x2000_0000_0000_0000, "type 2, nothing enabled")
            #expect(f.read(Self.tdata2) == 0)
            #expect(f.read(Self.tdata3) == 0)
            #expect(f.read(Self.tinfo) == 0x44, "types 2 and 6")
        }
    }

    @Test func tselectKeepsItsIndexWhenWrittenOutOfRange() {
        var f = HartFixture(TriggerHarts.qemu)
        f.write(N.tselect, 1)
        #expect(f.read(N.tselect) == 1)
        for bad: UInt64 in [2, 3, 0x8000_0000_0000_0000, ~0] {
            f.write(N.tselect, bad)
            #expect(f.read(N.tselect) == 1, "QEMU 7.2 ignores \(hex(bad))")
        }
    }

    @Test func tcontrolAndMcontextDoNotExistOnQEMU() {
        var f = HartFixture(TriggerHarts.qemu)
        #expect(f.read(Self.tcontrol) == nil)
        #expect(f.read(Self.mcontext) == nil)
        #expect(f.read(0x7A6) == nil && f.read(0x7AA) == nil)
    }

    @Test func tinfoAndTdata3IgnoreWritesWithoutTrapping() {
        var f = HartFixture(TriggerHarts.qemu)
        #expect(f.write(Self.tinfo, ~0) == 0x44)
        #expect(f.read(Self.tinfo) == 0x44)
        #expect(f.write(Self.tdata3, ~0) == 0)
        #expect(f.read(Self.tdata3) == 0)
    }

    @Test func mcontrolKeepsTheAccessKindsThePrivilegesAndALegalSize() {
        var f = HartFixture(TriggerHarts.qemu)
        f.write(Self.tdata1, ~0 & ~(0xF << 60) | 2 << 60)
        // sizehi:sizelo = 0b11_11 = 15 is not a size QEMU knows: size 0.
        #expect(f.read(Self.tdata1) == Self.mcontrol(Self.m | Self.s | Self.u | Self.execute | Self.store | Self.load))
        f.write(Self.tdata1, Self.mcontrol(1 << 21 | 1 << 16 | Self.execute))  // size 5 = 64-bit
        #expect(f.read(Self.tdata1) == Self.mcontrol(1 << 21 | 1 << 16 | Self.execute))
        f.write(Self.tdata1, Self.mcontrol(1 << 22 | Self.load))  // size 8
        #expect(f.read(Self.tdata1) == Self.mcontrol(Self.load))
    }

    @Test func dmodeActionAndTheOtherControlFieldsStayZero() {
        var f = HartFixture(TriggerHarts.qemu)
        let dmode = B.bit(59), action: UInt64 = 1 << 12, chain = B.bit(11), match: UInt64 = 1 << 7
        let timing = B.bit(18), select = B.bit(19), hit = B.bit(20), maskmax: UInt64 = 0x3F << 53
        f.write(Self.tdata1, Self.mcontrol(dmode | action | chain | match | timing | select | hit | maskmax | Self.m))
        #expect(f.read(Self.tdata1) == Self.mcontrol(Self.m))
        f.write(Self.tdata1, Self.mcontrol6(dmode | action | B.bit(22) | B.bit(21) | B.bit(20) | Self.vs))
        #expect(f.read(Self.tdata1) == Self.mcontrol6(Self.vs))
    }

    @Test(arguments: [UInt64(0), 1, 3, 4, 5, 7, 8, 12, 14, 15])
    func aTypeTheTriggerDoesNotSupportDropsTheWholeWrite(type: UInt64) {
        var f = HartFixture(TriggerHarts.qemu)
        f.write(Self.tdata1, Self.mcontrol(Self.m | Self.execute))
        f.write(Self.tdata1, type << 60 | Self.u | Self.load)
        #expect(f.read(Self.tdata1) == Self.mcontrol(Self.m | Self.execute))
    }

    @Test func aWriteOfTypeSixTurnsTheTriggerIntoAnMcontrol6AndBack() {
        var f = HartFixture(TriggerHarts.qemu)
        f.write(Self.tdata1, Self.mcontrol6(Self.vu | 3 << 16 | Self.store | Self.s))
        #expect(f.read(Self.tdata1) == Self.mcontrol6(Self.vu | 3 << 16 | Self.store | Self.s))
        f.write(Self.tdata1, Self.mcontrol6(6 << 16 | Self.store))  // size 6 unknown: any size
        #expect(f.read(Self.tdata1) == Self.mcontrol6(Self.store))
        f.write(Self.tdata1, Self.mcontrol(Self.vu | Self.u))  // bit 23 means nothing in type 2
        #expect(f.read(Self.tdata1) == Self.mcontrol(Self.u))
    }

    @Test func tdata2HoldsAnyValuePerTrigger() {
        var f = HartFixture(TriggerHarts.qemu)
        f.write(Self.tdata2, 0xFFFF_FFFF_FFFF_FFFF)
        f.write(N.tselect, 1)
        f.write(Self.tdata2, 0x8020_0000)
        #expect(f.read(Self.tdata2) == 0x8020_0000)
        f.write(N.tselect, 0)
        #expect(f.read(Self.tdata2) == ~0)
    }

    @Test func setAndClearOperateOnTheLegalValue() {
        var f = HartFixture(TriggerHarts.qemu)
        #expect(f.set(Self.tdata1, Self.m | Self.execute | Self.chain) == Self.mcontrol(0))
        #expect(f.read(Self.tdata1) == Self.mcontrol(Self.m | Self.execute))
        #expect(f.clear(Self.tdata1, Self.m) == Self.mcontrol(Self.m | Self.execute))
        #expect(f.read(Self.tdata1) == Self.mcontrol(Self.execute))
        // Clearing the type bits writes type 0: dropped.
        f.clear(Self.tdata1, 0xF << 60)
        #expect(f.read(Self.tdata1) == Self.mcontrol(Self.execute))
    }
    static let chain = B.bit(11)

    // MARK: Translation

    static func module(_ writes: [(UInt16, UInt64)], on c: HartConfiguration = TriggerHarts.qemu) -> TriggerModule {
        var t = TriggerModule(configuration: c.triggers)
        for (csr, value) in writes { t.write(CSR(csr), value) }
        return t
    }

    @Test func aTriggerForMachineModeFiresOnTheFirmwareThroughU() {
        let t = Self.module([(Self.tdata1, Self.mcontrol(Self.m | Self.execute)), (Self.tdata2, 0x8010_0000)])
        #expect(t.physicalData1(0, for: .firmware) == Self.mcontrol(Self.u | Self.execute))
        #expect(t.physicalData1(0, for: .payload) == Self.mcontrol(Self.execute), "no privilege bit: never fires")
        #expect(t.physicalData2(0) == 0x8010_0000)
        #expect(t.physicalData3(0) == 0)
    }

    @Test func supervisorAndUserTriggersFireOnlyOnThePayload() {
        let t = Self.module([(Self.tdata1, Self.mcontrol(Self.s | Self.u | Self.store | Self.load))])
        #expect(t.physicalData1(0, for: .firmware) == Self.mcontrol(Self.store | Self.load))
        #expect(t.physicalData1(0, for: .payload) == Self.mcontrol(Self.s | Self.u | Self.store | Self.load))
    }

    @Test func mcontrol6KeepsItsVirtualizationBitsForThePayloadOnly() {
        let all = Self.vs | Self.vu | Self.m | Self.s | Self.u | Self.execute | 5 << 16
        let t = Self.module([(Self.tdata1, Self.mcontrol6(all))])
        #expect(t.physicalData1(0, for: .firmware) == Self.mcontrol6(Self.u | Self.execute | 5 << 16))
        #expect(t.physicalData1(0, for: .payload)
                == Self.mcontrol6(Self.vs | Self.vu | Self.s | Self.u | Self.execute | 5 << 16))
    }

    @Test func theGenerationAdvancesOnlyWhenTheRealTriggersMustChange() {
        var t = TriggerModule(configuration: TriggerConfiguration.qemuRV64)
        let g0 = t.generation
        t.write(.tdata1, Self.mcontrol(0))  // the reset value again
        t.write(.tdata2, 0)
        t.write(.tselect, 1)
        t.write(.tdata3, 5)
        t.write(.tinfo, 5)
        #expect(t.generation == g0)
        t.write(.tdata2, 0x1000)
        #expect(t.generation != g0)
        let g1 = t.generation
        t.write(.tdata1, Self.mcontrol(Self.m | Self.chain))
        #expect(t.generation != g1)
    }

    // MARK: hit, tcontrol, mcontext (a richer hart)

    @Test func theHitBitTheHardwareSetIsReadBackWithTheFirmwaresPrivileges() {
        var f = HartFixture(TriggerHarts.rich)
        f.write(Self.tdata1, Self.mcontrol(Self.m | Self.execute))
        let physical = f.hart.triggers.physicalData1(0, for: .firmware) | B.bit(20)
        f.hart.triggers.absorbHit(physical: physical, trigger: 0)
        #expect(f.read(Self.tdata1) == Self.mcontrol(B.bit(20) | Self.m | Self.execute), "M, not U")
        f.clear(Self.tdata1, B.bit(20))
        #expect(f.read(Self.tdata1) == Self.mcontrol(Self.m | Self.execute), "the firmware clears hit")
    }

    @Test func qemuNeverReportsAHit() {
        var t = TriggerModule(configuration: TriggerConfiguration.qemuRV64)
        t.write(.tdata1, Self.mcontrol(Self.m | Self.execute))
        t.absorbHit(physical: Self.mcontrol(B.bit(20) | Self.u | Self.execute), trigger: 0)
        #expect(t.data1(0) == Self.mcontrol(Self.m | Self.execute))
    }

    @Test func perTriggerTypesAndResetTypesFollowTheConfiguration() {
        var f = HartFixture(TriggerHarts.rich)
        let expected: [(UInt64, UInt64)] = [(0x4, 2 << 60), (0x40, 6 << 60), (0x8044, 15 << 60), (0x8040, 6 << 60)]
        for (i, (info, data1)) in expected.enumerated() {
            f.write(N.tselect, UInt64(i))
            #expect(f.read(Self.tinfo) == info, "icount (type 3) is not offered")
            #expect(f.read(Self.tdata1) == data1)
        }
        f.write(N.tselect, 4)
        #expect(f.read(N.tselect) == 3)
    }

    @Test func tcontrolMteGatesMachineModeTriggersAcrossTrapsAndMret() {
        var f = HartFixture(TriggerHarts.rich)
        f.write(Self.tdata1, Self.mcontrol(Self.m | Self.execute))
        #expect(f.hart.triggers.physicalData1(0, for: .firmware) == Self.mcontrol(Self.execute), "mte = 0 at reset")
        f.write(Self.tcontrol, ~0)
        #expect(f.read(Self.tcontrol) == 0x88)
        #expect(f.hart.triggers.physicalData1(0, for: .firmware) == Self.mcontrol(Self.u | Self.execute))
        f.write(Self.tcontrol, 0x08)
        f.run(Encode.ecall)  // a trap into M: mpte <- mte, mte <- 0
        #expect(f.hart.triggers.control == 0x80)
        #expect(f.hart.triggers.physicalData1(0, for: .firmware) == Self.mcontrol(Self.execute))
        f.run(Encode.mret)  // mte <- mpte
        #expect(f.hart.triggers.control == 0x88)
    }

    @Test func mcontextKeepsItsImplementedBits() {
        var f = HartFixture(TriggerHarts.rich)
        f.write(Self.mcontext, ~0)
        #expect(f.read(Self.mcontext) == 0x1FFF)
    }

    @Test func theProbeStopsAtATriggerItCannotVirtualize() {
        var t = TriggerConfiguration()
        let first = t.addTrigger(types: 1 << 2, resetType: 2)
        let icount = t.addTrigger(types: 1 << 3 | 1 << 4, resetType: 3)
        #expect(first && !icount, "icount and itrigger only: not offered")
        #expect(t.count == 1)
        for _ in 1..<TriggerConfiguration.maximumCount {
            let added = t.addTrigger(types: 1 << 6, resetType: 6)
            #expect(added)
        }
        let ninth = t.addTrigger(types: 1 << 6, resetType: 6)
        #expect(!ninth, "the storage is full")
    }
}

// MARK: - Properties

@Suite("Trigger module property tests against the reference")
struct TriggerModulePropertyTests {
    static let cases = 3_000

    enum Event: Sendable, CustomStringConvertible {
        case csr(Encode.CSRKind, csr: UInt16, source: UInt8, value: UInt64)
        case mode(PrivilegeMode)
        case trap, mret
        case hit(trigger: Int)

        var description: String {
            switch self {
            case .csr(let k, let n, let s, let v):
                k.isImmediate ? "\(k) \(hex(n)), \(s)" : "\(k) \(hex(n)), x\(s)=\(hex(v))"
            case .mode(let m): "mode=\(m)"
            case .trap: "trap"
            case .mret: "mret"
            case .hit(let i): "hit(\(i))"
            }
        }
    }

    typealias RNG = any SeededRandomNumberGenerator

    /// `tdata1`-shaped values: a type the triggers know or not, the
    /// privilege and access bits, sizes legal and not, stray control bits.
    static func value(_ rng: inout RNG) -> UInt64 {
        let r = rng.next()
        switch rng.next() % 8 {
        case 0: return r
        case 1: return rng.next() % 6
        case 2: return ~0
        case 3: return 0
        default:
            let types: [UInt64] = [2, 6, 15, 2, 6, 0, 3, rng.next() % 16]
            return types[Int(rng.next() % 8)] << 60 | (r & 0x01FF_FFFF) | (rng.next() % 4 == 0 ? 1 << 59 : 0)
        }
    }

    static func program(hitEvents: Bool) -> Generator<[Event], Shrink.None<[Event]>> {
        Generator { rng in
            var events: [Event] = []
            for _ in 0..<(1 + Int(rng.next() % 24)) {
                switch rng.next() % 24 {
                case 0: events.append(.mode([PrivilegeMode.machine, .supervisor, .user][Int(rng.next() % 3)]))
                case 1: events.append(.trap)
                case 2: events.append(.mret)
                case 3 where hitEvents: events.append(.hit(trigger: Int(rng.next() % 4)))
                default:
                    let kind = Encode.CSRKind.allCases[Int(rng.next() % 6)]
                    let csr = 0x7A0 + UInt16(rng.next() % 16)
                    let v = value(&rng)
                    let source: UInt8 = kind.isImmediate ? UInt8(v & 31) : (rng.next() % 8 == 0 ? 0 : 7)
                    events.append(.csr(kind, csr: csr, source: source, value: v))
                }
            }
            return events
        }
    }

    /// Decodes a real `tdata1` with the reference's layout; nil when it
    /// carries a bit the layout does not have (dmode, action, ...).
    static func decodeExactly(_ v: UInt64) -> ReferenceTriggers.Control? {
        let c = ReferenceTriggers.Control.decode(v)
        return c.encode() == v ? c : nil
    }

    /// The real triggers of each world against the reference's privileges:
    /// in the firmware's world the real U-mode is the virtual M-mode and
    /// nothing fires in real S or M; in the payload's world real S and U
    /// fire as the virtual S and U, real M (the monitor) never. Everything
    /// else of the trigger is the firmware's.
    static func checkPhysical(_ t: TriggerModule, _ ref: ReferenceTriggers) -> String? {
        for i in 0..<ref.count {
            let virtual = ref.controls[i]
            for world in [World.firmware, .payload] {
                guard let real = decodeExactly(t.physicalData1(i, for: world)) else {
                    return "trigger \(i) \(world): \(hex(t.physicalData1(i, for: world))) has bits outside the layout"
                }
                let realU = real["u"] == 1, realS = real["s"] == 1, realM = real["m"] == 1
                let fires: (Bool, Bool, Bool) = world == .firmware
                    ? (ref.armed(i, in: .machine), false, false)
                    : (ref.armed(i, in: .user), ref.armed(i, in: .supervisor), false)
                if (realU, realS, realM) != fires { return "trigger \(i) \(world): U/S/M \((realU, realS, realM)) != \(fires)" }
                var rest = real, expected = virtual
                for name in ["u", "s", "m", "vu", "vs"] { rest.fields[name] = nil; expected.fields[name] = nil }
                if world == .payload, virtual.type == 6, (real["vu"], real["vs"]) != (virtual["vu"], virtual["vs"]) {
                    return "trigger \(i) payload: VU/VS differ"
                }
                if world == .firmware, real["vu"] | real["vs"] != 0 { return "trigger \(i) firmware: VU/VS set" }
                if rest.encode() != expected.encode() {
                    return "trigger \(i) \(world): \(hex(rest.encode())) != \(hex(expected.encode()))"
                }
            }
            if t.physicalData2(i) != ref.addresses[i] { return "trigger \(i): tdata2" }
        }
        return nil
    }

    static func run(_ events: [Event], _ c: HartConfiguration, _ o: ReferenceTriggers.Options) -> String? {
        var f = HartFixture(c)
        var ref = ReferenceTriggers(o)
        for (step, event) in events.enumerated() {
            let generation = f.hart.triggers.generation
            let before = (0..<ref.count).map { (f.hart.triggers.physicalData1($0, for: .firmware),
                                                f.hart.triggers.physicalData1($0, for: .payload),
                                                f.hart.triggers.physicalData2($0)) }
            switch event {
            case .mode(let m):
                f.mode = m
            case .trap:
                f.mode = .machine
                f.run(Encode.ecall)
                ref.trapIntoMachineMode()
            case .mret:
                f.mode = .machine
                f.run(Encode.mret)
                ref.returnFromMachineMode()
            case .hit(let i):
                // The real trigger reports a hit: read back only where hit exists.
                let physical = f.hart.triggers.physicalData1(i, for: .firmware) | 1 << 20 | 1 << 22
                f.hart.triggers.absorbHit(physical: physical, trigger: i)
                if o.hitWritable, ref.controls[i].type != 15 { ref.controls[i]["hit"] = 1 }
            case .csr(let kind, let n, let source, let value):
                if !kind.isImmediate { f.regs[Int(source)] = value }
                let operand = kind.isImmediate ? UInt64(source) : (source == 0 ? 0 : value)
                let writes = kind == .csrrw || kind == .csrrwi || source != 0
                let expected: UInt64? = f.mode == .machine ? ref.read(n) : nil
                if let old = expected, writes {
                    switch kind {
                    case .csrrw, .csrrwi: ref.write(n, operand)
                    case .csrrs, .csrrsi: ref.write(n, old | operand)
                    case .csrrc, .csrrci: ref.write(n, old & ~operand)
                    }
                }
                // An illegal access traps into M-mode, which saves tcontrol.mte.
                if expected == nil { ref.trapIntoMachineMode() }
                let actual = f.csr(kind, n, source: source)
                if actual != expected {
                    return "step \(step) \(event): \(actual.map(hex) ?? "illegal") != reference \(expected.map(hex) ?? "illegal")"
                }
            }
            if let d = checkPhysical(f.hart.triggers, ref) { return "step \(step) \(event): \(d)" }
            let after = (0..<ref.count).map { (f.hart.triggers.physicalData1($0, for: .firmware),
                                               f.hart.triggers.physicalData1($0, for: .payload),
                                               f.hart.triggers.physicalData2($0)) }
            let changed = !before.elementsEqual(after) { $0 == $1 }
            if case .hit = event { continue }  // already in the real trigger: no reinstall needed
            if changed && f.hart.triggers.generation == generation {
                return "step \(step) \(event): the real triggers must change but the generation did not advance"
            }
        }
        return nil
    }

    @Test("random trigger CSR programs on QEMU 7.2's hart match the reference")
    func qemuProgramsMatchTheReference() async {
        await propertyCheck(count: Self.cases, input: Self.program(hitEvents: false)) { events in
            let d = Self.run(events, TriggerHarts.qemu, TriggerHarts.qemuReference)
            #expect(d == nil, "\(d ?? "")")
        }
    }

    @Test("random trigger CSR programs with hit, tcontrol and mcontext match the reference")
    func richProgramsMatchTheReference() async {
        await propertyCheck(count: Self.cases, input: Self.program(hitEvents: true)) { events in
            let d = Self.run(events, TriggerHarts.rich, TriggerHarts.richReference)
            #expect(d == nil, "\(d ?? "")")
        }
    }
}
