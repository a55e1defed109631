#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// Moving the real hart between the firmware's world and the payload's.
///
/// The S-level CSRs belong to the payload: while it runs they live in the
/// real registers, while the firmware runs they live in the ``VirtualHart``
/// (where the firmware's emulated accesses read and write them). The real
/// `satp` is 0 and `medeleg` is 0 while the firmware runs in U-mode, so that
/// nothing translates its accesses and no exception is delegated to S.
extension HartContext {
    /// `mstatus` fields the payload changes natively (SIE, SPIE, SPP, SUM,
    /// MXR) plus FS/VS, which the hardware marks dirty in either world.
    static let nativeStatusFields: UInt64 =
        MStatus([.sie, .spie, .spp, .sum, .mxr, .fs, .vs]).rawValue
    /// Exceptions the real `medeleg` never delegates in the payload's world:
    /// load and store/AMO access faults.
    static let monitoredExceptions: UInt64 =
        1 << Exception.loadAccessFault.rawValue | 1 << Exception.storeAccessFault.rawValue

    /// Takes exception `code` raised at `pc` in the current virtual mode
    /// where the hardware would: into virtual M-mode, or, when the firmware
    /// delegated it and the payload's world is installed, straight into the
    /// payload's live S-level trap CSRs (the virtual copies are stale there).
    /// Returns the pc to continue at.
    mutating func injectException(code: UInt64, value: UInt64, pc: UInt64) -> UInt64 {
        guard installed == .payload, hart.mode != .machine, code < 64, (hart.medeleg >> code) & 1 == 1 else {
            return hart.takeException(code: code, value: value, pc: pc)
        }
        _ = hart.takeSupervisorTrap(code: code, value: value, pc: pc)
        csr_write_sepc(hart.sepc)
        csr_write_scause(hart.scause)
        csr_write_stval(hart.stval)
        return csr_read_stvec() & ~UInt64(3)
    }

    /// Fields the firmware's own execution can change natively: FS/VS.
    static let firmwareStatusFields: UInt64 = MStatus([.fs, .vs]).rawValue

    /// Folds what the real hart changed natively into the virtual state:
    /// called first on every trap.
    mutating func absorbNativeState(physicalStatus: UInt64) {
        let fields = installed == .payload ? HartContext.nativeStatusFields : HartContext.firmwareStatusFields
        hart.mstatus = MStatus(rawValue: (hart.mstatus.rawValue & ~fields) | (physicalStatus & fields))
        if installed == .payload {
            // The trap came from S or U: that is the payload's current mode.
            hart.mode = PrivilegeMode(field: physicalStatus >> 11) ?? .user
            absorbSupervisorInterruptState()
        }
    }

    /// While the payload runs, its `sie` and `sip` writes go to the real
    /// `mie`/`mip`: fold them into the virtual state, so that recomputing the
    /// real `mie` on the way back does not resurrect an enable the payload
    /// cleared (an S-timer storm) or lose an SSIP it set.
    mutating func absorbSupervisorInterruptState() {
        let realMIE = InterruptBits(rawValue: csr_read_mie())
        // The payload's sie writes changed the real mie: what was installed
        // last is no longer what the hart holds.
        installedEnables = realMIE.rawValue
        hart.mie = hart.mie.subtracting(hart.mideleg).union(realMIE.intersection(hart.mideleg))
        let realMIP = InterruptBits(rawValue: csr_read_mip())
        let payloadWritable = hart.mideleg.subtracting(.hypervisorLevel).intersection([.ssip, .lcofip])
        hart.mipSoftware = hart.mipSoftware.subtracting(payloadWritable).union(realMIP.intersection(payloadWritable))
    }

    /// Saves the payload's S-level state and installs the firmware's world.
    mutating func installFirmwareWorld() {
        hart.stvec = csr_read_stvec()
        hart.sscratch = csr_read_sscratch()
        hart.sepc = csr_read_sepc()
        hart.scause = csr_read_scause()
        hart.stval = csr_read_stval()
        hart.satp = csr_read_satp()
        hart.scounteren = csr_read_scounteren()
        hart.senvcfg = csr_read_senvcfg()
        if hart.configuration.hasSstc { hart.stimecmp = csr_read_stimecmp() }

        csr_write_satp(0)
        csr_write_medeleg(0)
        // The SEIP latch is the firmware's (virtual); the real one is kept
        // clear so the real mip.SEIP shows the PLIC line alone.
        csr_clear_mip(InterruptBits.seip.rawValue)
        installCounterEnables(for: .firmware)
        mprvInstalled = firmwareMPRVInEffect
        installFirmwarePMP()
        installed = .firmware
    }

    /// Installs the payload's S-level state and the firmware's choices for it
    /// (delegation, counter enables, its PMP entries below the monitor's).
    mutating func installPayloadWorld() {
        csr_write_stvec(hart.stvec)
        csr_write_sscratch(hart.sscratch)
        csr_write_sepc(hart.sepc)
        csr_write_scause(hart.scause)
        csr_write_stval(hart.stval)
        csr_write_scounteren(hart.scounteren)
        csr_write_senvcfg(hart.senvcfg)
        csr_write_menvcfg(hart.menvcfg)
        if hart.configuration.hasSstc { csr_write_stimecmp(hart.stimecmp) }
        // Access faults always reach the monitor, which performs the
        // payload's device accesses (PayloadAccess.swift) and forwards the
        // rest where the firmware's medeleg sends them (injectException).
        csr_write_medeleg(hart.medeleg & ~HartContext.monitoredExceptions)
        // Software-writable pending bits: SSIP, STIP (ignored by the hardware
        // while stimecmp drives it), the SEIP latch, LCOFIP.
        let software = hart.masks.mipWritable.subtracting(.vssip)
        csr_clear_mip(software.rawValue)
        csr_set_mip(hart.mipSoftware.intersection(software).rawValue)
        installCounterEnables(for: .payload)

        installPayloadTranslation()
        installed = .payload
    }

    /// Counter access for the lower modes. The firmware (virtual M-mode) may
    /// read `cycle`/`time`/`instret` natively unless it moved `mcycle` or
    /// `minstret`, whose reads must then trap to add its offset. The payload
    /// gets what the firmware granted in `mcounteren`.
    mutating func installCounterEnables(for world: World) {
        if world == .payload {
            csr_write_mcounteren(hart.mcounteren)
        } else {
            var enables: UInt64 = 0b010
            if hart.cycleOffset == 0 { enables |= 0b001 }
            if hart.instretOffset == 0 { enables |= 0b100 }
            csr_write_mcounteren(enables)
            csr_write_scounteren(enables)
        }
    }

    /// The real `mstatus` for returning to the installed world: MPP is the
    /// world's real mode, MIE/MPIE/MPRV are 0 (the monitor never takes its own
    /// interrupts), and the payload's native fields come from the virtual state.
    mutating func physicalStatus() -> UInt64 {
        let v = hart.mstatus.rawValue
        if installed == .firmware {
            return v & HartContext.firmwareStatusFields   // MPP = U
        }
        let kept = HartContext.nativeStatusFields | MStatus([.tvm, .tw, .tsr]).rawValue
        return (v & kept) | (UInt64(hart.mode.rawValue) << 11)
    }
}
#endif
