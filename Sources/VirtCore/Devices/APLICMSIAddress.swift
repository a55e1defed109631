/// The fields of an APLIC MSI address configuration, as a pair of registers
/// holds them: `mmsiaddrcfg`/`mmsiaddrcfgh` or `smsiaddrcfg`/`smsiaddrcfgh`
/// (AIA specification, "Advanced Platform-Level Interrupt Controller",
/// "Machine MSI address configuration", "Supervisor MSI address
/// configuration"), and the MSI target address they give ("Addresses and
/// data for outgoing MSIs").
///
/// | register | bits | field |
/// |---|---|---|
/// | low | 31:0 | Low Base PPN |
/// | high | 31 | L (lock) |
/// | high | 28:24 | HHXS |
/// | high | 22:20 | LHXS |
/// | high | 18:16 | HHXW |
/// | high | 15:12 | LHXW |
/// | high | 11:0 | High Base PPN |
///
/// Documented difference: the specification gives `smsiaddrcfgh` only LHXS
/// and High Base PPN (the other bits reserved, read as zero), and computes
/// supervisor-level addresses with HHXW, LHXW and HHXS taken from
/// `mmsiaddrcfgh`. QEMU 7.2 (`hw/intc/riscv_aplic.c`) stores every field
/// above in `smsiaddrcfgh` and computes supervisor-level addresses from
/// `smsiaddrcfg`/`smsiaddrcfgh` alone (`riscv_aplic_msi_send`). This type
/// decodes both pairs QEMU's way; a monitor that programs the same HHXW,
/// LHXW and HHXS into both pairs gets the same addresses from either rule.
public struct APLICMSIAddressConfiguration: Sendable, Equatable {
    /// The 44-bit Base PPN: High Base PPN above Low Base PPN.
    public var basePPN: UInt64
    /// Low Hart Index Shift (3 bits): log2 of the distance, in pages, between
    /// the files of consecutive harts of a group.
    public var lhxs: Int
    /// Low Hart Index Width (4 bits): the hart index bits that select a hart
    /// within its group.
    public var lhxw: Int
    /// High Hart Index Shift (5 bits): where the group number goes, in the
    /// PPN above bit 12.
    public var hhxs: Int
    /// High Hart Index Width (3 bits): the hart index bits that select a group.
    public var hhxw: Int
    /// L: the configuration is locked.
    public var locked: Bool

    /// Bit L of the high register.
    public static let lockBit: UInt32 = 1 << 31
    /// The bits of a high register that hold a value: L, HHXS, LHXS, HHXW,
    /// LHXW and High Base PPN (QEMU 7.2: `APLIC_xMSICFGADDRH_VALID_MASK`,
    /// for `mmsiaddrcfgh` and `smsiaddrcfgh` alike).
    public static let highRegisterMask: UInt32 = 0x9F77_FFFF
    /// The width of Base PPN.
    public static let basePPNBits = 44
    /// The page size the address formula shifts by.
    public static let pageShift = 12
    /// The largest number of harts a hart index (14 bits) can name.
    public static let maximumHarts = 1 << 14

    /// A configuration of the given fields, each truncated to its width.
    public init(basePPN: UInt64, lhxs: Int, lhxw: Int, hhxs: Int, hhxw: Int, locked: Bool = false) {
        self.basePPN = basePPN & ((1 << UInt64(APLICMSIAddressConfiguration.basePPNBits)) - 1)
        self.lhxs = lhxs & 0x7
        self.lhxw = lhxw & 0xF
        self.hhxs = hhxs & 0x1F
        self.hhxw = hhxw & 0x7
        self.locked = locked
    }

    /// The configuration a low/high register pair holds.
    public init(low: UInt32, high: UInt32) {
        self.init(basePPN: UInt64(high & 0xFFF) << 32 | UInt64(low),
                  lhxs: Int(high >> 20), lhxw: Int(high >> 12),
                  hhxs: Int(high >> 24), hhxw: Int(high >> 16),
                  locked: high & APLICMSIAddressConfiguration.lockBit != 0)
    }

    /// The values of the low and high registers holding this configuration.
    public var registerValues: (low: UInt32, high: UInt32) {
        var high = UInt32(truncatingIfNeeded: basePPN >> 32) & 0xFFF
        high |= UInt32(lhxw) << 12 | UInt32(hhxw) << 16 | UInt32(lhxs) << 20 | UInt32(hhxs) << 24
        if locked { high |= APLICMSIAddressConfiguration.lockBit }
        return (UInt32(truncatingIfNeeded: basePPN), high)
    }

    /// The MSI target address for hart `hart` of group `group` and guest
    /// interrupt file `guest` (0: the machine- or supervisor-level file):
    /// `(Base PPN | g << (HHXS + 12) | h << LHXS | guest) << 12`, with `g`
    /// and `h` truncated to HHXW and LHXW bits ("Addresses and data for
    /// outgoing MSIs").
    ///
    /// Documented difference: the specification ORs Guest Index in whole;
    /// QEMU 7.2 truncates it to LHXS bits first (`riscv_aplic_msi_send`).
    /// The model follows QEMU; the two agree for every guest index below
    /// 2^LHXS, which a valid layout requires.
    public func address(group: UInt64, hart: UInt64, guest: UInt64 = 0) -> UInt64 {
        let g = group & APLICMSIAddressConfiguration.mask(bits: hhxw)
        let h = hart & APLICMSIAddressConfiguration.mask(bits: lhxw)
        let file = guest & APLICMSIAddressConfiguration.mask(bits: lhxs)
        let ppn = basePPN | g &<< UInt64(hhxs + APLICMSIAddressConfiguration.pageShift) | h &<< UInt64(lhxs) | file
        return ppn &<< UInt64(APLICMSIAddressConfiguration.pageShift)
    }

    /// The MSI target address for the hart a `target` or `genmsi` register's
    /// Hart Index names: group `hartIndex >> LHXW`, hart the low LHXW bits.
    public func address(hartIndex: UInt64, guest: UInt64 = 0) -> UInt64 {
        address(group: hartIndex &>> UInt64(lhxw), hart: hartIndex, guest: guest)
    }

    /// The configuration that sends hart index h (0 ≤ h < `count`) to
    /// `base + h * stride`: one group (HHXW = 0), LHXS = log2(stride) − 12,
    /// LHXW the bits needed for `count − 1`; unlocked.
    ///
    /// `nil` when the registers cannot express it: `stride` not a power of
    /// two in 4 KiB…512 KiB (LHXS has 3 bits), `count` not in
    /// 1…``maximumHarts``, `base` not aligned to `stride << LHXW` (the
    /// formula ORs the hart's offset into the base: "Arrangement of the
    /// memory regions of multiple interrupt files"), or `base` beyond the
    /// 44-bit Base PPN. Hart indexes at or above `count` reach the rest of
    /// that aligned block, as the hardware would.
    public static func forFiles(base: UInt64, stride: UInt64, count: Int) -> APLICMSIAddressConfiguration? {
        guard stride.nonzeroBitCount == 1, stride >= 1 << UInt64(pageShift) else { return nil }
        let lhxs = stride.trailingZeroBitCount - pageShift
        guard lhxs <= 7, count >= 1, count <= maximumHarts else { return nil }
        let lhxw = count == 1 ? 0 : UInt64.bitWidth - UInt64(count - 1).leadingZeroBitCount
        let block = stride << UInt64(lhxw)
        guard base & (block - 1) == 0, base >> UInt64(pageShift + basePPNBits) == 0 else { return nil }
        return APLICMSIAddressConfiguration(basePPN: base >> UInt64(pageShift), lhxs: lhxs, lhxw: lhxw, hhxs: 0, hhxw: 0)
    }

    private static func mask(bits: Int) -> UInt64 {
        (1 << UInt64(bits)) - 1
    }
}
