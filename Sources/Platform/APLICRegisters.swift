import VirtCore

/// The real APLIC M domain as a trapped guest access reaches it through the
/// monitor: VirtCore's ``VirtualAPLIC`` routing over the bus, as one VirtCore
/// `DeviceRegisters` for `HostDeviceAccess`.
///
/// The host (QEMU 7.2's `riscv.aplic`) accepts naturally aligned 32-bit
/// accesses inside the domain's window (`MemoryRegionOps.valid` 4..4); every
/// register but the four MSI address registers is the real one, so
/// `sourcecfg` delegation, `target`, `setip`/`setie` and the interrupt
/// delivery controls act on the hardware as the firmware's stores would.
public struct APLICRegisters<Bus: MMIOBus>: DeviceRegisters {
    public var bus: Bus
    public let base: UInt64
    /// The firmware's view, with its virtual MSI address registers.
    public var view: VirtualAPLIC
    /// The domain's window: the device tree's `reg` size.
    public let size: UInt64

    public init(bus: Bus, base: UInt64, view: VirtualAPLIC, size: UInt64) {
        self.bus = bus
        self.base = base
        self.view = view
        self.size = size
    }

    public func accepts(offset: UInt64, width: Int) -> Bool {
        width == 4 && offset & 3 == 0 && offset < size
    }

    public mutating func load(offset: UInt64, width: Int) -> UInt64 {
        let register = view.decode(offset: offset)
        switch view.route(register, isStore: false) {
        case .real: return UInt64(bus.load32(base + offset))
        case .virtual: return UInt64(view.readVirtual(register))
        case .none: return 0
        }
    }

    public mutating func store(offset: UInt64, width: Int, value: UInt64) {
        let register = view.decode(offset: offset)
        switch view.route(register, isStore: true) {
        case .real: bus.store32(base + offset, UInt32(truncatingIfNeeded: value))
        case .virtual: view.writeVirtual(register, value: UInt32(truncatingIfNeeded: value))
        case .none: break
        }
    }

    /// Programs the real domain's MSI addresses, which the firmware never
    /// reaches (it writes ``VirtualAPLIC``'s copy): machine-level MSIs go to
    /// the M-level interrupt files the device tree lists (the monitor moves
    /// what arrives there into the firmware's virtual files), supervisor-level
    /// ones to the S-level files. The APLIC is a bus master that no PMP
    /// checks, so no firmware value may ever reach these registers. Returns
    /// false when the files are not laid out as one `mmsiaddrcfg` can
    /// address (then the domain is left at reset: no MSI is delivered).
    public mutating func programMSIAddresses(_ aia: AIADevices, harts: Int) -> Bool {
        guard let machine = APLICMSIAddressConfiguration.forFiles(
                  base: aia.imsicMachine.base, stride: VirtualIMSICFile.pageSize, count: harts) else { return false }
        let m = machine.registerValues
        if aia.imsicSupervisor.size > 0,
           let supervisor = APLICMSIAddressConfiguration.forFiles(
               base: aia.imsicSupervisor.base, stride: VirtualIMSICFile.pageSize, count: harts) {
            let s = supervisor.registerValues
            bus.store32(base + VirtualAPLIC.smsiaddrcfgOffset, s.low)
            bus.store32(base + VirtualAPLIC.smsiaddrcfghOffset, s.high)
        }
        bus.store32(base + VirtualAPLIC.mmsiaddrcfgOffset, m.low)
        bus.store32(base + VirtualAPLIC.mmsiaddrcfghOffset, m.high)
        return true
    }
}
