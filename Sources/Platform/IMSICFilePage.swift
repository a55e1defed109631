import VirtCore

/// One real IMSIC interrupt-file page (AIA specification, "Memory region for
/// an interrupt file") as a trapped guest access reaches it through the
/// monitor, as one VirtCore `DeviceRegisters` for `HostDeviceAccess`.
///
/// Every access is performed on the real page: its only registers,
/// `seteipnum_le` and `seteipnum_be`, set a pending identity (QEMU 7.2
/// ignores the big-endian one), and loads read 0. The host accepts naturally
/// aligned 32-bit accesses only (`MemoryRegionOps.valid` 4..4).
public struct IMSICFilePage<Bus: MMIOBus>: DeviceRegisters {
    public var bus: Bus
    /// The page's address.
    public let base: UInt64

    public init(bus: Bus, base: UInt64) {
        self.bus = bus
        self.base = base
    }

    public func accepts(offset: UInt64, width: Int) -> Bool {
        width == 4 && offset & 3 == 0 && offset < VirtualIMSICFile.pageSize
    }

    public mutating func load(offset: UInt64, width: Int) -> UInt64 {
        UInt64(bus.load32(base + offset))
    }

    public mutating func store(offset: UInt64, width: Int, value: UInt64) {
        bus.store32(base + offset, UInt32(truncatingIfNeeded: value))
    }
}
