import Platform
import PropertyBased
import Testing

/// The device-tree reader must be total: the monitor reads whatever QEMU (or
/// a user's `-dtb`) put at `a1` before anything else runs, so a damaged blob
/// has to come back as `nil` or as some description, never as a crash (in
/// the hosted build every buffer subscript is bounds-checked and would trap).
@Suite("Device tree fuzzing")
struct DeviceTreeFuzzTests {
    /// One damage done to a copy of the fixture.
    struct Mutation: Sendable, CustomStringConvertible {
        var kind: Int
        var position: Int
        var value: UInt64

        var description: String { "(\(kind), \(position), 0x\(String(value, radix: 16)))" }

        /// Values a length, an offset or a token is likely to go wrong on.
        static func interesting(_ value: UInt64, total: Int) -> UInt32 {
            let pick: [UInt32] = [0, 1, 2, 3, 4, 9, 39, 40, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFC,
                                  UInt32(total), UInt32(total - 1), UInt32(total + 1), UInt32(total + 16)]
            let i = Int(value % UInt64(pick.count + 4))
            if i < pick.count { return pick[i] }
            return UInt32(truncatingIfNeeded: value >> 8) % UInt32(2 * total)
        }

        func apply(to bytes: inout [UInt8]) {
            guard !bytes.isEmpty else { return }
            let total = Fixture.qemuVirtSMP4.count
            switch kind {
            case 0:  // one byte anywhere
                bytes[position % bytes.count] = UInt8(truncatingIfNeeded: value)
            case 1:  // one header field
                let field = 4 * (position % 10)
                if field + 4 <= bytes.count { bytes.setBE32(Mutation.interesting(value, total: total), at: field) }
            case 2:  // one aligned word of the structure or strings block
                let at = (position % bytes.count) & ~3
                if at + 4 <= bytes.count { bytes.setBE32(Mutation.interesting(value, total: total), at: at) }
            case 3:  // flip one bit
                let bit = position % (8 * bytes.count)
                bytes[bit / 8] ^= 1 << UInt8(bit % 8)
            default:  // cut the buffer short or leave free space after it
                let change = Int(value % 129) - 64
                if change < 0 {
                    bytes.removeLast(min(-change, bytes.count))
                } else {
                    bytes += [UInt8](repeating: UInt8(truncatingIfNeeded: value >> 8), count: change)
                }
            }
        }
    }

    static let mutation = zip(Gen.int(in: 0...8), Gen.int(in: 0...Int(UInt32.max)), Gen.uint64())
        .map { Mutation(kind: min($0, 4), position: $1, value: $2) }

    /// Everything a reader may do with a tree, each result checked for
    /// staying inside the blob.
    static func exercise(_ bytes: [UInt8]) {
        let parsed: PlatformDescription?? = withTree(bytes) { tree in
            guard let tree else { return .none }
            #expect(tree.totalSize >= 40 && tree.totalSize <= bytes.count)
            #expect(tree.totalSize == Int(bytes.be32(at: Header.totalSize)))
            let start = UInt(bitPattern: tree.bytes.baseAddress), end = start + UInt(tree.totalSize)
            func inside(_ slice: UnsafeRawBufferPointer) -> Bool {
                let s = UInt(bitPattern: slice.baseAddress)
                return slice.count == 0 || (s >= start && s + UInt(slice.count) <= end)
            }
            var escaped = 0
            tree.forEachProperty { p in
                if !inside(p.node) || !inside(p.name) || !inside(p.value) { escaped += 1 }
                _ = p.containsString("riscv,plic0")
                _ = p.cells64(Int(p.value.count / 4))
                return true
            }
            #expect(escaped == 0, "a property slice lies outside the tree")
            DeviceTreeReservation.forEachReservation(in: tree) { _, _ in }
            return .some(PlatformDescription(deviceTree: tree))
        }
        if case .some(.some(let d)) = parsed {
            #expect(d.harts > 0 && d.clint.size > 0 && d.plic.size > 0 && d.memory.size > 0)
        }
        // The monitor's in-place edits never write outside the tree.
        var edited = bytes + [UInt8](repeating: 0xA5, count: 16)
        edited.withUnsafeMutableBytes { buffer in
            _ = DeviceTreeEdits.setMemorySize(in: buffer, base: 0x8000_0000, size: 0x100_0000)
            _ = DeviceTreeEdits.disableHarts(in: buffer, atOrAbove: 1)
        }
        #expect(edited.count == bytes.count + 16 && edited.suffix(16).allSatisfy { $0 == 0xA5 })
    }

    /// Random damage (1-24 mutations) to QEMU's tree: the reader, the
    /// description and `/memreserve/` editing survive all of it, and an edit
    /// that is refused leaves the buffer as it was.
    @Test(.shrinking(false)) func damagedQEMUTreeNeverCrashesTheReader() async {
        await propertyCheck(count: 4000, input: Self.mutation.array(of: 1...24)) { mutations in
            var bytes = Fixture.qemuVirtSMP4
            for m in mutations { m.apply(to: &bytes) }
            Self.exercise(bytes)

            var buffer = bytes + [UInt8](repeating: 0xA5, count: 16)
            let before = buffer
            let parsedBefore = platform(of: bytes)
            let done = buffer.withUnsafeMutableBytes {
                DeviceTreeReservation.reserve(base: 0x8000_0000, size: 0x10_0000, in: $0)
            }
            if !done {
                #expect(buffer == before, "a refused reservation changed the buffer: \(mutations)")
            } else {
                Self.exercise(buffer)
                if let parsedBefore {
                    #expect(platform(of: buffer) == parsedBefore, "the reservation changed what the tree says: \(mutations)")
                }
            }
        }
    }

    /// A header that passes the magic check in front of random token
    /// streams built from the pieces a real tree has.
    @Test(.shrinking(false)) func randomBlobsNeverCrashTheReader() async {
        await propertyCheck(count: 4000, input: Gen.uint64()) { seed in
            var random = SplitMix64(seed: seed)
            let blob = RandomBlob.make(&random)
            Self.exercise(blob)
            var buffer = blob + [UInt8](repeating: 0, count: 16)
            let before = buffer
            let done = buffer.withUnsafeMutableBytes {
                DeviceTreeReservation.reserve(base: 1, size: 2, in: $0)
            }
            if !done { #expect(buffer == before, "seed \(seed)") } else { Self.exercise(buffer) }
        }
    }

    /// Bytes with no structure at all, of every short length.
    @Test func randomBytesNeverCrashTheReader() async {
        await propertyCheck(count: 500, input: Gen.uint8().array(of: 0...200)) { bytes in
            Self.exercise(bytes)
            var magic = bytes
            if magic.count >= 4 { magic.setBE32(0xD00D_FEED, at: 0) }
            Self.exercise(magic)
        }
    }
}

/// A small deterministic generator, so that a failing seed is the whole input.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random trees: a plausible header, a structure block of tokens with names
/// and values a platform reader cares about, some of them broken.
enum RandomBlob {
    static let propertyNames = ["compatible", "reg", "device_type", "riscv,ndev", "timebase-frequency", "#size-cells"]
    static let nodeNames = ["", "cpus", "cpu@0", "cpu@1", "memory@80000000", "soc", "plic@c000000", "clint@2000000", "x"]
    static let strings: [[UInt8]] = ["riscv,clint0", "sifive,plic-1.0.0", "ns16550a", "sifive,test0", "memory", "cpu", "cpu\0memory"]
        .map { Array($0.utf8) + [0] }

    static func make<R: RandomNumberGenerator>(_ r: inout R) -> [UInt8] {
        var t = FDTBuilder()
        for name in propertyNames { _ = t.nameOffset(name) }
        let tokens = Int.random(in: 0...80, using: &r)
        var depth = 0
        for _ in 0..<tokens {
            switch Int.random(in: 0..<20, using: &r) {
            case 0..<5:
                t.beginNode(nodeNames.randomElement(using: &r)!)
                depth += 1
            case 5..<8 where depth > 0 || Bool.random(using: &r):
                t.endNode()
                depth -= 1
            case 8..<15:
                let nameOffset: UInt32 = Int.random(in: 0..<10, using: &r) == 0
                    ? UInt32.random(in: 0...UInt32(t.strings.count + 4), using: &r)
                    : UInt32(t.stringOffsets[propertyNames.randomElement(using: &r)!]!)
                var value: [UInt8]
                switch Int.random(in: 0..<4, using: &r) {
                case 0: value = strings.randomElement(using: &r)!
                case 1: value = (0..<4 * Int.random(in: 0...4, using: &r)).map { _ in UInt8.random(in: 0...3, using: &r) }
                default: value = (0..<Int.random(in: 0...24, using: &r)).map { _ in UInt8.random(in: 0...255, using: &r) }
                }
                t.token(FDTBuilder.property)
                let lie = Int.random(in: 0..<12, using: &r) == 0
                t.appendBE32(lie ? UInt32.random(in: 0...UInt32.max, using: &r) : UInt32(value.count))
                t.appendBE32(nameOffset)
                t.structure += value
                t.pad()
            case 15: t.nop()
            case 16: t.end()
            case 17: t.appendBE32(UInt32.random(in: 0...UInt32.max, using: &r))
            case 18: t.structure += Array("unterminated".utf8)
            default:
                while depth > 0 { t.endNode(); depth -= 1 }
                t.end()
            }
        }
        if Bool.random(using: &r) {
            while depth > 0 { t.endNode(); depth -= 1 }
            t.end()
        }
        if Int.random(in: 0..<3, using: &r) == 0 { t.reservations.append((UInt64.random(in: 0...UInt64.max, using: &r), 1)) }
        var blob = t.blob(spare: Int.random(in: 0...8, using: &r) * 4)
        // Now and then, a header field off by a little or by a lot.
        for _ in 0..<Int.random(in: 0...2, using: &r) {
            let field = 4 * Int.random(in: 1..<10, using: &r)
            let old = Int(blob.be32(at: field))
            let new = Bool.random(using: &r) ? old + Int.random(in: -8...8, using: &r) : Int.random(in: 0...blob.count + 64, using: &r)
            blob.setBE32(UInt32(truncatingIfNeeded: new), at: field)
        }
        return blob
    }
}
