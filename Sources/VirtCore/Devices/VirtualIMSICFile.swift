/// A register of an IMSIC interrupt file selected by `miselect` and accessed
/// through `mireg` (AIA specification, "Incoming MSI Controller",
/// "Indirectly accessed interrupt-file registers").
public enum IMSICRegister: Equatable, Sendable {
    /// `eidelivery` (`miselect` 0x70): whether the file signals MEIP.
    case eidelivery
    /// `eithreshold` (0x72): identities at or above a nonzero threshold
    /// are not signalled.
    case eithreshold
    /// `eip`k (0x80 + k): the pending bits of identities 32k…32k+63. RV64:
    /// k is even.
    case eip(Int)
    /// `eie`k (0xC0 + k): the enable bits of the same identities.
    case eie(Int)
}

/// A 32-bit register of an interrupt file's 4 KiB page (AIA, "Memory region
/// for an interrupt file").
public enum IMSICPageRegister: Equatable, Sendable {
    /// `seteipnum_le` (offset 0x000): writing an implemented identity in
    /// little-endian order sets its pending bit
    /// (``VirtualIMSICFile/setPending(identity:)``); reads return 0.
    case seteipnumLE
    /// `seteipnum_be` (offset 0x004): reads return 0 and writes are ignored.
    /// The specification lets a little-endian-only system ignore every write
    /// here, which QEMU 7.2 does (`riscv_imsic_write` handles only the LE
    /// offset).
    case seteipnumBE
    /// Every other word of the page: read-only zero.
    case reserved
}

/// One hart's machine-level IMSIC interrupt file as the firmware sees it
/// (AIA specification, "Incoming MSI Controller (IMSIC)"): the `eip` and
/// `eie` arrays, `eidelivery` and `eithreshold`, reached through
/// `miselect`/`mireg` and `mtopei`, and the file's interrupt line, which is
/// the virtual `mip.MEIP`.
///
/// The model is RV64 only: `eip`k and `eie`k exist for even k, each holding
/// 64 identities ("External interrupt-pending registers").
///
/// Where the specification leaves a choice, the model takes QEMU 7.2's
/// (`hw/intc/riscv_imsic.c`, `target/riscv/csr.c`):
///
/// - Reset: every bit zero, `eidelivery` 0 (the specification leaves it 0 or
///   1 when 0x40000000 is not supported), `eithreshold` 0.
/// - `eidelivery` holds only bit 0: value 0x40000000 (delivery from a PLIC
///   or APLIC) is not supported.
/// - `eithreshold` is WLRL and holds 11 bits, 0…2047, whatever the number of
///   identities. A value above the implemented identities means no
///   threshold, as the specification's rule gives.
///
/// Documented difference: the specification says that `miselect` values
/// 0x71 and 0x73…0x7F are reserved, with `mireg` reading 0 and ignoring
/// writes; it makes only the odd `eip`k/`eie`k (RV64) raise an exception,
/// and bits of identities that are not implemented read-only zero. QEMU 7.2
/// makes `mireg` raise an illegal-instruction exception for the reserved
/// numbers and for even registers that hold no implemented identity
/// (`riscv_imsic_rmw` and `riscv_imsic_eix_rmw` return `-EINVAL`); the
/// model does the same (``register(select:identities:)`` answers `nil`).
///
/// The arrays are stored as 32 64-bit words each (2048 bits) in inline
/// storage and read in place (see ``topei()``), so no operation allocates
/// or copies them.
public struct VirtualIMSICFile: Sendable {
    /// The largest number of identities an interrupt file implements.
    public static let maximumIdentities = 2047
    /// The smallest number of identities an interrupt file implements.
    public static let minimumIdentities = 63

    /// `miselect` value of `eidelivery`.
    public static let eideliverySelect: UInt64 = 0x70
    /// `miselect` value of `eithreshold`.
    public static let eithresholdSelect: UInt64 = 0x72
    /// `miselect` value of `eip0`; `eip`k is at 0x80 + k.
    public static let eipSelect: UInt64 = 0x80
    /// `miselect` value of `eie0`; `eie`k is at 0xC0 + k.
    public static let eieSelect: UInt64 = 0xC0
    /// The number of `eip` (and of `eie`) register numbers: k = 0…63.
    public static let registersPerArray: UInt64 = 64

    /// The bits of `eidelivery` that hold a value (QEMU 7.2:
    /// `riscv_imsic_eidelivery_rmw`).
    public static let eideliveryMask: UInt64 = 0x1
    /// The bits of `eithreshold` that hold a value (QEMU 7.2:
    /// `riscv_imsic_eithreshold_rmw`, `IMSIC_MAX_ID`).
    public static let eithresholdMask: UInt64 = 0x7FF
    /// Position of the identity in a `topei` value (bits 26:16); bits 10:0
    /// repeat it as the priority ("Top external interrupt CSRs").
    public static let topeiIdentityShift: UInt64 = 16

    /// Size of an interrupt file's page.
    public static let pageSize: UInt64 = 0x1000
    /// Offset of `seteipnum_le` in the page.
    public static let seteipnumLEOffset: UInt64 = 0x000
    /// Offset of `seteipnum_be` in the page.
    public static let seteipnumBEOffset: UInt64 = 0x004

    /// The number of identities (`riscv,num-ids`; QEMU `virt`: 255), clamped
    /// to `minimumIdentities...maximumIdentities`. The specification requires
    /// one less than a multiple of 64; for another count the last word's bits
    /// above it read 0 and ignore writes.
    public let identities: Int
    /// The 64-bit words of each array that hold an implemented identity.
    public let words: Int
    /// The bits of the last word that are implemented identities.
    private let lastWordMask: UInt64

    /// `eidelivery`: 1 when the file signals its interrupt line.
    public private(set) var eidelivery: UInt64 = 0
    /// `eithreshold`.
    public private(set) var eithreshold: UInt64 = 0
    /// The `eip` array: bit i % 64 of word i / 64 is identity i's pending bit.
    private var pendingBits: InlineArray<32, UInt64>
    /// The `eie` array, laid out as `pendingBits`.
    private var enableBits: InlineArray<32, UInt64>

    /// An interrupt file with `identities` identities in its reset state.
    public init(identities: Int) {
        let identities = VirtualIMSICFile.clamp(identities)
        self.identities = identities
        self.words = VirtualIMSICFile.words(identities: identities)
        let topBit = identities % 64
        self.lastWordMask = topBit == 63 ? .max : (1 << UInt64(topBit + 1)) - 1
        self.pendingBits = InlineArray(repeating: 0)
        self.enableBits = InlineArray(repeating: 0)
    }

    private static func clamp(_ identities: Int) -> Int {
        min(max(identities, minimumIdentities), maximumIdentities)
    }

    private static func words(identities: Int) -> Int {
        identities / 64 + 1
    }

    // MARK: miselect / mireg

    /// The register `mireg` reaches when `miselect` holds `select`, in a file
    /// of `identities` identities (clamped as ``identities``); `nil` when
    /// there is none and a `mireg` access is an illegal instruction: numbers
    /// outside 0x70…0xFF, the reserved 0x71 and 0x73…0x7F, odd `eip`/`eie`
    /// numbers (RV64), and `eip`/`eie` words beyond the implemented
    /// identities (QEMU 7.2, see the type's documented difference).
    public static func register(select: UInt64, identities: Int) -> IMSICRegister? {
        let words = UInt64(VirtualIMSICFile.words(identities: clamp(identities)))
        switch select {
        case eideliverySelect:
            return .eidelivery
        case eithresholdSelect:
            return .eithreshold
        case eipSelect..<eipSelect + registersPerArray:
            let k = select - eipSelect
            return k & 1 == 0 && k / 2 < words ? .eip(Int(k)) : nil
        case eieSelect..<eieSelect + registersPerArray:
            let k = select - eieSelect
            return k & 1 == 0 && k / 2 < words ? .eie(Int(k)) : nil
        default:
            return nil
        }
    }

    /// A `mireg` read with `miselect` = `select`; `nil` when the access is an
    /// illegal instruction (``register(select:identities:)``).
    public mutating func read(select: UInt64) -> UInt64? {
        switch VirtualIMSICFile.register(select: select, identities: identities) {
        case nil:
            return nil
        case .eidelivery:
            return eidelivery
        case .eithreshold:
            return eithreshold
        case .eip(let k):
            return VirtualIMSICFile.load(&pendingBits, k / 2)
        case .eie(let k):
            return VirtualIMSICFile.load(&enableBits, k / 2)
        }
    }

    /// A `mireg` write of `value` with `miselect` = `select`; `false` when the
    /// access is an illegal instruction. Read-only bits keep their value:
    /// bit 0 of `eip0`/`eie0` (identity 0 does not exist) and bits above
    /// ``identities``.
    @discardableResult
    public mutating func write(select: UInt64, value: UInt64) -> Bool {
        switch VirtualIMSICFile.register(select: select, identities: identities) {
        case nil:
            return false
        case .eidelivery:
            eidelivery = value & VirtualIMSICFile.eideliveryMask
        case .eithreshold:
            eithreshold = value & VirtualIMSICFile.eithresholdMask
        case .eip(let k):
            VirtualIMSICFile.store(&pendingBits, k / 2, value & writableMask(word: k / 2))
        case .eie(let k):
            VirtualIMSICFile.store(&enableBits, k / 2, value & writableMask(word: k / 2))
        }
        return true
    }

    private func writableMask(word: Int) -> UInt64 {
        var mask = UInt64.max
        if word == 0 { mask &= ~1 }
        if word == words - 1 { mask &= lastWordMask }
        return mask
    }

    // MARK: mtopei and the interrupt line

    /// `mtopei`: the lowest identity that is pending and enabled and, when
    /// `eithreshold` is nonzero, below it, as `(identity << 16) | identity`;
    /// 0 when there is none ("Top external interrupt CSRs"). It does not
    /// depend on `eidelivery`.
    ///
    /// `mutating` only so that the arrays are read in place: a non-mutating
    /// read of a large inline array copies all of it first in the Embedded
    /// build. The scan takes whole words and a trailing-zero count.
    public mutating func topei() -> UInt64 {
        let identity = topIdentity()
        return identity << VirtualIMSICFile.topeiIdentityShift | identity
    }

    /// A CSR instruction that writes `mtopei`: returns the value it reads and
    /// clears the pending bit of the identity that value names; nothing
    /// changes when it is 0. The value written is ignored ("A write to a
    /// `*topei` CSR claims the reported interrupt identity").
    ///
    /// Documented difference: the specification makes `csrrs`/`csrrc` with
    /// `rs1` ≠ `x0` a write even when the register holds 0; QEMU 7.2 claims
    /// only when the instruction's write mask is nonzero (`csrrw` always,
    /// `csrrs`/`csrrc` when `rs1`'s value is nonzero: `riscv_imsic_topei_rmw`
    /// tests `wr_mask`). The caller follows QEMU and calls ``topei()``
    /// instead for a zero mask.
    @discardableResult
    public mutating func claim() -> UInt64 {
        let identity = topIdentity()
        if identity != 0 {
            let word = Int(identity / 64)
            let old = VirtualIMSICFile.load(&pendingBits, word)
            VirtualIMSICFile.store(&pendingBits, word, old & ~(1 << (identity % 64)))
        }
        return identity << VirtualIMSICFile.topeiIdentityShift | identity
    }

    /// A write of `identity` to `seteipnum_le`: sets its pending bit when it
    /// is implemented (1…``identities``), ignored otherwise ("Memory region
    /// for an interrupt file").
    public mutating func setPending(identity: UInt64) {
        guard identity >= 1, identity <= UInt64(identities) else { return }
        let word = Int(identity / 64)
        let old = VirtualIMSICFile.load(&pendingBits, word)
        VirtualIMSICFile.store(&pendingBits, word, old | 1 << (identity % 64))
    }

    /// The file's interrupt signal, the hart's MEIP: `eidelivery` is 1 and
    /// ``topei()`` is not 0 ("Interrupt delivery and handling"; QEMU 7.2:
    /// `riscv_imsic_update`).
    public mutating func interruptPending() -> Bool {
        eidelivery == 1 && topIdentity() != 0
    }

    private mutating func topIdentity() -> UInt64 {
        // Identities below `limit` are eligible.
        let limit = eithreshold == 0 ? UInt64.max : eithreshold
        let words = self.words
        return withUnsafeMutablePointer(to: &pendingBits) { pending in
            withUnsafeMutablePointer(to: &enableBits) { enabled in
                let pending = UnsafeRawPointer(pending), enabled = UnsafeRawPointer(enabled)
                for word in 0..<words {
                    let base = UInt64(word) * 64
                    if base >= limit { return 0 }
                    var candidates = pending.load(fromByteOffset: 8 * word, as: UInt64.self)
                        & enabled.load(fromByteOffset: 8 * word, as: UInt64.self)
                    if limit - base < 64 { candidates &= (1 << (limit - base)) - 1 }
                    if candidates != 0 { return base + UInt64(candidates.trailingZeroBitCount) }
                }
                return 0
            }
        }
    }

    // MARK: The page

    /// The register at `offset` within an interrupt file's page; only the
    /// low 12 bits count, so `offset` may be relative to any page-aligned
    /// base. Misaligned offsets name no register. Only aligned 32-bit
    /// accesses exist (QEMU 7.2: `riscv_imsic_ops.valid`).
    public static func pageRegister(offset: UInt64) -> IMSICPageRegister {
        switch offset & (pageSize - 1) {
        case seteipnumLEOffset: return .seteipnumLE
        case seteipnumBEOffset: return .seteipnumBE
        default: return .reserved
        }
    }

    // MARK: In-place array access

    @inline(__always)
    private static func load(_ bits: inout InlineArray<32, UInt64>, _ word: Int) -> UInt64 {
        withUnsafeMutablePointer(to: &bits) { UnsafeRawPointer($0).load(fromByteOffset: 8 * word, as: UInt64.self) }
    }

    @inline(__always)
    private static func store(_ bits: inout InlineArray<32, UInt64>, _ word: Int, _ value: UInt64) {
        withUnsafeMutablePointer(to: &bits) {
            UnsafeMutableRawPointer($0).storeBytes(of: value, toByteOffset: 8 * word, as: UInt64.self)
        }
    }
}
