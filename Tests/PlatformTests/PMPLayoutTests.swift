import Platform
import PropertyBased
import Testing
import VirtCore

/// PMP written straight from the privileged specification ("Physical Memory
/// Protection"), independent of `PMPLayout`: address matching for OFF, TOR,
/// NA4 and NAPOT, lowest-numbered entry wins, and no match denies S and U.
struct SpecPMP {
    enum Access { case read, write, execute }

    /// The address register holds PA[55:2].
    var addresses: [UInt64]
    var configurations: [UInt8]

    init(addresses: [UInt64], cfg0: UInt64, cfg2: UInt64) {
        self.addresses = addresses
        configurations = (0..<16).map { i in
            UInt8(truncatingIfNeeded: (i < 8 ? cfg0 : cfg2) >> (UInt64(i % 8) * 8))
        }
    }

    /// NAPOT: a `pmpaddr` ending in k ones (k ≥ 0) covers 2^(k+3) bytes at
    /// `(pmpaddr & ~(2^k - 1)) << 2`.
    static func decodeNAPOT(_ pmpaddr: UInt64) -> (base: UInt128, size: UInt128) {
        let k = (~pmpaddr).trailingZeroBitCount
        let size = UInt128(1) << (k + 3)
        let low: UInt64 = k >= 64 ? ~0 : (1 << UInt64(k)) - 1
        return (UInt128(pmpaddr & ~low) << 2, size)
    }

    /// The byte range `[low, high)` entry `i` matches, or `nil` when it is OFF.
    func range(_ i: Int) -> (low: UInt128, high: UInt128)? {
        let a = UInt128(addresses[i])
        switch (configurations[i] >> 3) & 3 {
        case 0: return nil
        case 1: return (i == 0 ? 0 : UInt128(addresses[i - 1]) << 2, a << 2)
        case 2: return (a << 2, (a << 2) + 4)
        default:
            let (base, size) = SpecPMP.decodeNAPOT(addresses[i])
            return (base, base + size)
        }
    }

    /// Whether S- or U-mode may perform `access` on `[address, address + width)`.
    func allows(_ access: Access, at address: UInt64, width: UInt64 = 1) -> Bool {
        let low = UInt128(address), high = UInt128(address) + UInt128(width)
        for i in 0..<16 {
            guard let r = range(i), low < r.high, r.low < high else { continue }
            // The lowest-numbered entry matching any byte decides; it must match all of them.
            guard r.low <= low, high <= r.high else { return false }
            let cfg = configurations[i]
            switch access {
            case .read: return cfg & 1 != 0
            case .write: return cfg & 2 != 0
            case .execute: return cfg & 4 != 0
            }
        }
        return false
    }

    func permissions(at address: UInt64) -> String {
        (allows(.read, at: address) ? "r" : "-") + (allows(.write, at: address) ? "w" : "-")
            + (allows(.execute, at: address) ? "x" : "-")
    }
}

@Suite("PMP layout")
struct PMPLayoutTests {
    static let monitor = PlatformDescription.Region(base: 0x8000_0000, size: 0x10_0000)
    static let layout = PMPLayout(monitor: monitor, platform: Fixture.expectedPlatform)
    static let rw = PMPFile.Bits.read | PMPFile.Bits.write

    /// Hart 0's PLIC S-context page: context 1, written out from the PLIC
    /// memory map (0x0C00_0000 + 0x20_0000 + 0x1000 * 1).
    static let hart0Page: UInt64 = 0x0C20_1000

    /// The sixteen physical addresses as the monitor installs them:
    /// entries 0-4 the walls, `pmpaddr5` = 0 (the floor), 6-14 the
    /// firmware's 0-8, 15 the catch-all (its configuration decides whether
    /// it is used).
    static func addresses(_ pmp: PMPFile, catchAll: UInt64, layout: PMPLayout = layout) -> [UInt64] {
        let a = layout.wallAddresses
        return [a.0, a.1, a.2, a.3, a.4, 0] + (0..<PMPLayout.virtualEntries).map { pmp.readAddress($0) } + [catchAll]
    }

    /// The physical PMP while the firmware runs.
    static func firmwareWorld(_ pmp: PMPFile = PMPFile(entries: PMPLayout.virtualEntries),
                              mprv: Bool = false, layout: PMPLayout = layout) -> SpecPMP {
        let (cfg0, cfg2) = layout.firmwareConfiguration(pmp, mprv: mprv)
        return SpecPMP(addresses: addresses(pmp, catchAll: PMPLayout.everything, layout: layout), cfg0: cfg0, cfg2: cfg2)
    }

    /// The physical PMP while the payload runs.
    static func payloadWorld(_ pmp: PMPFile, layout: PMPLayout = layout) -> SpecPMP {
        let (cfg0, cfg2) = layout.payloadConfiguration(pmp)
        return SpecPMP(addresses: addresses(pmp, catchAll: 0, layout: layout), cfg0: cfg0, cfg2: cfg2)
    }

    /// The firmware's own PMP as the native machine would apply it to S and
    /// U: its nine entries alone.
    static func nativePMP(_ pmp: PMPFile) -> SpecPMP {
        SpecPMP(addresses: (0..<16).map { pmp.readAddress($0) },
                cfg0: pmp.readConfiguration(register: 0), cfg2: pmp.readConfiguration(register: 2))
    }

    /// A firmware PMP with OpenSBI 1.1's shape: entry 0 denies its image,
    /// entry 8 (the last) allows everything.
    static var openSBI: PMPFile {
        var v = PMPFile(entries: PMPLayout.virtualEntries)
        v.writeAddress(0, PMPLayout.napotAddress(base: 0x8010_0000, size: 0x8_0000))
        v.writeAddress(8, ~0)
        v.writeConfiguration(register: 0, UInt64(PMPLayout.napot))
        v.writeConfiguration(register: 2, UInt64(PMPLayout.napot | 7))
        return v
    }

    // MARK: Geometry

    @Test func entriesOfTheLayout() {
        #expect(PMPLayout.physicalEntries == 16)
        #expect(PMPLayout.floorEntry == 5)
        #expect(PMPLayout.firstVirtualEntry == 6)
        #expect(PMPLayout.catchAllEntry == 15)
        #expect(PMPLayout.virtualEntries == 9, "the firmware keeps at least 8 entries")
    }

    /// `[base, size]` of a NAPOT `pmpaddr`.
    static func region(_ pmpaddr: UInt64) -> [UInt128] {
        let (base, size) = SpecPMP.decodeNAPOT(pmpaddr)
        return [base, size]
    }

    @Test func wallsAreMonitorCLINTSupervisorPagePLICAndTestDevice() {
        let a = Self.layout.wallAddresses
        #expect(Self.region(a.0) == [0x8000_0000, 0x10_0000])
        #expect(Self.region(a.1) == [0x0200_0000, 0x1_0000])
        #expect(Self.region(a.2) == [UInt128(Self.hart0Page), 0x1000])
        #expect(Self.region(a.3) == [0x0C00_0000, 0x80_0000])
        #expect(Self.region(a.4) == [0x10_0000, 0x1000])
    }

    @Test(arguments: 0..<8)
    func eachHartWallsItsOwnSupervisorPage(hart: Int) {
        let layout = PMPLayout(monitor: Self.monitor, platform: Fixture.expectedPlatform, hart: hart)
        let page = 0x0C00_0000 + 0x20_0000 + 0x1000 * UInt64(2 * hart + 1)
        #expect(layout.supervisorPage == PlatformDescription.Region(base: page, size: 0x1000))
        #expect(Self.region(layout.wallAddresses.2) == [UInt128(page), 0x1000])
        #expect(layout.wallAddresses.0 == Self.layout.wallAddresses.0)
        #expect(layout.wallAddresses.3 == Self.layout.wallAddresses.3)
    }

    @Test func missingTestDeviceRepeatsTheMonitorWall() {
        var platform = Fixture.expectedPlatform
        platform.testDevice = .init(base: 0, size: 0)
        let layout = PMPLayout(monitor: Self.monitor, platform: platform)
        #expect(layout.wallAddresses.4 == layout.wallAddresses.0)
    }

    // MARK: NAPOT encoding

    @Test(arguments: [
        (UInt64(0x8000_0000), UInt64(0x10_0000), UInt64(0x8000_0000), UInt64(0x10_0000)),
        (0x0200_0000, 0x1_0000, 0x0200_0000, 0x1_0000),
        (0x0C00_0000, 0x60_0000, 0x0C00_0000, 0x80_0000),  // 6 MiB rounds up to 8 MiB
        (0x10_0000, 0x1000, 0x10_0000, 0x1000),
        (0x1000, 1, 0x1000, 8),                             // at least 8 bytes
        (0x1004, 8, 0x1000, 16),                            // straddles an 8-byte boundary
        (0xFFC, 8, 0, 0x2000),                              // straddles a 4 KiB boundary
        (0, 1 << 56, 0, 1 << 56),                           // the whole physical address space
    ])
    func napotAddressCoversTheSmallestAlignedRegion(base: UInt64, size: UInt64, wantBase: UInt64, wantSize: UInt64) {
        let decoded = SpecPMP.decodeNAPOT(PMPLayout.napotAddress(base: base, size: size))
        #expect(decoded.base == UInt128(wantBase) && decoded.size == UInt128(wantSize))
    }

    @Test func everythingCoversThe56BitPhysicalAddressSpace() {
        let decoded = SpecPMP.decodeNAPOT(PMPLayout.everything)
        #expect(decoded.base == 0 && decoded.size >= UInt128(1) << 56)
        #expect(PMPLayout.everything & ~PMPFile.addressMask == 0)
    }

    /// For any region of the 56-bit physical address space, the decoded
    /// NAPOT region covers it, is a power of two of at least 8 bytes, is the
    /// smallest naturally aligned one that does, and fits `pmpaddr`'s 54 bits.
    @Test func napotAddressAlwaysCoversItsRegion() async {
        let limit: UInt64 = 1 << 56
        let region = zip(Gen.uint64(in: 0...(limit - 1)), Gen.int(in: 0...56), Gen.uint64(), Gen.int(in: 0...3))
            .map { base, bits, raw, alignment -> (UInt64, UInt64) in
                // Bases often aligned, sizes spread over every magnitude.
                let b = alignment == 0 ? base : base & ~((1 << UInt64(min(bits, 55))) - 1)
                let span = min(UInt64(1) << UInt64(bits), limit - b)
                return (b, 1 + raw % span)
            }
        await propertyCheck(count: 2000, input: region) { base, size in
            let pmpaddr = PMPLayout.napotAddress(base: base, size: size)
            let (low, length) = SpecPMP.decodeNAPOT(pmpaddr)
            #expect(pmpaddr & ~PMPFile.addressMask == 0, "pmpaddr holds PA[55:2] only")
            #expect(length >= 8 && length.nonzeroBitCount == 1)
            #expect(low <= UInt128(base) && UInt128(base) + UInt128(size) <= low + length,
                    "[\(base), +\(size)) not inside [\(low), +\(length))")
            if length > 8 {
                let half = length / 2
                let halfBase = UInt128(base) / half * half
                #expect(UInt128(base) + UInt128(size) > halfBase + half, "a region half the size would do")
            }
        }
    }

    // MARK: The firmware world

    @Test func firmwareWorldWallsOffTheMonitorAndTheEmulatedDevices() {
        let pmp = Self.firmwareWorld()
        for address: UInt64 in [0x8000_0000, 0x8008_0000, 0x800F_FFFF,   // the monitor
                                 0x0200_0000, 0x0200_BFF8, 0x0200_FFFF,  // CLINT
                                 0x0C00_0000, 0x0C20_0004, 0x0C5F_FFFF,  // PLIC
                                 0x0C20_1000, 0x0C20_1004, 0x0C20_1FFF,  // hart 0's S-context page
                                 0x10_0000, 0x10_0FFF] {                 // test device
            #expect(pmp.permissions(at: address) == "---", "0x\(String(address, radix: 16))")
        }
        for address: UInt64 in [0x8010_0000, 0x8020_0000, 0x87FF_FFF8, 0x1000_0000, 0, 0x10_1000, 0x01FF_FFFF] {
            #expect(pmp.permissions(at: address) == "rwx", "0x\(String(address, radix: 16))")
        }
        #expect(!pmp.allows(.write, at: 0x800F_FFFC, width: 8), "an access straddling the monitor's end")
        #expect(!pmp.allows(.read, at: 0x0200_0000 - 4, width: 8), "an access straddling the CLINT's start")
    }

    /// The firmware's S-context page stays closed in the firmware world even
    /// when the firmware grants it to the payload: firmware accesses to the
    /// PLIC are all emulated.
    @Test func supervisorPageIsClosedInTheFirmwareWorld() {
        let pmp = Self.firmwareWorld(Self.openSBI)
        #expect(pmp.permissions(at: Self.hart0Page) == "---")
        #expect(pmp.permissions(at: Self.hart0Page + 4) == "---")
        let (cfg0, _) = Self.layout.firmwareConfiguration(Self.openSBI, mprv: false)
        #expect((cfg0 >> 16) & 0xFF == UInt64(PMPLayout.napot), "entry 2: NAPOT, no access")
    }

    @Test func firmwareWorldUnderMPRVIsExecuteOnly() {
        let pmp = Self.firmwareWorld(mprv: true)
        #expect(pmp.permissions(at: 0x8010_0000) == "--x")
        #expect(pmp.permissions(at: 0x1000_0000) == "--x")
        #expect(pmp.permissions(at: 0x8000_0000) == "---")
        #expect(pmp.permissions(at: 0x0C00_0000) == "---")
        #expect(pmp.permissions(at: Self.hart0Page) == "---")
    }

    // MARK: The payload world

    @Test func payloadWorldSeesNothingWithoutFirmwareEntries() {
        let v = PMPFile(entries: PMPLayout.virtualEntries)
        #expect(!Self.layout.opensSupervisorPage(v))
        let pmp = Self.payloadWorld(v)
        for address: UInt64 in [0x8000_0000, 0x0200_4000, 0x0C00_0000, Self.hart0Page, Self.hart0Page + 4,
                                 0x10_0000, 0x8020_0000, 0x1000_0000] {
            #expect(pmp.permissions(at: address) == "---", "0x\(String(address, radix: 16)): no entry matches")
        }
    }

    /// OpenSBI 1.1's own layout: entry 0 denies its image, the last entry
    /// allows everything. The monitor's walls still come first; the firmware
    /// grants the payload the whole PLIC, so the whole PLIC is open (its M
    /// contexts are the firmware's own state, which the payload may reach
    /// natively too).
    @Test func payloadWorldWithOpenSBIEntries() {
        #expect(Self.layout.opensSupervisorPage(Self.openSBI) && Self.layout.opensPLIC(Self.openSBI))
        let pmp = Self.payloadWorld(Self.openSBI)
        let expected: [(UInt64, String)] = [
            (0x8000_0000, "---"), (0x800F_FFFF, "---"),   // the monitor, before anything the firmware says
            (0x8010_0000, "---"), (0x8017_FFFF, "---"),   // the firmware's own image
            (0x8018_0000, "rwx"), (0x8020_0000, "rwx"),   // the payload
            (0x0200_0000, "---"), (0x10_0000, "---"),     // CLINT, test device
            (0x0C20_1000, "rw-"), (0x0C20_1004, "rw-"),   // hart 0's threshold and claim/complete
            (0x0C20_1FFF, "rw-"),
            (0x0C20_0000, "rw-"), (0x0C20_0004, "rw-"),   // hart 0's M context
            (0x0C20_2000, "rw-"), (0x0C20_3004, "rw-"),   // hart 1's contexts
            (0x0C00_0004, "rw-"), (0x0C00_1000, "rw-"),   // priorities, pending
            (0x0C00_2080, "rw-"),                         // context 1's enables
            (0x1000_0000, "rwx"),                         // the UART, through the firmware's entry 8
        ]
        for (address, want) in expected {
            #expect(pmp.permissions(at: address) == want, "0x\(String(address, radix: 16))")
        }
    }

    /// A firmware that grants the payload the context pages only (not the
    /// whole PLIC): each hart opens its own S-context page, nothing else.
    @Test func anotherHartOpensOnlyItsOwnPage() {
        let layout = PMPLayout(monitor: Self.monitor, platform: Fixture.expectedPlatform, hart: 3)
        var pages = PMPFile(entries: PMPLayout.virtualEntries)
        pages.writeAddress(0, PMPLayout.napotAddress(base: 0x0C20_0000, size: 0x1_0000))
        pages.writeConfiguration(register: 0, UInt64(PMPLayout.napot | PMPLayout.read | PMPLayout.write))
        #expect(!layout.opensPLIC(pages) && layout.opensSupervisorPage(pages))
        let pmp = Self.payloadWorld(pages, layout: layout)
        #expect(pmp.permissions(at: 0x0C20_7000) == "rw-", "context 7")
        #expect(pmp.permissions(at: 0x0C20_7004) == "rw-")
        #expect(pmp.permissions(at: 0x0C20_1000) == "---", "hart 0's page")
        #expect(pmp.permissions(at: 0x0C20_6004) == "---", "hart 3's M context")
    }

    /// Entry 2 opens only when the firmware's PMP grants the payload read
    /// and write on the whole page.
    @Test func supervisorPageNeedsReadWriteOnTheWholePage() {
        func firmware(_ cfg: UInt8, base: UInt64, size: UInt64) -> PMPFile {
            var v = PMPFile(entries: PMPLayout.virtualEntries)
            v.writeAddress(0, PMPLayout.napotAddress(base: base, size: size))
            v.writeConfiguration(register: 0, UInt64(cfg))
            return v
        }
        let napot = PMPLayout.napot
        let cases: [(PMPFile, Bool, String)] = [
            (firmware(napot | PMPLayout.read | PMPLayout.write, base: 0x0C00_0000, size: 0x400_0000), true, "RW over the PLIC"),
            (firmware(napot | PMPLayout.read | PMPLayout.write, base: Self.hart0Page, size: 0x1000), true, "RW, the page exactly"),
            (firmware(napot | PMPLayout.read, base: 0x0C00_0000, size: 0x400_0000), false, "read only"),
            (firmware(napot | PMPLayout.read | PMPLayout.execute, base: 0x0C00_0000, size: 0x400_0000), false, "RX"),
            (firmware(napot | PMPLayout.read | PMPLayout.write, base: Self.hart0Page, size: 0x800), false, "half the page"),
            (firmware(napot | PMPLayout.read | PMPLayout.write, base: 0x0C20_0000, size: 0x1000), false, "another page"),
            (firmware(0, base: 0x0C00_0000, size: 0x400_0000), false, "OFF"),
        ]
        for (v, opens, what) in cases {
            #expect(Self.layout.opensSupervisorPage(v) == opens, "\(what)")
            let (cfg0, _) = Self.layout.payloadConfiguration(v)
            let entry2 = UInt8(truncatingIfNeeded: cfg0 >> 16)
            #expect(entry2 == (opens ? PMPLayout.napot | PMPLayout.read | PMPLayout.write : PMPLayout.napot), "\(what)")
            #expect(Self.payloadWorld(v).permissions(at: Self.hart0Page + 4) == (opens ? "rw-" : "---"), "\(what)")
        }
    }

    /// A firmware entry that denies the page, placed before an entry that
    /// allows everything, keeps it closed (lowest entry wins natively too).
    @Test func aDenyingFirmwareEntryBeforeTheCatchAllKeepsThePageClosed() {
        var v = Self.openSBI
        v.writeAddress(1, PMPLayout.napotAddress(base: 0x0C20_0000, size: 0x2000))
        v.writeConfiguration(register: 0, UInt64(PMPLayout.napot) | UInt64(PMPLayout.napot | PMPLayout.read) << 8)
        #expect(!Self.layout.opensSupervisorPage(v))
        #expect(Self.payloadWorld(v).permissions(at: Self.hart0Page) == "---")
    }

    /// A firmware TOR entry 0 has floor 0 natively; moved to physical entry
    /// 6 its floor is `pmpaddr5`, which stays 0.
    @Test func firmwareTOREntryZeroStillStartsAtZero() {
        var v = PMPFile(entries: PMPLayout.virtualEntries)
        v.writeAddress(0, 0x8800_0000 >> 2)
        v.writeConfiguration(register: 0, UInt64(PMPFile.Bits.tor | 3))
        let pmp = Self.payloadWorld(v)
        #expect(pmp.permissions(at: 0) == "rw-")
        #expect(pmp.permissions(at: 0x1000_0000) == "rw-")
        #expect(pmp.permissions(at: 0x87FF_FFFF) == "rw-")
        #expect(pmp.permissions(at: 0x8800_0000) == "---")
        #expect(pmp.permissions(at: 0x8000_0000) == "---")
        let (cfg0, _) = Self.layout.payloadConfiguration(v)
        #expect((cfg0 >> 40) & 0xFF == 0, "the floor entry is OFF")
    }

    // MARK: Virtual entries

    static let randomWrites = zip(Gen.int(in: 0...3), Gen.int(in: 0...15), Gen.uint64()).array(of: 1...30)

    /// Random firmware PMP writes, with addresses often near the PLIC page.
    static func apply(_ writes: [(Int, Int, UInt64)]) -> PMPFile {
        var v = PMPFile(entries: PMPLayout.virtualEntries)
        for (kind, index, value) in writes {
            switch kind {
            case 0: v.writeConfiguration(register: index % 2 == 0 ? 0 : 2, value)
            case 1: v.writeAddress(index, value)
            case 2: v.writeAddress(index, (0x0C20_0000 >> 2) + value % 0x1000)
            default: v.writeConfiguration(register: index & ~1, value & 0x7F7F_7F7F_7F7F_7F7F)
            }
        }
        return v
    }

    /// Virtual entry i lands in physical entry `firstVirtualEntry + i` with
    /// its lock bit dropped; physical entries 0-4 are the monitor's walls,
    /// 5 is OFF, 15 is OFF in the payload world.
    @Test func payloadConfigurationShiftsVirtualEntriesAndDropsLocks() async {
        await propertyCheck(count: 300, input: Self.randomWrites) { writes in
            let v = Self.apply(writes)
            let (cfg0, cfg2) = Self.layout.payloadConfiguration(v)
            let physical = (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? cfg0 : cfg2) >> (UInt64(i % 8) * 8)) }
            let walls = Self.layout.opensPLIC(v) ? Self.layout.openPLICPayloadWalls
                : Self.layout.opensSupervisorPage(v) ? Self.layout.payloadWalls : Self.layout.closedPayloadWalls
            let monitorBytes = (0..<5).map { UInt8(truncatingIfNeeded: walls >> (UInt64($0) * 8)) }
            #expect(Array(physical[0..<5]) == monitorBytes)
            #expect(physical[PMPLayout.floorEntry] == 0, "the floor is OFF")
            #expect(physical[PMPLayout.catchAllEntry] == 0, "no catch-all in the payload world")
            for i in 0..<PMPLayout.virtualEntries {
                #expect(physical[PMPLayout.firstVirtualEntry + i] == v.configuration(i) & ~PMPFile.Bits.lock,
                        "virtual entry \(i)")
            }
        }
    }

    /// Against the specification's matcher: the payload world allows exactly
    /// what the firmware's PMP allows natively, except inside the monitor's
    /// walls, where the whole PLIC window is open (read/write) exactly when
    /// the firmware's PMP grants read/write on the whole PLIC, and otherwise
    /// only this hart's S-context page may be open, exactly when the
    /// firmware's PMP grants read/write on all of it.
    @Test func payloadWorldIsTheFirmwarePMPOutsideTheWalls() async {
        let probes: [UInt64] = [0, 0x1000, 0x01FF_FFF8, 0x0200_0000, 0x0200_FFF8, 0x0201_0000, 0x0BFF_FFF8,
                                0x0C00_0000, 0x0C20_0000, 0x0C20_0FFC, 0x0C20_1000, 0x0C20_1004, 0x0C20_1FFC,
                                0x0C20_2000, 0x0C5F_FFFC, 0x0C80_0000, 0x0FFF_FFF8, 0x10_0000, 0x10_1000,
                                0x1000_0000, 0x7FFF_FFF8, 0x8000_0000, 0x800F_FFF8, 0x8010_0000, 0x8800_0000]
        await propertyCheck(count: 300, input: Self.randomWrites) { writes in
            let v = Self.apply(writes)
            let native = Self.nativePMP(v)
            let payload = Self.payloadWorld(v)
            let pageOpen = native.allows(.read, at: Self.hart0Page, width: 0x1000)
                && native.allows(.write, at: Self.hart0Page, width: 0x1000)
            #expect(Self.layout.opensSupervisorPage(v) == pageOpen)
            let plicOpen = native.allows(.read, at: 0x0C00_0000, width: 0x60_0000)
                && native.allows(.write, at: 0x0C00_0000, width: 0x60_0000)
            #expect(Self.layout.opensPLIC(v) == plicOpen)
            for address in probes {
                let inPLICWall = address >= 0x0C00_0000 && address < 0x0C80_0000
                let inPage = address >= Self.hart0Page && address < Self.hart0Page + 0x1000
                let walled = (address >= 0x8000_0000 && address < 0x8010_0000)
                    || (address >= 0x0200_0000 && address < 0x0201_0000)
                    || (address >= 0x0C00_0000 && address < 0x0C80_0000)
                    || (address >= 0x10_0000 && address < 0x10_1000)
                let want = inPLICWall && plicOpen ? "rw-"
                    : inPage ? (pageOpen ? "rw-" : "---") : walled ? "---" : native.permissions(at: address)
                #expect(payload.permissions(at: address) == want, "0x\(String(address, radix: 16))")
            }
        }
    }

    @Test func lockedVirtualEntryIsInstalledUnlocked() {
        var v = PMPFile(entries: PMPLayout.virtualEntries)
        v.writeConfiguration(register: 0, UInt64(PMPFile.Bits.lock | PMPLayout.napot | 1) << 8)  // entry 1
        v.writeConfiguration(register: 2, UInt64(PMPFile.Bits.lock | PMPFile.Bits.tor | 5))       // entry 8
        let (cfg0, cfg2) = Self.layout.payloadConfiguration(v)
        #expect((cfg0 >> 56) & 0xFF == UInt64(PMPLayout.napot | 1), "virtual 1 -> physical 7")
        #expect((cfg2 >> 48) & 0xFF == UInt64(PMPFile.Bits.tor | 5), "virtual 8 -> physical 14")
        #expect((cfg0 | cfg2) & 0x8080_8080_8080_8080 == 0, "no physical entry is locked")
    }

    @Test func virtualEntryTwoLandsInTheSecondConfigurationRegister() {
        var v = PMPFile(entries: PMPLayout.virtualEntries)
        v.writeConfiguration(register: 0, UInt64(PMPLayout.napot | 3) << 16)  // entry 2
        let (cfg0, cfg2) = Self.layout.payloadConfiguration(v)
        #expect(cfg2 & 0xFF == UInt64(PMPLayout.napot | 3), "virtual 2 -> physical 8")
        #expect(cfg0 >> 48 == 0)
    }

    /// A locked entry binds M-mode too ("Locking and Privilege Mode"): in the
    /// firmware's world the locked entries stand before the catch-all, the
    /// unlocked ones do not apply.
    @Test func lockedVirtualEntriesBindTheFirmware() {
        var v = PMPFile(entries: PMPLayout.virtualEntries)
        // Entry 0: locked, read-only over 0x8800_0000 + 4 KiB. Entry 1:
        // unlocked, no access over 0x8900_0000 + 4 KiB.
        v.writeAddress(0, PMPLayout.napotAddress(base: 0x8800_0000, size: 0x1000))
        v.writeAddress(1, PMPLayout.napotAddress(base: 0x8900_0000, size: 0x1000))
        v.writeConfiguration(register: 0,
                             UInt64(PMPFile.Bits.lock | PMPLayout.napot | PMPLayout.read) | UInt64(PMPLayout.napot) << 8)
        let firmware = Self.firmwareWorld(v)
        #expect(firmware.permissions(at: 0x8800_0000) == "r--", "the locked entry binds virtual M-mode")
        #expect(firmware.permissions(at: 0x8900_0000) == "rwx", "an unlocked entry does not")
        #expect(firmware.permissions(at: 0x8020_0000) == "rwx")
        #expect(firmware.permissions(at: 0x8000_0000) == "---")
        let payload = Self.payloadWorld(v)
        #expect(payload.permissions(at: 0x8800_0000) == "r--")
        #expect(payload.permissions(at: 0x8900_0000) == "---")
    }
}
