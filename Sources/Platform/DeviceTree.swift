/// A reader for the flattened device tree (Devicetree Specification v0.4,
/// chapter 5 "Flattened Devicetree (DTB) Format") that QEMU hands to every
/// hart in `a1`.
///
/// It reads in place, allocates nothing and never trusts the blob: every
/// offset is bounds-checked, and a malformed tree yields `nil` rather than a
/// crash.
public struct DeviceTree {
    /// The whole blob (`totalsize` bytes).
    public let bytes: UnsafeRawBufferPointer

    static let magic: UInt32 = 0xD00D_FEED
    static let beginNode: UInt32 = 1
    static let endNode: UInt32 = 2
    static let property: UInt32 = 3
    static let nop: UInt32 = 4
    static let end: UInt32 = 9

    let structureOffset: Int
    let structureSize: Int
    let stringsOffset: Int
    let stringsSize: Int

    /// Validates the header of the blob at `base`, which may hold at most
    /// `limit` bytes. Returns `nil` for a bad magic or inconsistent sizes.
    public init?(base: UnsafeRawPointer, limit: Int = 1 << 20) {
        let header = UnsafeRawBufferPointer(start: base, count: 40)
        guard DeviceTree.be32(header, 0) == DeviceTree.magic else { return nil }
        let total = Int(DeviceTree.be32(header, 4))
        guard total >= 40, total <= limit else { return nil }
        self.init(bytes: UnsafeRawBufferPointer(start: base, count: total))
    }

    /// Validates a blob held at the start of `bytes`; the tree is its first
    /// `totalsize` bytes, and every block must lie inside them.
    public init?(bytes buffer: UnsafeRawBufferPointer) {
        guard buffer.count >= 40, DeviceTree.be32(buffer, 0) == DeviceTree.magic else { return nil }
        let total = Int(DeviceTree.be32(buffer, 4))
        guard total >= 40, total <= buffer.count else { return nil }
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<total])
        self.bytes = bytes
        structureOffset = Int(DeviceTree.be32(bytes, 8))
        stringsOffset = Int(DeviceTree.be32(bytes, 12))
        stringsSize = Int(DeviceTree.be32(bytes, 32))
        structureSize = Int(DeviceTree.be32(bytes, 36))
        guard structureOffset <= bytes.count, structureSize <= bytes.count - structureOffset,
              stringsOffset <= bytes.count, stringsSize <= bytes.count - stringsOffset else { return nil }
    }

    /// The blob's size in bytes (`totalsize`).
    public var totalSize: Int { bytes.count }

    @inlinable
    static func be32(_ b: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        guard offset >= 0, offset + 4 <= b.count else { return 0 }
        return UInt32(b[offset]) << 24 | UInt32(b[offset + 1]) << 16 | UInt32(b[offset + 2]) << 8 | UInt32(b[offset + 3])
    }

    /// One property as the walk meets it.
    public struct Property {
        /// Depth of the node that holds it (the root is 1).
        public var depth: Int
        /// The node's name, such as `cpu@0` (a slice of the blob).
        public var node: UnsafeRawBufferPointer
        /// The property's name.
        public var name: UnsafeRawBufferPointer
        /// The property's value.
        public var value: UnsafeRawBufferPointer

        /// True when the property's name equals `text`.
        public func named(_ text: StaticString) -> Bool { DeviceTree.equal(name, text) }

        /// True when the node's name, up to its `@unit-address`, equals `text`.
        public func inNode(_ text: StaticString) -> Bool {
            var length = 0
            while length < node.count && node[length] != UInt8(ascii: "@") { length += 1 }
            return DeviceTree.equal(UnsafeRawBufferPointer(rebasing: node[0..<length]), text)
        }

        /// True when the value is a string list containing `text` (for `compatible`).
        public func containsString(_ text: StaticString) -> Bool {
            var start = 0
            while start < value.count {
                var end = start
                while end < value.count && value[end] != 0 { end += 1 }
                if DeviceTree.equal(UnsafeRawBufferPointer(rebasing: value[start..<end]), text) { return true }
                start = end + 1
            }
            return false
        }

        /// The big-endian cell at `index` (32 bits), or 0 when out of range.
        public func cell(_ index: Int) -> UInt32 { DeviceTree.be32(value, index * 4) }

        /// Two cells as one 64-bit number.
        public func cells64(_ index: Int) -> UInt64 { UInt64(cell(index)) << 32 | UInt64(cell(index + 1)) }
    }

    static func equal(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        text.withUTF8Buffer { t in
            guard t.count == bytes.count else { return false }
            for i in 0..<t.count where t[i] != bytes[i] { return false }
            return true
        }
    }

    /// Visits every property in document order; stops early when `visit`
    /// returns false. Returns false if the structure block is malformed.
    @discardableResult
    public func forEachProperty(_ visit: (Property) -> Bool) -> Bool {
        let s = UnsafeRawBufferPointer(rebasing: bytes[structureOffset..<(structureOffset + structureSize)])
        var offset = 0
        var depth = 0
        var node = UnsafeRawBufferPointer(rebasing: s[0..<0])
        while offset + 4 <= s.count {
            let token = DeviceTree.be32(s, offset)
            offset += 4
            switch token {
            case DeviceTree.beginNode:
                var end = offset
                while end < s.count && s[end] != 0 { end += 1 }
                guard end < s.count else { return false }
                node = UnsafeRawBufferPointer(rebasing: s[offset..<end])
                offset = (end + 1 + 3) & ~3
                depth += 1
            case DeviceTree.endNode:
                depth -= 1
                guard depth >= 0 else { return false }
            case DeviceTree.property:
                let length = Int(DeviceTree.be32(s, offset))
                let nameOffset = Int(DeviceTree.be32(s, offset + 4))
                offset += 8
                guard length <= s.count - offset, nameOffset < stringsSize else { return false }
                let value = UnsafeRawBufferPointer(rebasing: s[offset..<(offset + length)])
                offset = (offset + length + 3) & ~3
                let strings = UnsafeRawBufferPointer(rebasing: bytes[(stringsOffset + nameOffset)..<(stringsOffset + stringsSize)])
                var nameEnd = 0
                while nameEnd < strings.count && strings[nameEnd] != 0 { nameEnd += 1 }
                let name = UnsafeRawBufferPointer(rebasing: strings[0..<nameEnd])
                if !visit(Property(depth: depth, node: node, name: name, value: value)) { return true }
            case DeviceTree.nop:
                continue
            case DeviceTree.end:
                return depth == 0
            default:
                return false
            }
        }
        return false
    }
}
