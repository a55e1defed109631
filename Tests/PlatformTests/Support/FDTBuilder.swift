/// Writes flattened device trees for tests, straight from the Devicetree
/// Specification v0.4, chapter 5: a 40-byte header, the memory reservation
/// block (8-byte aligned, ended by a (0, 0) entry), the structure block
/// (32-bit big-endian tokens, node names and values padded to 4 bytes) and
/// the strings block.
struct FDTBuilder {
    static let beginNode: UInt32 = 1, endNode: UInt32 = 2, property: UInt32 = 3, nop: UInt32 = 4, end: UInt32 = 9

    var structure: [UInt8] = []
    var strings: [UInt8] = []
    var stringOffsets: [String: Int] = [:]
    var reservations: [(UInt64, UInt64)] = []

    mutating func token(_ t: UInt32) {
        appendBE32(t)
    }

    mutating func beginNode(_ name: String) {
        token(Self.beginNode)
        structure += Array(name.utf8) + [0]
        pad()
    }

    mutating func endNode() { token(Self.endNode) }
    mutating func nop() { token(Self.nop) }
    mutating func end() { token(Self.end) }

    mutating func property(_ name: String, _ value: [UInt8]) {
        token(Self.property)
        appendBE32(UInt32(value.count))
        appendBE32(UInt32(nameOffset(name)))
        structure += value
        pad()
    }

    mutating func property(_ name: String, cells: [UInt32]) {
        var value: [UInt8] = []
        for c in cells { value += [UInt8(c >> 24), UInt8(truncatingIfNeeded: c >> 16), UInt8(truncatingIfNeeded: c >> 8), UInt8(truncatingIfNeeded: c)] }
        property(name, value)
    }

    /// A string-list property: each string NUL-terminated.
    mutating func property(_ name: String, strings list: String...) {
        property(name, list.flatMap { Array($0.utf8) + [UInt8(0)] })
    }

    /// `reg` with `#address-cells = #size-cells = 2`.
    mutating func reg(_ base: UInt64, _ size: UInt64) {
        property("reg", cells: [UInt32(base >> 32), UInt32(truncatingIfNeeded: base),
                                UInt32(size >> 32), UInt32(truncatingIfNeeded: size)])
    }

    mutating func nameOffset(_ name: String) -> Int {
        if let o = stringOffsets[name] { return o }
        let o = strings.count
        strings += Array(name.utf8) + [0]
        stringOffsets[name] = o
        return o
    }

    mutating func appendBE32(_ v: UInt32) {
        structure += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    mutating func pad() {
        while structure.count % 4 != 0 { structure.append(0) }
    }

    /// The blob; `spare` bytes of free space follow the strings block inside `totalsize`.
    func blob(spare: Int = 0) -> [UInt8] {
        let reservationOffset = 40
        let structureOffset = reservationOffset + 16 * (reservations.count + 1)
        let stringsOffset = structureOffset + structure.count
        let total = stringsOffset + strings.count + spare
        var b = [UInt8](repeating: 0, count: total)
        b.setBE32(0xD00D_FEED, at: Header.magic)
        b.setBE32(UInt32(total), at: Header.totalSize)
        b.setBE32(UInt32(structureOffset), at: Header.structureOffset)
        b.setBE32(UInt32(stringsOffset), at: Header.stringsOffset)
        b.setBE32(UInt32(reservationOffset), at: Header.reservationOffset)
        b.setBE32(17, at: Header.version)
        b.setBE32(16, at: Header.lastCompatibleVersion)
        b.setBE32(UInt32(strings.count), at: Header.stringsSize)
        b.setBE32(UInt32(structure.count), at: Header.structureSize)
        for (i, r) in reservations.enumerated() {
            b.setBE64(r.0, at: reservationOffset + 16 * i)
            b.setBE64(r.1, at: reservationOffset + 16 * i + 8)
        }
        b.replaceSubrange(structureOffset..<stringsOffset, with: structure)
        b.replaceSubrange(stringsOffset..<stringsOffset + strings.count, with: strings)
        return b
    }

    /// A small QEMU-`virt`-like machine. `regFirst` puts each device's `reg`
    /// before its `compatible`, as some generators do.
    static func machine(harts: Int = 2, regFirst: Bool = false, clint: Bool = true,
                        memory: Bool = true, timebase: [UInt32] = [1_000_000], body: (inout FDTBuilder) -> Void = { _ in }) -> FDTBuilder {
        var t = FDTBuilder()
        t.beginNode("")
        t.property("#address-cells", cells: [2])
        t.property("#size-cells", cells: [2])
        t.property("compatible", strings: "riscv-virtio")
        if memory {
            t.beginNode("memory@80000000")
            t.property("device_type", strings: "memory")
            t.reg(0x8000_0000, 0x4000_0000)
            t.endNode()
        }
        t.beginNode("cpus")
        t.property("#address-cells", cells: [1])
        t.property("#size-cells", cells: [0])
        t.property("timebase-frequency", cells: timebase)
        for h in 0..<harts {
            t.beginNode("cpu@\(h)")
            t.property("device_type", strings: "cpu")
            t.property("reg", cells: [UInt32(h)])
            t.property("compatible", strings: "riscv")
            t.beginNode("interrupt-controller")
            t.property("compatible", strings: "riscv,cpu-intc")
            t.endNode()
            t.endNode()
        }
        t.endNode()
        t.beginNode("soc")
        func device(_ name: String, _ compatible: [String], _ base: UInt64, _ size: UInt64,
                    extra: (inout FDTBuilder) -> Void = { _ in }) {
            t.beginNode(name)
            let value: [UInt8] = compatible.flatMap { Array($0.utf8) + [UInt8(0)] }
            if regFirst {
                t.reg(base, size)
                extra(&t)
                t.property("compatible", value)
            } else {
                t.property("compatible", value)
                extra(&t)
                t.reg(base, size)
            }
            t.endNode()
        }
        device("serial@10000000", ["ns16550a"], 0x1000_0000, 0x100)
        device("test@100000", ["sifive,test1", "sifive,test0", "syscon"], 0x10_0000, 0x1000)
        device("plic@c000000", ["sifive,plic-1.0.0", "riscv,plic0"], 0x0C00_0000, 0x60_0000) {
            $0.property("riscv,ndev", cells: [0x35])
        }
        if clint {
            device("clint@2000000", ["sifive,clint0", "riscv,clint0"], 0x0200_0000, 0x1_0000)
        }
        body(&t)
        t.endNode()
        t.endNode()
        t.end()
        return t
    }
}
