import PropertyBased
import Testing
import VirtCore

/// The PLIC memory map written straight from the RISC-V PLIC specification
/// 1.0.0 ("Memory Map") as a table: every register that exists for a given
/// `riscv,ndev` and number of contexts is listed by its offset; anything not
/// in the table is reserved. Independent of `VirtualPLIC`'s arithmetic
/// decoding.
struct ReferencePLICMap {
    let sources: Int
    let contexts: Int
    let table: [UInt64: PLICRegister]

    init(sources: Int, harts: Int) {
        self.sources = sources
        contexts = 2 * harts
        // "Interrupt Pending Bits": source s is bit s % 32 of word s / 32, for s in 0...sources.
        let words = Set((0...sources).map { $0 / 32 }).count
        var table: [UInt64: PLICRegister] = [:]
        // base + 0x000004: priority of source 1, …; source 0 does not exist.
        for source in stride(from: 1, through: sources, by: 1) {
            table[0x00_0000 + 4 * UInt64(source)] = .priority(source: source)
        }
        for word in 0..<words {
            table[0x00_1000 + 4 * UInt64(word)] = .pending(word: word)
        }
        for context in 0..<contexts {
            for word in 0..<words {
                table[0x00_2000 + 0x80 * UInt64(context) + 4 * UInt64(word)] = .enable(context: context, word: word)
            }
            table[0x20_0000 + 0x1000 * UInt64(context)] = .threshold(context: context)
            table[0x20_0004 + 0x1000 * UInt64(context)] = .claimComplete(context: context)
        }
        self.table = table
    }

    func decode(offset: UInt64) -> PLICRegister {
        table[offset] ?? .reserved
    }

    /// The specification's access rules: pending bits are read-only, reserved
    /// registers are reserved; QEMU's missing re-evaluation after an enable
    /// store is corrected by a second store.
    static func route(_ register: PLICRegister, isStore: Bool) -> PLICRoute {
        switch (register, isStore) {
        case (.reserved, _), (.pending, true): return .none
        case (.enable, true): return .realThenReevaluate
        default: return .real
        }
    }
}

/// `riscv,ndev`: QEMU virt's 95, word boundaries, the maximum, or anything.
private let sourceCount = zip(Gen.int(in: 0...7), Gen.int(in: 0...1023)).map { pick, any in
    [95, 31, 32, 63, 64, 1023, 0, any][pick]
}

@Suite("Virtual PLIC view against the specification's table")
struct VirtualPLICPropertyTests {
    /// Random geometries and offsets (registers that exist, their neighbours,
    /// anything in or beyond the window): `decode` and `route` agree with
    /// the table.
    @Test func decodeAgreesWithTheTable() async {
        let offsets = zip(Gen.int(in: 0...9), Gen.uint64(), Gen.uint64()).array(of: 200...300)
        await propertyCheck(count: 60, input: sourceCount, Gen.int(in: 1...40), offsets) { sources, harts, offsets in
            let plic = VirtualPLIC(sources: sources, harts: harts)
            let reference = ReferencePLICMap(sources: sources, harts: harts)
            let legal = reference.table.keys.sorted()
            for (kind, a, b) in offsets {
                let offset: UInt64
                switch kind {
                case 0...3: offset = legal[Int(a % UInt64(legal.count))]
                case 4...5: offset = legal[Int(a % UInt64(legal.count))] &+ (b % 9) &- 4
                case 6: offset = a % 0x400_1000
                case 7: offset = (a % 0x400_1000) & ~3
                case 8: offset = 0x20_0000 + (a % 0x40) * 0x1000 + (b % 0x1000) & ~3
                default: offset = a
                }
                let want = reference.decode(offset: offset)
                let got = plic.decode(offset: offset)
                #expect(got == want, "sources \(sources) harts \(harts) offset 0x\(String(offset, radix: 16))")
                for isStore in [false, true] {
                    #expect(plic.route(got, isStore: isStore) == ReferencePLICMap.route(want, isStore: isStore),
                            "route of \(want), store \(isStore)")
                }
                if got != want { return }
            }
        }
    }

    /// Every aligned offset of the register area of a small PLIC, exhaustively.
    @Test(arguments: [(1, 1), (31, 2), (32, 1), (95, 4)])
    func everyAlignedOffsetOfASmallPLIC(sources: Int, harts: Int) {
        let plic = VirtualPLIC(sources: sources, harts: harts)
        let reference = ReferencePLICMap(sources: sources, harts: harts)
        var mismatches = 0
        let areas: [StrideTo<UInt64>] = [
            stride(from: 0, to: 0x20_0000, by: 4),
            stride(from: 0x20_0000, to: 0x20_0000 + 0x1000 * UInt64(2 * harts + 2), by: 4),
        ]
        for area in areas {
            for offset in area where plic.decode(offset: offset) != reference.decode(offset: offset) {
                mismatches += 1
                if mismatches < 5 { Issue.record("0x\(String(offset, radix: 16))") }
            }
        }
        #expect(mismatches == 0)
        #expect(reference.table.count == sources + (sources / 32 + 1) * (1 + 2 * harts) + 4 * harts)
    }
}
