import Foundation
import Platform

/// Test data read from `Tests/PlatformTests/Fixtures` (excluded from the
/// target's sources, so read relative to this file).
enum Fixture {
    /// QEMU 7.2 `virt`'s device tree for `-smp 4 -m 128M` (5,326 bytes,
    /// `totalsize` equal to the file size, an empty `/memreserve/` block).
    static let qemuVirtSMP4: [UInt8] = load("qemu-virt-smp4.dtb")

    static func load(_ name: String) -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // Support
            .deletingLastPathComponent()  // PlatformTests
            .appendingPathComponent("Fixtures")
            .appendingPathComponent(name)
        guard let data = try? Data(contentsOf: url) else {
            fatalError("missing fixture \(url.path)")
        }
        return [UInt8](data)
    }

    /// What QEMU 7.2 `virt` with 4 harts and 128 MiB looks like.
    static var expectedPlatform: PlatformDescription {
        var d = PlatformDescription()
        d.harts = 4
        d.timebaseFrequency = 10_000_000
        d.memory = .init(base: 0x8000_0000, size: 128 << 20)
        d.clint = .init(base: 0x0200_0000, size: 0x1_0000)
        d.plic = .init(base: 0x0C00_0000, size: 0x60_0000)
        d.plicSources = 0x60
        d.uart = .init(base: 0x1000_0000, size: 0x100)
        d.testDevice = .init(base: 0x10_0000, size: 0x1000)
        // The cfi-flash's second bank: where scripts/run stages the firmware.
        d.stagingFlash = .init(base: 0x2200_0000, size: 0x200_0000)
        return d
    }
}

/// Big-endian field access on a byte array, for building and damaging blobs.
extension Array where Element == UInt8 {
    func be32(at offset: Int) -> UInt32 {
        self[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    func be64(at offset: Int) -> UInt64 {
        UInt64(be32(at: offset)) << 32 | UInt64(be32(at: offset + 4))
    }

    mutating func setBE32(_ value: UInt32, at offset: Int) {
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(i))) }
    }

    mutating func setBE64(_ value: UInt64, at offset: Int) {
        setBE32(UInt32(truncatingIfNeeded: value >> 32), at: offset)
        setBE32(UInt32(truncatingIfNeeded: value), at: offset + 4)
    }
}

/// Offsets of the flattened device tree header (Devicetree Specification
/// v0.4, 5.2 "Header").
enum Header {
    static let magic = 0, totalSize = 4, structureOffset = 8, stringsOffset = 12
    static let reservationOffset = 16, version = 20, lastCompatibleVersion = 24
    static let bootCPU = 28, stringsSize = 32, structureSize = 36
}

/// Parses `bytes` in place and hands the tree (or `nil`) to `body`.
func withTree<R>(_ bytes: [UInt8], _ body: (DeviceTree?) throws -> R) rethrows -> R {
    try bytes.withUnsafeBytes { try body(DeviceTree(bytes: $0)) }
}

/// The platform a blob describes, or `nil` when either step refuses it.
func platform(of bytes: [UInt8]) -> PlatformDescription? {
    withTree(bytes) { tree in tree.flatMap { PlatformDescription(deviceTree: $0) } }
}

/// The `/memreserve/` entries of a blob, or `nil` when it does not parse.
func reservations(of bytes: [UInt8]) -> [Reservation]? {
    withTree(bytes) { tree in
        guard let tree else { return nil }
        var list: [Reservation] = []
        DeviceTreeReservation.forEachReservation(in: tree) { list.append(Reservation(base: $0, size: $1)) }
        return list
    }
}

struct Reservation: Equatable, CustomStringConvertible {
    var base: UInt64
    var size: UInt64
    var description: String { "(0x\(String(base, radix: 16)), 0x\(String(size, radix: 16)))" }
}
