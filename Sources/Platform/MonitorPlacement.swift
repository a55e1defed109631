/// Where the monitor lives once it has left the reset address: a naturally
/// aligned power-of-two region at the end of DRAM (one NAPOT PMP entry walls
/// it off), sized from the number of harts it runs and at least
/// ``minimumSize``, taken out of the `memory` node so neither the firmware
/// nor the OS ever sees it as memory.
///
/// QEMU places the device tree 2 MiB-aligned just below the end of DRAM
/// (`riscv_load_fdt`); when the region would cover it, the tree moves to
/// just below the region, 2 MiB-aligned as QEMU would have placed it.
public struct MonitorPlacement: Equatable, Sendable {
    /// The monitor's memory: its image, then one block per hart.
    public var region: PlatformDescription.Region
    /// Where the device tree lies after the move (its old address when it
    /// does not move).
    public var deviceTree: UInt64

    /// The smallest region: 2 MiB, so that the memory node still ends on a
    /// 2 MiB boundary. Linux (6.1 `best_map_size`) maps a bank whose end is
    /// not 2 MiB-aligned with 4 KiB pages only, which made its boot 60 %
    /// slower (measured with scripts/bench).
    public static var minimumSize: UInt64 { 2 << 20 }

    /// Why no placement exists.
    public enum Problem: Error, Equatable, Sendable {
        /// DRAM is too small to hold the monitor above what QEMU loaded.
        case noRoom
        /// The moved device tree would overlap the initrd QEMU placed.
        case deviceTreeCollides
    }

    /// The region for an image of `imageSize` bytes and `harts` blocks of
    /// `hartBlock` bytes, at the end of `memory`, clear of `[loaded.base,
    /// loaded.end)` (the monitor's load image at the reset address); the
    /// device tree `deviceTree` moves if the region covers it.
    public static func plan(memory: PlatformDescription.Region, imageSize: UInt64, harts: Int, hartBlock: UInt64,
                            deviceTree: PlatformDescription.Region, initrd: PlatformDescription.Region,
                            loaded: PlatformDescription.Region) -> Result<MonitorPlacement, Problem> {
        let needed = ((imageSize + 0xFFF) & ~0xFFF) + UInt64(max(harts, 1)) * hartBlock
        var size = minimumSize
        while size < needed { size <<= 1 }
        let top = memory.base &+ memory.size
        guard top > memory.base, top >= size else { return .failure(.noRoom) }
        let base = (top & ~(size - 1)) - size
        guard base >= memory.base, base >= loaded.base &+ loaded.size else { return .failure(.noRoom) }
        let region = PlatformDescription.Region(base: base, size: size)
        var tree = deviceTree.base
        if region.overlaps(deviceTree) {
            let alignment: UInt64 = 2 << 20
            guard base >= deviceTree.size else { return .failure(.noRoom) }
            tree = (base - deviceTree.size) & ~(alignment - 1)
            let moved = PlatformDescription.Region(base: tree, size: deviceTree.size)
            guard tree >= loaded.base &+ loaded.size, memory.contains(tree, width: deviceTree.size) else {
                return .failure(.noRoom)
            }
            guard !moved.overlaps(initrd) else { return .failure(.deviceTreeCollides) }
        }
        return .success(MonitorPlacement(region: region, deviceTree: tree))
    }
}
