import Foundation
import Platform
import PropertyBased
import Testing

/// `DeviceTreeReservation.reserve` (Devicetree Specification v0.4, 5.3
/// "Memory Reservation Block"): one more `/memreserve/` entry, in place.
@Suite("Device tree memory reservation")
struct DeviceTreeReservationTests {
    static let monitor = Reservation(base: 0x8000_0000, size: 0x10_0000)

    /// Runs `reserve` on `bytes` and returns its verdict with the buffer after it.
    static func reserve(_ r: Reservation, in bytes: [UInt8]) -> (Bool, [UInt8]) {
        var buffer = bytes
        let done = buffer.withUnsafeMutableBytes {
            DeviceTreeReservation.reserve(base: r.base, size: r.size, in: $0)
        }
        return (done, buffer)
    }

    @Test func reservingTheMonitorKeepsQEMUTreeIntact() throws {
        let original = Fixture.qemuVirtSMP4
        let (done, after) = Self.reserve(Self.monitor, in: original + [UInt8](repeating: 0, count: 16))
        try #require(done)
        #expect(platform(of: after) == Fixture.expectedPlatform)
        #expect(reservations(of: original) == [])
        #expect(reservations(of: after) == [Self.monitor])
        #expect(Int(after.be32(at: Header.totalSize)) == original.count + 16)
        #expect(withTree(after) { $0?.totalSize } == original.count + 16)
        // The header moves the two blocks and nothing else.
        for field in [Header.structureOffset, Header.stringsOffset] {
            #expect(after.be32(at: field) == original.be32(at: field) + 16)
        }
        for field in [Header.magic, Header.reservationOffset, Header.version, Header.lastCompatibleVersion,
                      Header.bootCPU, Header.stringsSize, Header.structureSize] {
            #expect(after.be32(at: field) == original.be32(at: field))
        }
        // Structure and strings blocks byte for byte, 16 bytes further up.
        let from = Int(original.be32(at: Header.structureOffset))
        #expect(Array(after[(from + 16)...]) == Array(original[from...]))
    }

    @Test func reservingLeavesFreeSpaceAfterTheTreeUntouched() throws {
        let original = Fixture.qemuVirtSMP4
        let tail = [UInt8](repeating: 0xEE, count: 40)
        let (done, after) = Self.reserve(Self.monitor, in: original + tail)
        try #require(done)
        #expect(Array(after[(original.count + 16)...]) == Array(tail.dropFirst(16)))
    }

    @Test func existingEntriesKeepTheirOrderAndTheNewOneFollows() throws {
        var t = FDTBuilder.machine()
        t.reservations = [(0x8400_0000, 0x1000), (0x8800_0000, 0x20_0000)]
        let old = t.blob()
        let (done, after) = Self.reserve(Self.monitor, in: old + [UInt8](repeating: 0, count: 16))
        try #require(done)
        #expect(reservations(of: after) == [.init(base: 0x8400_0000, size: 0x1000),
                                            .init(base: 0x8800_0000, size: 0x20_0000), Self.monitor])
        #expect(platform(of: after) == platform(of: old))
    }

    @Test func secondReservationNeedsAnotherSixteenBytes() throws {
        let second = Reservation(base: 0x9000_0000, size: 0x1000)
        let (first, once) = Self.reserve(Self.monitor, in: Fixture.qemuVirtSMP4 + [UInt8](repeating: 0, count: 31))
        try #require(first)
        let (again, unchanged) = Self.reserve(second, in: once)
        #expect(!again && unchanged == once, "15 spare bytes are not enough")
        let (done, twice) = Self.reserve(second, in: once + [0])
        try #require(done)
        #expect(reservations(of: twice) == [Self.monitor, second])
        #expect(platform(of: twice) == Fixture.expectedPlatform)
    }

    @Test(arguments: [0, 1, 8, 15])
    func noRoomIsRefusedAndChangesNothing(spare: Int) {
        let buffer = Fixture.qemuVirtSMP4 + [UInt8](repeating: 0x5A, count: spare)
        let (done, after) = Self.reserve(Self.monitor, in: buffer)
        #expect(!done && after == buffer)
    }

    /// Each case breaks one rule of 5.2 or 5.3.
    @Test(arguments: [
        ("bad magic", Header.magic, 0xD00D_FEEF),
        ("reservation block inside the header", Header.reservationOffset, 0x20),
        ("misaligned reservation block", Header.reservationOffset, 0x2C),
        ("reservation block past the tree", Header.reservationOffset, 5336),
        ("no terminator before the structure block", Header.reservationOffset, 0x30),
        ("structure block before the reservation block", Header.structureOffset, 0x20),
        ("strings block before the reservation block", Header.stringsOffset, 0x20),
        ("structure block past totalsize", Header.structureOffset, 5326 + 8),
        ("strings block at 2^32 - 16", Header.stringsOffset, 0xFFFF_FFF0),
        ("structure block at 2^32 - 8", Header.structureOffset, 0xFFFF_FFF8),
        ("strings block running past totalsize", Header.stringsSize, 0x187),
        ("totalsize below the header", Header.totalSize, 32),
        ("totalsize past the buffer", Header.totalSize, 5326 + 64),
    ])
    func malformedTreeIsRefusedAndChangesNothing(rule: String, field: Int, value: Int) {
        var buffer = Fixture.qemuVirtSMP4 + [UInt8](repeating: 0x77, count: 48)
        buffer.setBE32(UInt32(value), at: field)
        let (done, after) = Self.reserve(Self.monitor, in: buffer)
        #expect(!done, "\(rule)")
        #expect(after == buffer, "\(rule)")
    }

    @Test func bufferShorterThanAHeaderIsRefused() {
        for length in [0, 16, 39, 55] {
            let buffer = Array(Fixture.qemuVirtSMP4.prefix(length))
            let (done, after) = Self.reserve(Self.monitor, in: buffer)
            #expect(!done && after == buffer, "length \(length)")
        }
    }

    /// Any entry, on trees with 0-4 entries already and some free space
    /// after them: the tree still says the same, the entries are the old
    /// ones followed by the new one, and totalsize grew by 16.
    @Test func reservationAddsExactlyOneEntry() async {
        let entry = zip(Gen.uint64(), Gen.uint64(in: 1...UInt64.max))
        await propertyCheck(count: 200, input: entry, entry.array(of: 0...4), Gen.int(in: 16...64)) { new, old, spare in
            var t = FDTBuilder.machine(harts: 1 + old.count)
            t.reservations = old.map { ($0.0, $0.1) }
            let tree = t.blob()
            let (done, after) = Self.reserve(Reservation(base: new.0, size: new.1), in: tree + [UInt8](repeating: 0, count: spare))
            #expect(done)
            #expect(reservations(of: after) == old.map { Reservation(base: $0.0, size: $0.1) } + [Reservation(base: new.0, size: new.1)])
            #expect(platform(of: after) == platform(of: tree) && platform(of: tree) != nil)
            #expect(Int(after.be32(at: Header.totalSize)) == tree.count + 16)
        }
    }

    // MARK: An independent reader

    static let dtc: String? = ["/usr/bin/dtc", "/usr/local/bin/dtc"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The device-tree compiler (when installed) reads the edited tree back
    /// without complaint and lists the entry as `/memreserve/`.
    @Test(.enabled(if: dtc != nil, "dtc (device-tree-compiler) is not installed"))
    func deviceTreeCompilerReadsTheEditedTree() throws {
        let (done, after) = Self.reserve(Self.monitor, in: Fixture.qemuVirtSMP4 + [UInt8](repeating: 0, count: 16))
        try #require(done)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("firmvisor-dtc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("edited.dtb")
        try Data(after).write(to: file)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.dtc!)
        process.arguments = ["-q", "-I", "dtb", "-O", "dts", file.path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let complaints = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(complaints)")
        // `/memreserve/ <address> <length>;` lines, in whatever spacing and
        // number of digits this dtc prints.
        let entries = text.split(separator: "\n").filter { $0.hasPrefix("/memreserve/") }.map { line in
            line.dropFirst("/memreserve/".count).split(whereSeparator: { " \t;".contains($0) })
                .compactMap { UInt64($0.dropFirst(2), radix: 16) }
        }
        #expect(entries == [[0x8000_0000, 0x10_0000]], "\(text.prefix(200))")
        #expect(text.contains("riscv,ndev = <0x60>;"))
    }
}
