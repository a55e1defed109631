/// Fields of `mstatus` for RV64 (privileged specification, "Machine Status
/// Register (mstatus)"); `sstatus` is a restricted view of the same register.
public struct MStatus: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// S-mode global interrupt enable.
    public static let sie = MStatus(rawValue: 1 << 1)
    /// M-mode global interrupt enable.
    public static let mie = MStatus(rawValue: 1 << 3)
    /// SIE before the last trap into S-mode.
    public static let spie = MStatus(rawValue: 1 << 5)
    /// U-mode big-endian (read-only 0: little-endian only).
    public static let ube = MStatus(rawValue: 1 << 6)
    /// MIE before the last trap into M-mode.
    public static let mpie = MStatus(rawValue: 1 << 7)
    /// Privilege before the last trap into S-mode (0 = U, 1 = S).
    public static let spp = MStatus(rawValue: 1 << 8)
    /// Vector-unit state, two bits.
    public static let vs = MStatus(rawValue: 3 << 9)
    /// Privilege before the last trap into M-mode, two bits.
    public static let mpp = MStatus(rawValue: 3 << 11)
    /// Floating-point unit state, two bits.
    public static let fs = MStatus(rawValue: 3 << 13)
    /// Extension state summary, two bits (read-only).
    public static let xs = MStatus(rawValue: 3 << 15)
    /// Modify privilege: M-mode loads and stores use `MPP`'s privilege.
    public static let mprv = MStatus(rawValue: 1 << 17)
    /// Permit supervisor access to user pages.
    public static let sum = MStatus(rawValue: 1 << 18)
    /// Make executable pages readable.
    public static let mxr = MStatus(rawValue: 1 << 19)
    /// Trap virtual memory: S-mode `satp` and `sfence.vma` are illegal.
    public static let tvm = MStatus(rawValue: 1 << 20)
    /// Timeout wait: S-mode `wfi` is illegal.
    public static let tw = MStatus(rawValue: 1 << 21)
    /// Trap SRET: S-mode `sret` is illegal.
    public static let tsr = MStatus(rawValue: 1 << 22)
    /// U-mode XLEN, two bits (read-only 2 = 64-bit).
    public static let uxl = MStatus(rawValue: 3 << 32)
    /// S-mode XLEN, two bits (read-only 2 = 64-bit).
    public static let sxl = MStatus(rawValue: 3 << 34)
    /// S-mode big-endian (read-only 0).
    public static let sbe = MStatus(rawValue: 1 << 36)
    /// M-mode big-endian (read-only 0).
    public static let mbe = MStatus(rawValue: 1 << 37)
    /// Guest virtual address in `mtval` (H extension).
    public static let gva = MStatus(rawValue: 1 << 38)
    /// Virtualization mode before the last trap into M-mode (H extension).
    public static let mpv = MStatus(rawValue: 1 << 39)
    /// State dirty summary (read-only): FS, VS or XS is Dirty.
    public static let sd = MStatus(rawValue: 1 << 63)

    /// The fields visible through `sstatus` (privileged specification,
    /// "Supervisor Status Register (sstatus)").
    public static let supervisorView: MStatus = [
        .sie, .spie, .ube, .spp, .vs, .fs, .xs, .sum, .mxr, .uxl, .sd,
    ]

    /// `UXL = SXL = 2`: both lower modes run with XLEN 64.
    public static let xlen64: UInt64 = (2 << 32) | (2 << 34)

    /// The previous privilege of the last trap into M-mode.
    ///
    /// `MPP` is WARL over the implemented modes, so the stored value is always legal.
    @inlinable public var mpp: PrivilegeMode {
        get { PrivilegeMode(field: rawValue >> 11) ?? .user }
        set { rawValue = (rawValue & ~MStatus.mpp.rawValue) | (UInt64(newValue.rawValue) << 11) }
    }

    /// The previous privilege of the last trap into S-mode.
    @inlinable public var spp: PrivilegeMode {
        get { contains(.spp) ? .supervisor : .user }
        set { if newValue == .user { remove(.spp) } else { insert(.spp) } }
    }

    /// `SD` as the specification derives it from FS, VS and XS.
    @inlinable public var withSummaryDirty: MStatus {
        let dirty = (rawValue & MStatus.fs.rawValue) == MStatus.fs.rawValue
            || (rawValue & MStatus.vs.rawValue) == MStatus.vs.rawValue
            || (rawValue & MStatus.xs.rawValue) == MStatus.xs.rawValue
        var copy = self
        if dirty { copy.insert(.sd) } else { copy.remove(.sd) }
        return copy
    }
}
