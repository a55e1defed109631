import VirtCore

/// The real PLIC as a trapped guest access reaches it through the monitor:
/// VirtCore's `VirtualPLIC` routing over the ``Plic`` driver, as one
/// VirtCore `DeviceRegisters` for `HostDeviceAccess`.
///
/// The host (QEMU 7.2's `sifive_plic`) accepts naturally aligned 32-bit
/// accesses inside its aperture only (`MemoryRegionOps.valid` 4..4; the
/// aperture is the device tree's `reg` size); reserved registers inside it
/// read 0 and ignore writes.
public struct PLICRegisters<Bus: MMIOBus>: DeviceRegisters {
    public var plic: Plic<Bus>
    public let view: VirtualPLIC
    /// The aperture: the device tree's `reg` size.
    public let size: UInt64

    public init(plic: Plic<Bus>, view: VirtualPLIC, size: UInt64) {
        self.plic = plic
        self.view = view
        self.size = size
    }

    public func accepts(offset: UInt64, width: Int) -> Bool {
        width == 4 && offset & 3 == 0 && offset < size
    }

    public mutating func load(offset: UInt64, width: Int) -> UInt64 {
        switch view.route(view.decode(offset: offset), isStore: false) {
        case .real, .realThenReevaluate:
            return UInt64(plic.load(offset: offset))
        case .none:
            return 0
        }
    }

    public mutating func store(offset: UInt64, width: Int, value: UInt64) {
        switch view.route(view.decode(offset: offset), isStore: true) {
        case .real:
            plic.store(offset: offset, UInt32(truncatingIfNeeded: value))
        case .realThenReevaluate:
            plic.store(offset: offset, UInt32(truncatingIfNeeded: value))
            plic.store(offset: VirtualPLIC.reevaluateOffset, 0)
        case .none:
            break
        }
    }
}
