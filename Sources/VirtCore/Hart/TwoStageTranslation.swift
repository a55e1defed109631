/// Two-stage address translation for an access made as though V = 1
/// (privileged specification, Hypervisor extension, "Two-Stage Address
/// Translation"): a guest virtual address goes through the VS stage
/// (`vsatp`: Bare, Sv39, Sv48, Sv57) to a guest physical address, which
/// goes through the G stage (`hgatp`: Bare, Sv39x4, Sv48x4, Sv57x4) to a
/// supervisor physical address. Every VS-stage page-table entry is read at a
/// guest physical address that is itself translated by the G stage.
///
/// The walk is pure: it reads page tables through a ``PhysicalMemoryReader``
/// and writes nothing. A hart that updates the A and D bits in hardware
/// (QEMU 7.2 does) would write them during the walk; where that is needed the
/// walk stops with ``Outcome/updatesAccessedOrDirty`` so that the caller can
/// leave the access to the hardware rather than imitate the update.
///
/// The monitor uses it for the payload's device accesses from VS/VU-mode
/// (to find the device behind a guest virtual address) and for the
/// firmware's loads and stores under `mstatus.MPRV` with `MPV = 1`.
public enum TwoStageTranslation {
    /// The original access type: it selects the permission checked at the
    /// leaves and the exception reported.
    public enum Access: Sendable, Equatable {
        case load
        /// A store or AMO.
        case store
        /// An instruction fetch.
        case fetch
    }

    /// What the walk depends on besides memory.
    public struct Inputs: Sendable, Equatable {
        /// `vsatp`: MODE (63:60), ASID, PPN (43:0) of the VS-stage root.
        public var vsatp: UInt64
        /// `hgatp`: MODE (63:60), VMID, PPN (43:0) of the 16 KiB G-stage root.
        public var hgatp: UInt64
        /// The nominal privilege: `.supervisor` for VS-mode, `.user` for VU-mode.
        public var privilege: PrivilegeMode
        /// SUM for the VS stage (`vsstatus.SUM`): VS-mode may load and store
        /// on pages with U = 1.
        public var sum: Bool
        /// MXR for the VS stage: execute-only VS-stage pages are readable.
        public var vsStageMXR: Bool
        /// MXR for the G stage: execute-only G-stage pages are readable.
        public var gStageMXR: Bool

        @inlinable
        public init(vsatp: UInt64, hgatp: UInt64, privilege: PrivilegeMode,
                    sum: Bool, vsStageMXR: Bool, gStageMXR: Bool) {
            self.vsatp = vsatp
            self.hgatp = hgatp
            self.privilege = privilege
            self.sum = sum
            self.vsStageMXR = vsStageMXR
            self.gStageMXR = gStageMXR
        }

        /// The inputs as the specification derives them from the status
        /// registers ("Two-Stage Address Translation"): `vsstatus.SUM`; "the
        /// vsstatus field MXR ... only overrides VS-stage page protection ...
        /// Setting MXR at HS-level, however, overrides both VS-stage and
        /// G-stage execute-only permissions" (`mstatus` is HS-level's).
        @inlinable
        public init(vsatp: UInt64, hgatp: UInt64, privilege: PrivilegeMode, mstatus: MStatus, vsstatus: MStatus) {
            self.init(vsatp: vsatp, hgatp: hgatp, privilege: privilege,
                      sum: vsstatus.contains(.sum),
                      vsStageMXR: vsstatus.contains(.mxr) || mstatus.contains(.mxr),
                      gStageMXR: mstatus.contains(.mxr))
        }
    }

    /// How a walk ends.
    public enum Outcome: Sendable, Equatable {
        /// The access may proceed to the PMP check at `physical`.
        case translated(physical: UInt64, guestPhysical: UInt64)
        /// The VS stage refused the access: a page fault.
        case pageFault
        /// The G stage refused the access or, when `implicit`, the read of a
        /// VS-stage page-table entry at `guestPhysical`: a guest-page fault.
        case guestPageFault(guestPhysical: UInt64, implicit: Bool)
        /// A page-table entry could not be read (the reader refused it, as a
        /// PMP or PMA check would): an access fault.
        case accessFault
        /// The hart would set an A or D bit (VS or G stage) to continue.
        case updatesAccessedOrDirty
        /// `vsatp` or `hgatp` holds a MODE this walk does not implement.
        case unsupportedMode
    }

    /// The exception an outcome raises, in the terms of a trap into M-mode:
    /// `mcause` and the H extension's trap values (``HypervisorTrapValues``),
    /// GVA set, as `mtval` holds the guest virtual address that was walked.
    public struct Fault: Sendable, Equatable {
        /// `mcause`.
        public var code: UInt64
        /// GVA = 1; `mtval2`: the faulting guest physical address shifted
        /// right by 2 for a guest-page fault, else 0; `mtinst`: the
        /// pseudoinstruction "64-bit read for VS-stage address translation"
        /// (0x3000) for a guest-page fault on a VS-stage page-table read,
        /// else 0 (always allowed: "Trap Instruction Register").
        public var hypervisor: HypervisorTrapValues

        @inlinable public var mtval2: UInt64 { hypervisor.mtval2 }
        @inlinable public var mtinst: UInt64 { hypervisor.mtinst }

        @inlinable
        public init(code: UInt64, mtval2: UInt64, mtinst: UInt64) {
            self.code = code
            self.hypervisor = HypervisorTrapValues(gva: true, mtinst: mtinst, mtval2: mtval2)
        }
    }

    /// `mtinst` for a guest-page fault taken while reading a VS-stage PTE
    /// on RV64 (Hypervisor chapter, "Transformed Instruction or Pseudoinstruction").
    public static let implicitReadPseudoinstruction: UInt64 = 0x3000

    /// PTE fields ("Sv39: Page-Based 39-bit Virtual-Memory System").
    enum PTE {
        static let v: UInt64 = 1 << 0
        static let r: UInt64 = 1 << 1
        static let w: UInt64 = 1 << 2
        static let x: UInt64 = 1 << 3
        static let u: UInt64 = 1 << 4
        static let a: UInt64 = 1 << 6
        static let d: UInt64 = 1 << 7
        /// Bits 63:54: reserved without Svnapot/Svpbmt (QEMU 7.2 enables neither).
        static let reserved: UInt64 = 0x3FF << 54
        static let ppnMask: UInt64 = (1 << 44) - 1
    }

    /// Levels of a MODE value (8: 3, 9: 4, 10: 5), 0 for Bare, `nil` otherwise.
    static func levels(mode: UInt64) -> Int? {
        switch mode {
        case 0: return 0
        case 8: return 3
        case 9: return 4
        case 10: return 5
        default: return nil
        }
    }

    /// Translates `address` for `access` under `inputs`.
    public static func translate<M: PhysicalMemoryReader>(
        _ address: UInt64, access: Access, inputs: Inputs, memory: inout M
    ) -> Outcome {
        guard let vsLevels = levels(mode: inputs.vsatp >> 60),
              let gLevels = levels(mode: inputs.hgatp >> 60) else { return .unsupportedMode }
        let g = GStage(hgatp: inputs.hgatp, levels: gLevels, mxr: inputs.gStageMXR)
        guard vsLevels > 0 else {
            // VS stage Bare: the guest virtual address is the guest physical one.
            return finish(guestPhysical: address, access: access, g: g, memory: &memory)
        }
        // "Instruction fetch addresses and load and store effective
        // addresses ... must have bits 63–39 all equal to bit 38" (Sv39; Sv48
        // and Sv57 alike), or else a page fault.
        let upper = Int64(bitPattern: address) >> (11 + 9 * Int64(vsLevels))
        guard upper == 0 || upper == -1 else { return .pageFault }
        var table = (inputs.vsatp & PTE.ppnMask) << 12
        var level = vsLevels - 1
        while true {
            let slot = table &+ ((address >> (12 + 9 * UInt64(level))) & 0x1FF) * 8
            // The PTE's guest physical address goes through the G stage as an
            // implicit load; an exception is reported for the original access.
            let pte: UInt64
            switch g.translate(slot, access: .load, memory: &memory) {
            case .translated(let physical):
                guard let value = memory.read64(physical) else { return .accessFault }
                pte = value
            case .fault: return .guestPageFault(guestPhysical: slot, implicit: true)
            case .accessFault: return .accessFault
            case .updatesAccessedOrDirty: return .updatesAccessedOrDirty
            }
            guard pte & PTE.v != 0, !(pte & PTE.w != 0 && pte & PTE.r == 0),
                  pte & PTE.reserved == 0 else { return .pageFault }
            let ppn = (pte >> 10) & PTE.ppnMask
            if pte & (PTE.r | PTE.x) == 0 {
                // A pointer to the next level: its D, A and U are reserved.
                guard pte & (PTE.d | PTE.a | PTE.u) == 0, level > 0 else { return .pageFault }
                table = ppn << 12
                level -= 1
                continue
            }
            guard leafPermits(pte, access: access, privilege: inputs.privilege, sum: inputs.sum,
                              mxr: inputs.vsStageMXR) else { return .pageFault }
            let pageBits = 12 + 9 * UInt64(level)
            let lowMask: UInt64 = (1 << pageBits) - 1
            guard (ppn << 12) & lowMask == 0 else { return .pageFault }  // a misaligned superpage
            guard pte & PTE.a != 0, access != .store || pte & PTE.d != 0 else { return .updatesAccessedOrDirty }
            return finish(guestPhysical: (ppn << 12) | (address & lowMask), access: access, g: g, memory: &memory)
        }
    }

    /// The G stage for the access's own guest physical address.
    static func finish<M: PhysicalMemoryReader>(guestPhysical: UInt64, access: Access, g: GStage,
                                                memory: inout M) -> Outcome {
        switch g.translate(guestPhysical, access: access, memory: &memory) {
        case .translated(let physical): return .translated(physical: physical, guestPhysical: guestPhysical)
        case .fault: return .guestPageFault(guestPhysical: guestPhysical, implicit: false)
        case .accessFault: return .accessFault
        case .updatesAccessedOrDirty: return .updatesAccessedOrDirty
        }
    }

    /// Step 5 of "Virtual Address Translation Process" at a leaf: R (or X
    /// with MXR) for loads, W for stores, X for fetches; U = 1 pages only in
    /// U-mode, and in S-mode with SUM for loads and stores; U = 0 pages never
    /// in U-mode.
    static func leafPermits(_ pte: UInt64, access: Access, privilege: PrivilegeMode, sum: Bool, mxr: Bool) -> Bool {
        let user = pte & PTE.u != 0
        switch privilege {
        case .user: guard user else { return false }
        default: guard !user || (sum && access != .fetch) else { return false }
        }
        switch access {
        case .load: return pte & PTE.r != 0 || (mxr && pte & PTE.x != 0)
        case .store: return pte & PTE.w != 0
        case .fetch: return pte & PTE.x != 0
        }
    }

    /// The G stage ("Guest Physical Address Translation"): the Sv39/48/57
    /// algorithm with `hgatp` for `satp`, the root table 16 KiB (two more
    /// VPN bits at the top level; `hgatp.PPN[1:0]` read as zero), guest
    /// physical address bits above the widened width zero, every access
    /// taken as a U-mode access (leaves need U = 1), guest-page faults for
    /// page faults.
    struct GStage {
        enum Result { case translated(UInt64), fault, accessFault, updatesAccessedOrDirty }

        let root: UInt64
        let levels: Int
        let mxr: Bool

        init(hgatp: UInt64, levels: Int, mxr: Bool) {
            root = (hgatp & PTE.ppnMask & ~3) << 12
            self.levels = levels
            self.mxr = mxr
        }

        func translate<M: PhysicalMemoryReader>(_ address: UInt64, access: Access, memory: inout M) -> Result {
            guard levels > 0 else { return .translated(address) }
            // Sv39x4: bits 63:41 zero; Sv48x4: 63:50; Sv57x4: 63:59.
            guard address >> (14 + 9 * UInt64(levels)) == 0 else { return .fault }
            var table = root
            var level = levels - 1
            while true {
                let shift = 12 + 9 * UInt64(level)
                let indexMask: UInt64 = level == levels - 1 ? 0x7FF : 0x1FF
                guard let pte = memory.read64(table &+ ((address >> shift) & indexMask) * 8) else { return .accessFault }
                guard pte & PTE.v != 0, !(pte & PTE.w != 0 && pte & PTE.r == 0),
                      pte & PTE.reserved == 0 else { return .fault }
                let ppn = (pte >> 10) & PTE.ppnMask
                if pte & (PTE.r | PTE.x) == 0 {
                    guard pte & (PTE.d | PTE.a | PTE.u) == 0, level > 0 else { return .fault }
                    table = ppn << 12
                    level -= 1
                    continue
                }
                guard TwoStageTranslation.leafPermits(pte, access: access, privilege: .user, sum: false, mxr: mxr)
                else { return .fault }
                let lowMask: UInt64 = (1 << shift) - 1
                guard (ppn << 12) & lowMask == 0 else { return .fault }
                guard pte & PTE.a != 0, access != .store || pte & PTE.d != 0 else { return .updatesAccessedOrDirty }
                return .translated((ppn << 12) | (address & lowMask))
            }
        }
    }
}

extension TwoStageTranslation.Outcome {
    /// The exception this outcome raises for `access`, as a trap into M-mode
    /// records it; `nil` when the access translated or the walk was refused
    /// (``updatesAccessedOrDirty``, ``unsupportedMode``).
    ///
    /// A page fault: 12/13/15; a guest-page fault: 20/21/23 ("any exception
    /// is always reported for the original access type"), `mtval2` = the
    /// guest physical address >> 2; an access fault: 1/5/7.
    public func fault(for access: TwoStageTranslation.Access) -> TwoStageTranslation.Fault? {
        func code(_ fetch: Exception, _ load: Exception, _ store: Exception) -> UInt64 {
            switch access {
            case .fetch: return fetch.rawValue
            case .load: return load.rawValue
            case .store: return store.rawValue
            }
        }
        switch self {
        case .pageFault:
            return .init(code: code(.instructionPageFault, .loadPageFault, .storePageFault), mtval2: 0, mtinst: 0)
        case .guestPageFault(let gpa, let implicit):
            return .init(code: code(.instructionGuestPageFault, .loadGuestPageFault, .storeGuestPageFault),
                         mtval2: gpa >> 2, mtinst: implicit ? TwoStageTranslation.implicitReadPseudoinstruction : 0)
        case .accessFault:
            return .init(code: code(.instructionAccessFault, .loadAccessFault, .storeAccessFault), mtval2: 0, mtinst: 0)
        case .translated, .updatesAccessedOrDirty, .unsupportedMode:
            return nil
        }
    }
}
