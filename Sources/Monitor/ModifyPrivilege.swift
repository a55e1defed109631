#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// `mstatus.MPRV` for the firmware (privileged specification, "Memory
/// Privilege in mstatus Register"): while it is set with `MPP` below M, the
/// firmware's loads and stores act with `MPP`'s privilege, the payload's
/// translation (`satp`, `SUM`, `MXR`) and the PMP of that privilege. The
/// firmware's world then makes every data access trap (entry 4 becomes
/// execute-only) and the monitor performs each one with the real MPRV.
extension HartContext {
    /// True when the firmware's MPRV changes the meaning of its accesses.
    @inline(__always) var firmwareMPRVInEffect: Bool {
        hart.mstatus.contains(.mprv) && hart.mstatus.mpp != .machine
    }

    /// Installs the firmware world's PMP variant that matches its MPRV.
    mutating func syncFirmwareMPRV() {
        let wanted = firmwareMPRVInEffect
        guard wanted != mprvInstalled else { return }
        mprvInstalled = wanted
        if policies.sandbox {
            installFirmwarePMP()
            return
        }
        let (_, cfg2) = layout.firmwareConfiguration(hart.pmp, mprv: wanted)
        csr_write_pmpcfg2(cfg2)
        cpu_sfence_vma_all()
    }

    /// Performs a firmware load or store under its MPRV. Returns the pc to
    /// continue at: past the instruction, or the firmware's trap vector with
    /// the fault the access raised (a page fault or an access fault, with
    /// the virtual address in `mtval`, as the hardware reports it).
    mutating func performWithMPRV(_ access: MemoryAccess, isStore: Bool, address: UInt64, pc: UInt64,
                                  length: UInt64, registers: FrameRegisters) -> UInt64 {
        if hart.configuration.hasHypervisor && hart.mstatus.contains(.mpv) {
            return performVirtualWithMPRV(access, isStore: isStore, address: address, pc: pc, length: length,
                                          registers: registers)
        }
        var regs = registers
        // The walls must not depend on the TLB: QEMU 7.2 lets an MPRV access
        // reuse the M-mode TLB entry of the monitor's own page (the page of
        // firmvisor_mprv_access, filled by its instruction fetches) without
        // checking the PMP; the entry is found by the *virtual* address.
        // Refuse a virtual address inside the monitor's range outright (with
        // paging it would otherwise reach the monitor whatever it maps to),
        // then translate in software and refuse the monitor's memory.
        // Under paging a page fault takes precedence over the PMP's access
        // fault: refuse only what the leaf entry would allow, and leave the
        // rest to the hardware, which reports the page fault.
        let (memoryRegion, monitor) = withMachine { ($0.platform.memory, $0.monitor) }
        var memory = GuestMemory(memory: memoryRegion, monitor: monitor)
        let fault: Exception = isStore ? .storeAccessFault : .loadAccessFault
        let last = address &+ UInt64(access.width) &- 1
        if monitor.contains(address) || monitor.contains(last) {
            return hart.takeException(code: fault.rawValue, value: address, pc: pc)
        }
        if let (physical, entry) = PageTableWalk.walk(address, satp: hart.satp, memory: &memory),
           monitor.contains(physical) || monitor.contains(physical &+ UInt64(access.width) &- 1),
           hart.satp >> 60 == 0 || leafPermits(entry, isStore: isStore) {
            return hart.takeException(code: fault.rawValue, value: address, pc: pc)
        }
        let operation = HartContext.mprvOperation(access, isStore: isStore)
        // The real hart adopts the payload's translation and PMP for the
        // access, then returns to the firmware's world.
        let modeBits = UInt64(hart.mstatus.mpp.rawValue) << 11
        let status = MStatus([.mprv]).rawValue | modeBits
            | (hart.mstatus.rawValue & MStatus([.sum, .mxr]).rawValue)
        installPayloadTranslation()
        var result: UInt64 = 0
        let outcome = firmvisor_mprv_access(address, isStore ? regs.get(access.register) : 0, operation,
                                            status, &result)
        restoreFirmwareTranslation()
        if outcome != 0 {
            return hart.takeException(code: outcome - 1, value: result, pc: pc)
        }
        if !isStore { regs.set(access.register, HartContext.extend(result, access)) }
        return pc &+ length
    }

    /// `firmvisor_mprv_access`'s operation: log2 of the width, bit 2 for a store.
    static func mprvOperation(_ access: MemoryAccess, isStore: Bool) -> UInt64 {
        let widthLog: UInt64 = access.width == 1 ? 0 : access.width == 2 ? 1 : access.width == 4 ? 2 : 3
        return widthLog | (isStore ? 4 : 0)
    }

    /// The firmware's load or store under MPRV with `MPV = 1`: translated and
    /// protected as though V = 1 in the nominal mode `MPP` (privileged
    /// specification, "Memory Privilege in mstatus Register"; Hypervisor
    /// chapter, "Two-Stage Address Translation"): `vsatp`, then `hgatp`,
    /// SUM from `vsstatus`, MXR from `vsstatus` or `mstatus` for the VS
    /// stage and from `mstatus` for the G stage (``TwoStageTranslation``,
    /// over the real `vsatp`, `hgatp` and `vsstatus`, which are the
    /// payload's in both worlds).
    ///
    /// The walk decides: a fault it finds is raised as the specification
    /// has it (page fault 13/15; guest-page fault 21/23 with the guest
    /// physical address >> 2 in `mtval2` and, for a VS-stage page-table
    /// read, the pseudoinstruction in `mtinst`; access fault 5/7; GVA = 1,
    /// for `mtval` holds a guest virtual address). QEMU 7.2's own walk
    /// differs here (a G-stage fault as page fault 13/15, SUM ignored, GVA
    /// left as it was): the monitor does not copy those.
    ///
    /// A translated access is performed at its supervisor physical address
    /// by the real hart with MPRV and `MPP` but no translation (`satp` is 0
    /// in the firmware's world), so the PMP of that mode is the hardware's
    /// check. Where the walk would set A or D, or a misaligned access
    /// spans two guest pages that are not physically contiguous, the real
    /// hart performs it with `MPV = 1` and its own two-stage walk (QEMU
    /// updates A/D), with `mstatus.MXR` and `vsstatus.MXR` arranged so that
    /// its MXR is the specification's; a fault it raises is the walk's,
    /// taken again afterwards, or else an access fault.
    mutating func performVirtualWithMPRV(_ access: MemoryAccess, isStore: Bool, address: UInt64, pc: UInt64,
                                         length: UInt64, registers: FrameRegisters) -> UInt64 {
        let (memoryRegion, monitor) = withMachine { ($0.platform.memory, $0.monitor) }
        var tables = PayloadPageTables(ram: GuestMemory(memory: memoryRegion, monitor: monitor), pmp: hart.pmp)
        let vsstatus = csr_read_vsstatus()
        let inputs = TwoStageTranslation.Inputs(vsatp: csr_read_vsatp(), hgatp: csr_read_hgatp(),
                                                privilege: hart.mstatus.mpp, mstatus: hart.mstatus,
                                                vsstatus: MStatus(rawValue: vsstatus))
        let kind: TwoStageTranslation.Access = isStore ? .store : .load
        let width = UInt64(access.width)
        let last = address &+ width &- 1
        let accessFault = TwoStageTranslation.Fault(
            code: (isStore ? Exception.storeAccessFault : Exception.loadAccessFault).rawValue, mtval2: 0, mtinst: 0)
        // Each guest page the access touches, in address order; the first
        // fault is the one raised.
        let secondPage = (address ^ last) >> 12 != 0 ? last & ~0xFFF : address
        let first = TwoStageTranslation.translate(address, access: kind, inputs: inputs, memory: &tables)
        if let fault = first.fault(for: kind) { return takeVirtualFault(fault, value: address, pc: pc) }
        let second = secondPage == address
            ? first : TwoStageTranslation.translate(secondPage, access: kind, inputs: inputs, memory: &tables)
        if let fault = second.fault(for: kind) { return takeVirtualFault(fault, value: secondPage, pc: pc) }
        if first == .unsupportedMode || second == .unsupportedMode {
            return takeVirtualFault(accessFault, value: address, pc: pc)
        }
        var regs = registers
        let operation = HartContext.mprvOperation(access, isStore: isStore)
        let value = isStore ? regs.get(access.register) : 0
        let modeBits = UInt64(hart.mstatus.mpp.rawValue) << 11
        var result: UInt64 = 0
        if case .translated(let physical, _) = first, case .translated(let secondPhysical, _) = second,
           secondPage == address || secondPhysical == physical &+ (secondPage &- address) {
            guard !monitor.contains(physical), !monitor.contains(physical &+ width &- 1) else {
                return takeVirtualFault(accessFault, value: address, pc: pc)
            }
            installPMP(configuration: payloadPMPConfiguration, catchAll: 0)
            let outcome = firmvisor_mprv_access(physical, value, operation, MStatus([.mprv]).rawValue | modeBits,
                                                &result)
            installFirmwarePMP()
            if outcome != 0 {
                // The PMP (or the device) refused: mtval is the physical
                // address; the firmware gets the guest virtual one.
                let fault = TwoStageTranslation.Fault(code: outcome - 1, mtval2: 0, mtinst: 0)
                return takeVirtualFault(fault, value: address &+ (result &- physical), pc: pc)
            }
        } else {
            // The hardware's own two-stage access. QEMU 7.2 looks the virtual
            // address up in the M-mode TLB (see performWithMPRV).
            guard !monitor.contains(address), !monitor.contains(last) else {
                return takeVirtualFault(accessFault, value: address, pc: pc)
            }
            // QEMU 7.2 takes the VS stage's MXR from mstatus and the G stage's
            // from vsstatus: give each the specification's value.
            let mxr = MStatus.mxr.rawValue
            let gStageMXR = inputs.gStageMXR ? mxr : 0
            csr_write_vsstatus(vsstatus & ~mxr | gStageMXR)
            installPMP(configuration: payloadPMPConfiguration, catchAll: 0)
            let status = MStatus([.mprv, .mpv]).rawValue | modeBits | (inputs.vsStageMXR ? mxr : 0)
            let outcome = firmvisor_mprv_access(address, value, operation, status, &result)
            installFirmwarePMP()
            csr_write_vsstatus(vsstatus)
            if outcome != 0 {
                // The walk again, now that the hardware has set what it could.
                let again = TwoStageTranslation.translate(address, access: kind, inputs: inputs, memory: &tables)
                if let fault = again.fault(for: kind) { return takeVirtualFault(fault, value: address, pc: pc) }
                if secondPage != address,
                   let fault = TwoStageTranslation.translate(secondPage, access: kind, inputs: inputs,
                                                             memory: &tables).fault(for: kind) {
                    return takeVirtualFault(fault, value: secondPage, pc: pc)
                }
                return takeVirtualFault(accessFault, value: result, pc: pc)
            }
        }
        if !isStore { regs.set(access.register, HartContext.extend(result, access)) }
        return pc &+ length
    }

    /// Raises a fault of the firmware's MPRV access with `MPV = 1` into its
    /// virtual M-mode: `mtval` is a guest virtual address (GVA = 1).
    mutating func takeVirtualFault(_ fault: TwoStageTranslation.Fault, value: UInt64, pc: UInt64) -> UInt64 {
        hart.takeException(code: fault.code, value: value, pc: pc, hypervisor: fault.hypervisor)
    }

    /// Whether a leaf entry lets the firmware's MPRV access through to the
    /// PMP check ("Virtual Address Translation Process", step 5): V, R (or X
    /// with MXR) for loads, W for stores, U against MPP and SUM. A and D are
    /// not consulted: QEMU updates them in hardware, so they never stop the
    /// access there (the wall must hold either way).
    func leafPermits(_ pte: UInt64, isStore: Bool) -> Bool {
        let r = pte & 2 != 0, w = pte & 4 != 0, x = pte & 8 != 0, u = pte & 16 != 0
        guard pte & 1 != 0 else { return false }
        let readable = r || (x && hart.mstatus.contains(.mxr))
        guard isStore ? w : readable else { return false }
        switch hart.mstatus.mpp {
        case .user: return u
        case .supervisor: return !u || hart.mstatus.contains(.sum)
        case .machine: return true
        }
    }

    /// `satp` and the PMP the payload runs with (its S-level state lives in
    /// the virtual hart while the firmware runs).
    mutating func installPayloadTranslation() {
        csr_write_satp(hart.satp)
        installPMP(configuration: payloadPMPConfiguration, catchAll: 0)
    }

    mutating func restoreFirmwareTranslation() {
        csr_write_satp(0)
        installFirmwarePMP()
    }

    /// The firmware wrote a PMP CSR: its locked entries bind it at once, and
    /// the payload's access to its PLIC S-context page follows its entries.
    mutating func firmwarePMPChanged() {
        payloadPMPConfiguration = layout.payloadConfiguration(hart.pmp)
        pmpAddressesInstalled = false
        installFirmwarePMP()
    }

    /// The firmware world's PMP: the walls, the firmware's locked entries
    /// (they bind virtual M-mode), the catch-all. Also called after the
    /// firmware writes a PMP CSR, so its locks take effect at once.
    mutating func installFirmwarePMP() {
        // Only the sandbox asks for another PMP; the offload policy never
        // does, so the default path calls nothing else (no copy of the PMP file).
        if _slowPath(policies.sandbox), let policy = SandboxPolicy.firmwarePMP(self, mprv: mprvInstalled) {
            installPMP(configuration: policy.configuration, catchAll: policy.catchAll)
            return
        }
        installPMP(configuration: layout.firmwareConfiguration(hart.pmp, mprv: mprvInstalled),
                   catchAll: PMPLayout.everything)
    }

    /// Programs the physical entries. Both worlds share the addresses of
    /// entries 0…14 (the walls, the floor and the firmware's entries), which
    /// change only when the firmware writes a PMP CSR: a world switch writes
    /// the two configuration registers and the catch-all's address alone.
    /// The monitor runs in M-mode, which unlocked entries do not restrict, so
    /// no intermediate state matters until the return to the guest.
    mutating func installPMP(configuration: (UInt64, UInt64), catchAll: UInt64) {
        if !pmpAddressesInstalled {
            installPMPAddresses()
            pmpAddressesInstalled = true
        }
        csr_write_pmpaddr15(catchAll)
        csr_write_pmpcfg2(configuration.1)
        csr_write_pmpcfg0(configuration.0)
        cpu_sfence_vma_all()
    }

    /// The addresses of entries 0…14: the walls, the TOR floor, the
    /// firmware's virtual entries (configurations off first).
    mutating func installPMPAddresses() {
        let w = layout.wallAddresses
        let p = hart.pmp
        csr_write_pmpcfg0(0)
        csr_write_pmpcfg2(0)
        csr_write_pmpaddr0(w.0)
        csr_write_pmpaddr1(w.1)
        csr_write_pmpaddr2(w.2)
        csr_write_pmpaddr3(w.3)
        csr_write_pmpaddr4(w.4)
        csr_write_pmpaddr5(0)
        csr_write_pmpaddr6(p.readAddress(0))
        csr_write_pmpaddr7(p.readAddress(1))
        csr_write_pmpaddr8(p.readAddress(2))
        csr_write_pmpaddr9(p.readAddress(3))
        csr_write_pmpaddr10(p.readAddress(4))
        csr_write_pmpaddr11(p.readAddress(5))
        csr_write_pmpaddr12(p.readAddress(6))
        csr_write_pmpaddr13(p.readAddress(7))
        csr_write_pmpaddr14(p.readAddress(8))
    }
}
#endif
