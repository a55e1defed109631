import PropertyBased
import Testing
import VirtCore

/// Physical memory as a dictionary of 64-bit words (absent words read 0),
/// with pages that refuse to be read, and a log of the addresses read.
private struct FakeMemory: PhysicalMemoryReader {
    var words: [UInt64: UInt64] = [:]
    var unreadablePages: Set<UInt64> = []
    var reads: [UInt64] = []

    mutating func read64(_ address: UInt64) -> UInt64? {
        reads.append(address)
        if unreadablePages.contains(address >> 12) { return nil }
        return words[address] ?? 0
    }
}

/// Page tables for Sv39/Sv48/Sv57 written from the privileged specification
/// ("Sv39: Page-Based 39-bit Virtual-Memory System" and its Sv48/Sv57
/// siblings): 512 eight-byte PTEs per 4 KiB table; PTE bits V(0) R(1) W(2)
/// X(3) U(4) G(5) A(6) D(7), PPN in bits 53:10.
private struct PageTables {
    static let v: UInt64 = 1, r: UInt64 = 2, w: UInt64 = 4, x: UInt64 = 8
    static let u: UInt64 = 0x10, a: UInt64 = 0x40, d: UInt64 = 0x80
    static let rwx = r | w | x

    /// 3 (Sv39), 4 (Sv48) or 5 (Sv57).
    let levels: Int
    var memory = FakeMemory()
    let root: UInt64
    var nextTable: UInt64

    init(levels: Int, root: UInt64 = 0x8100_0000) {
        self.levels = levels
        self.root = root
        nextTable = root + 0x1000
    }

    /// `satp`: MODE 8/9/10 in bits 63:60, ASID in 59:44, the root's PPN in 43:0.
    func satp(asid: UInt64 = 0) -> UInt64 {
        UInt64(levels + 5) << 60 | asid << 44 | root >> 12
    }

    static func vpn(_ va: UInt64, _ level: Int) -> UInt64 { (va >> (12 + 9 * UInt64(level))) & 0x1FF }

    /// The address of the level-`level` PTE for `va`, creating the tables above it.
    mutating func slot(for va: UInt64, level: Int) -> UInt64 {
        var table = root
        var i = levels - 1
        while i > level {
            let address = table + Self.vpn(va, i) * 8
            let pte = memory.words[address] ?? 0
            if pte & Self.v != 0 && pte & Self.rwx == 0 {
                table = ((pte >> 10) & ((1 << 44) - 1)) << 12
            } else {
                precondition(pte == 0, "a leaf is in the way")
                let new = nextTable
                nextTable += 0x1000
                memory.words[address] = (new >> 12) << 10 | Self.v
                table = new
            }
            i -= 1
        }
        return table + Self.vpn(va, level) * 8
    }

    /// Writes a raw PTE at level `level` for `va`.
    mutating func set(_ va: UInt64, level: Int, pte: UInt64) {
        let at = slot(for: va, level: level)
        memory.words[at] = pte
    }

    /// Maps the page of level `level` (0: 4 KiB, 1: 2 MiB, 2: 1 GiB, ...) at `va` to `pa`.
    mutating func map(_ va: UInt64, to pa: UInt64, level: Int = 0, flags: UInt64 = rwx | a | d) {
        set(va, level: level, pte: (pa >> 12) << 10 | flags | Self.v)
    }

    /// The table page holding `va`'s PTE at `level` (after `slot` created it).
    mutating func tablePage(for va: UInt64, level: Int) -> UInt64 { slot(for: va, level: level) >> 12 }

    mutating func translate(_ va: UInt64, satp: UInt64? = nil) -> UInt64? {
        PageTableWalk.translate(va, satp: satp ?? self.satp(), memory: &memory)
    }
}

@Suite("Page table walk")
struct PageTableWalkTests {
    private typealias P = PageTables

    // MARK: Sv39

    @Test func sv39FourKiBPage() {
        var t = P(levels: 3)
        t.map(0x12_3456_7000, to: 0x8765_4000)
        #expect(t.translate(0x12_3456_7ABC) == 0x8765_4ABC)
        #expect(t.translate(0x12_3456_7000) == 0x8765_4000)
        #expect(t.translate(0x12_3456_7FFF) == 0x8765_4FFF)
        #expect(t.translate(0x12_3456_8000) == nil, "the next page is not mapped")
        #expect(t.translate(0x12_3456_6FFF) == nil)
    }

    /// Step 2 of the process: the PTE of level i is read at `a + va.vpn[i] * 8`,
    /// from the root named by `satp.PPN` down, and nothing else is read.
    @Test func walkReadsOnePTEPerLevelAtTheSpecifiedAddresses() {
        var t = P(levels: 3)
        let va: UInt64 = 0x00_4020_1000 | 0x123  // vpn[2] = 1, vpn[1] = 1, vpn[0] = 1
        t.map(va & ~0xFFF, to: 0x9000_1000)
        t.memory.reads = []
        #expect(t.translate(va) == 0x9000_1123)
        let level2 = t.root + 1 * 8
        let table1 = ((t.memory.words[level2]! >> 10) << 12)
        let table0 = ((t.memory.words[table1 + 8]! >> 10) << 12)
        #expect(t.memory.reads == [level2, table1 + 8, table0 + 8])
    }

    @Test func sv39TwoMiBSuperpage() {
        var t = P(levels: 3)
        t.map(0x4000_0000 + 0x60_0000, to: 0x8020_0000, level: 1)
        #expect(t.translate(0x4060_0000) == 0x8020_0000)
        #expect(t.translate(0x4065_4321) == 0x8025_4321, "VPN[0] and the offset come from the address")
        #expect(t.translate(0x407F_FFFF) == 0x803F_FFFF)
        #expect(t.translate(0x4080_0000) == nil)
    }

    @Test func sv39OneGiBSuperpage() {
        var t = P(levels: 3)
        t.map(0x40_0000_0000 - 0x4000_0000, to: 0x1_C000_0000, level: 2)  // vpn[2] = 255, the top of the lower half
        #expect(t.translate(0x3F_C000_0000) == 0x1_C000_0000)
        #expect(t.translate(0x3F_DEAD_BEEF) == 0x1_DEAD_BEEF)
        #expect(t.translate(0x3F_FFFF_FFFF) == 0x1_FFFF_FFFF)
    }

    @Test func sv39UpperHalfUsesSignExtendedAddresses() {
        var t = P(levels: 3)
        t.map(0xFFFF_FFC0_0000_0000, to: 0x8000_0000, level: 2)  // vpn[2] = 256: the first upper-half gigabyte
        t.map(0xFFFF_FFFF_FFFF_F000, to: 0x8765_4000)            // the very last page
        #expect(t.translate(0xFFFF_FFC0_1234_5678) == 0x9234_5678)
        #expect(t.translate(0xFFFF_FFFF_FFFF_FFF8) == 0x8765_4FF8)
    }

    /// Sv39: "bits 63-39 must all equal bit 38, or else a page-fault
    /// exception will occur" (and likewise 63-48 for Sv48, 63-57 for Sv57).
    @Test func nonCanonicalAddressesDoNotTranslate() {
        var t = P(levels: 3)
        t.map(0x1000, to: 0x8000_1000)
        t.map(0xFFFF_FFC0_0000_0000, to: 0x8000_0000, level: 2)
        #expect(t.translate(0x1000) == 0x8000_1000)
        #expect(t.translate(0x80_0000_1000) == nil, "bit 39 set, bit 38 clear")
        #expect(t.translate(0x8000_0000_0000_1000) == nil, "bit 63 set, bit 38 clear")
        #expect(t.translate(0x7FFF_FFC0_0000_0000) == nil, "bit 38 set, bit 63 clear")
        var t48 = P(levels: 4)
        t48.map(0x1000, to: 0x8000_1000)
        #expect(t48.translate(0x1000) == 0x8000_1000)
        #expect(t48.translate(0x1_0000_0000_1000) == nil, "bit 48 set, bit 47 clear")
    }

    // MARK: Sv48 and Sv57

    @Test func sv48PagesOfEverySize() {
        var t = P(levels: 4)
        t.map(0x7F12_3456_7000, to: 0x8000_3000)                      // 4 KiB, vpn[3] = 254
        t.map(0x0000_4000_0020_0000, to: 0x9000_0000, level: 1)       // 2 MiB
        t.map(0x0000_0080_4000_0000, to: 0x2_4000_0000, level: 2)     // 1 GiB
        t.map(0x0000_1000_0000_0000, to: 0x80_0000_0000, level: 3)    // 512 GiB
        #expect(t.translate(0x7F12_3456_7FED) == 0x8000_3FED)
        #expect(t.translate(0x0000_4000_003F_0001) == 0x901F_0001)
        #expect(t.translate(0x0000_0080_7FFF_FFFF) == 0x2_7FFF_FFFF)
        #expect(t.translate(0x0000_1012_3456_789A) == 0x92_3456_789A)
        #expect(t.translate(0xFFFF_8000_0000_0000) == nil, "nothing in the upper half")
    }

    @Test func sv57FourKiBPage() {
        var t = P(levels: 5)
        t.map(0x00FF_FFFF_FFFF_F000, to: 0xF_FFFF_F000)       // vpn[4] = 255, the lower half's last page
        t.map(0xFF00_0000_0000_0000, to: 0x8000_0000)         // vpn[4] = 256
        #expect(t.translate(0x00FF_FFFF_FFFF_F123) == 0xF_FFFF_F123)
        #expect(t.translate(0xFF00_0000_0000_0ABC) == 0x8000_0ABC)
    }

    // MARK: Unusable entries

    @Test(arguments: 0..<3)
    func invalidPTEStopsTheWalk(level: Int) {
        var t = P(levels: 3)
        t.map(0x4000_0000, to: 0x8000_0000)
        let address = t.slot(for: 0x4000_0000, level: level)
        t.memory.words[address]! &= ~P.v
        #expect(t.translate(0x4000_0000) == nil)
    }

    @Test func writeWithoutReadIsReserved() {
        var t = P(levels: 3)
        t.map(0x1000, to: 0x8000_1000, flags: P.w | P.a | P.d)
        t.map(0x2000, to: 0x8000_2000, flags: P.w | P.x | P.a | P.d)
        t.map(0x20_0000, to: 0x8020_0000, level: 1, flags: P.w)
        t.map(0x3000, to: 0x8000_3000, flags: P.r | P.w)
        #expect(t.translate(0x1000) == nil)
        #expect(t.translate(0x2000) == nil)
        #expect(t.translate(0x20_0000) == nil, "W without R is reserved at any level, not a pointer")
        #expect(t.translate(0x3000) == 0x8000_3000)
    }

    @Test func executeOnlyAndReadOnlyPagesAreLeaves() {
        var t = P(levels: 3)
        t.map(0x1000, to: 0x8000_1000, flags: P.x)
        t.map(0x2000, to: 0x8000_2000, flags: P.r)
        #expect(t.translate(0x1000) == 0x8000_1000)
        #expect(t.translate(0x2000) == 0x8000_2000)
    }

    /// The walk finds addresses; permissions (U, A, D) are the hardware's to check.
    @Test func permissionBitsDoNotChangeTheTranslation() {
        var t = P(levels: 3)
        t.map(0x1000, to: 0x8000_1000, flags: P.r | P.u)
        t.map(0x2000, to: 0x8000_2000, flags: P.r | P.w | 0x300 | 0x20)  // RSW and G, no A or D
        #expect(t.translate(0x1000) == 0x8000_1000)
        #expect(t.translate(0x2000) == 0x8000_2000)
    }

    @Test func pointerAtTheLastLevelIsAFault() {
        var t = P(levels: 3)
        t.set(0x5000, level: 0, pte: (0x8800_0000 >> 12) << 10 | P.v)
        #expect(t.translate(0x5000) == nil)
    }

    /// "If i > 0 and pte.ppn[i-1:0] != 0, this is a misaligned superpage."
    @Test(arguments: [
        (1, UInt64(0x8020_1000)),   // 2 MiB page, ppn[0] = 1
        (1, 0x801F_F000),           // ppn[0] = 0x1FF
        (2, 0x4020_0000),           // 1 GiB page, ppn[1] != 0
        (2, 0x4000_1000),           // 1 GiB page, ppn[0] != 0
    ])
    func misalignedSuperpageIsAFault(level: Int, pa: UInt64) {
        var t = P(levels: 3)
        let va: UInt64 = level == 1 ? 0x20_0000 : 0x4000_0000
        t.map(va, to: pa, level: level)
        #expect(t.translate(va) == nil)
        #expect(t.translate(va + 0x1234) == nil)
    }

    @Test func misalignedSv48TerapageIsAFault() {
        var t = P(levels: 4)
        t.map(0x80_0000_0000, to: 0x80_4000_0000, level: 3)  // ppn[2] != 0
        #expect(t.translate(0x80_0000_0000) == nil)
    }

    @Test(arguments: 0..<3)
    func unreadableTableMemoryStopsTheWalk(level: Int) {
        var t = P(levels: 3)
        t.map(0x12_3456_7000, to: 0x8765_4000)
        let page = t.tablePage(for: 0x12_3456_7000, level: level)
        t.memory.unreadablePages.insert(page)
        #expect(t.translate(0x12_3456_7000) == nil)
    }

    // MARK: satp

    @Test func bareModeIsTheIdentityAndReadsNothing() {
        var memory = FakeMemory()
        for va: UInt64 in [0, 0x8000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0x1234_5678_9ABC_DEF0] {
            #expect(PageTableWalk.translate(va, satp: 0, memory: &memory) == va)
        }
        #expect(memory.reads.isEmpty)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15])
    func unsupportedModeDoesNotTranslate(mode: UInt64) {
        var t = P(levels: 3)
        t.map(0x1000, to: 0x8000_1000)
        let satp = mode << 60 | t.root >> 12
        #expect(t.translate(0x1000, satp: satp) == nil)
        #expect(t.memory.reads.isEmpty)
    }

    @Test func asidIsIgnoredAndTheRootMayBeAnywhere() {
        var t = P(levels: 3, root: 0x80_0000_0000_0000)  // PPN bit 43
        t.map(0x1000, to: 0x8000_1000)
        #expect(t.translate(0x1000, satp: t.satp(asid: 0xFFFF)) == 0x8000_1000)
        #expect(t.memory.reads.first == 0x80_0000_0000_0000)
    }

    // MARK: Against a model

    /// One random mapping: which level, which page, and how its PTE is broken.
    fileprivate struct Mapping: Sendable, CustomStringConvertible {
        var level: Int
        var vpns: [UInt64]
        var ppn: UInt64
        /// 0...5 a good leaf (R, RW, X, RX, RWX), 6 invalid, 7 W without R, 8 misaligned.
        var kind: Int

        var description: String { "L\(level) vpn \(vpns) ppn 0x\(String(ppn, radix: 16)) kind \(kind)" }

        func virtualBase(levels: Int) -> UInt64 {
            var va: UInt64 = 0
            for i in level..<levels { va |= vpns[i] << (12 + 9 * UInt64(i)) }
            let bits = 12 + 9 * UInt64(levels)
            return UInt64(bitPattern: Int64(bitPattern: va << (64 - bits)) >> (64 - bits))  // sign-extend
        }

        var pageSize: UInt64 { 1 << (12 + 9 * UInt64(level)) }

        /// The physical page the PTE names (misaligned on purpose for kind 8).
        var physicalBase: UInt64 {
            let aligned = ppn & ~((1 << (9 * UInt64(level))) - 1)
            return (kind == 8 && level > 0 ? aligned | 1 << UInt64(9 * level - 1) : aligned) << 12
        }

        var flags: UInt64 {
            switch kind {
            case 0: return P.r
            case 1: return P.r | P.w
            case 2: return P.x
            case 3: return P.r | P.x
            case 4, 5, 8: return P.rwx | P.a | P.d
            case 6: return P.rwx | P.a | P.d  // written without V
            default: return P.w | P.x
            }
        }

        /// What the specification says about an address in this page.
        func expected(_ va: UInt64) -> UInt64? {
            switch kind {
            case 6, 7: return nil
            case 8 where level > 0: return nil
            default: return physicalBase | (va & (pageSize - 1))
            }
        }
    }

    fileprivate static func mapping(levels: Int) -> Generator<Mapping, some SendableSequenceType> {
        // Small VPNs collide often; a few large ones reach the whole space.
        let vpn = zip(Gen.bool, Gen.uint64(in: 0...511)).map { small, raw in small ? raw % 3 : raw }
        return zip(Gen.int(in: 0...(levels - 1)), vpn.array(of: levels), Gen.uint64(in: 0...((1 << 44) - 1)), Gen.int(in: 0...8))
            .map { level, vpns, ppn, kind in Mapping(level: level, vpns: vpns, ppn: ppn, kind: kind) }
    }

    /// Random mappings of every page size (some with broken PTEs) inserted
    /// into page tables and into a list of non-overlapping ranges; `translate`
    /// agrees with the list on the first, last and a random byte of every
    /// page, on random canonical addresses and on non-canonical ones.
    @Test(.shrinking(false), arguments: [3, 4, 5])
    func translateAgreesWithTheModel(levels: Int) async {
        await propertyCheck(count: 150, input: Self.mapping(levels: levels).array(of: 1...40), Gen.uint64().array(of: 20)) { mappings, probes in
            var t = P(levels: levels)
            var model: [(base: UInt64, mapping: Mapping)] = []
            for m in mappings {
                let base = m.virtualBase(levels: levels)
                let overlaps = model.contains { other in
                    base <= other.base + (other.mapping.pageSize - 1) && other.base <= base + (m.pageSize - 1)
                }
                if overlaps { continue }
                let pte = (m.physicalBase >> 12) << 10 | m.flags | (m.kind == 6 ? 0 : P.v)
                t.set(base, level: m.level, pte: pte)
                model.append((base, m))
            }
            func reference(_ va: UInt64) -> UInt64? {
                let bits = 12 + 9 * UInt64(levels)
                let top = Int64(bitPattern: va) >> (bits - 1)
                guard top == 0 || top == -1 else { return nil }
                guard let hit = model.first(where: { va >= $0.base && va - $0.base < $0.mapping.pageSize }) else { return nil }
                return hit.mapping.expected(va)
            }
            var addresses: [UInt64] = []
            for (i, entry) in model.enumerated() {
                let random = probes[i % probes.count] % entry.mapping.pageSize
                addresses += [entry.base, entry.base + (entry.mapping.pageSize - 1), entry.base + random]
            }
            let bits = 12 + 9 * UInt64(levels)
            for p in probes {
                addresses.append(p)  // mostly non-canonical
                addresses.append(UInt64(bitPattern: Int64(bitPattern: p << (64 - bits)) >> (64 - bits)))
            }
            for va in addresses {
                let got = t.translate(va), want = reference(va)
                #expect(got == want, "va 0x\(String(va, radix: 16)) in \(model.map(\.mapping))")
                if got != want { return }
            }
        }
    }
}
