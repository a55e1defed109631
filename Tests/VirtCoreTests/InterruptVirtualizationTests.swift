import Testing
import VirtCore

/// The life cycle of a virtualized M-level interrupt, step by step as the
/// seed (`m-mode-interrupt-virtualization.md`) lists it, and the virtual
/// CLINT/PLIC binding of ``InterruptFabric``. Most tests drive a
/// ``VirtualizationRig``: the monitor's own call sequence above a simulated
/// real CLINT and PLIC.
@Suite struct InterruptVirtualizationTests {
    static let mstatusMIE: UInt64 = 1 << 3
    static let mstatusMPIE: UInt64 = 1 << 7
    static let mstatusMPP: UInt64 = 3 << 11
    static let interruptFlag: UInt64 = 1 << 63

    /// Sets `mstatus.MPP` on hart `h` with two CSR instructions.
    static func setMPP(_ rig: inout VirtualizationRig, _ h: Int, _ mode: PrivilegeMode) {
        rig.csr(h, .mstatus, .readClear, mstatusMPP)
        rig.csr(h, .mstatus, .readSet, UInt64(mode.rawValue) << 11)
    }

    /// A firmware store to the CLINT through ``InterruptFabric``.
    @discardableResult
    static func clintStore(_ fabric: inout InterruptFabric, hart: Int, offset: UInt64, width: Int, value: UInt64,
                           time: UInt64, actions: inout PhysicalActions) -> DeviceAccessOutcome {
        var reservation = DeviceReservation()
        return fabric.clintAccess(hart: hart, operation: .store(width: width), offset: offset, value: value,
                                  time: time, reservation: &reservation, actions: &actions)
    }

    /// Enters the payload in S-mode on hart `h` (`mret` with MPP = S).
    static func enterPayload(_ rig: inout VirtualizationRig, _ h: Int) {
        setMPP(&rig, h, .supervisor)
        rig.mret(h)
    }

    /// Hart `h`'s firmware gives `source` priority `priority` and enables it
    /// in its own M context.
    static func enableSource(_ rig: inout VirtualizationRig, _ h: Int, _ source: Int, priority: UInt64 = 1) {
        rig.access(h, .plic, offset: SpecPLIC.priorityOffset(source), store: priority)
        let word = source / 32
        let current = rig.access(h, .plic, offset: SpecPLIC.enableOffset(context: 2 * h, word: word)) ?? 0
        rig.access(h, .plic, offset: SpecPLIC.enableOffset(context: 2 * h, word: word),
                   store: current | 1 << UInt64(source % 32))
    }

    // MARK: Step 1: mideleg

    /// Step 1: the M-level bits of `mideleg` are 0 and the S-level ones 1,
    /// whatever the firmware writes ("Machine Trap Delegation Registers":
    /// M-level bits are never read-only one; S-level ones may be).
    @Test(arguments: TestHarts.all)
    func midelegForcesSupervisorInterruptsAndKeepsMachineOnes(configuration: HartConfiguration) {
        var hart = VirtualHart(configuration: configuration)
        var env = FakeEnvironment()
        var expected: InterruptBits = .supervisorLevel
        if configuration.hasSscofpmf { expected.insert(.lcofip) }
        if configuration.hasHypervisor { expected.formUnion(.hypervisorLevel) }
        for value: UInt64 in [0, ~0, InterruptBits.machineLevel.rawValue, 0x222] {
            _ = hart.accessCSR(.mideleg, operation: .readWrite, operand: value, writes: true, environment: &env)
            let read = hart.accessCSR(.mideleg, operation: .readSet, operand: 0, writes: false, environment: &env)
            #expect(read == expected.rawValue, "after writing \(hex(value))")
        }
        #expect(hart.mideleg.intersection(.machineLevel).isEmpty)
        // A delegated interrupt never targets virtual M-mode.
        hart.mie = [.ssip, .stip, .seip]
        hart.mipSoftware = [.ssip, .stip, .seip]
        hart.mode = .user
        #expect(hart.pendingMachineInterrupt == nil)
    }

    // MARK: Step 2 and 5: the real mie

    /// Step 2: while the firmware runs, it reads back the `mie` it wrote, and
    /// the real enables follow it for MTI and MEI (MSI is always enabled: it
    /// is the monitor's doorbell).
    @Test func firmwareSeesMieMirrorOfVirtualEnables() {
        let candidates: [InterruptBits] = [.msip, .mtip, .meip, .ssip, .stip, .seip]
        for subset in 0..<(1 << candidates.count) {
            var value: InterruptBits = []
            for (i, bit) in candidates.enumerated() where subset & (1 << i) != 0 { value.formUnion(bit) }
            var rig = VirtualizationRig(harts: 1)
            rig.csr(0, .mie, .readWrite, value.rawValue)
            #expect(rig.csr(0, .mie, .readSet, 0, writes: false) == value.rawValue)
            var real: InterruptBits = [.msip]
            if value.contains(.mtip) { real.insert(.mtip) }
            if value.contains(.meip) { real.insert(.meip) }
            #expect(rig.realMie[0] == real, "mie \(hex(value.rawValue))")
        }
    }

    /// Steps 2 and 5 for both worlds: MSIE always; MTIE and MEIE only while
    /// `vmie` enables them and their virtual line is not recorded yet; S-level enables
    /// only in the payload's world (in the firmware's, real U-mode, an
    /// S-level interrupt would be taken into S under the firmware's feet).
    @Test func physicalInterruptEnablesPerWorld() {
        let all: InterruptBits = [.ssip, .msip, .stip, .mtip, .seip, .meip, .vssip, .vstip, .vseip, .sgeip]
        for mask in 0..<(1 << 10) {
            var hart = VirtualHart(configuration: TestHarts.qemu)
            hart.mie = InterruptBits(rawValue: UInt64(truncatingIfNeeded: mask) << 1).intersection(all)
            for recorded in [InterruptBits(), .mtip, .meip, .machineLevel] {
                hart.mipDevices = recorded
                let firmware = hart.physicalInterruptEnables(for: .firmware)
                let payload = hart.physicalInterruptEnables(for: .payload)
                let mtie = hart.mie.contains(.mtip) && !recorded.contains(.mtip)
                let meie = hart.mie.contains(.meip) && !recorded.contains(.meip)
                #expect(firmware.contains(.msip) && payload.contains(.msip))
                #expect(firmware.contains(.mtip) == mtie && payload.contains(.mtip) == mtie)
                #expect(firmware.contains(.meip) == meie && payload.contains(.meip) == meie)
                #expect(firmware.subtracting(.machineLevel).isEmpty, "mie \(hex(hart.mie.rawValue))")
                #expect(payload.subtracting(.machineLevel) == hart.mie.intersection(hart.mideleg))
            }
        }
    }

    // MARK: Steps 3 to 5: the timer

    /// Steps 3 and 5: once the deadline passes, the virtual MTIP is recorded,
    /// the interrupt is injected iff `vmie.MTIE` and (`vmstatus.MIE` or the
    /// payload runs), and the real MTIE is cleared, so the still-pending real
    /// timer does not trap again however long the firmware leaves it.
    @Test(arguments: [false, true], [false, true])
    func timerExpiryIsRecordedAndRealMTIEMasked(mtie: Bool, machineInterruptsEnabled: Bool) {
        for world in [World.firmware, .payload] {
            var rig = VirtualizationRig(harts: 1)
            let deadline = rig.time + 10
            rig.access(0, .clint, offset: CLINTMap.mtimecmp(0), width: 8, store: deadline)
            rig.csr(0, .mie, .readWrite, mtie ? InterruptBits.mtip.rawValue : 0)
            if machineInterruptsEnabled { rig.csr(0, .mstatus, .readSet, Self.mstatusMIE) }
            if world == .payload {
                // mret: MIE <- MPIE, so keep the chosen MIE for the payload too.
                if machineInterruptsEnabled { rig.csr(0, .mstatus, .readSet, Self.mstatusMPIE) }
                Self.enterPayload(&rig, 0)
                #expect(rig.installed[0] == .payload)
            }
            let before = rig.pc[0]
            rig.advance(to: deadline - 1)
            #expect(rig.injected[0].isEmpty && rig.realTraps[0] == 0)
            rig.advance(to: deadline)

            let label = "MTIE \(mtie), MIE \(machineInterruptsEnabled), \(world)"
            #expect(rig.fabric.lines(hart: 0, time: rig.time).contains(.mtip), "\(label)")
            let injects = mtie && (machineInterruptsEnabled || world == .payload)
            #expect(rig.injected[0] == (injects ? [.machineTimer] : []), "\(label)")
            if injects {
                #expect(rig.harts[0].mcause == Self.interruptFlag | 7)
                #expect(rig.harts[0].mepc == before && rig.pc[0] == VirtualizationRig.mtvec)
                #expect(rig.harts[0].mstatus.mpp == (world == .payload ? .supervisor : .machine))
            }
            if mtie {
                #expect(rig.harts[0].mipDevices.contains(.mtip), "\(label)")
            }
            #expect(!rig.realMie[0].contains(.mtip) || !rig.harts[0].mipDevices.contains(.mtip))
            // One real trap at most, however long the timer stays pending.
            let traps = rig.realTraps[0]
            #expect(traps == (mtie ? 1 : 0), "\(label)")
            for later in 1...20 { rig.advance(to: deadline + UInt64(later) * 1000) }
            #expect(rig.realTraps[0] == traps && rig.violations.isEmpty, "\(label)")
        }
    }

    /// Step 4 and the end of step 5: the firmware clears its timer by moving
    /// `mtimecmp` past `mtime` (ACLINT: MTIP is `mtime >= mtimecmp`); the
    /// virtual MTIP drops, the real comparator follows and the real MTIE is
    /// enabled again for the next deadline.
    @Test func firmwareClearsTimerByMovingMtimecmp() {
        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.mtip.rawValue)
        rig.csr(0, .mstatus, .readSet, Self.mstatusMIE)
        rig.access(0, .clint, offset: CLINTMap.mtimecmp(0), width: 8, store: rig.time + 5)
        rig.advance(to: rig.time + 5)
        #expect(rig.injected[0] == [.machineTimer])
        #expect(!rig.realMie[0].contains(.mtip))

        // The handler moves the deadline (OpenSBI would clear mie.MTIE instead).
        let next = rig.time + 100
        rig.access(0, .clint, offset: CLINTMap.mtimecmp(0), width: 8, store: next)
        #expect(!rig.harts[0].mipDevices.contains(.mtip))
        #expect(!rig.fabric.lines(hart: 0, time: rig.time).contains(.mtip))
        #expect(rig.realMtimecmp[0] == next)
        #expect(rig.realMie[0].contains(.mtip))
        rig.mret(0)
        #expect(rig.injected[0] == [.machineTimer], "nothing pending any more")

        rig.advance(to: next)
        #expect(rig.injected[0] == [.machineTimer, .machineTimer])
        #expect(rig.realTraps[0] == 2)
    }

    // MARK: Step 6: injection

    /// Step 6: a pending, enabled interrupt waits while `vmstatus.MIE` is
    /// clear, and is taken right after the CSR write that sets it, with
    /// `mepc` at the next instruction ("re-evaluate after every write to
    /// mstatus").
    @Test func injectionWaitsForMIE() {
        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.msip.rawValue)
        rig.access(0, .clint, offset: CLINTMap.msip(0), store: 1)
        #expect(rig.harts[0].mipDevices.contains(.msip))
        #expect(rig.injected[0].isEmpty && rig.harts[0].pendingMachineInterrupt == nil)
        rig.csr(0, .mie, .readSet, InterruptBits.mtip.rawValue)
        #expect(rig.injected[0].isEmpty)

        let csrPC = rig.pc[0]
        rig.csr(0, .mstatus, .readSet, Self.mstatusMIE)
        #expect(rig.injected[0] == [.machineSoftware])
        #expect(rig.harts[0].mepc == csrPC + 4)
        #expect(rig.harts[0].mcause == Self.interruptFlag | 3)
        #expect(rig.pc[0] == VirtualizationRig.mtvec)
        #expect(rig.harts[0].mstatus.contains(.mpie) && !rig.harts[0].mstatus.contains(.mie))
    }

    /// Step 6 on `mret`: an `mret` whose MPIE sets MIE takes the pending
    /// interrupt at once, with `mepc` = the `mret` target ("re-evaluate after
    /// every xRET").
    @Test func injectionHappensOnMretThatEnablesMIE() {
        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.meip.rawValue)
        Self.enableSource(&rig, 0, 7)
        rig.setSource(7, true)
        #expect(rig.harts[0].mipDevices.contains(.meip) && rig.injected[0].isEmpty)
        rig.csr(0, .mstatus, .readSet, Self.mstatusMPIE)
        Self.setMPP(&rig, 0, .machine)
        rig.harts[0].mepc = 0x8000_2000
        rig.mret(0)
        #expect(rig.injected[0] == [.machineExternal])
        #expect(rig.harts[0].mepc == 0x8000_2000)
        #expect(rig.harts[0].mstatus.mpp == .machine)
        #expect(rig.harts[0].mstatus.contains(.mpie) && !rig.harts[0].mstatus.contains(.mie))
    }

    /// From the seed's discussion: the firmware need not clear the interrupt;
    /// if it returns with the line still pending and enabled, it traps again
    /// on every return.
    @Test func uncollectedInterruptIsInjectedAgainOnEveryReturn() {
        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.msip.rawValue)
        rig.access(0, .clint, offset: CLINTMap.msip(0), store: 1)
        rig.csr(0, .mstatus, .readSet, Self.mstatusMIE)
        for round in 1...5 {
            #expect(rig.injected[0].count == round)
            rig.mret(0)
        }
        // Cleared at the device: the next return stays.
        rig.access(0, .clint, offset: CLINTMap.msip(0), store: 0)
        rig.mret(0)
        #expect(rig.injected[0].count == 6 && rig.harts[0].mstatus.contains(.mie))
    }

    /// A payload runs with an enabled M-level interrupt pending: it is taken
    /// whatever `mstatus.MIE` says (mode < M), the firmware's world comes
    /// back, and MPP records S.
    @Test func interruptWhilePayloadRunsSwitchesToFirmware() {
        var hart = VirtualHart(configuration: TestHarts.qemu)
        hart.mode = .supervisor
        hart.mie = [.meip]
        hart.mipDevices = [.meip]
        #expect(!hart.mstatus.contains(.mie))
        #expect(hart.pendingMachineInterrupt == .machineExternal)
        let target = hart.injectPendingInterrupt(pc: 0x8020_0010)
        #expect(hart.mode == .machine && hart.world == .firmware)
        #expect(hart.mstatus.mpp == .supervisor && !hart.mstatus.contains(.mpie))
        #expect(hart.mepc == 0x8020_0010 && hart.mcause == Self.interruptFlag | 11)
        #expect(target == hart.mtvec)

        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits([.meip, .seip, .stip]).rawValue)
        Self.enableSource(&rig, 0, 33, priority: 3)
        Self.enterPayload(&rig, 0)
        #expect(rig.realMie[0].contains([.seip, .stip]))
        rig.pc[0] = 0x8020_0010
        rig.setSource(33, true)
        #expect(rig.injected[0] == [.machineExternal])
        #expect(rig.installed[0] == .firmware && rig.harts[0].mstatus.mpp == .supervisor)
        #expect(rig.harts[0].mepc == 0x8020_0010)
        #expect(rig.realMie[0].subtracting(.machineLevel).isEmpty)
        #expect(rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0)) == 33)
    }

    /// Priority among M-level interrupts ("Machine Interrupt Registers"):
    /// MEI > MSI > MTI.
    @Test func priorityMEIOverMSIOverMTI() {
        var hart = VirtualHart(configuration: TestHarts.qemu)
        hart.mie = .machineLevel
        hart.mstatus.insert(.mie)
        hart.mipDevices = .machineLevel
        #expect(hart.pendingMachineInterrupt == .machineExternal)
        hart.mipDevices = [.msip, .mtip]
        #expect(hart.pendingMachineInterrupt == .machineSoftware)
        hart.mipDevices = [.mtip]
        #expect(hart.pendingMachineInterrupt == .machineTimer)
        hart.mie = [.msip]
        #expect(hart.pendingMachineInterrupt == nil)

        // The same through the rig: all three arrive while MIE = 0.
        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.machineLevel.rawValue)
        Self.enableSource(&rig, 0, 2)
        rig.access(0, .clint, offset: CLINTMap.mtimecmp(0), width: 8, store: rig.time)
        rig.access(0, .clint, offset: CLINTMap.msip(0), store: 1)
        rig.setSource(2, true)
        rig.csr(0, .mstatus, .readSet, Self.mstatusMIE)
        #expect(rig.injected[0] == [.machineExternal])
        _ = rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0))
        rig.mret(0)
        #expect(rig.injected[0] == [.machineExternal, .machineSoftware])
        rig.access(0, .clint, offset: CLINTMap.msip(0), store: 0)
        rig.mret(0)
        #expect(rig.injected[0] == [.machineExternal, .machineSoftware, .machineTimer])
    }

    // MARK: wfi

    /// "Wait for Interrupt": `wfi` completes on any pending enabled interrupt
    /// even with `mstatus.MIE` clear (and then takes no trap); the monitor
    /// waits only while nothing enabled is pending, and wakes on a doorbell
    /// that brings one.
    @Test func wfiCompletesOnPendingEnabledEvenWithMIEClear() {
        var rig = VirtualizationRig(harts: 2)
        rig.csr(0, .mie, .readWrite, InterruptBits.msip.rawValue)
        rig.access(0, .clint, offset: CLINTMap.msip(0), store: 1)
        var wfiPC = rig.pc[0]
        rig.wfi(0)
        #expect(!rig.waiting[0] && rig.pc[0] == wfiPC + 4 && rig.injected[0].isEmpty)

        rig.access(0, .clint, offset: CLINTMap.msip(0), store: 0)
        wfiPC = rig.pc[0]
        rig.wfi(0)
        #expect(rig.waiting[0])
        #expect(rig.realMie[0] == rig.harts[0].wakeUpEnables)
        rig.access(1, .clint, offset: CLINTMap.msip(0), store: 1)
        #expect(!rig.waiting[0] && rig.pc[0] == wfiPC + 4 && rig.injected[0].isEmpty)
        #expect(rig.harts[0].mode == .machine && rig.harts[0].mipDevices.contains(.msip))
    }

    /// A real interrupt that is not enabled virtually does not end the wait:
    /// the monitor records it, silences it, and sleeps again.
    @Test func wfiKeepsWaitingThroughInterruptsTheFirmwareDidNotEnable() {
        var rig = VirtualizationRig(harts: 2)
        rig.csr(0, .mie, .readWrite, InterruptBits.mtip.rawValue)
        rig.access(0, .clint, offset: CLINTMap.mtimecmp(0), width: 8, store: rig.time + 50)
        let wfiPC = rig.pc[0]
        rig.wfi(0)
        #expect(rig.waiting[0])
        rig.access(1, .clint, offset: CLINTMap.msip(0), store: 1)
        #expect(rig.waiting[0] && rig.realTraps[0] == 1 && !rig.realMsip[0])
        #expect(rig.harts[0].mipDevices.contains(.msip))
        rig.advance(to: rig.time + 50)
        #expect(!rig.waiting[0] && rig.pc[0] == wfiPC + 4 && rig.realTraps[0] == 2)
        #expect(rig.violations.isEmpty)
    }

    // MARK: CLINT

    /// ACLINT "MSIP Registers": a write to another hart's `msip` is an IPI;
    /// the monitor rings that hart's real `msip` (its doorbell), and the hart
    /// re-reads its lines.
    @Test func remoteMsipWriteRingsTargetDoorbell() {
        var fabric = InterruptFabric(harts: 3, plicSources: 40)
        var actions = PhysicalActions()
        let result = Self.clintStore(&fabric, hart: 0, offset: CLINTMap.msip(2), width: 4, value: 1,
                                     time: 0, actions: &actions)
        #expect(result == .completed(value: 0) && actions.doorbells == 0b100)
        #expect(fabric.lines(hart: 2, time: 0) == [.msip] && fabric.lines(hart: 0, time: 0).isEmpty)

        var rig = VirtualizationRig(harts: 2)
        rig.csr(1, .mie, .readWrite, InterruptBits.msip.rawValue)
        rig.csr(1, .mstatus, .readSet, Self.mstatusMIE)
        rig.access(0, .clint, offset: CLINTMap.msip(1), store: 1)
        #expect(rig.realTraps == [0, 1] && rig.realMsip == [false, false])
        #expect(rig.injected[1] == [.machineSoftware])
        #expect(rig.access(1, .clint, offset: CLINTMap.msip(1)) == 1)
        // The receiver clears its own msip: no doorbell for anyone.
        rig.access(1, .clint, offset: CLINTMap.msip(1), store: 0)
        #expect(rig.realTraps == [0, 1] && !rig.harts[1].mipDevices.contains(.msip))
    }

    /// A hart writing its own `msip` needs no doorbell: the monitor re-reads
    /// its lines before returning to it.
    @Test func localMsipWriteRingsNoDoorbell() {
        var fabric = InterruptFabric(harts: 2, plicSources: 40)
        var actions = PhysicalActions()
        Self.clintStore(&fabric, hart: 1, offset: CLINTMap.msip(1), width: 4, value: 1, time: 0, actions: &actions)
        #expect(actions.doorbells == 0 && fabric.lines(hart: 1, time: 0) == [.msip])

        var rig = VirtualizationRig(harts: 2)
        rig.csr(0, .mie, .readWrite, InterruptBits.msip.rawValue)
        rig.csr(0, .mstatus, .readSet, Self.mstatusMIE)
        let storePC = rig.pc[0]
        rig.access(0, .clint, offset: CLINTMap.msip(0), store: 1)
        #expect(rig.realTraps == [0, 0] && rig.realMsip == [false, false])
        #expect(rig.injected[0] == [.machineSoftware] && rig.harts[0].mepc == storePC + 4)
    }

    /// ACLINT "MTIMECMP Registers": a write to `mtimecmp[h]` (64-bit or
    /// either half) reprograms hart h's real comparator with the full new
    /// value, and rings h unless h wrote it; an unchanged value does nothing.
    @Test func mtimecmpWriteReprogramsRealTimer() {
        var fabric = InterruptFabric(harts: 2, plicSources: 40)
        var actions = PhysicalActions()
        Self.clintStore(&fabric, hart: 0, offset: CLINTMap.mtimecmp(1), width: 8, value: 0x1_0000_2000, time: 0, actions: &actions)
        #expect(actions.timerHart == 1 && actions.deadline == 0x1_0000_2000 && actions.doorbells == 0b10)

        actions = PhysicalActions()
        Self.clintStore(&fabric, hart: 1, offset: CLINTMap.mtimecmp(1), width: 4, value: 0x3000, time: 0, actions: &actions)
        #expect(actions.timerHart == 1 && actions.deadline == 0x1_0000_3000 && actions.doorbells == 0)
        actions = PhysicalActions()
        Self.clintStore(&fabric, hart: 1, offset: CLINTMap.mtimecmp(1) + 4, width: 4, value: 0, time: 0, actions: &actions)
        #expect(actions.timerHart == 1 && actions.deadline == 0x3000)
        actions = PhysicalActions()
        Self.clintStore(&fabric, hart: 0, offset: CLINTMap.mtimecmp(1), width: 8, value: 0x3000, time: 0, actions: &actions)
        #expect(actions.timerHart == -1 && actions.doorbells == 0)

        // A remote deadline in the past: the target records MTIP at once.
        var rig = VirtualizationRig(harts: 2)
        rig.csr(1, .mie, .readWrite, InterruptBits.mtip.rawValue)
        rig.access(0, .clint, offset: CLINTMap.mtimecmp(1), width: 8, store: rig.time - 1)
        #expect(rig.realMtimecmp == [VirtualCLINT.resetMTimeCmp, rig.time - 1])
        #expect(rig.harts[1].mipDevices.contains(.mtip) && !rig.realMie[1].contains(.mtip))
        // And moved back to the future: the doorbell clears it.
        rig.access(0, .clint, offset: CLINTMap.mtimecmp(1), width: 8, store: rig.time + 1)
        #expect(!rig.harts[1].mipDevices.contains(.mtip) && rig.realMie[1].contains(.mtip))
        #expect(rig.access(1, .clint, offset: CLINTMap.mtimecmp(1), width: 8) == rig.time + 1)
    }

    // MARK: PLIC

    /// Hart `h`'s S context (`2h + 1`) enables `source` and sets threshold 0,
    /// as the payload's driver does.
    static func enableSupervisorSource(_ rig: inout VirtualizationRig, _ h: Int, _ source: Int) {
        rig.realPLIC.enable[2 * h + 1][source] = true
        rig.realPLIC.threshold[2 * h + 1] = 0
    }

    /// Issue 9, item 1 (K6): a source enabled in a hart's M context by the
    /// firmware and in its S context by the payload is pending at both, as
    /// natively: MEIP and SEIP (PLIC "Interrupt Flow"). The monitor records
    /// MEIP and masks its real MEIE; it does not claim, so the S context
    /// still sees the source.
    @Test func sourceEnabledInMAndSContextsRaisesMEIPAndSEIP() {
        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.meip.rawValue)
        Self.enableSource(&rig, 0, 10, priority: 2)
        Self.enableSupervisorSource(&rig, 0, 10)
        rig.setSource(10, true)
        #expect(rig.realPLIC.line(context: 0) && rig.realPLIC.line(context: 1), "MEIP and SEIP")
        #expect(rig.realPLIC.pending[10] && !rig.realPLIC.inService[10], "never claimed by the monitor")
        #expect(rig.harts[0].mipDevices.contains(.meip) && !rig.realMie[0].contains(.meip))
        #expect(rig.realTraps == [1] && rig.violations.isEmpty, "one trap, no storm")
        let meip = InterruptBits.meip.rawValue
        #expect(rig.csr(0, .mip, .readSet, 0, writes: false).map { $0 & meip } == meip)
    }

    /// Issue 9: either side's claim clears the gateway's pending bit for both
    /// contexts ("Interrupt Claim Process"); the firmware's claim is the real
    /// claim, so MEIP and SEIP fall together, and the monitor re-arms MEIE.
    @Test(arguments: [false, true])
    func eitherClaimClearsPendingForBothContexts(payloadClaims: Bool) {
        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.meip.rawValue)
        Self.enableSource(&rig, 0, 10, priority: 2)
        Self.enableSupervisorSource(&rig, 0, 10)
        rig.setSource(10, true)
        if payloadClaims {
            // From vM-mode through the S context's registers (the firmware may).
            #expect(rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 1)) == 10)
        } else {
            #expect(rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0)) == 10)
        }
        #expect(!rig.realPLIC.pending[10] && rig.realPLIC.inService[10])
        #expect(!rig.realPLIC.line(context: 0) && !rig.realPLIC.line(context: 1))
        #expect(!rig.harts[0].mipDevices.contains(.meip) && rig.realMie[0].contains(.meip))
        let other = payloadClaims ? 0 : 1
        #expect(rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: other)) == 0)
    }

    /// Issue 9, item 5: a source already pending when the firmware enables it
    /// in its M context is seen at once: the pending bit reads 1, MEIP rises
    /// (the lines follow the state) and the claim returns it.
    @Test func sourcePendingBeforeTheEnableIsSeen() {
        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.meip.rawValue)
        rig.access(0, .plic, offset: SpecPLIC.priorityOffset(10), store: 1)
        rig.setSource(10, true)
        #expect(rig.realTraps == [0])
        #expect(rig.access(0, .plic, offset: SpecPLIC.pendingOffset(word: 0)) == 1 << 10)
        rig.access(0, .plic, offset: SpecPLIC.enableOffset(context: 0, word: 0), store: 1 << 10)
        #expect(rig.harts[0].mipDevices.contains(.meip))
        #expect(rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0)) == 10)
    }

    /// Issue 9, item 5: a claim right after a source raises its line returns
    /// it; there is no window in which only the monitor knows of it.
    @Test func claimRightAfterTheLineRisesReturnsTheSource() {
        var rig = VirtualizationRig(harts: 2)
        Self.enableSource(&rig, 1, 33, priority: 5)
        rig.setSource(33, true)
        #expect(rig.access(1, .plic, offset: SpecPLIC.claimOffset(context: 2)) == 33)
        // Completed with the line low: nothing is pending any more.
        rig.setSource(33, false)
        rig.access(1, .plic, offset: SpecPLIC.claimOffset(context: 2), store: 33)
        #expect(!rig.realPLIC.pending[33] && !rig.realPLIC.inService[33])
        #expect(rig.access(1, .plic, offset: SpecPLIC.pendingOffset(word: 1)) == 0)
    }

    /// Seed step 5 for MEI: while the firmware cannot take the recorded
    /// interrupt (vM-mode, MIE = 0) the real MEIE stays masked and nothing
    /// storms; setting MIE injects it; the claim lowers the line and re-arms.
    @Test func recordedExternalInterruptMasksRealEnableUntilClaimed() {
        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.meip.rawValue)
        Self.enableSource(&rig, 0, 5, priority: 1)
        rig.setSource(5, true)
        rig.setSource(5, false)
        rig.setSource(5, true)
        #expect(rig.realTraps == [1] && rig.injected[0].isEmpty && !rig.realMie[0].contains(.meip))
        rig.csr(0, .mstatus, .readSet, Self.mstatusMIE)
        #expect(rig.injected[0] == [.machineExternal])
        #expect(rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0)) == 5)
        #expect(rig.realMie[0].contains(.meip) && rig.violations.isEmpty)
        rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0), store: 5)
    }

    /// Issue 9, item 2 (K5): the payload's stores to M-context registers act
    /// on the firmware's state exactly as natively (the real M context is the
    /// firmware's): the firmware reads back what the payload wrote, and a
    /// payload claim on the M context takes the source from the firmware.
    @Test func payloadAccessesToMContextsActOnTheFirmwaresState() {
        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.meip.rawValue)
        Self.enableSource(&rig, 0, 7, priority: 3)
        Self.enterPayload(&rig, 0)
        // The payload raises the firmware's threshold: the source no longer interrupts it.
        rig.payloadPLICAccess(0, offset: SpecPLIC.thresholdOffset(context: 0), store: 3)
        rig.setSource(7, true)
        #expect(rig.injected[0].isEmpty && rig.realPLIC.pending[7])
        #expect(rig.payloadPLICAccess(0, offset: SpecPLIC.thresholdOffset(context: 0)) == 3)
        // Lowering it again: MEIP rises and the firmware takes it at once.
        rig.payloadPLICAccess(0, offset: SpecPLIC.thresholdOffset(context: 0), store: 0)
        #expect(rig.injected[0] == [.machineExternal] && rig.harts[0].mode == .machine)
        #expect(rig.access(0, .plic, offset: SpecPLIC.thresholdOffset(context: 0)) == 0, "what the payload wrote")
        #expect(rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0)) == 7)
        rig.mret(0)
        // The payload completes the firmware's claim on the M context (it may,
        // natively): the still-high source is requested again and interrupts
        // the firmware.
        #expect(rig.payloadPLICAccess(0, offset: SpecPLIC.claimOffset(context: 0)) == 0)
        rig.payloadPLICAccess(0, offset: SpecPLIC.claimOffset(context: 0), store: 7)
        #expect(rig.injected[0] == [.machineExternal, .machineExternal] && rig.harts[0].mode == .machine)
        #expect(rig.violations.isEmpty)
    }

    /// The payload's own S-context claim/complete page is native: no trap,
    /// and the firmware's M context is untouched by it.
    @Test func payloadOwnSupervisorContextIsNative() {
        var rig = VirtualizationRig(harts: 2)
        Self.enterPayload(&rig, 1)
        Self.enableSupervisorSource(&rig, 1, 12)
        rig.realPLIC.priority[12] = 1
        rig.setSource(12, true)
        let traps = rig.realTraps
        #expect(rig.payloadPLICAccess(1, offset: SpecPLIC.claimOffset(context: 3)) == 12)
        rig.payloadPLICAccess(1, offset: SpecPLIC.claimOffset(context: 3), store: 12)
        #expect(rig.realTraps == traps && rig.injected == [[], []])
    }

    /// Reserved registers read 0 and ignore stores, in both worlds, as the
    /// host does (issue 9, item 3, K1).
    @Test func reservedPLICAndCLINTRegistersReadZero() {
        var rig = VirtualizationRig(harts: 2, sources: 40)
        for offset: UInt64 in [SpecPLIC.priorityOffset(41), SpecPLIC.pendingOffset(word: 2),
                               SpecPLIC.enableOffset(context: 0, word: 2), SpecPLIC.thresholdOffset(context: 4),
                               SpecPLIC.thresholdOffset(context: 1) + 8, 0x1F_0000] {
            rig.access(0, .plic, offset: offset, store: 0xFFFF_FFFF)
            #expect(rig.access(0, .plic, offset: offset) == 0)
        }
        for offset: UInt64 in [CLINTMap.msip(2), CLINTMap.mtimecmp(3), 0x3FFC] {
            rig.access(0, .clint, offset: offset, store: 1)
            #expect(rig.access(0, .clint, offset: offset) == 0)
        }
        #expect(rig.injected == [[], []] && rig.harts[0].mode == .machine)
    }

    /// AMOs on device registers are a read then a write, as the host
    /// performs them: `amoor.w` on an M-context enable word enables the
    /// source and returns the old word.
    @Test func deviceAMOIsAReadThenAWrite() {
        var rig = VirtualizationRig(harts: 1)
        rig.access(0, .plic, offset: SpecPLIC.enableOffset(context: 0, word: 0), store: 0b10)
        let old = rig.perform(0, .plic, .atomic(.or, width: 4), offset: SpecPLIC.enableOffset(context: 0, word: 0),
                              value: 1 << 10)
        #expect(old == 0b10 && rig.realPLIC.enable[0][10] && rig.realPLIC.enable[0][1])
        let msip = rig.perform(0, .clint, .atomic(.swap, width: 4), offset: CLINTMap.msip(0), value: 1)
        #expect(msip == 0 && rig.fabric.clint.msip(hart: 0))
    }

    // MARK: Known deviation

    /// `mip.MTIP` is `mtime >= mtimecmp` (ACLINT, "MTIMECMP Registers"), so a
    /// firmware polling `mip` with MTIE clear must see the timer once it has
    /// expired. The monitor's trap path (`handleTrap`) emulates the CSR read
    /// before it refreshes the timer line (only `resume` does), so the first
    /// read after the expiry still shows MTIP clear; the next one sees it.
    @Test func mipReadShowsTimerThatExpiredSinceTheLastTrap() {
        var rig = VirtualizationRig(harts: 1)
        rig.access(0, .clint, offset: CLINTMap.mtimecmp(0), width: 8, store: rig.time + 10)
        rig.advance(to: rig.time + 10)
        let mtip = InterruptBits.mtip.rawValue
        #expect(rig.csr(0, .mip, .readSet, 0, writes: false).map { $0 & mtip } == mtip)
    }
}
