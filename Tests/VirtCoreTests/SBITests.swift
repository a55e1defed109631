import PropertyBased
import Testing
import VirtCore

/// The SBI calls the monitor may serve itself (RISC-V SBI specification
/// v1.0: 3 "Binary Encoding", 3.1 "Hart List Parameter", 6 "Timer
/// Extension", 7 "IPI Extension", 8 "RFENCE Extension"). `nil` means the
/// firmware must answer, which is always correct; a call decoded wrongly is
/// not.
@Suite("SBI call decoding")
struct SBITests {
    static let time: UInt64 = 0x5449_4D45  // "TIME"
    static let sPI: UInt64 = 0x0073_5049   // "sPI"
    static let rfnc: UInt64 = 0x5246_4E43  // "RFNC"

    /// 3.1, written bit by bit: `hart_mask` bit i names hart
    /// `hart_mask_base + i`; a base of -1 means every hart and the mask is
    /// ignored; a base or a named hart that does not exist is an error
    /// (`SBI_ERR_INVALID_PARAM`), which the firmware reports.
    static func referenceHarts(mask: UInt64, base: UInt64, hartCount: Int) -> UInt64? {
        var all: UInt64 = 0
        for hart in 0..<hartCount { all |= 1 << UInt64(hart) }
        if base == UInt64(bitPattern: -1) { return all }
        guard base < UInt64(hartCount) else { return nil }
        var harts: UInt64 = 0
        for bit in 0..<64 where (mask >> UInt64(bit)) & 1 == 1 {
            let (hart, overflow) = base.addingReportingOverflow(UInt64(bit))
            guard !overflow, hart < UInt64(hartCount) else { return nil }
            harts |= 1 << hart
        }
        return harts
    }

    /// Chapters 5-8: which (EID, FID) pairs the monitor serves.
    static func referenceDecode(eid: UInt64, fid: UInt64, a0: UInt64, a1: UInt64, hartCount: Int) -> SBI.Call? {
        // 5.2 "Extension: Console Putchar (EID #0x01)": `int ch` in a0, no FID.
        if eid == 0x01 { return .consolePutchar(UInt8(a0 & 0xFF)) }
        if eid == time && fid == 0 { return .setTimer(deadline: a0) }
        if eid == sPI && fid == 0 {
            return referenceHarts(mask: a0, base: a1, hartCount: hartCount).map { .sendIPI(harts: $0) }
        }
        // 8.1 remote_fence_i, 8.2 remote_sfence_vma, 8.3 remote_sfence_vma_asid;
        // 8.4-8.7 are hypervisor fences (HFENCE.GVMA/VVMA) the firmware keeps.
        if eid == rfnc && fid <= 2 {
            return referenceHarts(mask: a0, base: a1, hartCount: hartCount)
                .map { .remoteFence(harts: $0, instructionCache: fid == 0) }
        }
        return nil
    }

    // MARK: Constants

    @Test func extensionIDsSpellTheirNames() {
        func ascii(_ s: String) -> UInt64 { s.utf8.reduce(0) { $0 << 8 | UInt64($1) } }
        #expect(SBI.timerExtension == ascii("TIME"))
        #expect(SBI.ipiExtension == ascii("sPI"))
        #expect(SBI.rfenceExtension == ascii("RFNC"))
        #expect(SBI.success == 0)
        #expect(SBI.invalidParameter == UInt64(bitPattern: -3))
    }

    // MARK: Timer

    @Test func setTimerIsFunctionZeroOnly() {
        #expect(SBI.decode(extension: Self.time, function: 0, arguments: 0x1234_5678_9ABC, 7, hartCount: 1)
            == .setTimer(deadline: 0x1234_5678_9ABC))
        #expect(SBI.decode(extension: Self.time, function: 0, arguments: .max, 0, hartCount: 8) == .setTimer(deadline: .max))
        for fid: UInt64 in [1, 2, 0x100, .max] {
            #expect(SBI.decode(extension: Self.time, function: fid, arguments: 0, 0, hartCount: 1) == nil, "FID \(fid)")
        }
    }

    // MARK: Legacy console

    /// "Legacy Extensions": `sbi_console_putchar(int ch)` is extension 0x01,
    /// has no function ID, writes the low byte, and returns in `a0` only.
    @Test func legacyConsolePutcharTakesTheLowByteWhateverA6() {
        for fid: UInt64 in [0, 1, .max] {
            #expect(SBI.decode(extension: 0x01, function: fid, arguments: 0x141, 0, hartCount: 1) == .consolePutchar(0x41))
        }
        #expect(SBI.Call.consolePutchar(0x0A).isLegacy)
        #expect(!SBI.Call.setTimer(deadline: 0).isLegacy)
        // The other legacy calls (getchar, shutdown, the legacy timer, IPI
        // and fences) are the firmware's.
        for eid: UInt64 in [0x00, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08] {
            #expect(SBI.decode(extension: eid, function: 0, arguments: 0, 0, hartCount: 1) == nil, "EID \(eid)")
        }
    }

    // MARK: IPI

    @Test func sendIPINamesHartsFromTheBase() {
        #expect(SBI.decode(extension: Self.sPI, function: 0, arguments: 0b101, 0, hartCount: 4) == .sendIPI(harts: 0b101))
        #expect(SBI.decode(extension: Self.sPI, function: 0, arguments: 0b11, 2, hartCount: 4) == .sendIPI(harts: 0b1100))
        #expect(SBI.decode(extension: Self.sPI, function: 0, arguments: 1, 3, hartCount: 4) == .sendIPI(harts: 0b1000))
        #expect(SBI.decode(extension: Self.sPI, function: 1, arguments: 1, 0, hartCount: 4) == nil)
    }

    @Test func baseOfAllOnesMeansEveryHartWhateverTheMask() {
        for harts in 1...8 {
            let all = UInt64(1 << harts) - 1
            for mask: UInt64 in [0, 1, 0xDEAD_BEEF, .max] {
                #expect(SBI.hartMask(mask, base: .max, hartCount: harts) == all, "\(harts) harts, mask \(mask)")
            }
        }
        #expect(SBI.decode(extension: Self.sPI, function: 0, arguments: 0, .max, hartCount: 4) == .sendIPI(harts: 0xF))
        #expect(SBI.hartMask(0, base: .max, hartCount: 64) == .max)
    }

    @Test func maskNamingAMissingHartIsTheFirmwaresToRefuse() {
        #expect(SBI.hartMask(0b10000, base: 0, hartCount: 4) == nil, "hart 4 of 4")
        #expect(SBI.hartMask(0b11, base: 3, hartCount: 4) == nil, "harts 3 and 4")
        #expect(SBI.hartMask(1 << 63, base: 0, hartCount: 8) == nil)
        #expect(SBI.hartMask(1 << 63, base: 1, hartCount: 8) == nil, "hart 64: shifted out of the mask")
        #expect(SBI.hartMask(0, base: 4, hartCount: 4) == nil, "a base that is no hart")
        #expect(SBI.hartMask(1, base: .max - 1, hartCount: 8) == nil, "a huge base that is not -1")
        #expect(SBI.decode(extension: Self.sPI, function: 0, arguments: 0b10000, 0, hartCount: 4) == nil)
        #expect(SBI.decode(extension: Self.rfnc, function: 1, arguments: 0b10000, 0, hartCount: 4) == nil)
    }

    @Test func emptyMaskAtAValidBaseNamesNoHart() {
        #expect(SBI.hartMask(0, base: 0, hartCount: 1) == 0)
        #expect(SBI.decode(extension: Self.sPI, function: 0, arguments: 0, 3, hartCount: 4) == .sendIPI(harts: 0))
    }

    // MARK: RFENCE

    @Test func remoteFencesZeroToTwoAreServed() {
        #expect(SBI.decode(extension: Self.rfnc, function: 0, arguments: 0b11, 0, hartCount: 2)
            == .remoteFence(harts: 0b11, instructionCache: true), "remote_fence_i")
        #expect(SBI.decode(extension: Self.rfnc, function: 1, arguments: 0b1, 1, hartCount: 2)
            == .remoteFence(harts: 0b10, instructionCache: false), "remote_sfence_vma")
        #expect(SBI.decode(extension: Self.rfnc, function: 2, arguments: 0, .max, hartCount: 3)
            == .remoteFence(harts: 0b111, instructionCache: false), "remote_sfence_vma_asid")
    }

    @Test(arguments: [UInt64(3), 4, 5, 6, 7, 0xFFFF_FFFF])
    func hypervisorAndUnknownFencesGoToTheFirmware(fid: UInt64) {
        #expect(SBI.decode(extension: Self.rfnc, function: fid, arguments: 1, 0, hartCount: 1) == nil)
    }

    // MARK: Other extensions

    @Test(arguments: [
        UInt64(0x00), 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // legacy extensions but putchar
        0x10,                     // Base
        0x4853_4D,                // HSM
        0x5352_5354,              // SRST
        0x504D_55,                // PMU
        0x0A00_0000,              // firmware-specific
        0x1_5449_4D45,            // "TIME" with a high bit set: a7 is compared whole
        0x0049_5073,              // "sPI" byte-swapped
    ])
    func otherExtensionsGoToTheFirmware(eid: UInt64) {
        for fid: UInt64 in 0...7 {
            #expect(SBI.decode(extension: eid, function: fid, arguments: 1, 0, hartCount: 4) == nil)
        }
    }

    // MARK: Against the reference

    /// Masks and bases near the edges: empty, one hart, all harts, just past
    /// the last hart, -1, random.
    static let mask = zip(Gen.int(in: 0...4), Gen.uint64(), Gen.int(in: 0...63)).map { kind, raw, bit -> UInt64 in
        switch kind {
        case 0: return 0
        case 1: return 1 << UInt64(bit)
        case 2: return raw & 0xFF
        case 3: return raw & 0x1FF
        default: return raw
        }
    }
    static let base = zip(Gen.int(in: 0...3), Gen.uint64()).map { kind, raw -> UInt64 in
        switch kind {
        case 0: return .max
        case 1, 2: return raw % 10
        default: return raw
        }
    }

    @Test func hartMaskAgreesWithTheSpecification() async {
        await propertyCheck(count: 3000, input: Self.mask, Self.base, Gen.int(in: 1...8)) { mask, base, harts in
            #expect(SBI.hartMask(mask, base: base, hartCount: harts)
                == Self.referenceHarts(mask: mask, base: base, hartCount: harts))
        }
    }

    @Test func decodeAgreesWithTheSpecification() async {
        let eid = zip(Gen.int(in: 0...3), Gen.uint64()).map { kind, raw -> UInt64 in
            [SBITests.time, SBITests.sPI, SBITests.rfnc, raw][kind]
        }
        let fid = zip(Gen.bool, Gen.uint64()).map { small, raw in small ? raw % 8 : raw }
        await propertyCheck(count: 3000, input: eid, fid, zip(Self.mask, Self.base), Gen.int(in: 1...8)) { eid, fid, args, harts in
            let got = SBI.decode(extension: eid, function: fid, arguments: args.0, args.1, hartCount: harts)
            let want = Self.referenceDecode(eid: eid, fid: fid, a0: args.0, a1: args.1, hartCount: harts)
            #expect(got == want, "EID 0x\(String(eid, radix: 16)) FID \(fid) a0 0x\(String(args.0, radix: 16)) a1 \(args.1), \(harts) harts")
        }
    }
}
