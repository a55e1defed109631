/// The legal bits of every virtual CSR of one hart, as data.
///
/// Each mask is computed once from the ``HartConfiguration`` and then read by
/// the CSR access code; a reviewer checks one line per CSR against the
/// privileged specification. A write stores `(old & ~writable) | (new & writable)`
/// followed, for the few WARL fields that need it, by a named legalisation.
public struct CSRMasks: Sendable, Equatable {
    /// `mstatus`: SIE MIE SPIE MPIE SPP MPP MPRV SUM MXR TVM TW TSR, plus FS with
    /// F/D, VS with V, MPV and GVA with H ("Machine Status Register").
    public var mstatusWritable: UInt64
    /// `sstatus`: the S-mode view of the writable fields ("Supervisor Status Register").
    public var sstatusWritable: UInt64
    /// `sstatus`: every field S-mode can read.
    public var sstatusReadable: UInt64
    /// Interrupts that exist on this hart (`mie` bits that are not read-only zero).
    public var implementedInterrupts: InterruptBits
    /// `mip` bits writable through `mip`: SSIP, STIP (unless driven by
    /// `stimecmp`), SEIP's latch, LCOFIP; VSSIP aliases `hvip` with H.
    public var mipWritable: InterruptBits
    /// `mideleg` bits hardwired to one: the S-level interrupts are forced to
    /// delegate (the seed design); the H extension's VS-level and SGEI bits are
    /// read-only one by the specification. No bit is writable.
    public var midelegReadOnlyOne: InterruptBits
    /// `medeleg`: every exception below M that may be delegated. Bit 11 (ecall
    /// from M) and bit 16 are read-only zero; bits 10, 20, 21, 23 only with H.
    public var medelegWritable: UInt64
    /// `mcounteren`/`scounteren`: one bit per counter, all 32 writable.
    public var counterEnableWritable: UInt64 = 0xFFFF_FFFF
    /// `menvcfg`: FIOM, CBIE/CBCFE with Zicbom, CBZE with Zicboz, PBMTE with
    /// Svpbmt, STCE with Sstc ("Machine Environment Configuration Register").
    public var menvcfgWritable: UInt64
    /// `senvcfg`: FIOM and the cache-block bits (no PBMTE/STCE at S level).
    public var senvcfgWritable: UInt64
    /// `xepc`: bit 0 is always zero; bit 1 too without C.
    public var epcWritable: UInt64

    public init(_ c: HartConfiguration) {
        var mstatus: MStatus = [.sie, .mie, .spie, .mpie, .spp, .mpp, .mprv, .sum, .mxr, .tvm, .tw, .tsr]
        if c.hasFloatingPoint { mstatus.insert(.fs) }
        if c.hasVector || c.mstatusVSWritable { mstatus.insert(.vs) }
        if c.hasHypervisor { mstatus.formUnion([.mpv, .gva]) }
        mstatusWritable = mstatus.rawValue
        sstatusWritable = mstatus.rawValue & MStatus.supervisorView.rawValue
        sstatusReadable = MStatus.supervisorView.rawValue

        var interrupts: InterruptBits = [.ssip, .msip, .stip, .mtip, .seip, .meip]
        if c.hasSscofpmf { interrupts.insert(.lcofip) }
        if c.hasHypervisor { interrupts.formUnion(.hypervisorLevel) }
        implementedInterrupts = interrupts

        var mip: InterruptBits = [.ssip, .stip, .seip]
        if c.hasSscofpmf { mip.insert(.lcofip) }
        if c.hasHypervisor { mip.insert(.vssip) }
        mipWritable = mip

        var deleg: InterruptBits = .supervisorLevel
        if c.hasSscofpmf { deleg.insert(.lcofip) }
        if c.hasHypervisor { deleg.formUnion(.hypervisorLevel) }
        midelegReadOnlyOne = deleg

        // Exceptions 0-9, 12, 13, 15; with H also 10 (ecall from VS), 20-23 (guest
        // page faults and virtual instruction). Written as bits, not a loop over
        // an array, so the bare-metal build allocates nothing.
        var exceptions: UInt64 = 0b1011_0011_1111_1111
        if c.hasHypervisor { exceptions |= (1 << 10) | (0xF << 20) }
        medelegWritable = exceptions

        var envcfg: UInt64 = EnvironmentConfiguration.fiom
        if c.hasZicbom { envcfg |= EnvironmentConfiguration.cbie | EnvironmentConfiguration.cbcfe }
        if c.hasZicboz { envcfg |= EnvironmentConfiguration.cbze }
        senvcfgWritable = envcfg
        if c.hasSvpbmt { envcfg |= EnvironmentConfiguration.pbmte }
        if c.hasSstc { envcfg |= EnvironmentConfiguration.stce }
        menvcfgWritable = envcfg

        epcWritable = c.hasCompressed ? ~UInt64(1) : ~UInt64(3)
    }
}

/// Fields of `menvcfg` and `senvcfg` (privileged specification,
/// "Machine Environment Configuration Register (menvcfg)").
public enum EnvironmentConfiguration {
    /// Fence of I/O implies memory.
    public static let fiom: UInt64 = 1 << 0
    /// Cache-block invalidate enable, two bits (Zicbom).
    public static let cbie: UInt64 = 3 << 4
    /// Cache-block clean/flush enable (Zicbom).
    public static let cbcfe: UInt64 = 1 << 6
    /// Cache-block zero enable (Zicboz).
    public static let cbze: UInt64 = 1 << 7
    /// Page-based memory types enable (Svpbmt).
    public static let pbmte: UInt64 = 1 << 62
    /// `stimecmp` enable (Sstc).
    public static let stce: UInt64 = 1 << 63

    /// `CBIE` is WARL and its encoding `0b10` is reserved: a write of it
    /// keeps the old `CBIE` (the other fields are written as usual).
    @inlinable
    public static func legalize(old: UInt64, new: UInt64) -> UInt64 {
        new & cbie == 2 << 4 ? (new & ~cbie) | (old & cbie) : new
    }
}

/// Legal `mtvec`/`stvec` values ("Machine Trap-Vector Base-Address Register").
public enum TrapVector {
    /// MODE = 0: every trap to BASE.
    public static let direct: UInt64 = 0
    /// MODE = 1: interrupts to BASE + 4 × cause, exceptions to BASE.
    public static let vectored: UInt64 = 1

    /// The value a write leaves: MODE 2 and 3 are reserved, and such a write
    /// is dropped whole (the old value stays), as QEMU does — a legal WARL choice.
    @inlinable
    public static func legalize(old: UInt64, new: UInt64) -> UInt64 {
        new & 3 >= 2 ? old : new
    }

    /// Where a trap with `cause` enters under `tvec`.
    @inlinable
    public static func target(tvec: UInt64, cause: TrapCause) -> UInt64 {
        let base = tvec & ~UInt64(3)
        if tvec & 3 == vectored, case .interrupt(let i) = cause {
            return base &+ 4 &* i.rawValue
        }
        return base
    }
}

/// `satp` fields for RV64 ("Supervisor Address Translation and Protection Register").
public enum AddressTranslation {
    public static let modeShift: UInt64 = 60
    public static let asidShift: UInt64 = 44
    public static let ppnMask: UInt64 = (1 << 44) - 1

    /// A write with an unimplemented MODE has no effect at all: this is the
    /// architected behaviour, not a monitor shortcut (privileged
    /// specification, "Supervisor Address Translation and Protection
    /// Register": "if satp is written with an unsupported MODE, the entire
    /// write has no effect; no fields in satp are modified"; no trap is
    /// defined for it, and QEMU behaves the same). Otherwise the ASID keeps
    /// only its implemented bits (WARL).
    @inlinable
    public static func legalize(old: UInt64, new: UInt64, modes: UInt16, asidBits: Int) -> UInt64 {
        let mode = new >> modeShift
        guard mode == 0 || (mode < 16 && (modes >> UInt16(mode)) & 1 == 1) else { return old }
        let asidMask: UInt64 = ((1 << UInt64(asidBits)) - 1) << asidShift
        return (new & ~(UInt64(0xFFFF) << asidShift)) | (new & asidMask)
    }
}
