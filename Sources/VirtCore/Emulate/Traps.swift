/// What a trap into M-mode records beyond `mcause`/`mepc`/`mtval` on a hart
/// with the H extension (privileged specification, "Machine Status
/// Registers (mstatus and mstatush)": GVA; "Machine Trap Value 2 (mtval2)";
/// "Machine Trap Instruction (mtinst)"). `MPV` is not here: it is the
/// virtualization mode the trap interrupts (``VirtualHart/virtualized``).
public struct HypervisorTrapValues: Equatable, Sendable {
    /// `mstatus.GVA`: `mtval` holds a guest virtual address.
    public var gva: Bool
    /// `mtinst`: zero, a transformed instruction or a pseudoinstruction.
    public var mtinst: UInt64
    /// `mtval2`: zero or a guest physical address shifted right by 2.
    public var mtval2: UInt64

    @inlinable
    public init(gva: Bool, mtinst: UInt64, mtval2: UInt64) {
        self.gva = gva
        self.mtinst = mtinst
        self.mtval2 = mtval2
    }

    /// What a trap with no guest address and no instruction to report
    /// writes: GVA = 0, `mtinst` = `mtval2` = 0 (every interrupt, and every
    /// trap the firmware raises itself from V = 0).
    public static let none = HypervisorTrapValues(gva: false, mtinst: 0, mtval2: 0)

    /// The values the real hart wrote when it took a trap from the payload's
    /// world into (real) M-mode: `mstatus.GVA` from the real `mstatus` at
    /// entry, `mtinst` and `mtval2` as read. Forwarding them keeps the trap
    /// the firmware sees exactly the trap the hardware took.
    @inlinable
    public init(physicalStatus: UInt64, mtinst: UInt64, mtval2: UInt64) {
        self.init(gva: physicalStatus & MStatus.gva.rawValue != 0, mtinst: mtinst, mtval2: mtval2)
    }
}

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
    ///
    /// `hypervisor` is what the real trap reported in `mstatus.GVA`,
    /// `mtinst` and `mtval2` (``HypervisorTrapValues/init(physicalStatus:mtinst:mtval2:)``)
    /// when the exception is the payload's; `MPV` comes from
    /// ``virtualized``. Exceptions the firmware raises itself come from V = 0
    /// and report ``HypervisorTrapValues/none``.
    public mutating func takeException(code: UInt64, value: UInt64, pc: UInt64,
                                       hypervisor: HypervisorTrapValues = .none) -> UInt64 {
        if isDelegated(exception: code) { return takeSupervisorTrap(code: code, value: value, pc: pc) }
        enterTrap(mcause: code & ~(1 << 63), value: value, pc: pc, hypervisor: hypervisor)
        return mtvec & ~UInt64(3)
    }

    /// The state changes common to every trap into virtual M-mode. With H
    /// (privileged specification, Hypervisor chapter, "Trap Entry", and
    /// "Machine Status Registers": MPV, GVA): `MPV <- V`, `V <- 0`, GVA,
    /// `mtinst` and `mtval2` as the trap reports them (zero for interrupts
    /// and for traps without a guest address or instruction).
    mutating func enterTrap(mcause cause: UInt64, value: UInt64, pc: UInt64,
                            hypervisor: HypervisorTrapValues = .none) {
        mepc = pc & masks.epcWritable
        mcause = cause
        mtval = value
        if configuration.hasHypervisor {
            if virtualized { mstatus.insert(.mpv) } else { mstatus.remove(.mpv) }
            if hypervisor.gva { mstatus.insert(.gva) } else { mstatus.remove(.gva) }
            mtinst = hypervisor.mtinst
            mtval2 = hypervisor.mtval2
        }
        virtualized = false
        if mstatus.contains(.mie) { mstatus.insert(.mpie) } else { mstatus.remove(.mpie) }
        mstatus.remove(.mie)
        mstatus.mpp = mode
        mode = .machine
        triggers.enterMachineTrap()
    }

    /// `mret` in virtual M-mode ("Trap-Return Instructions"): `MIE <- MPIE`,
    /// `MPIE <- 1`, mode `<- MPP`, `MPP <- U`, and `MPRV <- 0` when the new
    /// mode is below M. With H (Hypervisor chapter, "Trap Return"):
    /// `V <- MPV` when the new mode is below M, then `MPV <- 0`, so `MPP` = S
    /// or U with `MPV = 1` enters VS- or VU-mode. Returns the new pc, `mepc`.
    public mutating func returnFromMachineTrap() -> UInt64 {
        let target = mstatus.mpp
        if mstatus.contains(.mpie) { mstatus.insert(.mie) } else { mstatus.remove(.mie) }
        mstatus.insert(.mpie)
        mstatus.mpp = .user
        if target != .machine { mstatus.remove(.mprv) }
        virtualized = configuration.hasHypervisor && target != .machine && mstatus.contains(.mpv)
        mstatus.remove(.mpv)
        mode = target
        triggers.returnFromMachineTrap()
        return mepc & masks.epcWritable
    }

    /// `sret` executed in virtual M-mode or S-mode: `SIE <- SPIE`, `SPIE <- 1`,
    /// mode `<- SPP`, `SPP <- U`, `MPRV <- 0` (the new mode is below M).
    /// With H, executed with V = 0 (Hypervisor chapter, "Trap Return"): the
    /// new mode is VS/VU when `hstatus.SPV` = 1 (`V <- SPV`), and
    /// `hstatus.SPV <- 0`; `hstatus` is the real register (a pass-through
    /// CSR of `environment`). Returns the new pc, `sepc`.
    public mutating func returnFromSupervisorTrap<E: HartEnvironment>(environment env: inout E) -> UInt64 {
        if configuration.hasHypervisor && !virtualized {
            let hstatus = env.readPassthroughCSR(.hstatus)
            virtualized = hstatus & HypervisorStatus.spv != 0
            if virtualized { env.writePassthroughCSR(.hstatus, hstatus & ~HypervisorStatus.spv) }
        }
        let target = mstatus.spp
        if mstatus.contains(.spie) { mstatus.insert(.sie) } else { mstatus.remove(.sie) }
        mstatus.insert(.spie)
        mstatus.spp = .user
        mstatus.remove(.mprv)
        mode = target
        return sepc & masks.epcWritable
    }

    /// Where ``takeDelegatedException(code:value:pc:hypervisor:environment:)``
    /// put an exception.
    public enum DelegatedTrapTarget: Equatable, Sendable {
        /// HS-mode: the monitor writes the virtual `sepc`, `scause`, `stval`
        /// (``takeSupervisorTrap(code:value:pc:)``) to the real registers.
        case supervisor
        /// VS-mode (`hedeleg` delegated it further): the real `vsepc`,
        /// `vscause`, `vstval` and `vsstatus` are already written.
        case virtualSupervisor
    }

    /// Takes an exception that the firmware delegated (`medeleg`) while the
    /// payload's world is installed, on a hart with H, as the hardware would
    /// (Hypervisor chapter, "Trap Entry"; "Hypervisor Status Register"):
    ///
    /// - from V = 1 with the `hedeleg` bit set: into VS-mode: `vsepc`,
    ///   `vscause`, `vstval`, and in `vsstatus` `SPP <- ` the nominal mode,
    ///   `SPIE <- SIE`, `SIE <- 0`; V stays 1; the pc is `vstvec`'s base;
    /// - otherwise into HS-mode (``takeSupervisorTrap(code:value:pc:)``),
    ///   with `hstatus.SPV <- V`, `hstatus.SPVP <-` the nominal mode when
    ///   V = 1, `hstatus.GVA`, `htval <- mtval2` and `htinst <- mtinst` as
    ///   the real trap reported them, and `V <- 0`.
    ///
    /// The H CSRs are the real ones (pass-through CSRs of `environment`).
    /// Returns the pc and where the trap went.
    public mutating func takeDelegatedException<E: HartEnvironment>(
        code: UInt64, value: UInt64, pc: UInt64, hypervisor: HypervisorTrapValues, environment env: inout E
    ) -> (pc: UInt64, target: DelegatedTrapTarget) {
        if virtualized && code < 64 && (env.readPassthroughCSR(.hedeleg) >> code) & 1 == 1 {
            var vsstatus = MStatus(rawValue: env.readPassthroughCSR(.vsstatus))
            if vsstatus.contains(.sie) { vsstatus.insert(.spie) } else { vsstatus.remove(.spie) }
            vsstatus.remove(.sie)
            vsstatus.spp = mode
            env.writePassthroughCSR(.vsstatus, vsstatus.rawValue)
            env.writePassthroughCSR(.vsepc, pc & masks.epcWritable)
            env.writePassthroughCSR(.vscause, code)
            env.writePassthroughCSR(.vstval, value)
            mode = .supervisor
            return (env.readPassthroughCSR(.vstvec) & ~UInt64(3), .virtualSupervisor)
        }
        var hstatus = env.readPassthroughCSR(.hstatus)
        hstatus &= ~(HypervisorStatus.spv | HypervisorStatus.gva)
        if virtualized {
            hstatus |= HypervisorStatus.spv
            hstatus = mode == .supervisor ? hstatus | HypervisorStatus.spvp : hstatus & ~HypervisorStatus.spvp
        }
        if hypervisor.gva { hstatus |= HypervisorStatus.gva }
        env.writePassthroughCSR(.hstatus, hstatus)
        env.writePassthroughCSR(.htval, hypervisor.mtval2)
        env.writePassthroughCSR(.htinst, hypervisor.mtinst)
        virtualized = false
        return (takeSupervisorTrap(code: code, value: value, pc: pc), .supervisor)
    }

    /// The M-level interrupt that virtual M-mode must take now, if any
    /// ("Machine Interrupt Registers"): pending and enabled, not delegated,
    /// and either the hart runs below M or `mstatus.MIE` is set. Delegated
    /// (S-level) interrupts never target virtual M-mode, because `mideleg`
    /// forces them to S. Priority MEI > MSI > MTI, or with Smaia the order
    /// of its `iprio` registers (``InterruptPriorityOrder``).
    public var pendingMachineInterrupt: Interrupt? {
        var copy = self
        return copy.takeableMachineInterrupt()
    }

    /// ``pendingMachineInterrupt`` on the hart in place: the getter would
    /// pass the whole (large) hart by value on every return to a guest.
    @inlinable @inline(__always)
    public mutating func takeableMachineInterrupt() -> Interrupt? {
        guard mode < .machine || mstatus.contains(.mie) else { return nil }
        let ready = mipDevices.intersection(mie).intersection(.machineLevel).subtracting(mideleg)
        if _slowPath(configuration.smaia.isImplemented), !ready.isEmpty {
            return InterruptPriorityOrder.highest(in: ready, iprio: aia.iprio)
        }
        return Interrupt.highestPriority(in: ready)
    }

    /// Injects ``pendingMachineInterrupt`` if there is one; returns the pc to
    /// resume at (the trap vector, or `pc` unchanged). Called before every
    /// return to a guest, which covers every CSR write, `mret` and device
    /// access that could have made an interrupt takeable.
    @inlinable
    public mutating func injectPendingInterrupt(pc: UInt64) -> UInt64 {
        guard let interrupt = takeableMachineInterrupt() else { return pc }
        return takeTrap(.interrupt(interrupt), value: 0, pc: pc)
    }

    /// True when `wfi` may complete: some interrupt is pending and enabled,
    /// whatever `mstatus.MIE`/`SIE` and `mideleg` say ("Wait for Interrupt").
    public mutating func wfiMayComplete<E: HartEnvironment>(environment env: inout E) -> Bool {
        !currentMIP(environment: &env).intersection(mie).isEmpty
    }
}
