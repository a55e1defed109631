extension VirtualHart {
    /// Takes a trap into virtual M-mode exactly as the hardware would
    /// (privileged specification, "Machine Trap Delegation Registers" and
    /// "Machine Status Register": trap entry): `mepc`, `mcause`, `mtval` are
    /// written, `MPIE <- MIE`, `MIE <- 0`, `MPP <- previous mode`, the mode
    /// becomes M, and the returned pc is the `mtvec` target.
    ///
    /// - Parameters:
    ///   - cause: the exception or interrupt.
    ///   - value: the value for `mtval` (0 when the cause defines none).
    ///   - pc: the address of the interrupted or faulting instruction.
    /// - Returns: the pc at which the firmware continues.
    ///
    /// An exception raised below M whose `medeleg` bit is set is taken in S
    /// instead ("Machine Trap Delegation Registers"): see
    /// ``takeSupervisorTrap(code:value:pc:)``.
    public mutating func takeTrap(_ cause: TrapCause, value: UInt64, pc: UInt64) -> UInt64 {
        if case .exception(let e) = cause, isDelegated(exception: e.rawValue) {
            return takeSupervisorTrap(code: e.rawValue, value: value, pc: pc)
        }
        enterTrap(mcause: cause.mcause, value: value, pc: pc)
        return TrapVector.target(tvec: mtvec, cause: cause)
    }

    /// True when exception `code`, raised in the current mode, goes to S.
    @inlinable
    func isDelegated(exception code: UInt64) -> Bool {
        mode != .machine && code < 64 && (medeleg >> code) & 1 == 1
    }

    /// Takes an exception into S-mode ("Supervisor Trap Vector", "sstatus"
    /// trap entry): `sepc`, `scause`, `stval` written, `SPIE <- SIE`,
    /// `SIE <- 0`, `SPP <- previous mode`, the mode becomes S and the pc is
    /// `stvec`'s base (exceptions are never vectored).
    public mutating func takeSupervisorTrap(code: UInt64, value: UInt64, pc: UInt64) -> UInt64 {
        sepc = pc & masks.epcWritable
        scause = code
        stval = value
        if mstatus.contains(.sie) { mstatus.insert(.spie) } else { mstatus.remove(.spie) }
        mstatus.remove(.sie)
        mstatus.spp = mode
        mode = .supervisor
        return stvec & ~UInt64(3)
    }

    /// Forwards an exception with a raw cause code, as the real hart reported
    /// it (a cause this library has no name for stays what it was). Returns
    /// the pc at which the firmware continues: `mtvec`'s base, since
    /// exceptions are never vectored.
    public mutating func takeException(code: UInt64, value: UInt64, pc: UInt64) -> UInt64 {
        if isDelegated(exception: code) { return takeSupervisorTrap(code: code, value: value, pc: pc) }
        enterTrap(mcause: code & ~(1 << 63), value: value, pc: pc)
        return mtvec & ~UInt64(3)
    }

    /// The state changes common to every trap into virtual M-mode.
    mutating func enterTrap(mcause cause: UInt64, value: UInt64, pc: UInt64) {
        mepc = pc & masks.epcWritable
        mcause = cause
        mtval = value
        if configuration.hasHypervisor {
            // The payload never runs with V = 1 under this monitor's world
            // switch, so the trap comes from V = 0: MPV = 0, GVA = 0.
            mstatus.remove([.mpv, .gva])
            mtinst = 0
            mtval2 = 0
        }
        if mstatus.contains(.mie) { mstatus.insert(.mpie) } else { mstatus.remove(.mpie) }
        mstatus.remove(.mie)
        mstatus.mpp = mode
        mode = .machine
        triggers.enterMachineTrap()
    }

    /// `mret` in virtual M-mode ("Trap-Return Instructions"): `MIE <- MPIE`,
    /// `MPIE <- 1`, mode `<- MPP`, `MPP <- U`, and `MPRV <- 0` when the new
    /// mode is below M. Returns the new pc, `mepc`.
    public mutating func returnFromMachineTrap() -> UInt64 {
        let target = mstatus.mpp
        if mstatus.contains(.mpie) { mstatus.insert(.mie) } else { mstatus.remove(.mie) }
        mstatus.insert(.mpie)
        mstatus.mpp = .user
        if target != .machine { mstatus.remove(.mprv) }
        mstatus.remove(.mpv)
        mode = target
        triggers.returnFromMachineTrap()
        return mepc & masks.epcWritable
    }

    /// `sret` executed in virtual M-mode or S-mode: `SIE <- SPIE`, `SPIE <- 1`,
    /// mode `<- SPP`, `SPP <- U`, `MPRV <- 0` (the new mode is below M).
    /// Returns the new pc, `sepc`.
    public mutating func returnFromSupervisorTrap() -> UInt64 {
        let target = mstatus.spp
        if mstatus.contains(.spie) { mstatus.insert(.sie) } else { mstatus.remove(.sie) }
        mstatus.insert(.spie)
        mstatus.spp = .user
        mstatus.remove(.mprv)
        mode = target
        return sepc & masks.epcWritable
    }

    /// The M-level interrupt that virtual M-mode must take now, if any
    /// ("Machine Interrupt Registers"): pending and enabled, not delegated,
    /// and either the hart runs below M or `mstatus.MIE` is set. Delegated
    /// (S-level) interrupts never target virtual M-mode, because `mideleg`
    /// forces them to S. Priority MEI > MSI > MTI.
    @inlinable
    public var pendingMachineInterrupt: Interrupt? {
        guard mode < .machine || mstatus.contains(.mie) else { return nil }
        let ready = mipDevices.intersection(mie).intersection(.machineLevel).subtracting(mideleg)
        return Interrupt.highestPriority(in: ready)
    }

    /// Injects ``pendingMachineInterrupt`` if there is one; returns the pc to
    /// resume at (the trap vector, or `pc` unchanged). Called before every
    /// return to a guest, which covers every CSR write, `mret` and device
    /// access that could have made an interrupt takeable.
    @inlinable
    public mutating func injectPendingInterrupt(pc: UInt64) -> UInt64 {
        guard let interrupt = pendingMachineInterrupt else { return pc }
        return takeTrap(.interrupt(interrupt), value: 0, pc: pc)
    }

    /// True when `wfi` may complete: some interrupt is pending and enabled,
    /// whatever `mstatus.MIE`/`SIE` and `mideleg` say ("Wait for Interrupt").
    public mutating func wfiMayComplete<E: HartEnvironment>(environment env: inout E) -> Bool {
        !currentMIP(environment: &env).intersection(mie).isEmpty
    }
}
