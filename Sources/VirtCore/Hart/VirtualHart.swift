/// One hart as the deprivileged firmware sees it: its virtual CSR file and its
/// virtual privilege mode.
///
/// While the firmware runs, the hart is in virtual M-mode (`mode == .machine`)
/// and executes in real U-mode; every access to the state below traps to the
/// monitor and is emulated here. While the payload runs, `mode` is the
/// payload's real mode (S or U) and the S-level state lives in the real CSRs;
/// the platform moves it in and out on each world switch.
///
/// Deliberate differences from QEMU 7.2's `rv64` hart (see also the README):
/// - `mideleg` is read-only: S-level bits (SSI, STI, SEI, LCOFI) are one,
///   M-level bits zero (the design of the seed problem).
/// - `mhpmcounter3..31`, `mhpmevent3..31` and `mcountinhibit` are read-only
///   zero: the monitor keeps no hardware performance counters for the firmware.
/// - `mepc` bit 0, `MPP = 2`, reserved `UXL` values and `medeleg[11]` follow
///   the specification where QEMU 7.2 does not.
/// - PMP offers ``HartConfiguration/pmpEntries`` entries (the monitor keeps
///   the rest for its own protection); there is no `mseccfg`.
/// - The trigger module (``triggers``) offers the real hart's triggers with
///   the types the monitor virtualizes (address/data match); without
///   ``HartConfiguration/triggers`` `tselect` and friends are illegal.
public struct VirtualHart: Sendable {
    /// What the underlying hart supports.
    public let configuration: HartConfiguration
    /// The legal bits of each CSR, derived from `configuration`.
    public let masks: CSRMasks

    /// The virtual privilege mode: `.machine` while the firmware runs.
    public var mode: PrivilegeMode = .machine
    /// The virtualization mode V (H extension; privileged specification,
    /// "Privilege and Virtualization Modes"): true while the payload runs in
    /// VS- or VU-mode (`mode` is then S or U). Always false in virtual M-mode
    /// and on a hart without H.
    public var virtualized = false

    /// `mstatus` without the read-only fields (`UXL`, `SXL`, `SD` are added on read).
    public var mstatus: MStatus = []
    /// `medeleg`.
    public var medeleg: UInt64 = 0
    /// `mie`.
    public var mie: InterruptBits = []
    /// The software-writable part of `mip`: SSIP, STIP (while no `stimecmp`
    /// drives it), the SEIP latch and LCOFIP.
    public var mipSoftware: InterruptBits = []
    /// The M-level part of `mip` (MSIP, MTIP, MEIP), driven by the virtual
    /// CLINT and PLIC through the interrupt controller; read-only to CSR writes.
    public var mipDevices: InterruptBits = []
    public var mtvec: UInt64 = 0
    public var mscratch: UInt64 = 0
    public var mepc: UInt64 = 0
    public var mcause: UInt64 = 0
    public var mtval: UInt64 = 0
    /// `mtinst` and `mtval2` (H extension).
    public var mtinst: UInt64 = 0
    public var mtval2: UInt64 = 0
    public var mcounteren: UInt64 = 0
    public var menvcfg: UInt64 = 0
    /// `mcycle` as the firmware set it, kept as an offset from the real counter.
    public var cycleOffset: UInt64 = 0
    /// `minstret` likewise.
    public var instretOffset: UInt64 = 0

    // S-level state, owned by the payload, held here while the firmware runs.
    public var stvec: UInt64 = 0
    public var sscratch: UInt64 = 0
    public var sepc: UInt64 = 0
    public var scause: UInt64 = 0
    public var stval: UInt64 = 0
    public var satp: UInt64 = 0
    public var scounteren: UInt64 = 0
    public var senvcfg: UInt64 = 0
    /// `stimecmp` (Sstc). Resets to all ones so no timer fires by itself.
    public var stimecmp: UInt64 = ~0

    // The large register files last (the fields above stay within a
    // load's 12-bit offset of the hart's address on RISC-V).
    /// The firmware's PMP registers.
    public var pmp: PMPFile
    /// The firmware's debug triggers (Sdtrig).
    public var triggers: TriggerModule
    /// The firmware's machine-level AIA state (Smaia): `miselect`, `iprio`
    /// and its M-level IMSIC file. Unused when the hart lacks Smaia.
    public var aia: MachineLevelAIA

    /// A hart at reset (privileged specification, "Reset"): M-mode,
    /// `mstatus.MIE = 0`, `MPRV = 0`, every other field as zero.
    public init(configuration: HartConfiguration) {
        self.configuration = configuration
        self.masks = CSRMasks(configuration)
        self.pmp = PMPFile(entries: configuration.pmpEntries)
        self.triggers = TriggerModule(configuration: configuration.triggers)
        self.aia = MachineLevelAIA(configuration: configuration.smaia)
    }

    /// `mideleg`: constant under the monitor.
    @inlinable public var mideleg: InterruptBits { masks.midelegReadOnlyOne }

    /// `mstatus` as software reads it: with `UXL = SXL = 2` and `SD` derived.
    @inlinable public var mstatusValue: UInt64 {
        MStatus(rawValue: mstatus.rawValue | MStatus.xlen64).withSummaryDirty.rawValue
    }

    /// True when `stimecmp` drives `mip.STIP` (Sstc with `menvcfg.STCE = 1`).
    @inlinable public var stimecmpDrivesSTIP: Bool {
        configuration.hasSstc && menvcfg & EnvironmentConfiguration.stce != 0
    }

    /// `mip` as software reads it: the software bits, the device-driven M bits,
    /// STIP from `stimecmp` when Sstc drives it, SEIP as latch OR external
    /// line, and the H extension's pending bits from the real `hip`.
    public func mip<E: HartEnvironment>(environment env: inout E) -> InterruptBits {
        var copy = self
        return copy.currentMIP(environment: &env)
    }

    /// ``mip(environment:)`` in place (no copy of the hart).
    mutating func currentMIP<E: HartEnvironment>(environment env: inout E) -> InterruptBits {
        var bits = mipSoftware.union(mipDevices)
        if stimecmpDrivesSTIP {
            if env.readTime() >= stimecmp { bits.insert(.stip) } else { bits.remove(.stip) }
        }
        if env.supervisorExternalInterruptLine() { bits.insert(.seip) }
        if configuration.hasHypervisor {
            bits.formUnion(InterruptBits(rawValue: env.readPassthroughCSR(.hip)).intersection(.hypervisorLevel))
        }
        return bits.intersection(masks.implementedInterrupts)
    }
}

extension CSR {
    /// `hip` (H extension), used to read the VS-level pending bits.
    public static let hip = CSR(0x644)
    /// `hie` (H extension): an alias of the VS-level bits of `mie`.
    public static let hie = CSR(0x604)
    /// `hvip` (H extension): VSSIP here is the writable alias of `mip.VSSIP`.
    public static let hvip = CSR(0x645)
    /// `hstatus` (H extension): SPV, SPVP and GVA of traps into HS-mode.
    public static let hstatus = CSR(0x600)
    /// `hedeleg` (H extension): exceptions from V = 1 delegated on to VS-mode.
    public static let hedeleg = CSR(0x602)
    /// `htval` (H extension): a trap into HS-mode's guest physical address >> 2.
    public static let htval = CSR(0x643)
    /// `htinst` (H extension): a trap into HS-mode's transformed instruction.
    public static let htinst = CSR(0x64A)
    /// `vsstatus`, `vstvec`, `vsepc`, `vscause`, `vstval` (H extension): the
    /// VS-mode trap state.
    public static let vsstatus = CSR(0x200)
    public static let vstvec = CSR(0x205)
    public static let vsepc = CSR(0x241)
    public static let vscause = CSR(0x242)
    public static let vstval = CSR(0x243)
}

/// Fields of `hstatus` (privileged specification, "Hypervisor Status
/// Register (hstatus)") that a trap into HS-mode and `sret` change.
public enum HypervisorStatus {
    /// Guest virtual address: `stval` holds one.
    public static let gva: UInt64 = 1 << 6
    /// Supervisor previous virtualization mode.
    public static let spv: UInt64 = 1 << 7
    /// Supervisor previous virtual privilege (1 = VS) of a trap from V = 1.
    public static let spvp: UInt64 = 1 << 8
}
