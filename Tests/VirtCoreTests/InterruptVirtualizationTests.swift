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
    /// the real enables follow it for MTI (MSI and MEI are always enabled:
    /// the monitor silences those at their source).
    @Test func firmwareSeesMieMirrorOfVirtualEnables() {
        let candidates: [InterruptBits] = [.msip, .mtip, .meip, .ssip, .stip, .seip]
        for subset in 0..<(1 << candidates.count) {
            var value: InterruptBits = []
            for (i, bit) in candidates.enumerated() where subset & (1 << i) != 0 { value.formUnion(bit) }
            var rig = VirtualizationRig(harts: 1)
            rig.csr(0, .mie, .readWrite, value.rawValue)
            #expect(rig.csr(0, .mie, .readSet, 0, writes: false) == value.rawValue)
            var real: InterruptBits = [.msip, .meip]
            if value.contains(.mtip) { real.insert(.mtip) }
            #expect(rig.realMie[0] == real, "mie \(hex(value.rawValue))")
        }
    }

    /// Steps 2 and 5 for both worlds: MSIE and MEIE always; MTIE only while
    /// `vmie.MTIE` and the virtual MTIP is not recorded yet; S-level enables
    /// only in the payload's world (in the firmware's, real U-mode, an
    /// S-level interrupt would be taken into S under the firmware's feet).
    @Test func physicalInterruptEnablesPerWorld() {
        let all: InterruptBits = [.ssip, .msip, .stip, .mtip, .seip, .meip, .vssip, .vstip, .vseip, .sgeip]
        for mask in 0..<(1 << 10) {
            var hart = VirtualHart(configuration: TestHarts.qemu)
            hart.mie = InterruptBits(rawValue: UInt64(truncatingIfNeeded: mask) << 1).intersection(all)
            for recorded in [InterruptBits(), .mtip, .machineLevel] {
                hart.mipDevices = recorded
                let firmware = hart.physicalInterruptEnables(for: .firmware)
                let payload = hart.physicalInterruptEnables(for: .payload)
                let mtie = hart.mie.contains(.mtip) && !recorded.contains(.mtip)
                #expect(firmware.isSuperset(of: [.msip, .meip]) && payload.isSuperset(of: [.msip, .meip]))
                #expect(firmware.contains(.mtip) == mtie && payload.contains(.mtip) == mtie)
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
        let result = fabric.clintAccess(hart: 0, offset: CLINTMap.msip(2), width: 4, isStore: true, value: 1,
                                        time: 0, actions: &actions)
        #expect(result == .stored && actions.doorbells == 0b100)
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
        _ = fabric.clintAccess(hart: 1, offset: CLINTMap.msip(1), width: 4, isStore: true, value: 1,
                               time: 0, actions: &actions)
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
        _ = fabric.clintAccess(hart: 0, offset: CLINTMap.mtimecmp(1), width: 8, isStore: true,
                               value: 0x1_0000_2000, time: 0, actions: &actions)
        #expect(actions.timerHart == 1 && actions.deadline == 0x1_0000_2000 && actions.doorbells == 0b10)

        actions = PhysicalActions()
        _ = fabric.clintAccess(hart: 1, offset: CLINTMap.mtimecmp(1), width: 4, isStore: true,
                               value: 0x3000, time: 0, actions: &actions)
        #expect(actions.timerHart == 1 && actions.deadline == 0x1_0000_3000 && actions.doorbells == 0)
        actions = PhysicalActions()
        _ = fabric.clintAccess(hart: 1, offset: CLINTMap.mtimecmp(1) + 4, width: 4, isStore: true,
                               value: 0, time: 0, actions: &actions)
        #expect(actions.timerHart == 1 && actions.deadline == 0x3000)
        actions = PhysicalActions()
        _ = fabric.clintAccess(hart: 0, offset: CLINTMap.mtimecmp(1), width: 8, isStore: true,
                               value: 0x3000, time: 0, actions: &actions)
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

    /// PLIC "Interrupt Flow": a source the monitor claimed on the real PLIC
    /// becomes pending in the virtual one and raises MEIP on exactly the harts
    /// whose M context enables it above their threshold; the other harts
    /// whose line moved get a doorbell.
    @Test func plicClaimedSourceRaisesMEIPOnEnabledHartsOnly() {
        var fabric = InterruptFabric(harts: 4, plicSources: 40)
        var actions = PhysicalActions()
        _ = fabric.plicAccess(hart: 0, offset: SpecPLIC.priorityOffset(5), width: 4, isStore: true, value: 2,
                              actions: &actions)
        for h in [0, 2, 3] {
            _ = fabric.plicAccess(hart: h, offset: SpecPLIC.enableOffset(context: 2 * h, word: 0), width: 4,
                                  isStore: true, value: 1 << 5, actions: &actions)
        }
        _ = fabric.plicAccess(hart: 3, offset: SpecPLIC.thresholdOffset(context: 6), width: 4, isStore: true,
                              value: 2, actions: &actions)
        #expect(fabric.claimed(source: 5, byHart: 0) == 0b100)
        #expect((0..<4).map { fabric.lines(hart: $0, time: 0).contains(.meip) } == [true, false, true, false])

        var rig = VirtualizationRig(harts: 3)
        for h in [0, 2] {
            rig.csr(h, .mie, .readWrite, InterruptBits.meip.rawValue)
            rig.csr(h, .mstatus, .readSet, Self.mstatusMIE)
            Self.enableSource(&rig, h, 5)
        }
        rig.csr(1, .mie, .readWrite, InterruptBits.meip.rawValue)
        rig.csr(1, .mstatus, .readSet, Self.mstatusMIE)
        rig.setSource(5, true)
        #expect(rig.injected == [[.machineExternal], [], [.machineExternal]])
        #expect(!rig.realPLIC.pending[5] && rig.realPLIC.inService[5], "silenced at the real PLIC")
        // One claim wins; the other hart's line drops with it.
        #expect(rig.access(2, .plic, offset: SpecPLIC.claimOffset(context: 4)) == 5)
        #expect(!rig.harts[0].mipDevices.contains(.meip) && !rig.harts[2].mipDevices.contains(.meip))
        #expect(rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0)) == 0)
    }

    /// PLIC "Interrupt Completion": the firmware's complete is forwarded to
    /// the real M context that claimed the source, which frees the real
    /// gateway: a source still asserted interrupts again.
    @Test func plicCompleteForwardsToClaimingHart() {
        var fabric = InterruptFabric(harts: 2, plicSources: 40)
        var actions = PhysicalActions()
        _ = fabric.plicAccess(hart: 0, offset: SpecPLIC.priorityOffset(9), width: 4, isStore: true, value: 1,
                              actions: &actions)
        for h in 0..<2 {
            _ = fabric.plicAccess(hart: h, offset: SpecPLIC.enableOffset(context: 2 * h, word: 0), width: 4,
                                  isStore: true, value: 1 << 9, actions: &actions)
        }
        _ = fabric.claimed(source: 9, byHart: 1)
        actions = PhysicalActions()
        #expect(fabric.plicAccess(hart: 0, offset: SpecPLIC.claimOffset(context: 0), width: 4, isStore: false,
                                  value: 0, actions: &actions) == .loaded(9))
        #expect(fabric.plicAccess(hart: 0, offset: SpecPLIC.claimOffset(context: 0), width: 4, isStore: true,
                                  value: 9, actions: &actions) == .stored)
        #expect(actions.completeSource == 9 && actions.completeHart == 1)

        var rig = VirtualizationRig(harts: 1)
        rig.csr(0, .mie, .readWrite, InterruptBits.meip.rawValue)
        Self.enableSource(&rig, 0, 9)
        rig.setSource(9, true)
        #expect(rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0)) == 9)
        #expect(!rig.harts[0].mipDevices.contains(.meip) && rig.realPLIC.inService[9])
        rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0), store: 9)
        #expect(rig.realTraps[0] == 2, "the level is still asserted: a new request")
        #expect(rig.harts[0].mipDevices.contains(.meip) && rig.fabric.plic.isPending(source: 9))
        rig.setSource(9, false)
        #expect(rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0)) == 9)
        rig.access(0, .plic, offset: SpecPLIC.claimOffset(context: 0), store: 9)
        #expect(!rig.realPLIC.inService[9] && !rig.realPLIC.pending[9] && !rig.harts[0].mipDevices.contains(.meip))
    }

    /// PLIC "Interrupt Completion": a complete is ignored unless the source is
    /// enabled in the completing context. When the firmware has since
    /// disabled the source in the context that claimed it for real, the
    /// monitor must complete it through a context that still enables it (the
    /// one the firmware completed on), or the real source stays silenced
    /// forever.
    @Test func plicCompleteReachesARealContextThatStillEnablesTheSource() {
        var rig = VirtualizationRig(harts: 2)
        Self.enableSource(&rig, 0, 31)
        rig.setSource(31, true)
        #expect(rig.realPLIC.inService[31] && rig.fabric.plic.isPending(source: 31))
        // Hart 0 hands the source over to hart 1.
        Self.enableSource(&rig, 1, 31)
        rig.access(0, .plic, offset: SpecPLIC.enableOffset(context: 0, word: 0), store: 0)
        #expect(rig.access(1, .plic, offset: SpecPLIC.claimOffset(context: 2)) == 31)
        rig.setSource(31, false)
        rig.access(1, .plic, offset: SpecPLIC.claimOffset(context: 2), store: 31)
        #expect(!rig.realPLIC.inService[31], "the real source is free again")
        rig.setSource(31, true)
        #expect(rig.fabric.plic.isPending(source: 31) && rig.harts[1].mipDevices.contains(.meip))

        // The same when a third hart claims and completes on that context.
        var three = VirtualizationRig(harts: 3)
        Self.enableSource(&three, 0, 40)
        three.setSource(40, true)
        Self.enableSource(&three, 2, 40)
        three.access(0, .plic, offset: SpecPLIC.enableOffset(context: 0, word: 1), store: 0)
        #expect(three.access(1, .plic, offset: SpecPLIC.claimOffset(context: 4)) == 40)
        three.setSource(40, false)
        three.access(1, .plic, offset: SpecPLIC.claimOffset(context: 4), store: 40)
        #expect(!three.realPLIC.inService[40] && !three.fabric.plic.isInService(source: 40))
    }

    /// The firmware's M-context enables are mirrored into the real M context
    /// of the hart they belong to (from whichever hart writes them), so the
    /// real PLIC interrupts the monitor for exactly those sources.
    @Test func plicEnableWriteMirrors() {
        var fabric = InterruptFabric(harts: 2, plicSources: 40)
        var actions = PhysicalActions()
        #expect(fabric.plicAccess(hart: 0, offset: SpecPLIC.enableOffset(context: 2, word: 1), width: 4,
                                  isStore: true, value: 0x102, actions: &actions) == .stored)
        #expect(actions.mirrorEnablesHart == 1 && fabric.plic.enables(hart: 1, word: 1) == 0x102)
        actions = PhysicalActions()
        _ = fabric.plicAccess(hart: 0, offset: SpecPLIC.enableOffset(context: 2, word: 1), width: 4,
                              isStore: true, value: 0x102, actions: &actions)
        #expect(actions.mirrorEnablesHart == -1, "unchanged")

        // A source pending at the real PLIC before any hart enabled it.
        var rig = VirtualizationRig(harts: 2)
        rig.csr(1, .mie, .readWrite, InterruptBits.meip.rawValue)
        rig.access(0, .plic, offset: SpecPLIC.priorityOffset(33), store: 4)
        rig.setSource(33, true)
        #expect(rig.realPLIC.pending[33] && rig.realTraps == [0, 0])
        #expect(rig.access(0, .plic, offset: SpecPLIC.pendingOffset(word: 1)) == 0b10)
        rig.access(0, .plic, offset: SpecPLIC.enableOffset(context: 2, word: 1), store: 0b10)
        #expect(rig.realPLIC.enable[2][33] && !rig.realPLIC.enable[0][33])
        #expect(rig.realTraps == [0, 1] && rig.harts[1].mipDevices.contains(.meip))
        #expect(rig.access(1, .plic, offset: SpecPLIC.enableOffset(context: 2, word: 1)) == 0b10)
        #expect(rig.access(0, .plic, offset: SpecPLIC.pendingOffset(word: 1)) == 0b10)
    }

    /// The S contexts belong to the payload: their enables, threshold and
    /// claim/complete pass through to the real PLIC untouched.
    @Test func plicSContextPassesThrough() {
        var fabric = InterruptFabric(harts: 2, plicSources: 40)
        var actions = PhysicalActions()
        for offset in [SpecPLIC.enableOffset(context: 3, word: 0), SpecPLIC.thresholdOffset(context: 1),
                       SpecPLIC.claimOffset(context: 3)] {
            #expect(fabric.plicAccess(hart: 0, offset: offset, width: 4, isStore: true, value: 6,
                                      actions: &actions) == .passthrough(orBits: 0))
            #expect(fabric.plicAccess(hart: 1, offset: offset, width: 4, isStore: false, value: 0,
                                      actions: &actions) == .passthrough(orBits: 0))
        }
        #expect(actions == PhysicalActions())
        #expect(fabric.plic.enables(hart: 1, word: 0) == 0)

        var rig = VirtualizationRig(harts: 2)
        rig.access(0, .plic, offset: SpecPLIC.enableOffset(context: 3, word: 0), store: 0x24)
        rig.access(1, .plic, offset: SpecPLIC.thresholdOffset(context: 1), store: 7)
        #expect(rig.realPLIC.enable[3][2] && rig.realPLIC.enable[3][5] && rig.realPLIC.threshold[1] == 7)
        #expect(rig.access(1, .plic, offset: SpecPLIC.enableOffset(context: 3, word: 0)) == 0x24)
        #expect(rig.access(0, .plic, offset: SpecPLIC.thresholdOffset(context: 1)) == 7)
        #expect(rig.realPLIC.threshold[0] == 0 && rig.fabric.plic.threshold(hart: 0) == 0)
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
