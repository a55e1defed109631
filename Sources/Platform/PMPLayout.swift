import VirtCore

/// The monitor's own PMP entries and where the firmware's virtual entries go
/// (privileged specification, "Physical Memory Protection").
///
/// Entries are matched lowest first, so the monitor's walls come first:
///
/// | entry | firmware world (U-mode) | payload world (S/U-mode) |
/// |---|---|---|
/// | 0 | monitor image: no access | monitor image: no access |
/// | 1 | CLINT: no access (emulated) | CLINT: no access |
/// | 2 | PLIC: no access (emulated) | PLIC: read/write |
/// | 3 | test device: no access (emulated) | test device: no access |
/// | 4 | everything else: RWX (X only while the firmware's MPRV is in effect) | OFF, address 0 (the floor of a TOR entry 5) |
/// | 5…15 | OFF | the firmware's virtual entries 0…10 |
///
/// None of these entries is locked, so the monitor itself (real M-mode) is
/// never constrained by them.
public struct PMPLayout: Sendable {
    /// Physical entries on QEMU `virt`.
    public static let physicalEntries = 16
    /// The first physical entry that carries a virtual one.
    public static let firstVirtualEntry = 5
    /// How many entries the firmware sees.
    public static let virtualEntries = physicalEntries - firstVirtualEntry

    /// `pmpaddr` of entries 0…4 in the firmware world.
    public var firmwareAddresses: (UInt64, UInt64, UInt64, UInt64, UInt64)
    /// `pmpcfg0` in the firmware world (entries 0…7).
    public var firmwareConfiguration0: UInt64
    /// `pmpcfg0` in the firmware world while its `mstatus.MPRV` is in effect:
    /// entry 4 is execute-only, so each of the firmware's loads and stores
    /// traps and the monitor performs it with the payload's translation.
    public var firmwareConfiguration0MPRV: UInt64
    /// `pmpcfg0` bytes 0…4 in the payload world (bytes 5…7 come from the firmware's entries).
    public var payloadConfiguration0: UInt64

    /// `A = NAPOT`, in a configuration byte.
    public static let napot: UInt8 = 3 << 3
    public static let read: UInt8 = 1
    public static let write: UInt8 = 2
    public static let execute: UInt8 = 4

    /// `pmpaddr` for a naturally aligned power-of-two region that covers
    /// `[base, base + size)`: the size is rounded up to a power of two (at
    /// least 8 bytes) and the base aligned down to it.
    public static func napotAddress(base: UInt64, size: UInt64) -> UInt64 {
        var span: UInt64 = 8
        while span < size && span < (1 << 62) { span <<= 1 }
        // Grow until the aligned window still covers the end of the region.
        while (base & ~(span - 1)) &+ span < base &+ size && span < (1 << 62) { span <<= 1 }
        let aligned = base & ~(span - 1)
        return (aligned >> 2) | ((span >> 3) - 1)
    }

    /// `pmpaddr` of a NAPOT entry covering the whole 56-bit physical address space.
    public static let everything: UInt64 = (1 << 54) - 1

    public init(monitor: PlatformDescription.Region, platform: PlatformDescription) {
        firmwareAddresses = (
            PMPLayout.napotAddress(base: monitor.base, size: monitor.size),
            PMPLayout.napotAddress(base: platform.clint.base, size: platform.clint.size),
            PMPLayout.napotAddress(base: platform.plic.base, size: platform.plic.size),
            platform.testDevice.size > 0
                ? PMPLayout.napotAddress(base: platform.testDevice.base, size: platform.testDevice.size)
                : PMPLayout.napotAddress(base: monitor.base, size: monitor.size),
            PMPLayout.everything
        )
        let deny = UInt64(PMPLayout.napot)
        let all = UInt64(PMPLayout.napot | PMPLayout.read | PMPLayout.write | PMPLayout.execute)
        let readWrite = UInt64(PMPLayout.napot | PMPLayout.read | PMPLayout.write)
        firmwareConfiguration0 = deny | deny << 8 | deny << 16 | deny << 24 | all << 32
        firmwareConfiguration0MPRV = deny | deny << 8 | deny << 16 | deny << 24
            | UInt64(PMPLayout.napot | PMPLayout.execute) << 32
        payloadConfiguration0 = deny | deny << 8 | readWrite << 16 | deny << 24
    }

    /// The physical `pmpcfg0` and `pmpcfg2` for the payload world: the
    /// monitor's bytes, then the firmware's virtual entries shifted up by
    /// ``firstVirtualEntry``.
    public func payloadConfiguration(_ pmp: PMPFile) -> (UInt64, UInt64) {
        let v0 = pmp.readConfiguration(register: 0)
        let v2 = pmp.readConfiguration(register: 2)
        // Virtual bytes 0-2 go to physical bytes 5-7, virtual 3-10 to pmpcfg2.
        let cfg0 = payloadConfiguration0 | (v0 << 40)
        let cfg2 = (v0 >> 24) | (v2 << 40)
        return (cfg0 & PMPLayout.dropLock, cfg2 & PMPLayout.dropLock)
    }

    /// The firmware's lock bits never reach the hardware: a locked physical
    /// entry would bind the monitor itself. Their effect on the payload is the
    /// same without the bit.
    static let dropLock: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
}
