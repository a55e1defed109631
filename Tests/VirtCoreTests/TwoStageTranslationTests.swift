import PropertyBased
import Testing
import VirtCore

/// Physical memory as 64-bit words (absent words read 0), with pages that
/// refuse to be read, and a log of the addresses read.
private struct WordMemory: PhysicalMemoryReader {
    var words: [UInt64: UInt64] = [:]
    var unreadablePages: Set<UInt64> = []
    var reads: [UInt64] = []

    mutating func read64(_ address: UInt64) -> UInt64? {
        reads.append(address)
        return peek(address)
    }

    func peek(_ address: UInt64) -> UInt64? {
        if unreadablePages.contains(address >> 12) { return nil }
        return words[address] ?? 0
    }
}

/// PTE bits ("Sv39 page table entry"): V R W X U G A D.
private enum PTEBit {
    static let v: UInt64 = 1, r: UInt64 = 2, w: UInt64 = 4, x: UInt64 = 8
    static let u: UInt64 = 0x10, a: UInt64 = 0x40, d: UInt64 = 0x80
    static let rwx = r | w | x
    static let ppnMask: UInt64 = (1 << 44) - 1
}

/// Page tables of both stages in one physical memory. G-stage tables are
/// physical (root 16 KiB aligned at `gRoot`); VS-stage tables live at guest
/// physical addresses from `vsRoot` on, each page mapped by the G stage at
/// `guest + hostOffset` with `tableFlags` when it is created.
private struct TwoStageTables {
    var memory = WordMemory()
    /// 0 (Bare), 3 (Sv39x4), 4 (Sv48x4), 5 (Sv57x4); 2 gives MODE 7, no scheme.
    let gLevels: Int
    /// 0 (Bare), 3 (Sv39), 4 (Sv48), 5 (Sv57).
    let vsLevels: Int
    let gRoot: UInt64 = 0x9000_0000
    var nextGTable: UInt64 = 0x9000_4000
    let vsRoot: UInt64 = 0x8000_0000
    var nextVSTable: UInt64 = 0x8000_1000
    static let hostOffset: UInt64 = 0x2000_0000
    /// The G-stage flags of VS-table pages created from now on.
    var tableFlags: UInt64

    init(gLevels: Int, vsLevels: Int,
         tableFlags: UInt64 = PTEBit.r | PTEBit.w | PTEBit.u | PTEBit.a | PTEBit.d) {
        self.gLevels = gLevels
        self.vsLevels = vsLevels
        self.tableFlags = tableFlags
        if vsLevels > 0 { mapTablePage(vsRoot) }
    }

    var hgatp: UInt64 { gLevels == 0 ? 0 : UInt64(gLevels + 5) << 60 | 0x15 << 44 | gRoot >> 12 }
    var vsatp: UInt64 { vsLevels == 0 ? 0 : UInt64(vsLevels + 5) << 60 | 0x7 << 44 | vsRoot >> 12 }

    /// Where a VS-table guest page lives in physical memory.
    func host(_ guest: UInt64) -> UInt64 { gLevels == 0 ? guest : guest + Self.hostOffset }

    static func index(_ address: UInt64, level: Int, top: Bool) -> UInt64 {
        (address >> (12 + 9 * UInt64(level))) & (top ? 0x7FF : 0x1FF)
    }

    /// The physical address of the G-stage PTE of `gpa` at `level`, creating
    /// the tables above it; `nil` when a leaf is in the way.
    mutating func gSlot(_ gpa: UInt64, level: Int) -> UInt64? {
        var table = gRoot
        var i = gLevels - 1
        while i > level {
            let slot = table + Self.index(gpa, level: i, top: i == gLevels - 1) * 8
            let pte = memory.words[slot] ?? 0
            if pte & PTEBit.v != 0 && pte & (PTEBit.r | PTEBit.x) == 0 {
                table = ((pte >> 10) & PTEBit.ppnMask) << 12
            } else if pte == 0 {
                let new = nextGTable
                nextGTable += 0x1000
                memory.words[slot] = (new >> 12) << 10 | PTEBit.v
                table = new
            } else {
                return nil
            }
            i -= 1
        }
        return table + Self.index(gpa, level: level, top: level == gLevels - 1) * 8
    }

    @discardableResult
    mutating func gSet(_ gpa: UInt64, level: Int = 0, pte: UInt64) -> Bool {
        guard let slot = gSlot(gpa, level: level) else { return false }
        memory.words[slot] = pte
        return true
    }

    mutating func gMap(_ gpa: UInt64, to pa: UInt64, level: Int = 0,
                       flags: UInt64 = PTEBit.rwx | PTEBit.u | PTEBit.a | PTEBit.d) {
        gSet(gpa, level: level, pte: (pa >> 12) << 10 | flags | PTEBit.v)
    }

    mutating func mapTablePage(_ guest: UInt64) {
        if gLevels > 0 { gMap(guest, to: host(guest), flags: tableFlags) }
    }

    /// The guest physical address of the VS-stage PTE of `gva` at `level`,
    /// creating the tables above it; `nil` when a leaf is in the way.
    mutating func vsSlot(_ gva: UInt64, level: Int) -> UInt64? {
        var table = vsRoot
        var i = vsLevels - 1
        while i > level {
            let slot = table + Self.index(gva, level: i, top: false) * 8
            let pte = memory.words[host(slot)] ?? 0
            if pte & PTEBit.v != 0 && pte & (PTEBit.r | PTEBit.x) == 0 {
                table = ((pte >> 10) & PTEBit.ppnMask) << 12
            } else if pte == 0 {
                let new = nextVSTable
                nextVSTable += 0x1000
                mapTablePage(new)
                memory.words[host(slot)] = (new >> 12) << 10 | PTEBit.v
                table = new
            } else {
                return nil
            }
            i -= 1
        }
        return table + Self.index(gva, level: level, top: false) * 8
    }

    @discardableResult
    mutating func vsSet(_ gva: UInt64, level: Int = 0, pte: UInt64) -> Bool {
        guard let slot = vsSlot(gva, level: level) else { return false }
        memory.words[host(slot)] = pte
        return true
    }

    mutating func vsMap(_ gva: UInt64, to gpa: UInt64, level: Int = 0,
                        flags: UInt64 = PTEBit.rwx | PTEBit.a | PTEBit.d) {
        vsSet(gva, level: level, pte: (gpa >> 12) << 10 | flags | PTEBit.v)
    }

    mutating func translate(_ gva: UInt64, _ access: TwoStageTranslation.Access = .load,
                            privilege: PrivilegeMode = .supervisor, mstatus: MStatus = [],
                            vsstatus: MStatus = []) -> TwoStageTranslation.Outcome {
        let inputs = TwoStageTranslation.Inputs(vsatp: vsatp, hgatp: hgatp, privilege: privilege,
                                                mstatus: mstatus, vsstatus: vsstatus)
        return TwoStageTranslation.translate(gva, access: access, inputs: inputs, memory: &memory)
    }

    func reference(_ gva: UInt64, _ access: TwoStageTranslation.Access = .load,
                   privilege: PrivilegeMode = .supervisor, mstatus: MStatus = [],
                   vsstatus: MStatus = []) -> TwoStageTranslation.Outcome {
        let memory = self.memory
        return ReferenceTwoStage.translate(gva, access: access, vsatp: vsatp, hgatp: hgatp, privilege: privilege,
                                           mstatus: mstatus, vsstatus: vsstatus, read: { memory.peek($0) })
    }

    /// A load: ``expect(_:_:privilege:mstatus:vsstatus:_:sourceLocation:)``.
    mutating func expect(_ gva: UInt64, privilege: PrivilegeMode = .supervisor, mstatus: MStatus = [],
                         vsstatus: MStatus = [], _ outcome: TwoStageTranslation.Outcome,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        expect(gva, .load, privilege: privilege, mstatus: mstatus, vsstatus: vsstatus, outcome,
               sourceLocation: sourceLocation)
    }

    /// Expects `outcome` from the walk and from the reference model.
    mutating func expect(_ gva: UInt64, _ access: TwoStageTranslation.Access,
                         privilege: PrivilegeMode = .supervisor, mstatus: MStatus = [], vsstatus: MStatus = [],
                         _ outcome: TwoStageTranslation.Outcome, sourceLocation: SourceLocation = #_sourceLocation) {
        let walked = translate(gva, access, privilege: privilege, mstatus: mstatus, vsstatus: vsstatus)
        let modelled = reference(gva, access, privilege: privilege, mstatus: mstatus, vsstatus: vsstatus)
        #expect(walked == outcome, sourceLocation: sourceLocation)
        #expect(modelled == outcome, "reference model", sourceLocation: sourceLocation)
    }
}

@Suite("Two-stage address translation")
struct TwoStageTranslationTests {
    private typealias T = TwoStageTables

    @Test func bareStagesTranslateNothing() {
        var t = T(gLevels: 0, vsLevels: 0)
        t.expect(0x1234_5678, .translated(physical: 0x1234_5678, guestPhysical: 0x1234_5678))
        t.expect(~0, .store, .translated(physical: ~0, guestPhysical: ~0))
        #expect(t.memory.reads.isEmpty)
    }

    /// VS stage Bare: the guest virtual address is the guest physical address,
    /// translated by the G stage alone; bits above Sv39x4's 41 must be zero.
    @Test func gStageAloneWithTheWidenedRoot() {
        var t = T(gLevels: 3, vsLevels: 0)
        t.gMap(0x8020_0000, to: 0xA020_0000)
        t.expect(0x8020_0ABC, .translated(physical: 0xA020_0ABC, guestPhysical: 0x8020_0ABC))
        // Bit 40 selects root entries 1024..2047 (the 16 KiB root).
        t.gMap(1 << 40 | 0x3000, to: 0xA030_0000)
        t.memory.reads = []
        t.expect(1 << 40 | 0x3010, .translated(physical: 0xA030_0010, guestPhysical: 1 << 40 | 0x3010))
        #expect(t.memory.reads.first == t.gRoot + 1024 * 8)
        // Bit 41 set: a guest-page fault, never a sign extension.
        t.expect(1 << 41 | 0x3010, .guestPageFault(guestPhysical: 1 << 41 | 0x3010, implicit: false))
        t.expect(~0 as UInt64, .guestPageFault(guestPhysical: ~0, implicit: false))
        let fault = TwoStageTranslation.Outcome.guestPageFault(guestPhysical: 1 << 41 | 0x3010, implicit: false)
            .fault(for: .load)
        #expect(fault == .init(code: 21, mtval2: (1 << 41 | 0x3010) >> 2, mtinst: 0))
    }

    /// Every VS-stage PTE is read at a guest physical address that the G
    /// stage translates first; then the access's own guest physical address.
    @Test func vsStagePTEsAreReadThroughTheGStage() {
        var t = T(gLevels: 3, vsLevels: 3)
        t.vsMap(0x4000_1000, to: 0x8040_0000)
        t.gMap(0x8040_0000, to: 0xB000_0000)
        t.memory.reads = []
        t.expect(0x4000_1010, .translated(physical: 0xB000_0010, guestPhysical: 0x8040_0010))
        #expect(t.memory.reads.count == 3 * 4 + 3, "three G-stage reads before each of three VS PTEs, three for the result")
        let vsSlot2 = t.vsRoot + 1 * 8
        #expect(t.memory.reads[3] == t.host(vsSlot2))
    }

    @Test func sv48AndSv57BothStages() {
        for (g, vs) in [(4, 4), (5, 5), (4, 5), (5, 3), (3, 5)] {
            var t = T(gLevels: g, vsLevels: vs)
            for gva: UInt64 in [0x12_3456_7000, 0xFFFF_FFFF_FFFF_F000] {
                t.vsMap(gva, to: 0x8123_4000)
                t.gMap(0x8123_4000, to: 0xC000_5000)
                t.expect(gva | 0x42, .translated(physical: 0xC000_5042, guestPhysical: 0x8123_4042))
            }
        }
    }

    /// G-stage leaves are checked as U-mode accesses: U = 1 is required.
    @Test func gStageLeavesNeedU() {
        var t = T(gLevels: 3, vsLevels: 3)
        t.vsMap(0x1000, to: 0x8050_0000)
        t.gMap(0x8050_0000, to: 0xB000_0000, flags: PTEBit.rwx | PTEBit.a | PTEBit.d)
        t.expect(0x1008, .guestPageFault(guestPhysical: 0x8050_0008, implicit: false))
        t.expect(0x1008, .store, .guestPageFault(guestPhysical: 0x8050_0008, implicit: false))
        #expect(TwoStageTranslation.Outcome.guestPageFault(guestPhysical: 0x8050_0008, implicit: false)
            .fault(for: .store) == .init(code: 23, mtval2: 0x8050_0008 >> 2, mtinst: 0))
    }

    /// A G-stage refusal of a VS-stage PTE read is a guest-page fault of the
    /// original access type at the PTE's guest physical address, with the
    /// "64-bit read for VS-stage address translation" pseudoinstruction.
    @Test func implicitGuestPageFaultsReportTheOriginalAccess() {
        var t = T(gLevels: 3, vsLevels: 3, tableFlags: PTEBit.r | PTEBit.w | PTEBit.a | PTEBit.d)  // no U
        t.vsMap(0x4000_0000, to: 0x8050_0000)
        t.gMap(0x8050_0000, to: 0xB000_0000)
        let slot = t.vsRoot + 1 * 8
        for access in [TwoStageTranslation.Access.load, .store, .fetch] {
            t.expect(0x4000_0000, access, .guestPageFault(guestPhysical: slot, implicit: true))
        }
        let outcome = TwoStageTranslation.Outcome.guestPageFault(guestPhysical: slot, implicit: true)
        #expect(outcome.fault(for: .store) == .init(code: 23, mtval2: slot >> 2, mtinst: 0x3000))
        #expect(outcome.fault(for: .fetch)?.code == 20)
        #expect(outcome.fault(for: .load)?.code == 21)
    }

    /// PTE reads are implicit loads for the G stage: a read-only, clean page
    /// serves a store's walk; an execute-only one needs HS-level MXR.
    @Test func pteReadsAreImplicitLoadsForTheGStage() {
        var t = T(gLevels: 3, vsLevels: 3, tableFlags: PTEBit.r | PTEBit.u | PTEBit.a)
        t.vsMap(0x5000, to: 0x8050_0000)
        t.gMap(0x8050_0000, to: 0xB000_0000)
        t.expect(0x5000, .store, .translated(physical: 0xB000_0000, guestPhysical: 0x8050_0000))

        var x = T(gLevels: 4, vsLevels: 3, tableFlags: PTEBit.x | PTEBit.u | PTEBit.a)
        x.vsMap(0x5000, to: 0x8050_0000)
        x.gMap(0x8050_0000, to: 0xB000_0000)
        x.expect(0x5000, .guestPageFault(guestPhysical: x.vsRoot, implicit: true))
        x.expect(0x5000, vsstatus: .mxr, .guestPageFault(guestPhysical: x.vsRoot, implicit: true))
        x.expect(0x5000, mstatus: .mxr, .translated(physical: 0xB000_0000, guestPhysical: 0x8050_0000))
    }

    /// U = 1 pages: VU-mode always, VS-mode with `vsstatus.SUM` for loads and
    /// stores, never for fetches; HS-level SUM does not apply. U = 0 pages:
    /// never from VU-mode.
    @Test func userPagesFollowVSStatusSUM() {
        var t = T(gLevels: 3, vsLevels: 3)
        t.vsMap(0x6000, to: 0x8050_0000, flags: PTEBit.rwx | PTEBit.u | PTEBit.a | PTEBit.d)
        t.vsMap(0x7000, to: 0x8050_0000)
        t.gMap(0x8050_0000, to: 0xB000_0000)
        let ok = TwoStageTranslation.Outcome.translated(physical: 0xB000_0000, guestPhysical: 0x8050_0000)
        t.expect(0x6000, .pageFault)
        t.expect(0x6000, mstatus: .sum, .pageFault)
        t.expect(0x6000, vsstatus: .sum, ok)
        t.expect(0x6000, .store, vsstatus: .sum, ok)
        t.expect(0x6000, .fetch, vsstatus: .sum, .pageFault)
        t.expect(0x6000, .fetch, privilege: .user, ok)
        t.expect(0x6000, .store, privilege: .user, ok)
        t.expect(0x7000, .fetch, ok)
        t.expect(0x7000, privilege: .user, vsstatus: .sum, .pageFault)
        #expect(TwoStageTranslation.Outcome.pageFault.fault(for: .fetch) == .init(code: 12, mtval2: 0, mtinst: 0))
        #expect(TwoStageTranslation.Outcome.pageFault.fault(for: .store)?.code == 15)
    }

    /// "The vsstatus field MXR ... only overrides VS-stage page protection ...
    /// Setting MXR at HS-level, however, overrides both."
    @Test func mxrOfEachLevel() {
        var t = T(gLevels: 3, vsLevels: 3)
        t.vsMap(0x6000, to: 0x8050_0000, flags: PTEBit.x | PTEBit.a)
        t.vsMap(0x7000, to: 0x8060_0000)
        t.gMap(0x8050_0000, to: 0xB000_0000)
        t.gMap(0x8060_0000, to: 0xB001_0000, flags: PTEBit.x | PTEBit.u | PTEBit.a)
        t.expect(0x6000, .pageFault)
        t.expect(0x6000, vsstatus: .mxr, .translated(physical: 0xB000_0000, guestPhysical: 0x8050_0000))
        t.expect(0x6000, mstatus: .mxr, .translated(physical: 0xB000_0000, guestPhysical: 0x8050_0000))
        t.expect(0x6000, .store, mstatus: .mxr, vsstatus: .mxr, .pageFault)
        t.expect(0x7000, .guestPageFault(guestPhysical: 0x8060_0000, implicit: false))
        t.expect(0x7000, vsstatus: .mxr, .guestPageFault(guestPhysical: 0x8060_0000, implicit: false))
        t.expect(0x7000, mstatus: .mxr, .translated(physical: 0xB001_0000, guestPhysical: 0x8060_0000))
        t.expect(0x7000, .fetch, .translated(physical: 0xB001_0000, guestPhysical: 0x8060_0000))
    }

    /// Where the hardware would set A (or D for a store), in either stage, the
    /// walk stops: the monitor does not imitate the update.
    @Test func accessedAndDirtyUpdatesAreRefused() {
        var t = T(gLevels: 3, vsLevels: 3)
        t.vsMap(0x1000, to: 0x8050_0000, flags: PTEBit.rwx)
        t.vsMap(0x2000, to: 0x8050_0000, flags: PTEBit.rwx | PTEBit.a)
        t.vsMap(0x3000, to: 0x8060_0000)
        t.vsMap(0x4000, to: 0x8070_0000)
        t.gMap(0x8050_0000, to: 0xB000_0000)
        t.gMap(0x8060_0000, to: 0xB001_0000, flags: PTEBit.rwx | PTEBit.u | PTEBit.a)
        t.gMap(0x8070_0000, to: 0xB002_0000, flags: PTEBit.rwx | PTEBit.u)
        t.expect(0x1000, .updatesAccessedOrDirty)
        t.expect(0x2000, .translated(physical: 0xB000_0000, guestPhysical: 0x8050_0000))
        t.expect(0x2000, .store, .updatesAccessedOrDirty)
        t.expect(0x3000, .translated(physical: 0xB001_0000, guestPhysical: 0x8060_0000))
        t.expect(0x3000, .store, .updatesAccessedOrDirty)
        t.expect(0x4000, .fetch, .updatesAccessedOrDirty)
        #expect(TwoStageTranslation.Outcome.updatesAccessedOrDirty.fault(for: .load) == nil)

        var clean = T(gLevels: 3, vsLevels: 3, tableFlags: PTEBit.r | PTEBit.w | PTEBit.u)
        clean.vsMap(0x1000, to: 0x8050_0000)
        clean.expect(0x1000, .updatesAccessedOrDirty)
    }

    /// A PTE read that memory refuses (PMP, PMA) is an access fault of the
    /// original access type, in either stage.
    @Test func unreadableTablesAreAccessFaults() {
        var t = T(gLevels: 3, vsLevels: 3)
        t.vsMap(0x1000, to: 0x8050_0000)
        t.gMap(0x8050_0000, to: 0xB000_0000)
        t.memory.unreadablePages = [t.host(t.vsRoot) >> 12]
        t.expect(0x1000, .store, .accessFault)
        t.memory.unreadablePages = [t.gRoot >> 12]
        t.expect(0x1000, .accessFault)
        #expect(TwoStageTranslation.Outcome.accessFault.fault(for: .store) == .init(code: 7, mtval2: 0, mtinst: 0))
        #expect(TwoStageTranslation.Outcome.accessFault.fault(for: .fetch)?.code == 1)
    }

    @Test func superpagesAndMisalignedSuperpages() {
        var t = T(gLevels: 3, vsLevels: 3)
        t.vsMap(0x4020_0000, to: 0x8040_0000, level: 1)
        t.vsMap(0x4040_0000, to: 0x8040_1000, level: 1)
        t.gMap(0x8040_0000, to: 0xC000_0000, level: 1)
        t.gMap(0x8060_0000, to: 0xC020_1000, level: 1)
        t.vsMap(0x5000, to: 0x8060_0000)
        t.expect(0x4021_2345, .translated(physical: 0xC001_2345, guestPhysical: 0x8041_2345))
        t.expect(0x4040_0000, .pageFault)
        t.expect(0x5000, .guestPageFault(guestPhysical: 0x8060_0000, implicit: false))
    }

    @Test func nonCanonicalAddressesPageFault() {
        var t = T(gLevels: 3, vsLevels: 3)
        t.vsMap(0xFFFF_FFC0_0000_0000, to: 0x8050_0000)
        t.gMap(0x8050_0000, to: 0xB000_0000)
        t.expect(0xFFFF_FFC0_0000_0010, .translated(physical: 0xB000_0010, guestPhysical: 0x8050_0010))
        t.expect(0x0000_0040_0000_0010, .pageFault)
        t.expect(0x8000_0000_0000_0000, .fetch, .pageFault)
    }

    @Test func reservedEncodingsPageFault() {
        var t = T(gLevels: 3, vsLevels: 3)
        t.vsMap(0x1000, to: 0x8050_0000, flags: PTEBit.rwx | PTEBit.a | PTEBit.d | 1 << 63)
        t.vsMap(0x2000, to: 0x8050_0000, flags: PTEBit.w | PTEBit.a | PTEBit.d)
        t.vsMap(0x4000_0000, to: 0x8050_0000)
        t.vsSet(0x8000_0000, level: 2, pte: (0x8000_3000 >> 12) << 10 | PTEBit.v | PTEBit.a)  // a pointer with A
        t.vsMap(0x3000, to: 0x8060_0000)
        t.gMap(0x8050_0000, to: 0xB000_0000)
        t.gMap(0x8060_0000, to: 0xB000_0000, flags: PTEBit.rwx | PTEBit.u | PTEBit.a | PTEBit.d | 1 << 61)
        t.expect(0x1000, .pageFault)
        t.expect(0x2000, .pageFault)
        t.expect(0x4000_0000, .translated(physical: 0xB000_0000, guestPhysical: 0x8050_0000))
        t.expect(0x8000_0000, .pageFault)
        t.expect(0x3000, .guestPageFault(guestPhysical: 0x8060_0000, implicit: false))
        // A G-stage pointer with U: every guest physical address under it faults.
        let pointer = t.gRoot + TwoStageTables.index(0x8060_0000, level: 2, top: true) * 8
        t.memory.words[pointer, default: 0] |= PTEBit.u
        t.expect(0x4000_0000, .guestPageFault(guestPhysical: t.vsRoot + 8, implicit: true))
    }

    @Test func unsupportedModesAreRefused() {
        var memory = WordMemory()
        for (vsatp, hgatp) in [(1 << 60, 0), (0, 1 << 60), (11 << 60, 8 << 60), (8 << 60, 15 << 60)] as [(UInt64, UInt64)] {
            let inputs = TwoStageTranslation.Inputs(vsatp: vsatp, hgatp: hgatp, privilege: .supervisor,
                                                    sum: false, vsStageMXR: false, gStageMXR: false)
            #expect(TwoStageTranslation.translate(0x1000, access: .load, inputs: inputs, memory: &memory)
                    == .unsupportedMode)
            #expect(TwoStageTranslation.Outcome.unsupportedMode.fault(for: .load) == nil)
        }
    }

    /// "the lowest two bits of the physical page number (PPN) in hgatp
    /// always read as zeros": the root is the 16 KiB-aligned one.
    @Test func hgatpLowPPNBitsAreIgnored() {
        var t = T(gLevels: 3, vsLevels: 0)
        t.gMap(0x8020_0000, to: 0xA020_0000)
        var memory = t.memory
        let inputs = TwoStageTranslation.Inputs(vsatp: 0, hgatp: t.hgatp | 3, privilege: .supervisor,
                                                sum: false, vsStageMXR: false, gStageMXR: false)
        #expect(TwoStageTranslation.translate(0x8020_0004, access: .load, inputs: inputs, memory: &memory)
                == .translated(physical: 0xA020_0004, guestPhysical: 0x8020_0004))
    }

    /// Random two-stage page tables (every MODE pair, both stages' leaves at
    /// every level, random flags, reserved bits, misaligned superpages,
    /// unreadable table pages, guest physical addresses beyond the G stage)
    /// and random accesses: the walk agrees with ``ReferenceTwoStage``, and
    /// the runs together reach every outcome.
    @Test func walkAgreesWithTheReferenceModel() async {
        let seen = OutcomeTally()
        await propertyCheck(count: 300, input: Gen.uint64()) { seed in
            var random = SplitMix(seed)
            var world = RandomWorld.build(&random)
            for gva in world.addresses {
                for _ in 0..<4 {
                    let access = [TwoStageTranslation.Access.load, .store, .fetch][Int(random.below(3))]
                    let privilege: PrivilegeMode = random.chance(70) ? .supervisor : .user
                    let mstatus = MStatus(rawValue: random.next() & (MStatus.sum.rawValue | MStatus.mxr.rawValue))
                    let vsstatus = MStatus(rawValue: random.next() & (MStatus.sum.rawValue | MStatus.mxr.rawValue))
                    let walked = world.tables.translate(gva, access, privilege: privilege,
                                                        mstatus: mstatus, vsstatus: vsstatus)
                    let modelled = world.tables.reference(gva, access, privilege: privilege,
                                                          mstatus: mstatus, vsstatus: vsstatus)
                    #expect(walked == modelled,
                            "gva \(String(gva, radix: 16)) \(access) \(privilege) hgatp \(String(world.tables.hgatp, radix: 16)) vsatp \(String(world.tables.vsatp, radix: 16))")
                    seen.record(modelled)
                }
            }
        }
        #expect(seen.kinds == OutcomeTally.all, "outcomes reached: \(seen.kinds.sorted())")
    }
}

/// Which outcome kinds the property runs reached.
private final class OutcomeTally: @unchecked Sendable {
    static let all: Set<String> = ["translated", "pageFault", "guestPageFault", "implicitGuestPageFault",
                                   "accessFault", "updates", "unsupportedMode"]
    var kinds: Set<String> = []

    func record(_ outcome: TwoStageTranslation.Outcome) {
        switch outcome {
        case .translated: kinds.insert("translated")
        case .pageFault: kinds.insert("pageFault")
        case .guestPageFault(_, let implicit): kinds.insert(implicit ? "implicitGuestPageFault" : "guestPageFault")
        case .accessFault: kinds.insert("accessFault")
        case .updatesAccessedOrDirty: kinds.insert("updates")
        case .unsupportedMode: kinds.insert("unsupportedMode")
        }
    }
}

/// SplitMix64: the property test's generated seed drives every choice.
private struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: UInt64) -> UInt64 { next() % n }
    mutating func chance(_ percent: UInt64) -> Bool { below(100) < percent }
}

/// A random two-stage world: tables, and the guest virtual addresses worth asking about.
private struct RandomWorld {
    var tables: TwoStageTables
    var addresses: [UInt64] = []

    /// Flags of a leaf: usually a legal, accessed combination, sometimes
    /// anything, now and then a reserved bit.
    static func leafFlags(_ random: inout SplitMix, gStage: Bool) -> UInt64 {
        var flags: UInt64
        if random.chance(70) {
            let permissions = [PTEBit.r, PTEBit.r | PTEBit.w, PTEBit.x, PTEBit.r | PTEBit.x, PTEBit.rwx][Int(random.below(5))]
            flags = permissions | PTEBit.a | (random.chance(80) ? PTEBit.d : 0)
            if gStage ? random.chance(90) : random.chance(40) { flags |= PTEBit.u }
            if random.chance(10) { flags &= ~PTEBit.a }
        } else {
            flags = random.next() & 0xFE
        }
        if random.chance(3) { flags |= 1 << (54 + random.below(10)) }
        return flags
    }

    static func build(_ random: inout SplitMix) -> RandomWorld {
        let modes = [0, 3, 4, 5]
        let gLevels = random.chance(10) ? 0 : modes[Int(random.below(4))]
        let vsLevels = random.chance(10) ? 0 : modes[Int(random.below(4))]
        var world = RandomWorld(tables: TwoStageTables(gLevels: gLevels, vsLevels: vsLevels))
        // Guest physical pages the VS leaves point into: 64 pages from
        // 0x8080_0000, mapped one by one; a 2 MiB G superpage at 0xC000_0000.
        let window: UInt64 = 0x8080_0000
        if gLevels > 0 {
            for k in 0..<UInt64(64) where random.chance(85) {
                world.tables.gSet(window + k * 0x1000,
                                  pte: ((0xB800_0000 + k * 0x1000) >> 12) << 10
                                      | leafFlags(&random, gStage: true) | PTEBit.v)
            }
            let misaligned: UInt64 = random.chance(20) ? 0x1000 : 0
            world.tables.gSet(0xC000_0000, level: 1,
                              pte: ((0xD000_0000 + misaligned) >> 12) << 10 | leafFlags(&random, gStage: true) | PTEBit.v)
            // An address that needs the widened top index (Sv39x4: bit 40).
            world.tables.gMap(1 << 40 | 0x7000, to: 0xE000_0000, flags: leafFlags(&random, gStage: true))
        }
        // Now and then the VS tables' pages are G-mapped badly.
        if random.chance(25) { world.tables.tableFlags = leafFlags(&random, gStage: true) }
        let vsRoot = world.tables.vsRoot
        func target(_ random: inout SplitMix) -> UInt64 {
            switch random.below(20) {
            case 0..<12: return window + random.below(64) * 0x1000
            case 12..<15: return 0xC000_0000 + random.below(512) * 0x1000
            case 15: return 1 << 40 | 0x7000
            case 16: return 1 << (41 + random.below(20)) | window
            case 17: return vsRoot + random.below(4) * 0x1000
            default: return random.next() & ~0xFFF & ((1 << 56) - 1)
            }
        }
        if vsLevels == 0 {
            for _ in 0..<16 {
                let gva = target(&random) | random.below(0x1000)
                world.addresses.append(gva)
            }
        } else {
            let vaBits = 12 + 9 * UInt64(vsLevels)
            let indices: [UInt64] = [0, 1, 2, 0x1FF, 0x100]
            for _ in 0..<14 {
                var gva: UInt64 = 0
                for level in 0..<UInt64(vsLevels) { gva |= indices[Int(random.below(5))] << (12 + 9 * level) }
                // Canonical: sign-extend the top bit.
                if gva >> (vaBits - 1) & 1 == 1 { gva |= ~0 << vaBits }
                let level = random.chance(75) ? 0 : Int(random.below(UInt64(vsLevels)))
                var gpa = target(&random)
                let pageMask: UInt64 = (1 << (12 + 9 * UInt64(level))) - 1
                if random.chance(85) { gpa &= ~pageMask }  // else a misaligned superpage (level > 0)
                world.tables.vsSet(gva, level: level, pte: (gpa >> 12) << 10 | leafFlags(&random, gStage: false) | PTEBit.v)
                world.addresses.append(gva | random.below(0x1000))
            }
            // A pointer with reserved bits, and one past the last level.
            if random.chance(20) {
                let gva = random.below(4) << (12 + 9 * UInt64(vsLevels - 1))
                world.tables.vsSet(gva, level: vsLevels - 1,
                                   pte: (0x8000_5000 >> 12) << 10 | PTEBit.v
                                       | [PTEBit.a, PTEBit.d, PTEBit.u, 0][Int(random.below(4))])
                world.addresses.append(gva)
            }
            if random.chance(20) {
                let gva: UInt64 = 0x3000
                world.tables.vsSet(gva, level: 0, pte: (0x8000_5000 >> 12) << 10 | PTEBit.v)
                world.addresses.append(gva)
            }
            // A few addresses anywhere, canonical or not.
            for _ in 0..<2 { world.addresses.append(random.next()) }
        }
        // Now and then a G-stage pointer has a reserved bit (D, A or U).
        if gLevels > 0, random.chance(15) {
            let target: UInt64 = random.chance(50) ? window : world.tables.vsRoot
            let slot = world.tables.gRoot + TwoStageTables.index(target, level: gLevels - 1, top: true) * 8
            world.tables.memory.words[slot, default: 0] |= [PTEBit.a, PTEBit.d, PTEBit.u][Int(random.below(3))]
        }
        // Now and then a table page refuses reads.
        if random.chance(10) { world.tables.memory.unreadablePages.insert(world.tables.host(world.tables.vsRoot) >> 12) }
        if random.chance(10), gLevels > 0 {
            world.tables.memory.unreadablePages.insert((world.tables.gRoot + 0x4000 + random.below(4) * 0x1000) >> 12)
        }
        // And now and then an unimplemented MODE.
        if random.chance(3) {
            world.addresses = Array(world.addresses.prefix(2))
            world.tables = TwoStageTables(gLevels: 2, vsLevels: vsLevels)  // hgatp MODE 7: not a scheme
        }
        return world
    }
}
