/// The decisions of a trap-and-emulate monitor's world switch and guest
/// return, as pure functions of the virtual hart: a monitor keeps only the
/// plumbing (reading and writing the real CSRs these name).
///
/// The contract, for a monitor that runs the firmware in real U-mode as
/// virtual M-mode and the payload natively in S/U-mode:
///
/// 1. On every trap, first fold what the real hart changed natively into the
///    virtual state: ``absorbNativeStatus(_:installed:)`` with the real
///    `mstatus` at entry, and, from the payload's world,
///    ``absorbSupervisorInterrupts(realEnables:realPending:)`` with the real
///    `mie`/`mip`.
/// 2. Emulate or forward the trap (``execute(_:pc:registers:environment:)``,
///    ``takeException(code:value:pc:hypervisor:)``, ``exceptionGoesToLiveSupervisor(code:installed:)``).
/// 3. Return with ``prepareReturn(to:)``: it injects the M-level interrupt
///    the firmware must take now and says which world runs next; install that
///    world if it changed (while the firmware runs, the S-level CSRs live in
///    the virtual hart; while the payload runs, in the real registers), then
///    write ``physicalInterruptEnables(for:)``, ``physicalStatus(installed:)``
///    and the pc.
///
/// Installing the payload's world also writes ``physicalExceptionDelegation``
/// to `medeleg` and ``physicalCounterEnables(for:)`` to `mcounteren`.
extension VirtualHart {
    /// `mstatus` fields the payload changes natively while it runs (SIE,
    /// SPIE, SPP, SUM, MXR), plus FS/VS, which the hardware marks dirty in
    /// either world (privileged specification, "Machine Status Register").
    public static let payloadNativeStatus: MStatus = [.sie, .spie, .spp, .sum, .mxr, .fs, .vs]
    /// Fields the firmware's own execution in real U-mode can change: FS/VS.
    public static let firmwareNativeStatus: MStatus = [.fs, .vs]
    /// Fields the real `mstatus` carries for the payload beyond its native
    /// ones: the firmware's trap-virtualization bits, which act on S-mode.
    public static let payloadControlStatus: MStatus = [.tvm, .tw, .tsr]
    /// Exceptions the real `medeleg` never delegates in the payload's world:
    /// load and store/AMO access faults, so the monitor sees the payload's
    /// device accesses (and forwards the rest where the firmware's `medeleg`
    /// sends them, ``exceptionGoesToLiveSupervisor(code:installed:)``).
    public static let monitoredExceptions: UInt64 =
        1 << Exception.loadAccessFault.rawValue | 1 << Exception.storeAccessFault.rawValue
    /// With H, also load and store/AMO guest-page faults: QEMU 7.2 reports a
    /// VS/VU-mode access that the PMP refuses at its final address as one
    /// of these (with the guest physical address in `mtval2`), not as an
    /// access fault, so the walls around the devices raise them too.
    public static let monitoredHypervisorExceptions: UInt64 =
        monitoredExceptions | 1 << Exception.loadGuestPageFault.rawValue | 1 << Exception.storeGuestPageFault.rawValue

    /// Step 1: the real `mstatus` at trap entry, from the world `installed`.
    /// From the payload's world its native fields are the truth and its mode
    /// is the trap's previous mode: `MPP`, and with H `MPV`, the
    /// virtualization mode the trap interrupted (privileged specification,
    /// "Machine Status Registers (mstatus and mstatush)": "MPV ... the
    /// virtualization mode at the time of the trap"). From the firmware's
    /// world, only FS/VS (it runs with V = 0). The real GVA is not absorbed:
    /// it belongs to the trap, and reaches the firmware only with a trap
    /// forwarded to it (``HypervisorTrapValues/init(physicalStatus:mtinst:mtval2:)``).
    @inlinable
    public mutating func absorbNativeStatus(_ physical: UInt64, installed: World) {
        let fields = installed == .payload
            ? VirtualHart.payloadNativeStatus.rawValue : VirtualHart.firmwareNativeStatus.rawValue
        mstatus = MStatus(rawValue: (mstatus.rawValue & ~fields) | (physical & fields))
        if installed == .payload {
            mode = PrivilegeMode(field: physical >> 11) ?? .user
            virtualized = configuration.hasHypervisor && physical & MStatus.mpv.rawValue != 0
        }
    }

    /// Step 1, payload's world: its `sie` and `sip` writes went to the real
    /// `mie`/`mip` (privileged specification, "Supervisor Interrupt
    /// Registers": views through `mideleg`). Folding them in keeps the next
    /// real `mie` from resurrecting an enable the payload cleared, and keeps
    /// an SSIP (or LCOFIP) it set.
    @inlinable
    public mutating func absorbSupervisorInterrupts(realEnables: InterruptBits, realPending: InterruptBits) {
        mie = mie.subtracting(mideleg).union(realEnables.intersection(mideleg))
        let payloadWritable = mideleg.subtracting(.hypervisorLevel).intersection([.ssip, .lcofip])
        mipSoftware = mipSoftware.subtracting(payloadWritable).union(realPending.intersection(payloadWritable))
    }

    /// Step 2: whether exception `code`, raised while the payload's world is
    /// `installed`, goes into the payload's live S-level trap CSRs (the
    /// firmware delegated it: ``takeSupervisorTrap(code:value:pc:)`` then
    /// gives the values to write to the real `sepc`, `scause`, `stval`, and
    /// the pc is the real `stvec`'s base) rather than into virtual M-mode.
    @inlinable
    public func exceptionGoesToLiveSupervisor(code: UInt64, installed: World) -> Bool {
        installed == .payload && isDelegated(exception: code)
    }

    /// What a return to the guest does (step 3).
    public struct GuestReturn: Equatable, Sendable {
        /// Where the guest continues: the target, or the firmware's trap
        /// vector when an interrupt was injected.
        public var pc: UInt64
        /// The M-level interrupt injected into virtual M-mode, if any.
        public var injected: Interrupt?
        /// The world that runs next.
        public var world: World

        @inlinable
        public init(pc: UInt64, injected: Interrupt?, world: World) {
            self.pc = pc
            self.injected = injected
            self.world = world
        }
    }

    /// Step 3: injects the M-level interrupt the firmware must take now
    /// (``pendingMachineInterrupt``: MEI > MSI > MTI, when the mode is below
    /// M or `mstatus.MIE` is set) and says which world runs next. The
    /// monitor must have refreshed ``mipDevices`` first (the seed's step 6:
    /// every return re-checks).
    @inlinable @inline(__always)
    public mutating func prepareReturn(to target: UInt64) -> GuestReturn {
        var pc = target
        let interrupt = takeableMachineInterrupt()
        if let interrupt {
            pc = takeTrap(.interrupt(interrupt), value: 0, pc: pc)
        }
        return GuestReturn(pc: pc, injected: interrupt, world: world)
    }

    /// Step 3: the real `mstatus` for returning into `installed`: `MPP` is
    /// the world's real mode (U for the firmware), `MIE`/`MPIE`/`MPRV` are
    /// 0 (the monitor never takes its own interrupts; the firmware's MPRV is
    /// emulated), and the payload's native and control fields come from the
    /// virtual state.
    ///
    /// With H, the payload's `MPV` is ``virtualized``: the monitor's `mret`
    /// sets `V <- MPV` (Hypervisor chapter, "Trap Return"), so a payload that
    /// trapped from VS/VU-mode resumes there, and the firmware's `mret` with
    /// `MPV = 1` enters VS/VU. The firmware's GVA rides along: the real hart's
    /// next trap writes GVA by its own rule on top of the value the firmware
    /// left, as it would natively. The firmware's world runs with V = 0.
    @inlinable
    public func physicalStatus(installed: World) -> UInt64 {
        let v = mstatus.rawValue
        if installed == .firmware {
            return v & VirtualHart.firmwareNativeStatus.rawValue
        }
        let kept = VirtualHart.payloadNativeStatus.union(VirtualHart.payloadControlStatus)
            .union(.gva).rawValue
        let virtualization = virtualized ? MStatus.mpv.rawValue : 0
        return (v & kept) | (UInt64(mode.rawValue) << 11) | virtualization
    }

    /// The real `medeleg` of the payload's world: the firmware's, less
    /// ``monitoredExceptions`` (``monitoredHypervisorExceptions`` with H).
    /// (In the firmware's world it is 0: the firmware runs in U-mode and
    /// nothing it raises may go to S.)
    @inlinable
    public var physicalExceptionDelegation: UInt64 {
        medeleg & ~(configuration.hasHypervisor ? VirtualHart.monitoredHypervisorExceptions
                                                : VirtualHart.monitoredExceptions)
    }

    /// The real `mcounteren` for `world` (privileged specification, "Machine
    /// Counter-Enable Register"): the payload gets what the firmware granted;
    /// the firmware (real U-mode) reads `time` natively, and `cycle`/`instret`
    /// unless it moved `mcycle`/`minstret`, whose reads must then trap so
    /// the monitor adds its offset. In the firmware's world `scounteren` must
    /// hold the same bits (U-mode reads need both).
    @inlinable
    public func physicalCounterEnables(for world: World) -> UInt64 {
        if world == .payload { return mcounteren }
        var enables: UInt64 = 0b010
        if cycleOffset == 0 { enables |= 0b001 }
        if instretOffset == 0 { enables |= 0b100 }
        return enables
    }
}
