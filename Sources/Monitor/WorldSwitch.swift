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
    /// Takes exception `code` raised at `pc` where the hardware would: into
    /// virtual M-mode, or, when the firmware delegated it and the payload's
    /// world is installed, straight into the payload's live S-level trap CSRs
    /// (``VirtualHart/exceptionGoesToLiveSupervisor(code:installed:)``; the
    /// virtual copies are stale there). Returns the pc to continue at.
    ///
    /// On a hart with H, an exception from the payload's world carries what
    /// the real trap reported (`mstatus.GVA`, `mtinst`, `mtval2`: the
    /// monitor has taken no trap since) and the virtualization mode it came
    /// from (``VirtualHart/virtualized``), into virtual M-mode as into HS or
    /// VS (``VirtualHart/takeDelegatedException(code:value:pc:hypervisor:environment:)``).
    /// `mtval2` replaces the real trap's when the exception is not the one
    /// the hardware took (a device's fault on an access the monitor
    /// performed). A guest-page fault delegated to HS-mode sets
    /// `hstatus.GVA` as the hardware's own delegation does (QEMU 7.2:
    /// whenever the access was two-stage), whereas the M-mode trap that
    /// brought it here wrote `mstatus.GVA` only for a nonzero `mtval` from
    /// V = 1 (and left it stale from V = 0, for an HLV/HSV).
    mutating func injectException(code: UInt64, value: UInt64, pc: UInt64, mtval2: UInt64? = nil) -> UInt64 {
        var hypervisor = installed == .payload && hart.configuration.hasHypervisor
            ? HypervisorTrapValues(physicalStatus: entryStatus, mtinst: csr_read_mtinst(),
                                   mtval2: mtval2 ?? csr_read_mtval2())
            : .none
        guard hart.exceptionGoesToLiveSupervisor(code: code, installed: installed) else {
            return hart.takeException(code: code, value: value, pc: pc, hypervisor: hypervisor)
        }
        if hart.configuration.hasHypervisor {
            if Exception(rawValue: code)?.isGuestPageFault == true { hypervisor.gva = true }
            var env = RealHart()
            let (next, target) = hart.takeDelegatedException(code: code, value: value, pc: pc,
                                                             hypervisor: hypervisor, environment: &env)
            if target == .supervisor {
                csr_write_sepc(hart.sepc)
                csr_write_scause(hart.scause)
                csr_write_stval(hart.stval)
                return csr_read_stvec() & ~UInt64(3)
            }
            return next
        }
        _ = hart.takeSupervisorTrap(code: code, value: value, pc: pc)
        csr_write_sepc(hart.sepc)
        csr_write_scause(hart.scause)
        csr_write_stval(hart.stval)
        return csr_read_stvec() & ~UInt64(3)
    }

    /// Folds what the real hart changed natively into the virtual state:
    /// called first on every trap (``VirtualHart/absorbNativeStatus(_:installed:)``).
    mutating func absorbNativeState(physicalStatus: UInt64) {
        hart.absorbNativeStatus(physicalStatus, installed: installed)
        if installed == .payload {
            let realMIE = InterruptBits(rawValue: csr_read_mie())
            // The payload's sie writes changed the real mie: what was
            // installed last is no longer what the hart holds.
            installedEnables = realMIE.rawValue
            hart.absorbSupervisorInterrupts(realEnables: realMIE, realPending: InterruptBits(rawValue: csr_read_mip()))
        }
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
        if hart.configuration.hasEnvironmentConfiguration { hart.senvcfg = csr_read_senvcfg() }
        if hart.configuration.hasSstc { hart.stimecmp = csr_read_stimecmp() }

        csr_write_satp(0)
        csr_write_medeleg(0)
        // The SEIP latch is the firmware's (virtual); the real one is kept
        // clear so the real mip.SEIP shows the PLIC line alone.
        csr_clear_mip(InterruptBits.seip.rawValue)
        installCounterEnables(for: .firmware)
        mprvInstalled = firmwareMPRVInEffect
        installFirmwarePMP()
        // The firmware may reprogram its timer now: its next expiry is its own.
        payloadOwnsTimer = false
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
        if hart.configuration.hasEnvironmentConfiguration {
            csr_write_senvcfg(hart.senvcfg)
            csr_write_menvcfg(hart.menvcfg)
        }
        if hart.configuration.hasSstc { csr_write_stimecmp(hart.stimecmp) }
        // Access faults always reach the monitor: it performs the payload's
        // device accesses (PayloadAccess.swift) and forwards the rest.
        csr_write_medeleg(hart.physicalExceptionDelegation)
        // Software-writable pending bits: SSIP, STIP (ignored by the hardware
        // while stimecmp drives it), the SEIP latch, LCOFIP.
        let software = hart.masks.mipWritable.subtracting(.vssip)
        csr_clear_mip(software.rawValue)
        csr_set_mip(hart.mipSoftware.intersection(software).rawValue)
        installCounterEnables(for: .payload)

        installPayloadTranslation()
        installed = .payload
    }

    /// Counter access for the lower modes (``VirtualHart/physicalCounterEnables(for:)``).
    mutating func installCounterEnables(for world: World) {
        let enables = hart.physicalCounterEnables(for: world)
        csr_write_mcounteren(enables)
        if world == .firmware { csr_write_scounteren(enables) }
    }
}
#endif
