import VirtCore

/// The monitor's own PMP entries and where the firmware's virtual entries go
/// (privileged specification, "Physical Memory Protection"), for one hart.
///
/// Entries are matched lowest first, so the monitor's walls come first:
///
/// | entry | firmware world (U-mode) | payload world (S/U-mode) |
/// |---|---|---|
/// | 0 | monitor image: no access | monitor image: no access |
/// | 1 | CLINT: no access (emulated) | CLINT: no access |
/// | 2 | this hart's PLIC S-context page: no access (emulated) | read/write when the firmware's PMP grants the payload read/write on the whole page, else no access (emulated) |
/// | 3 | PLIC: no access (emulated) | read/write when the firmware's PMP grants the payload read/write on the whole PLIC, else no access (emulated, checked against the firmware's PMP) |
/// | 4 | test device: no access (emulated) | test device: no access (emulated) |
/// | 2 (AIA) | APLIC M domain: no access (emulated) | APLIC M domain: no access (emulated when the firmware's PMP grants it) |
/// | 3 (AIA) | M-level IMSIC files: OFF (native `seteipnum` stores) | M-level IMSIC files: no access (emulated when granted) |
/// | 5 | OFF, address 0 (the floor of a TOR entry 6) | the same |
/// | 6…14 | the firmware's *locked* virtual entries 0…8 (a locked entry binds M-mode too); unlocked ones OFF | the firmware's virtual entries 0…8 |
/// | 15 | everything else: RWX (execute-only while the firmware's MPRV is in effect) | OFF |
///
/// The real PLIC holds nothing of the monitor's (its M contexts are the
/// firmware's own state), so when the firmware's PMP grants the payload the
/// whole PLIC, entry 3 lets the payload reach it natively, exactly as it
/// would without the monitor. When the firmware's PMP restricts the PLIC,
/// entry 2 still keeps the payload's interrupt hot path (claim and complete
/// in its own S context) free of traps if that page is granted, and every
/// other access traps, is checked against the firmware's PMP and performed
/// by the monitor (``PLICRegisters``). PMP is per hart, so each hart opens
/// only its own page. The firmware's own PLIC accesses always trap.
///
/// No physical entry is ever locked, so the monitor itself (real M-mode) is
/// never constrained by them; the firmware's lock bits are kept virtually and
/// honoured by placing locked entries in the firmware's world.
public struct PMPLayout: Sendable {
    /// Physical entries on QEMU `virt`.
    public static let physicalEntries = 16
    /// The physical entry of the TOR floor, below the first virtual one.
    public static let floorEntry = 5
    /// The first physical entry that carries a virtual one.
    public static let firstVirtualEntry = 6
    /// The last physical entry: the firmware's catch-all.
    public static let catchAllEntry = 15
    /// How many entries the firmware sees.
    public static let virtualEntries = catchAllEntry - firstVirtualEntry

    /// `pmpaddr` of the monitor's walls, entries 0…4 (monitor, CLINT, this
    /// hart's PLIC S-context page, PLIC, test device).
    public var wallAddresses: (UInt64, UInt64, UInt64, UInt64, UInt64)
    /// `pmpcfg0` bytes 0…4 in the firmware world: every wall denies.
    public var firmwareWalls: UInt64
    /// `pmpcfg0` bytes 0…4 in the payload world when the firmware's PMP
    /// grants the payload this hart's S-context page: that page is open.
    public var payloadWalls: UInt64
    /// The same when it does not: every wall denies.
    public var closedPayloadWalls: UInt64
    /// `pmpcfg0` bytes 0…4 in the payload world when the firmware's PMP
    /// grants the payload the whole PLIC: entries 2 and 3 are open.
    public var openPLICPayloadWalls: UInt64
    /// The PLIC's aperture (its device-tree `reg`).
    public let plic: PlatformDescription.Region
    /// This hart's PLIC S-context `threshold`/`claim` page.
    public let supervisorPage: PlatformDescription.Region

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

    /// The layout of hart `hart` (its PLIC S context is `2 * hart + 1`).
    public init(monitor: PlatformDescription.Region, platform: PlatformDescription, hart: Int = 0) {
        supervisorPage = PlatformDescription.Region(
            base: platform.plic.base + VirtualPLIC.thresholdOffset(context: VirtualPLIC.supervisorContext(hart: hart)),
            size: VirtualPLIC.contextStride)
        wallAddresses = (
            PMPLayout.napotAddress(base: monitor.base, size: monitor.size),
            PMPLayout.napotAddress(base: platform.clint.base, size: platform.clint.size),
            PMPLayout.napotAddress(base: supervisorPage.base, size: supervisorPage.size),
            PMPLayout.napotAddress(base: platform.plic.base, size: platform.plic.size),
            platform.testDevice.size > 0
                ? PMPLayout.napotAddress(base: platform.testDevice.base, size: platform.testDevice.size)
                : PMPLayout.napotAddress(base: monitor.base, size: monitor.size)
        )
        let deny = UInt64(PMPLayout.napot)
        let readWrite = UInt64(PMPLayout.napot | PMPLayout.read | PMPLayout.write)
        firmwareWalls = deny | deny << 8 | deny << 16 | deny << 24 | deny << 32
        closedPayloadWalls = firmwareWalls
        payloadWalls = deny | deny << 8 | readWrite << 16 | deny << 24 | deny << 32
        openPLICPayloadWalls = deny | deny << 8 | readWrite << 16 | readWrite << 24 | deny << 32
        plic = platform.plic
        if platform.hasAIA {
            // No PLIC: entry 2 walls the APLIC's M domain (its MSI address
            // registers are virtual, and its delegation decides what the
            // payload owns), entry 3 the M-level IMSIC files. The firmware
            // reaches its files natively (entry 3 OFF in its world): their
            // pages only set pending identities in the real files, which the
            // monitor moves into the virtual ones, the same effect as the
            // firmware's store on the real hart. The payload reaches neither.
            let aia = platform.aia
            wallAddresses.2 = PMPLayout.napotAddress(base: aia.aplicMachine.base, size: aia.aplicMachine.size)
            wallAddresses.3 = aia.hasIMSIC
                ? PMPLayout.napotAddress(base: aia.imsicMachine.base, size: aia.imsicMachine.size)
                : wallAddresses.2
            firmwareWalls = deny | deny << 8 | deny << 16 | (aia.hasIMSIC ? 0 : deny << 24) | deny << 32
            payloadWalls = closedPayloadWalls
            openPLICPayloadWalls = closedPayloadWalls
        }
    }

    /// Whether the firmware's PMP grants the payload read and write access to
    /// the whole PLIC aperture: then the payload reaches it natively.
    public func opensPLIC(_ pmp: PMPFile) -> Bool {
        plic.size > 0 && pmp.permitsLowerPrivilege(address: plic.base, size: plic.size,
                                                   needs: PMPFile.Bits.read | PMPFile.Bits.write)
    }

    /// Whether the firmware's PMP grants the payload read and write access to
    /// the whole of this hart's PLIC S-context page, as the page's native
    /// access would need.
    public func opensSupervisorPage(_ pmp: PMPFile) -> Bool {
        plic.size > 0 && pmp.permitsLowerPrivilege(address: supervisorPage.base, size: supervisorPage.size,
                                  needs: PMPFile.Bits.read | PMPFile.Bits.write)
    }

    /// The physical `pmpcfg0` and `pmpcfg2` for the firmware world: the
    /// walls, the firmware's locked entries, and the catch-all.
    public func firmwareConfiguration(_ pmp: PMPFile, mprv: Bool) -> (UInt64, UInt64) {
        let (v0, v2) = PMPLayout.shifted(pmp)
        let catchAll = UInt64(PMPLayout.napot | PMPLayout.execute | (mprv ? 0 : PMPLayout.read | PMPLayout.write))
        return (firmwareWalls | PMPLayout.lockedOnly(v0), PMPLayout.lockedOnly(v2) | catchAll << 56)
    }

    /// The physical `pmpcfg0` and `pmpcfg2` for the payload world: the walls
    /// and every virtual entry.
    /// Entries 2 and 3 are open when the firmware's PMP grants the payload the
    /// whole PLIC (``opensPLIC(_:)``), else entry 2 when it grants its page
    /// (``opensSupervisorPage(_:)``). A monitor computes this when the
    /// firmware's PMP changes, not on every world switch.
    public func payloadConfiguration(_ pmp: PMPFile) -> (UInt64, UInt64) {
        let (v0, v2) = PMPLayout.shifted(pmp)
        let walls = opensPLIC(pmp) ? openPLICPayloadWalls
            : opensSupervisorPage(pmp) ? payloadWalls : closedPayloadWalls
        return (walls | PMPLayout.dropLock(v0), PMPLayout.dropLock(v2))
    }

    /// The firmware world's `pmpcfg0`, `pmpcfg2` and catch-all `pmpaddr15`
    /// under the sandbox policy, or `nil` when the firmware's PMP grants the
    /// payload nothing (then there is no payload memory on this hart, and
    /// ``firmwareConfiguration(_:mprv:)`` applies).
    ///
    /// The payload's memory is DRAM (`memory`, the memory node; the monitor's
    /// region is walled by entry 0) less what the firmware's own PMP keeps
    /// from S/U-mode: an active entry with no R, W or X is the firmware's
    /// memory (OpenSBI's NAPOT entry over itself). In the firmware's world,
    /// each virtual entry keeps its address (shared with the payload's world)
    /// and becomes:
    ///
    /// | firmware's entry | physical entry in its world |
    /// |---|---|
    /// | OFF | OFF |
    /// | locked | as it is, without the lock (it binds M-mode natively) |
    /// | unlocked, no S/U permission (its own memory) | RWX (X alone while MPRV is in effect, so data accesses trap and are performed as the payload's) |
    /// | unlocked, some S/U permission (the payload's memory) | OFF |
    ///
    /// and the catch-all (entry 15) covers only `[0, p)`, `p` the largest
    /// power of two at or below DRAM's base (every device of QEMU `virt`
    /// lies below DRAM): DRAM that no installed entry grants, i.e. the
    /// payload's memory, matches no entry and faults in U-mode.
    public func sandboxedFirmwareConfiguration(_ pmp: PMPFile, mprv: Bool,
                                               memory: PlatformDescription.Region)
        -> (configuration: (UInt64, UInt64), catchAll: UInt64)? {
        let (v0, v2) = PMPLayout.shifted(pmp)
        var grants = false
        func convert(_ byte: UInt64) -> UInt64 {
            let matching = (byte >> 3) & 3
            if matching == 0 { return 0 }
            let permissions = byte & 7
            if permissions != 0 { grants = true }
            if byte & 0x80 != 0 { return byte & 0x7F }
            if permissions != 0 { return 0 }
            return (byte & 0x18) | UInt64(mprv ? PMPLayout.execute : PMPLayout.read | PMPLayout.write | PMPLayout.execute)
        }
        var c0: UInt64 = firmwareWalls
        for i in 6..<8 { c0 |= convert((v0 >> (8 * UInt64(i))) & 0xFF) << (8 * UInt64(i)) }
        var c2: UInt64 = 0
        for i in 0..<7 { c2 |= convert((v2 >> (8 * UInt64(i))) & 0xFF) << (8 * UInt64(i)) }
        guard grants else { return nil }
        var below: UInt64 = 1 << 63
        while below > memory.base { below >>= 1 }
        if below >= 8 {
            let catchAll = UInt64(PMPLayout.napot | PMPLayout.execute
                                  | (mprv ? 0 : PMPLayout.read | PMPLayout.write))
            c2 |= catchAll << 56
        }
        let address = below >= 8 ? PMPLayout.napotAddress(base: 0, size: below) : 0
        return ((c0, c2), address)
    }

    /// The virtual configuration bytes at their physical places: virtual
    /// 0…1 in `pmpcfg0` bytes 6…7, virtual 2…8 in `pmpcfg2` bytes 0…6.
    static func shifted(_ pmp: PMPFile) -> (UInt64, UInt64) {
        let w0 = pmp.readConfiguration(register: 0)
        let w2 = pmp.readConfiguration(register: 2)
        let low = w0 << 48
        let high = ((w0 >> 16) | (w2 << 48)) & 0x00FF_FFFF_FFFF_FFFF
        return (low, high)
    }

    /// Keeps only the entries whose lock bit is set, without the bit (a
    /// locked physical entry would bind the monitor itself).
    static func lockedOnly(_ word: UInt64) -> UInt64 {
        let locks = (word >> 7) & 0x0101_0101_0101_0101
        return dropLock(word & (locks &* 0xFF))
    }

    static func dropLock(_ word: UInt64) -> UInt64 { word & 0x7F7F_7F7F_7F7F_7F7F }
}
