import VirtCore

/// The real APLIC M domain as a trapped guest access reaches it through the
/// monitor: VirtCore's `VirtualAPLIC` routing over the bus, as one VirtCore
/// `DeviceRegisters` for `HostDeviceAccess`.
///
/// The host (QEMU 7.2's `riscv.aplic`) accepts naturally aligned 32-bit
/// accesses inside the domain's window (`MemoryRegionOps.valid` 4..4); every
/// register but the four MSI address registers is the real one, so
/// `sourcecfg` delegation, `target`, `setip`/`setie` and the interrupt
/// delivery controls act on the hardware as the firmware's stores would.
///
/// The MSI address registers are the firmware's virtual copy: the APLIC is a
/// bus master that no PMP checks, so its MSI writes must never reach what
/// the firmware's own stores cannot (the monitor's memory, the CLINT the
/// monitor owns, the walled interrupt controllers, and under the sandbox the
/// payload's DRAM). After each store to one of them, the firmware's
/// configuration of that pair goes to the real registers when every address
/// it can produce ("Arrangement of the memory regions of multiple interrupt
/// files": the base OR'ed with any group, hart and guest index) lies outside
/// those ``forbidden`` regions; otherwise the real pair keeps its last
/// permitted value and ``refusedConfiguration`` is set. So a firmware that
/// points the domains at the interrupt files (OpenSBI, from the device
/// tree), at a hart index without a file (dropped, as natively) or at the
/// S-level files is served exactly, and only a configuration aimed at the
/// monitor differs.
public struct APLICRegisters<Bus: MMIOBus>: DeviceRegisters {
    public var bus: Bus
    public let base: UInt64
    /// The firmware's view, with its virtual MSI address registers.
    public var view: VirtualAPLIC
    /// The domain's window: the device tree's `reg` size.
    public let size: UInt64
    /// Where MSIs must never go (unused entries have size 0).
    public let forbidden: (PlatformDescription.Region, PlatformDescription.Region, PlatformDescription.Region,
                           PlatformDescription.Region, PlatformDescription.Region)
    /// The last store to an MSI address register left a configuration that
    /// could reach a ``forbidden`` region: the real pair was not changed.
    public private(set) var refusedConfiguration = false

    public init(bus: Bus, base: UInt64, view: VirtualAPLIC, size: UInt64,
                forbidden: (PlatformDescription.Region, PlatformDescription.Region, PlatformDescription.Region,
                            PlatformDescription.Region, PlatformDescription.Region)) {
        self.bus = bus
        self.base = base
        self.view = view
        self.size = size
        self.forbidden = forbidden
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
        case .virtual:
            view.writeVirtual(register, value: UInt32(truncatingIfNeeded: value))
            let machine = register == .mmsiaddrcfg || register == .mmsiaddrcfgh
            let configuration = machine ? view.machineMSIAddress : view.supervisorMSIAddress
            refusedConfiguration = !permits(configuration)
            if !refusedConfiguration {
                let pair = machine ? VirtualAPLIC.mmsiaddrcfgOffset : VirtualAPLIC.smsiaddrcfgOffset
                let values = machine ? (view.readVirtual(.mmsiaddrcfg), view.readVirtual(.mmsiaddrcfgh))
                                     : (view.readVirtual(.smsiaddrcfg), view.readVirtual(.smsiaddrcfgh))
                // Low first: a lock bit in the high register then freezes
                // both halves as the firmware wrote them.
                bus.store32(base + pair, values.0)
                bus.store32(base + pair + 4, values.1)
            }
        case .none: break
        }
    }

    /// Whether every MSI address `configuration` can produce stays outside
    /// the ``forbidden`` regions: the addresses lie between the base and the
    /// base with every index bit set (plus the last page's bytes).
    public func permits(_ configuration: APLICMSIAddressConfiguration) -> Bool {
        let low = configuration.address(group: 0, hart: 0, guest: 0)
        let indexes = ~UInt64(0) >> 1
        let high = configuration.address(group: indexes, hart: indexes, guest: indexes) | 0xFFF
        func clear(_ r: PlatformDescription.Region) -> Bool {
            r.size == 0 || high < r.base || low >= r.base &+ r.size
        }
        return clear(forbidden.0) && clear(forbidden.1) && clear(forbidden.2) && clear(forbidden.3)
            && clear(forbidden.4)
    }
}
