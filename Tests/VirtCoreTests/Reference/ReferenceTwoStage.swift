import VirtCore

/// Two-stage address translation written from the privileged
/// specification's text, step by step, in the specification's terms rather
/// than the implementation's:
///
/// - "Virtual Address Translation Process" (steps 1-8) for one stage, with
///   the VPN and PPN fields as arrays (`va.vpn[i]`, `pte.ppn[i]`) and the
///   physical address assembled field by field (step 8);
/// - Hypervisor chapter, "Two-Stage Address Translation": the VS stage
///   under `vsatp`; "Guest Physical Address Translation": the same algorithm
///   with `hgatp` for `satp`, the incoming address two bits wider (the
///   widening in the top VPN field), "the current privilege mode is always
///   taken to be U-mode when checking the U bit", guest-page faults for page
///   faults; "For a memory access made to support VS-stage address
///   translation ... permissions ... are checked as though for an implicit
///   load ... However, any exception is always reported for the original
///   access type";
/// - SUM from `vsstatus`; "The vsstatus field MXR ... only overrides VS-stage
///   page protection ... Setting MXR at HS-level, however, overrides both
///   VS-stage and G-stage execute-only permissions";
/// - reserved PTE bits (63:54 without Svpbmt/Svnapot; D, A, U of a non-leaf
///   PTE) raise page faults (step 3: "if any bits or encodings that are
///   reserved for future standard use are set within pte");
/// - step 7 with hardware A/D updating (the hart this models): where an A or
///   D bit would be set, the model stops with "updates".
struct ReferenceTwoStage {
    /// PTE bit numbers ("Sv39", Figure "Sv39 page table entry").
    static let V = 0, R = 1, W = 2, X = 3, U = 4, A = 6, D = 7

    static func bit(_ value: UInt64, _ n: Int) -> Bool { (value >> UInt64(n)) & 1 == 1 }
    static func bits(_ value: UInt64, _ high: Int, _ low: Int) -> UInt64 {
        (value >> UInt64(low)) & ((1 << UInt64(high - low + 1)) - 1)
    }

    /// One translation scheme: LEVELS, the widths of the VPN and PPN fields,
    /// and how its failures are reported.
    struct Scheme {
        var levels: Int
        /// Width of each `vpn[i]`, low level first (the top one 2 wider in the x4 schemes).
        var vpnWidths: [Int]
        /// Width of each `pte.ppn[i]`, low level first.
        var ppnWidths: [Int]
        var widened: Bool

        /// Sv39 (3), Sv48 (4), Sv57 (5) and their x4 variants.
        init(levels: Int, widened: Bool) {
            self.levels = levels
            self.widened = widened
            vpnWidths = Array(repeating: 9, count: levels)
            if widened { vpnWidths[levels - 1] += 2 }
            // Sv39: ppn[2] 26 bits; Sv48: ppn[3] 17; Sv57: ppn[4] 8 (44 in all).
            ppnWidths = Array(repeating: 9, count: levels)
            ppnWidths[levels - 1] = 44 - 9 * (levels - 1)
        }

        /// Bits in an address this scheme translates: 39/48/57, +2 when widened.
        var addressBits: Int { 12 + vpnWidths.reduce(0, +) }

        func vpn(_ address: UInt64, _ i: Int) -> UInt64 {
            let low = 12 + vpnWidths[..<i].reduce(0, +)
            return ReferenceTwoStage.bits(address, low + vpnWidths[i] - 1, low)
        }

        func ppn(_ pte: UInt64, _ i: Int) -> UInt64 {
            let low = 10 + ppnWidths[..<i].reduce(0, +)
            return ReferenceTwoStage.bits(pte, low + ppnWidths[i] - 1, low)
        }

        /// Step 8: `pa.pgoff = va.pgoff`; `pa.ppn[i-1:0] = va.vpn[i-1:0]` for a
        /// superpage; `pa.ppn[LEVELS-1:i] = pte.ppn[LEVELS-1:i]`.
        func physicalAddress(_ va: UInt64, pte: UInt64, level i: Int) -> UInt64 {
            var pa = ReferenceTwoStage.bits(va, 11, 0)
            var shift = 12
            for j in 0..<levels {
                let field = j < i ? vpn(va, j) : ppn(pte, j)
                pa |= field << UInt64(shift)
                shift += ppnWidths[j]
            }
            return pa
        }
    }

    enum StageResult { case success(UInt64), pageFault, accessFault, updates }

    /// One stage, steps 1-8. `privilege` is the mode checked against the U
    /// bit; `read` is a physical read for G-stage tables and, for VS-stage
    /// tables, the G-stage translation followed by the read (it reports its
    /// own failure through `tableFailure`).
    static func stage(_ va: UInt64, access: TwoStageTranslation.Access, root: UInt64, scheme: Scheme,
                      privilege: PrivilegeMode, sum: Bool, mxr: Bool,
                      read: (UInt64) -> UInt64?) -> StageResult {
        // 1. a = satp.ppn x PAGESIZE, i = LEVELS - 1.
        var a = root
        var i = scheme.levels - 1
        while true {
            // 2. pte = the PTE at a + va.vpn[i] x PTESIZE; a PMA/PMP violation
            //    is an access fault.
            guard let pte = read(a + scheme.vpn(va, i) * 8) else { return .accessFault }
            // 3. Invalid, W without R, reserved bits: page fault.
            if !bit(pte, V) || (!bit(pte, R) && bit(pte, W)) || bits(pte, 63, 54) != 0 { return .pageFault }
            // 4. A pointer: i = i - 1 (page fault below 0), a = pte.ppn x PAGESIZE.
            if !bit(pte, R) && !bit(pte, X) {
                if bit(pte, D) || bit(pte, A) || bit(pte, U) { return .pageFault }
                i -= 1
                if i < 0 { return .pageFault }
                a = bits(pte, 53, 10) * 4096
                continue
            }
            // 5. The leaf's permissions for the access, the privilege, SUM and MXR.
            let allowed: Bool
            switch access {
            case .load: allowed = bit(pte, R) || (mxr && bit(pte, X))
            case .store: allowed = bit(pte, W)
            case .fetch: allowed = bit(pte, X)
            }
            if !allowed { return .pageFault }
            if privilege == .user && !bit(pte, U) { return .pageFault }
            if privilege == .supervisor && bit(pte, U) && (!sum || access == .fetch) { return .pageFault }
            // 6. A misaligned superpage.
            for j in 0..<i where scheme.ppn(pte, j) != 0 { return .pageFault }
            // 7. A, and D for a store, must be set: the hardware would set them.
            if !bit(pte, A) || (access == .store && !bit(pte, D)) { return .updates }
            // 8. The translation.
            return .success(scheme.physicalAddress(va, pte: pte, level: i))
        }
    }

    static func levels(_ mode: UInt64) -> Int? {
        [0: 0, 8: 3, 9: 4, 10: 5][mode]
    }

    /// `gva` translated for `access` by a hart in VS-mode (`privilege` =
    /// `.supervisor`) or VU-mode (`.user`), or by an M-mode access with
    /// `MPRV = 1`, `MPV = 1` and `MPP` = that mode.
    static func translate(_ gva: UInt64, access: TwoStageTranslation.Access, vsatp: UInt64, hgatp: UInt64,
                          privilege: PrivilegeMode, mstatus: MStatus, vsstatus: MStatus,
                          read: (UInt64) -> UInt64?) -> TwoStageTranslation.Outcome {
        guard let vsLevels = levels(vsatp >> 60), let gLevels = levels(hgatp >> 60) else { return .unsupportedMode }
        let sum = vsstatus.contains(.sum)
        let vsMXR = vsstatus.contains(.mxr) || mstatus.contains(.mxr)
        let gMXR = mstatus.contains(.mxr)

        /// The G stage for a guest physical address (Bare: the address itself).
        func gStage(_ gpa: UInt64, _ kind: TwoStageTranslation.Access) -> StageResult {
            if gLevels == 0 { return .success(gpa) }
            let scheme = Scheme(levels: gLevels, widened: true)
            // "Address bits 63:41 must all be zeros" (Sv39x4; 63:50, 63:59).
            for n in scheme.addressBits..<64 where bit(gpa, n) { return .pageFault }
            // "the lowest two bits of the physical page number (PPN) in hgatp
            // always read as zeros" (the 16 KiB root).
            let root = ((bits(hgatp, 43, 0) >> 2) << 2) * 4096
            return stage(gpa, access: kind, root: root, scheme: scheme, privilege: .user, sum: false,
                         mxr: gMXR, read: read)
        }

        func finalStage(_ gpa: UInt64) -> TwoStageTranslation.Outcome {
            switch gStage(gpa, access) {
            case .success(let pa): return .translated(physical: pa, guestPhysical: gpa)
            case .pageFault: return .guestPageFault(guestPhysical: gpa, implicit: false)
            case .accessFault: return .accessFault
            case .updates: return .updatesAccessedOrDirty
            }
        }

        if vsLevels == 0 { return finalStage(gva) }
        let scheme = Scheme(levels: vsLevels, widened: false)
        // "bits 63-39 all equal to bit 38" (Sv39; likewise Sv48, Sv57).
        for n in scheme.addressBits..<64 where bit(gva, n) != bit(gva, scheme.addressBits - 1) { return .pageFault }

        var implicitFailure: TwoStageTranslation.Outcome? = nil
        let vsRead: (UInt64) -> UInt64? = { gpa in
            switch gStage(gpa, .load) {
            case .success(let pa):
                guard let value = read(pa) else { implicitFailure = .accessFault; return nil }
                return value
            case .pageFault: implicitFailure = .guestPageFault(guestPhysical: gpa, implicit: true)
            case .accessFault: implicitFailure = .accessFault
            case .updates: implicitFailure = .updatesAccessedOrDirty
            }
            return nil
        }
        let result = stage(gva, access: access, root: bits(vsatp, 43, 0) * 4096, scheme: scheme,
                           privilege: privilege, sum: sum, mxr: vsMXR, read: vsRead)
        switch result {
        case .success(let gpa): return finalStage(gpa)
        case .pageFault: return .pageFault
        case .accessFault: return implicitFailure ?? .accessFault
        case .updates: return .updatesAccessedOrDirty
        }
    }
}
