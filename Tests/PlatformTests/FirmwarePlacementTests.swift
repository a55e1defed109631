import Foundation
import PropertyBased
import Testing
@testable import Platform

/// A minimal ELF64 little-endian RISC-V file written from the ELF
/// specification ("ELF Header", "Program Header"), independent of the parser.
struct ELFWriter {
    struct Load { var offset: UInt64; var paddr: UInt64; var filesz: UInt64; var memsz: UInt64; var type: UInt32 = 1 }
    var machine: UInt16 = 243
    var elfClass: UInt8 = 2
    var loads: [Load] = []
    var phoff: UInt64 = 64
    var size = 0x3000

    func bytes() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: size)
        func put(_ value: UInt64, _ at: Int, _ width: Int) {
            for i in 0..<width where at + i < b.count { b[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        b[0] = 0x7F; b[1] = 0x45; b[2] = 0x4C; b[3] = 0x46
        b[4] = elfClass; b[5] = 1; b[6] = 1
        put(2, 16, 2)                         // ET_EXEC
        put(UInt64(machine), 18, 2)
        put(1, 20, 4)
        put(0x8000_0000, 24, 8)               // e_entry
        put(phoff, 32, 8)
        put(64, 52, 2)                        // e_ehsize
        put(56, 54, 2)                        // e_phentsize
        put(UInt64(loads.count), 56, 2)
        for (i, l) in loads.enumerated() {
            let at = Int(phoff) + 56 * i
            put(UInt64(l.type), at, 4)
            put(7, at + 4, 4)
            put(l.offset, at + 8, 8)
            put(l.paddr, at + 16, 8)          // p_vaddr
            put(l.paddr, at + 24, 8)          // p_paddr
            put(l.filesz, at + 32, 8)
            put(l.memsz, at + 40, 8)
        }
        return b
    }
}

func parse(_ bytes: [UInt8], dramBase: UInt64 = 0x8000_0000) -> Result<FirmwareImage, FirmwareImage.Problem> {
    bytes.withUnsafeBytes { raw in
        FirmwareImage.parse(header: UnsafeRawBufferPointer(rebasing: raw.prefix(FirmwareImage.headerBytes)),
                            fileSize: UInt64(raw.count), dramBase: dramBase)
    }
}

func problem(_ result: Result<FirmwareImage, FirmwareImage.Problem>) -> FirmwareImage.Problem? {
    if case .failure(let p) = result { return p }
    return nil
}

func segments(_ image: FirmwareImage) -> [FirmwareImage.Segment] {
    (0..<image.segmentCount).map { image.segments[$0] }
}

@Suite("Firmware placement: where -bios puts a file")
struct FirmwareImageTests {
    @Test("A file without the ELF magic is a raw binary at the start of DRAM")
    func rawBinaryGoesToDRAMBase() throws {
        let image = try parse([UInt8](repeating: 0x13, count: 5000)).get()
        #expect(!image.isELF)
        #expect(segments(image) == [.init(fileOffset: 0, fileSize: 5000, address: 0x8000_0000, memorySize: 5000)])
    }

    @Test("An ELF's loadable segments go to their physical addresses, in file order, the rest zero-filled")
    func elfSegmentsAtPhysicalAddresses() throws {
        var elf = ELFWriter()
        elf.loads = [.init(offset: 0x2000, paddr: 0x8002_0000, filesz: 0x800, memsz: 0x1000),
                     .init(offset: 0x1000, paddr: 0x8000_0000, filesz: 0x1000, memsz: 0x1000),
                     .init(offset: 0, paddr: 0x9000_0000, filesz: 0, memsz: 0, type: 1),     // empty: skipped
                     .init(offset: 0x1000, paddr: 0x8800_0000, filesz: 8, memsz: 8, type: 4)] // PT_NOTE: skipped
        let image = try parse(elf.bytes()).get()
        #expect(image.isELF)
        #expect(segments(image) == [.init(fileOffset: 0x1000, fileSize: 0x1000, address: 0x8000_0000, memorySize: 0x1000),
                                    .init(fileOffset: 0x2000, fileSize: 0x800, address: 0x8002_0000, memorySize: 0x1000)])
    }

    @Test("Bad ELF files are refused with the reason, never placed")
    func badELFFilesAreRefused() {
        var wrongMachine = ELFWriter()
        wrongMachine.machine = 62
        #expect(problem(parse(wrongMachine.bytes())) == .unsupportedELF)
        var elf32 = ELFWriter()
        elf32.elfClass = 1
        #expect(problem(parse(elf32.bytes())) == .unsupportedELF)
        var beyondFile = ELFWriter()
        beyondFile.loads = [.init(offset: 0x2000, paddr: 0x8000_0000, filesz: 0x2000, memsz: 0x2000)]
        #expect(problem(parse(beyondFile.bytes())) == .malformedSegment)
        var fileBiggerThanMemory = ELFWriter()
        fileBiggerThanMemory.loads = [.init(offset: 0x1000, paddr: 0x8000_0000, filesz: 0x100, memsz: 0x80)]
        #expect(problem(parse(fileBiggerThanMemory.bytes())) == .malformedSegment)
        var overlapping = ELFWriter()
        overlapping.loads = [.init(offset: 0x1000, paddr: 0x8000_0000, filesz: 0x100, memsz: 0x1000),
                             .init(offset: 0x2000, paddr: 0x8000_0800, filesz: 0x100, memsz: 0x100)]
        #expect(problem(parse(overlapping.bytes())) == .overlappingSegments)
        var tooMany = ELFWriter()
        tooMany.loads = (0..<17).map { .init(offset: 0x1000, paddr: 0x8000_0000 + UInt64($0) * 0x1000, filesz: 8, memsz: 8) }
        #expect(problem(parse(tooMany.bytes())) == .tooManySegments)
        var farHeaders = ELFWriter()
        farHeaders.phoff = 0x2000
        farHeaders.loads = [.init(offset: 0, paddr: 0x8000_0000, filesz: 8, memsz: 8)]
        #expect(problem(parse(farHeaders.bytes())) == .programHeadersOutOfReach)
        var nothing = ELFWriter()
        nothing.loads = []
        #expect(problem(parse(nothing.bytes())) == .empty)
        #expect(problem(parse([])) == .empty)
    }

    @Test("A segment outside free DRAM, or on the device tree or initrd, is refused")
    func segmentsMustLieInFreeDRAM() throws {
        var elf = ELFWriter()
        elf.loads = [.init(offset: 0x1000, paddr: 0x8000_0000, filesz: 0x1000, memsz: 0x4_0000)]
        let image = try parse(elf.bytes()).get()
        let none = PlatformDescription.Region(base: 0, size: 0)
        let memory = PlatformDescription.Region(base: 0x8000_0000, size: 0x1000_0000)
        #expect(image.check(memory: memory, reserved: (none, none, none)) == nil)
        #expect(image.check(memory: .init(base: 0x8000_0000, size: 0x3_0000), reserved: (none, none, none)) != nil)
        #expect(image.check(memory: memory, reserved: (.init(base: 0x8003_F000, size: 0x2000), none, none)) != nil)
        #expect(image.check(memory: memory, reserved: (none, .init(base: 0x7FFF_F000, size: 0x1001), none)) != nil)
    }

    @Test("Debian's OpenSBI ELFs place at 0x80000000", arguments: ["fw_dynamic.elf", "fw_jump.elf"])
    func debianOpenSBIPlacesAtTheResetAddress(name: String) throws {
        let path = "/usr/lib/riscv64-linux-gnu/opensbi/generic/" + name
        guard let data = FileManager.default.contents(atPath: path) else {
            return   // the opensbi package is not installed on this host
        }
        let image = try parse([UInt8](data)).get()
        #expect(image.isELF)
        #expect(image.segments[0].address == 0x8000_0000)
        #expect(segments(image).allSatisfy { $0.address >= 0x8000_0000 && $0.address + $0.memorySize < 0x8020_0000 })
    }

    @Test("Unparseable headers of every shape never crash the parser")
    func randomHeadersNeverCrash() async {
        await propertyCheck(count: 2000, input: Gen.uint8().array(of: 0...300)) { tail in
            var bytes = ELFWriter().bytes()
            for (i, b) in tail.enumerated() where 16 + i * 7 < bytes.count { bytes[16 + i * 7] = b }
            if case .success(let image) = parse(bytes) {
                for s in segments(image) {
                    #expect(s.fileSize <= s.memorySize && s.fileOffset + s.fileSize <= UInt64(bytes.count))
                }
            }
        }
    }
}

@Suite("Boot descriptor staged by scripts/run")
struct BootDescriptorTests {
    /// The bytes scripts/lib/qemu.sh writes (`monitor_firmware_args`).
    static func descriptor(offset: UInt64 = 0x1000, size: UInt64, options: UInt32, rate: UInt32) -> [UInt8] {
        var b = Array("FVBOOT".utf8) + [0, 1]
        withUnsafeBytes(of: offset.littleEndian) { b += $0 }
        withUnsafeBytes(of: size.littleEndian) { b += $0 }
        withUnsafeBytes(of: options.littleEndian) { b += $0 }
        withUnsafeBytes(of: rate.littleEndian) { b += $0 }
        return b
    }

    @Test("The script's descriptor reads back: firmware offset and size, options, trace rate")
    func descriptorRoundTrips() {
        let bank = Self.descriptor(size: 116_776, options: 0x1F01, rate: 50) + [UInt8](repeating: 0, count: 0x2_0000)
        let d = bank.withUnsafeBytes { BootDescriptor(bank: $0) }
        #expect(d == BootDescriptor(firmwareOffset: 0x1000, firmwareSize: 116_776, options: 0x1F01, traceRate: 50))
    }

    @Test("No magic, or a firmware beyond the bank: no descriptor")
    func badDescriptorsAreRefused() {
        var bank = Self.descriptor(size: 0x100, options: 0, rate: 0) + [UInt8](repeating: 0, count: 0x1100)
        bank[7] = 2   // "FVBOOT\0\2": another version
        #expect(bank.withUnsafeBytes { BootDescriptor(bank: $0) } == nil)
        let tooBig = Self.descriptor(size: 0x1101, options: 0, rate: 0) + [UInt8](repeating: 0, count: 0x2000 - 32)
        #expect(tooBig.withUnsafeBytes { BootDescriptor(bank: $0) } == nil)
        let insideHeader = Self.descriptor(offset: 8, size: 1, options: 0, rate: 0) + [UInt8](repeating: 0, count: 64)
        #expect(insideHeader.withUnsafeBytes { BootDescriptor(bank: $0) } == nil)
        #expect([UInt8](repeating: 0xFF, count: 16).withUnsafeBytes { BootDescriptor(bank: $0) } == nil)
    }
}

@Suite("The monitor's region at the end of DRAM")
struct MonitorPlacementTests {
    static let memory = PlatformDescription.Region(base: 0x8000_0000, size: 0x1000_0000)
    static let tree = PlatformDescription.Region(base: 0x8FE0_0000, size: 0x2000)
    static let loaded = PlatformDescription.Region(base: 0x8000_0000, size: 0x1_2000)
    static let none = PlatformDescription.Region(base: 0, size: 0)

    @Test("One hart: the minimum 2 MiB at the end (memory still ends 2 MiB-aligned); QEMU's device tree moves 2 MiB lower")
    func oneHart() throws {
        let p = try MonitorPlacement.plan(memory: Self.memory, imageSize: 0x1_1000, harts: 1, hartBlock: 0x8000,
                                          deviceTree: Self.tree, initrd: Self.none, loaded: Self.loaded).get()
        #expect(p == MonitorPlacement(region: .init(base: 0x8FE0_0000, size: 0x20_0000), deviceTree: 0x8FC0_0000))
    }

    @Test("64 harts of 32 KiB: 4 MiB; the device tree moves below it")
    func sixtyFourHarts() throws {
        let p = try MonitorPlacement.plan(memory: Self.memory, imageSize: 0x1_1000, harts: 64, hartBlock: 0x8000,
                                          deviceTree: Self.tree, initrd: Self.none, loaded: Self.loaded).get()
        #expect(p == MonitorPlacement(region: .init(base: 0x8FC0_0000, size: 0x40_0000), deviceTree: 0x8FA0_0000))
    }

    @Test("A device tree outside the region stays where QEMU put it")
    func treeElsewhereStays() throws {
        let low = PlatformDescription.Region(base: 0x8800_0000, size: 0x2000)
        let p = try MonitorPlacement.plan(memory: Self.memory, imageSize: 0x1_1000, harts: 4, hartBlock: 0x8000,
                                          deviceTree: low, initrd: Self.none, loaded: Self.loaded).get()
        #expect(p.deviceTree == 0x8800_0000)
    }

    @Test("No room, or a moved tree landing on the initrd: refused")
    func refusals() {
        #expect(MonitorPlacement.plan(memory: .init(base: 0x8000_0000, size: 0x1_0000), imageSize: 0x1_1000, harts: 1,
                                      hartBlock: 0x4000, deviceTree: Self.tree, initrd: Self.none, loaded: Self.loaded)
                == .failure(.noRoom))
        #expect(MonitorPlacement.plan(memory: Self.memory, imageSize: 0x1_1000, harts: 64, hartBlock: 0x8000,
                                      deviceTree: Self.tree, initrd: .init(base: 0x8F00_0000, size: 0xB0_0000),
                                      loaded: Self.loaded) == .failure(.deviceTreeCollides))
    }

    @Test("For any memory and hart count: a power-of-two region, aligned, at the end, holding every block, clear of the tree")
    func regionInvariants() async {
        await propertyCheck(count: 500, input: Gen.int(in: 1...64), Gen.uint64(in: 4...4096)) { harts, megabytes in
            let block: UInt64 = 0x8000
            let memory = PlatformDescription.Region(base: 0x8000_0000, size: megabytes << 20)
            let top = memory.base + memory.size
            let tree = PlatformDescription.Region(base: (top - 0x3000) & ~0x1F_FFFF, size: 0x3000)
            guard case .success(let p) = MonitorPlacement.plan(memory: memory, imageSize: 0x1_1000, harts: harts,
                                                               hartBlock: block, deviceTree: tree,
                                                               initrd: Self.none, loaded: Self.loaded) else {
                #expect(megabytes < 16, "no placement with \(megabytes) MiB")
                return
            }
            #expect(p.region.size.nonzeroBitCount == 1 && p.region.base % p.region.size == 0)
            // At the end: the highest aligned place (DRAM sizes that are not a
            // multiple of the region's size leave less than one region above).
            #expect(p.region.base + p.region.size <= top && top - (p.region.base + p.region.size) < p.region.size)
            #expect(p.region.size >= 0x1_1000 + UInt64(harts) * block)
            #expect(p.region.size == MonitorPlacement.minimumSize || p.region.size < 2 * (0x1_2000 + UInt64(harts) * block))
            #expect(p.region.base % MonitorPlacement.minimumSize == 0, "memory must end 2 MiB-aligned")
            let moved = PlatformDescription.Region(base: p.deviceTree, size: tree.size)
            #expect(!moved.overlaps(p.region) && memory.contains(moved.base, width: moved.size))
            #expect(p.deviceTree % 0x20_0000 == 0)
        }
    }
}

@Suite("Device tree edits in place")
struct DeviceTreeEditsTests {
    func statuses(_ bytes: [UInt8]) -> [UInt64: String] {
        var result: [UInt64: String] = [:]
        bytes.withUnsafeBytes { raw in
            guard let tree = DeviceTree(bytes: raw) else { return }
            var reg: UInt64? = nil
            tree.forEachProperty { p in
                if p.depth == 3 && p.named("reg") { reg = UInt64(p.cell(0)) }
                if p.depth == 3 && p.named("status"), let r = reg {
                    result[r] = String(decoding: p.value.prefix { $0 != 0 }, as: UTF8.self)
                }
                return true
            }
        }
        return result
    }

    @Test("QEMU's tree: memory shrinks in place, harts 2 and 3 become status \"fail\", nothing else changes")
    func qemuTreeEdits() {
        var bytes = Fixture.qemuVirtSMP4
        let before = bytes
        let result = bytes.withUnsafeMutableBytes { buffer -> (Bool, (marked: Int, unmarked: Int)) in
            (DeviceTreeEdits.setMemorySize(in: buffer, base: 0x8000_0000, size: 0x7FE_0000),
             DeviceTreeEdits.disableHarts(in: buffer, atOrAbove: 2))
        }
        #expect(result.0)
        #expect(result.1 == (2, 0))
        #expect(bytes.count == before.count)
        #expect(statuses(bytes) == [0: "okay", 1: "okay", 2: "fail", 3: "fail"])
        var expected = Fixture.expectedPlatform
        expected.memory.size = 0x7FE_0000
        #expect(platform(of: bytes) == expected)
        #expect(zip(bytes, before).filter { $0 != $1 }.count <= 4 + 4 * 4, "more bytes changed than the edits need")
    }

    @Test("A hart without a status property is counted as not marked")
    func hartWithoutStatus() {
        var b = FDTBuilder()
        b.beginNode("")
        b.beginNode("cpus")
        for hart in 0..<3 {
            b.beginNode("cpu@\(hart)")
            b.property("device_type", strings: "cpu")
            b.property("reg", cells: [UInt32(hart)])
            if hart != 2 { b.property("status", strings: "okay") }
            b.endNode()
        }
        b.endNode()
        b.endNode()
        b.end()
        var bytes = b.blob()
        let result = bytes.withUnsafeMutableBytes { DeviceTreeEdits.disableHarts(in: $0, atOrAbove: 1) }
        #expect(result == (1, 1))
        #expect(statuses(bytes) == [0: "okay", 1: "fail"])
    }

    @Test("No memory node at that base: nothing changes")
    func memoryNodeMissing() {
        var bytes = Fixture.qemuVirtSMP4
        let before = bytes
        #expect(!bytes.withUnsafeMutableBytes { DeviceTreeEdits.setMemorySize(in: $0, base: 0x4000_0000, size: 1) })
        #expect(bytes == before)
    }
}
