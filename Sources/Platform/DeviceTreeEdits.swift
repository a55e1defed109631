/// The monitor's changes to the device tree the firmware and the payload
/// will read, made in place without changing the tree's size (Devicetree
/// Specification v0.4, chapter 5): a value is only ever rewritten with one
/// of the same length.
public enum DeviceTreeEdits {
    /// Rewrites the size of the `memory` node whose `reg` starts at `base`
    /// (two address and two size cells, as on QEMU `virt`) to `size`: memory
    /// the monitor keeps for itself at the end of DRAM is then simply not
    /// memory for the firmware and the OS, which no boot loader can get
    /// wrong (U-Boot relocates itself to the end of the first bank without
    /// reading reserved-memory). Returns false when there is no such node.
    @_optimize(size)
    public static func setMemorySize(in blob: UnsafeMutableRawBufferPointer, base: UInt64, size: UInt64) -> Bool {
        guard let tree = DeviceTree(bytes: UnsafeRawBufferPointer(blob)) else { return false }
        var done = false
        var isMemory = false
        var node: UnsafeRawPointer? = nil
        var reg: UnsafeRawBufferPointer? = nil
        func finishNode() {
            if isMemory, let r = reg, r.count >= 16, !done,
               DeviceTree.be32(r, 0) == UInt32(truncatingIfNeeded: base >> 32), DeviceTree.be32(r, 4) == UInt32(truncatingIfNeeded: base) {
                let cells = UnsafeMutableRawPointer(mutating: r.baseAddress!)
                storeBE32(cells + 8, UInt32(truncatingIfNeeded: size >> 32))
                storeBE32(cells + 12, UInt32(truncatingIfNeeded: size))
                done = true
            }
        }
        let ok = tree.forEachProperty { p in
            if p.node.baseAddress != node {
                finishNode()
                node = p.node.baseAddress
                isMemory = false
                reg = nil
            }
            if p.named("device_type") && p.containsString("memory") { isMemory = true }
            if p.named("reg") { reg = p.value }
            return true
        }
        finishNode()
        return ok && done
    }

    /// Marks every hart (`/cpus/cpu@…`, `device_type = "cpu"`) whose `reg`
    /// (its hart id) is `limit` or more as not available: its
    /// `status = "okay"` becomes `"fail"` (same length; "not operational",
    /// chapter 2.3.4), which OpenSBI (`fdt_node_is_enabled`) and Linux
    /// (`of_device_is_available`) both skip. Returns how many harts were
    /// marked and how many at or above `limit` could not be (no `status`
    /// property, or another value).
    @_optimize(size)
    public static func disableHarts(in blob: UnsafeMutableRawBufferPointer, atOrAbove limit: Int) -> (marked: Int, unmarked: Int) {
        guard let tree = DeviceTree(bytes: UnsafeRawBufferPointer(blob)) else { return (0, 0) }
        var marked = 0
        var unmarked = 0
        var node: UnsafeRawPointer? = nil
        var isCPU = false
        var hart: UInt64? = nil
        var status: UnsafeRawBufferPointer? = nil
        func finishNode() {
            guard isCPU, let id = hart, id >= UInt64(limit) else { return }
            if let value = status, value.count == 5, DeviceTree.equal(UnsafeRawBufferPointer(rebasing: value[0..<4]), "okay") {
                let bytes = UnsafeMutableRawPointer(mutating: value.baseAddress!)
                ("fail" as StaticString).withUTF8Buffer { text in
                    for i in 0..<4 { bytes.storeBytes(of: text[i], toByteOffset: i, as: UInt8.self) }
                }
                marked += 1
            } else {
                unmarked += 1
            }
        }
        tree.forEachProperty { p in
            if p.node.baseAddress != node {
                finishNode()
                node = p.node.baseAddress
                isCPU = false
                hart = nil
                status = nil
            }
            guard p.depth == 3 else { return true }
            if p.named("device_type") && p.containsString("cpu") { isCPU = true }
            if p.named("reg") { hart = p.value.count == 8 ? p.cells64(0) : p.value.count == 4 ? UInt64(p.cell(0)) : nil }
            if p.named("status") { status = p.value }
            return true
        }
        finishNode()
        return (marked, unmarked)
    }

    static func storeBE32(_ p: UnsafeMutableRawPointer, _ value: UInt32) {
        p.storeBytes(of: UInt8(truncatingIfNeeded: value >> 24), toByteOffset: 0, as: UInt8.self)
        p.storeBytes(of: UInt8(truncatingIfNeeded: value >> 16), toByteOffset: 1, as: UInt8.self)
        p.storeBytes(of: UInt8(truncatingIfNeeded: value >> 8), toByteOffset: 2, as: UInt8.self)
        p.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: 3, as: UInt8.self)
    }
}
