import Platform
import Testing

/// `DeviceTree` and `PlatformDescription` on QEMU's real tree and on trees
/// built or damaged on purpose (Devicetree Specification v0.4, chapter 5
/// "Flattened Devicetree (DTB) Format").
@Suite("Device tree and platform description")
struct DeviceTreeTests {
    // MARK: The QEMU virt fixture

    @Test func qemuVirtTreeDescribesFourHartsAnd128MiB() throws {
        let d = try #require(platform(of: Fixture.qemuVirtSMP4))
        #expect(d.harts == 4)
        #expect(d.timebaseFrequency == 10_000_000)
        #expect(d.memory == .init(base: 0x8000_0000, size: 0x800_0000))
        #expect(d.clint == .init(base: 0x0200_0000, size: 0x1_0000))
        #expect(d.plic == .init(base: 0x0C00_0000, size: 0x60_0000))
        #expect(d.plicSources == 96)
        #expect(d.uart.base == 0x1000_0000)
        #expect(d.testDevice.base == 0x10_0000)
        #expect(d == Fixture.expectedPlatform)
    }

    @Test func qemuVirtTreeHeaderIsReadAsWritten() throws {
        let bytes = Fixture.qemuVirtSMP4
        try withTree(bytes) { tree in
            let tree = try #require(tree)
            #expect(tree.totalSize == 5326)
            #expect(tree.totalSize == Int(bytes.be32(at: Header.totalSize)))
        }
    }

    @Test func walkVisitsPropertiesInDocumentOrderWithDepth() throws {
        try withTree(Fixture.qemuVirtSMP4) { tree in
            let tree = try #require(tree)
            var seen: [(Int, String, String)] = []
            let ok = tree.forEachProperty { p in
                seen.append((p.depth, String(decoding: p.node, as: UTF8.self), String(decoding: p.name, as: UTF8.self)))
                return true
            }
            #expect(ok, "a well-formed tree walks to FDT_END at depth 0")
            #expect(seen.first?.0 == 1 && seen.first?.1 == "" && seen.first?.2 == "#address-cells")
            let cpuTypes = seen.filter { $0.2 == "device_type" && $0.1.hasPrefix("cpu@") }
            #expect(cpuTypes.map(\.1) == ["cpu@0", "cpu@1", "cpu@2", "cpu@3"])
            #expect(cpuTypes.allSatisfy { $0.0 == 3 })
            // `cpu-map/cluster0/coreN` carry a `cpu` phandle: not harts.
            #expect(seen.contains { $0.1 == "core0" && $0.2 == "cpu" && $0.0 == 5 })
        }
    }

    @Test func walkStopsWhenTheVisitorSaysSo() throws {
        try withTree(Fixture.qemuVirtSMP4) { tree in
            let tree = try #require(tree)
            var visits = 0
            let ok = tree.forEachProperty { _ in
                visits += 1
                return visits < 3
            }
            #expect(ok && visits == 3)
        }
    }

    @Test func propertyHelpersReadCellsAndStringLists() throws {
        try withTree(Fixture.qemuVirtSMP4) { tree in
            let tree = try #require(tree)
            var plicCompatible = false, ndev: UInt32 = 0, outOfRange: UInt32 = 1, clintReg: UInt64 = 0
            tree.forEachProperty { p in
                if p.inNode("plic") && p.named("compatible") {
                    plicCompatible = p.containsString("riscv,plic0") && p.containsString("sifive,plic-1.0.0")
                        && !p.containsString("riscv,plic") && !p.containsString("plic0")
                }
                if p.named("riscv,ndev") {
                    ndev = p.cell(0)
                    outOfRange = p.cell(1)
                }
                if p.inNode("clint") && p.named("reg") { clintReg = p.cells64(0) }
                return true
            }
            #expect(plicCompatible, "whole strings of the list match, prefixes do not")
            #expect(ndev == 0x60 && outOfRange == 0)
            #expect(clintReg == 0x0200_0000)
        }
    }

    // MARK: Header validation

    @Test func badMagicIsRefused() {
        var b = Fixture.qemuVirtSMP4
        b[0] ^= 0x01
        #expect(withTree(b) { $0 == nil })
        b = Fixture.qemuVirtSMP4
        b.setBE32(0xEDFE_0DD0, at: Header.magic)  // little-endian magic
        #expect(withTree(b) { $0 == nil })
    }

    @Test func blobShorterThanTheHeaderIsRefused() {
        for length in [0, 1, 4, 39] {
            let b = Array(Fixture.qemuVirtSMP4.prefix(length))
            #expect(withTree(b) { $0 == nil }, "length \(length)")
        }
    }

    @Test func totalSizeLargerThanTheBufferIsRefused() {
        var b = Fixture.qemuVirtSMP4
        b.setBE32(UInt32(b.count + 1), at: Header.totalSize)
        #expect(withTree(b) { $0 == nil })
        b.setBE32(0xFFFF_FFFF, at: Header.totalSize)
        #expect(withTree(b) { $0 == nil })
        // The same blob cut short of its totalsize.
        #expect(withTree(Array(Fixture.qemuVirtSMP4.dropLast())) { $0 == nil })
    }

    @Test func totalSizeSmallerThanTheHeaderIsRefused() {
        var b = Fixture.qemuVirtSMP4
        for total: UInt32 in [0, 8, 39] {
            b.setBE32(total, at: Header.totalSize)
            #expect(withTree(b) { $0 == nil }, "totalsize \(total)")
        }
    }

    @Test(arguments: [
        (Header.structureOffset, 5326), (Header.structureOffset, 0xFFFF_FFF0),
        (Header.structureSize, 5326), (Header.structureSize, 0x1310 + 0x187),
        (Header.stringsOffset, 5327), (Header.stringsOffset, 0x8000_0000),
        (Header.stringsSize, 0x187), (Header.stringsSize, 0xFFFF_FFFF),
    ])
    func blockOutsideTheBlobIsRefused(field: Int, value: Int) {
        var b = Fixture.qemuVirtSMP4
        b.setBE32(UInt32(value), at: field)
        #expect(withTree(b) { $0 == nil })
    }

    /// 5.2: `totalsize` "shall encompass all sections of the structure"; the
    /// buffer may be larger (free space after the tree), but the tree ends at
    /// `totalsize`.
    @Test func treeEndsAtTotalSizeInsideALargerBuffer() throws {
        let padded = Fixture.qemuVirtSMP4 + [UInt8](repeating: 0, count: 64)
        try withTree(padded) { tree in
            let tree = try #require(tree)
            #expect(tree.totalSize == 5326)
            #expect(tree.bytes.count == 5326)
        }
        #expect(platform(of: padded) == Fixture.expectedPlatform)
        // A strings block that runs past totalsize into the spare bytes is out of range.
        var b = padded
        b.setBE32(0x186 + 16, at: Header.stringsSize)
        #expect(withTree(b) { $0 == nil })
        b = padded
        b.setBE32(5326 + 8, at: Header.structureOffset)
        b.setBE32(8, at: Header.structureSize)
        #expect(withTree(b) { $0 == nil })
    }

    @Test func pointerInitialiserHonoursItsLimit() {
        var b = Fixture.qemuVirtSMP4
        b.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            #expect(DeviceTree(base: base)?.totalSize == 5326)
            #expect(DeviceTree(base: base, limit: 5326)?.totalSize == 5326)
            #expect(DeviceTree(base: base, limit: 5325) == nil)
        }
        b.setBE32(0, at: Header.magic)
        #expect(b.withUnsafeBytes { DeviceTree(base: $0.baseAddress!) } == nil)
        b = Fixture.qemuVirtSMP4
        b.setBE32(2 << 20, at: Header.totalSize)
        #expect(b.withUnsafeBytes { DeviceTree(base: $0.baseAddress!) } == nil, "above the default 1 MiB limit")
    }

    // MARK: Structure block validation

    @Test func builtTreeWalksCleanly() {
        let t = FDTBuilder.machine(harts: 3)
        #expect(withTree(t.blob()) { $0?.forEachProperty { _ in true } } == true)
        let d = platform(of: t.blob())
        #expect(d?.harts == 3)
        #expect(d?.plicSources == 0x35)
        #expect(d?.timebaseFrequency == 1_000_000)
    }

    /// Each case breaks one rule of 5.4 ("Structure Block"); the walk reports
    /// it and the platform description refuses the tree.
    @Test(arguments: StructureDamage.allCases)
    func malformedStructureBlockIsRefused(damage: StructureDamage) {
        let blob = damage.blob()
        #expect(withTree(blob) { $0?.forEachProperty { _ in true } } == false, "\(damage)")
        #expect(platform(of: blob) == nil, "\(damage)")
    }

    enum StructureDamage: CaseIterable {
        case unterminatedNodeName, propertyLongerThanBlock, nameOutsideStrings, endNodeWithoutBegin
        case unknownToken, noEndToken, endInsideNode, emptyStructure, truncatedPropertyHeader

        func blob() -> [UInt8] {
            var t = FDTBuilder.machine()
            switch self {
            case .unterminatedNodeName:
                t.structure.removeLast(4)  // FDT_END
                t.token(FDTBuilder.beginNode)
                t.structure += Array("no-terminator".utf8)
            case .propertyLongerThanBlock:
                t.structure.removeLast(4)
                t.token(FDTBuilder.property)
                t.appendBE32(0x100)
                t.appendBE32(0)
                t.end()
            case .nameOutsideStrings:
                t.structure.removeLast(8)  // FDT_END_NODE (root), FDT_END
                t.token(FDTBuilder.property)
                t.appendBE32(4)
                t.appendBE32(UInt32(t.strings.count))  // one past the last string
                t.appendBE32(0)
                t.endNode()
                t.end()
            case .endNodeWithoutBegin:
                t.structure.removeLast(4)
                t.endNode()
                t.end()
            case .unknownToken:
                t.structure.removeLast(4)
                t.token(5)
                t.end()
            case .noEndToken:
                t.structure.removeLast(4)
            case .endInsideNode:
                t.structure.removeLast(8)
                t.end()
            case .emptyStructure:
                t.structure = []
            case .truncatedPropertyHeader:
                t.structure.removeLast(8)
                t.token(FDTBuilder.property)
                t.appendBE32(0)
            }
            return t.blob()
        }
    }

    @Test func nopTokensAreSkipped() {
        var t = FDTBuilder()
        t.nop()
        t.beginNode("")
        t.nop()
        t.property("a", cells: [1])
        t.nop()
        t.endNode()
        t.nop()
        t.end()
        var names: [String] = []
        let ok = withTree(t.blob()) { $0?.forEachProperty { names.append(String(decoding: $0.name, as: UTF8.self)); return true } }
        #expect(ok == true && names == ["a"])
    }

    // MARK: Platform description rules

    @Test func regBeforeCompatibleIsFiledWithItsNode() {
        let a = platform(of: FDTBuilder.machine(harts: 2, regFirst: false).blob())
        let b = platform(of: FDTBuilder.machine(harts: 2, regFirst: true).blob())
        #expect(a != nil && a == b)
        #expect(b?.clint == .init(base: 0x0200_0000, size: 0x1_0000))
        #expect(b?.uart == .init(base: 0x1000_0000, size: 0x100))
    }

    @Test func treeWithoutClintOrMemoryOrHartsIsRefused() {
        #expect(platform(of: FDTBuilder.machine(clint: false).blob()) == nil)
        #expect(platform(of: FDTBuilder.machine(memory: false).blob()) == nil)
        #expect(platform(of: FDTBuilder.machine(harts: 0).blob()) == nil)
    }

    @Test func firstUARTAndFirstMemoryWin() {
        let t = FDTBuilder.machine { t in
            t.beginNode("serial@10001000")
            t.property("compatible", strings: "ns16550a")
            t.reg(0x1000_1000, 0x100)
            t.endNode()
            t.beginNode("memory@100000000")
            t.property("device_type", strings: "memory")
            t.reg(0x1_0000_0000, 0x1000_0000)
            t.endNode()
        }
        let d = platform(of: t.blob())
        #expect(d?.uart.base == 0x1000_0000)
        #expect(d?.memory.base == 0x8000_0000)
    }

    @Test func sixtyFourBitTimebaseIsRead() {
        let t = FDTBuilder.machine(timebase: [1, 1])
        #expect(platform(of: t.blob())?.timebaseFrequency == 0x1_0000_0001)
    }
}
