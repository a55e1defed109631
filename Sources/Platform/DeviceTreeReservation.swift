/// Adds an entry to a flattened device tree's memory reservation block
/// (Devicetree Specification v0.4, 5.3 "Memory Reservation Block"), in place.
///
/// The monitor reserves its own memory this way before the firmware sees the
/// tree, so that the payload (Linux reads `/memreserve/` entries into
/// `memblock`) never allocates it: the PMP would refuse every access.
public enum DeviceTreeReservation {
    /// Inserts `(base, size)` into the reservation block of the tree at the
    /// start of `buffer`, moving the structure and strings blocks up by 16
    /// bytes. `buffer` must extend past the tree's `totalsize` by at least
    /// 16 bytes of free space. Returns false, changing nothing, when the tree
    /// is malformed or there is no room.
    public static func reserve(base: UInt64, size: UInt64, in buffer: UnsafeMutableRawBufferPointer) -> Bool {
        let view = UnsafeRawBufferPointer(buffer)
        guard view.count >= 40, DeviceTree.be32(view, 0) == DeviceTree.magic else { return false }
        let total = Int(DeviceTree.be32(view, 4))
        let structure = Int(DeviceTree.be32(view, 8))
        let strings = Int(DeviceTree.be32(view, 12))
        let reservations = Int(DeviceTree.be32(view, 16))
        // The structure and strings blocks must lie inside totalsize (5.2), or
        // the move below would miss them (or run backwards).
        guard total <= view.count - 16, total <= Int(UInt32.max) - 16,
              DeviceTree(bytes: UnsafeRawBufferPointer(rebasing: view[0..<total])) != nil,
              reservations >= 40, reservations % 8 == 0,
              reservations < total, structure >= reservations, strings >= reservations else { return false }
        // Find the terminating (0, 0) entry.
        var entry = reservations
        while true {
            guard entry + 16 <= min(structure, strings) else { return false }
            if be64(view, entry) == 0 && be64(view, entry + 8) == 0 { break }
            entry += 16
        }
        // Everything from the terminator on moves up by one entry.
        let moved = total - entry
        guard let start = buffer.baseAddress else { return false }
        (start + entry + 16).copyMemory(from: start + entry, byteCount: moved)
        store64(buffer, entry, base)
        store64(buffer, entry + 8, size)
        store32(buffer, 4, UInt32(total + 16))
        store32(buffer, 8, UInt32(structure + 16))
        store32(buffer, 12, UInt32(strings + 16))
        return true
    }

    static func be64(_ b: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(DeviceTree.be32(b, offset)) << 32 | UInt64(DeviceTree.be32(b, offset + 4))
    }

    static func store32(_ b: UnsafeMutableRawBufferPointer, _ offset: Int, _ value: UInt32) {
        for i in 0..<4 { b[offset + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(i))) }
    }

    static func store64(_ b: UnsafeMutableRawBufferPointer, _ offset: Int, _ value: UInt64) {
        store32(b, offset, UInt32(truncatingIfNeeded: value >> 32))
        store32(b, offset + 4, UInt32(truncatingIfNeeded: value))
    }

    /// The reservation entries of a tree, for checks: calls `visit(base, size)` for each.
    public static func forEachReservation(in tree: DeviceTree, _ visit: (UInt64, UInt64) -> Void) {
        let b = tree.bytes
        var entry = Int(DeviceTree.be32(b, 16))
        while entry + 16 <= b.count {
            let base = be64(b, entry), size = be64(b, entry + 8)
            if base == 0 && size == 0 { return }
            visit(base, size)
            entry += 16
        }
    }
}
