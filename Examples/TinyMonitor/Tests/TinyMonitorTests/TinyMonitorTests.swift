import Testing
import TinyMonitor
import VirtCore

/// The demo run, as the monitor traces it.
@Suite struct TinyMonitorTests {
    @Test func theDemoRunsToPowerOffWithTheExpectedTrace() {
        var monitor = TinyMonitor()
        let events = monitor.run()
        let program = monitor.program
        #expect(monitor.powerOffCode == MemoryMap.powerOffPass)
        // The firmware's view: its CSRs as it left them, and the payload's
        // ecall reported as cause 9 (a0 = mcause in the handler).
        #expect(monitor.hart.mscratch == 0x5A)
        #expect(monitor.registers[Int(Reg.a0)] == Exception.environmentCallFromS.rawValue)
        #expect(monitor.hart.mode == .machine)
        // The skeleton of the trace, without the emulated instructions.
        let skeleton = events.filter { if case .emulated = $0 { false } else { true } }
        let deadline = UInt64(Program.deadline)
        let vectors = program.address(of: "vectors")
        #expect(skeleton.map(\.kind) == [
            "device", "timer", "device", "doorbell", "device", "device", "waited", "injected",
            "device", "timer", "switch-payload", "trap", "switch-firmware", "device", "power-off",
        ])
        #expect(skeleton.contains(.timerProgrammed(hart: 0, deadline: deadline)))
        #expect(skeleton.contains(.timerProgrammed(hart: 0, deadline: .max)))
        #expect(skeleton.contains(.worldSwitch(to: .payload, pc: MemoryMap.payload)))
        #expect(skeleton.contains(.exception(.environmentCallFromS, epc: program.address(of: "payload_ecall"),
                                             vector: vectors)))
        // Every privileged instruction of the run went to VirtualHart.execute, in order.
        let emulated = events.compactMap { event -> String? in
            if case .emulated(_, let bits) = event { disassemble(bits) } else { nil }
        }
        #expect(emulated == [
            "csrrw a0, mscratch, a1", "csrrw zero, mtvec, t0", "csrrs zero, mie, t2", "csrrsi zero, mstatus, 8",
            "wfi", "mret",                                                   // the timer handler's return
            "csrrw zero, mepc, t0", "csrrc zero, mstatus, t1", "csrrs zero, mstatus, t1", "mret",
            "ecall",                                                         // from the S-mode payload
            "csrrs a0, mcause, zero",
        ])
    }

    @Test func theTimerInterruptIsInjectedAfterTheWFI() throws {
        var monitor = TinyMonitor()
        let events = monitor.run()
        let program = monitor.program
        let injections = events.compactMap { event -> (Interrupt, UInt64, UInt64)? in
            if case .injected(let i, let epc, let vector) = event { (i, epc, vector) } else { nil }
        }
        #expect(injections.count == 1)
        let (interrupt, epc, vector) = try #require(injections.first)
        #expect(interrupt == .machineTimer)
        #expect(epc == program.address(of: "after_wait"))
        #expect(vector == program.address(of: "timer"))
        // The wfi waited on the real hart until the deadline, and the
        // injection happened on the way back to the firmware.
        let waits = events.compactMap { event -> (UInt64, UInt64, UInt64)? in
            if case .waited(let pc, let from, let until) = event { (pc, from, until) } else { nil }
        }
        #expect(waits.count == 1)
        let (wfi, from, until) = try #require(waits.first)
        #expect(wfi == program.address(of: "wait"))
        #expect(from < UInt64(Program.deadline) && until == UInt64(Program.deadline))
    }

    @Test(arguments: [true, false])
    func noTrapStormWhileTheFirmwareHandlesItsTimer(waitWithWFI: Bool) {
        var monitor = TinyMonitor(program: .demo(waitWithWFI: waitWithWFI))
        let events = monitor.run()
        #expect(monitor.powerOffCode == MemoryMap.powerOffPass)
        // The real MTI stays pending until the handler moves mtimecmp, but
        // the monitor masked the real MTIE while the line was recorded: at
        // most one real interrupt (none when wfi woke on it).
        let physical = events.filter { if case .physicalInterrupt = $0 { true } else { false } }
        #expect(physical == (waitWithWFI ? [] : [.physicalInterrupt(.machineTimer, time: UInt64(Program.deadline))]))
        #expect(monitor.maskedSteps > 0)
        #expect(events.filter { if case .injected = $0 { true } else { false } }.count == 1)
        #expect(monitor.installedEnables.contains(.mtip))
    }

    @Test func aMonitorThatInstallsTheVirtualEnablesStorms() {
        var monitor = TinyMonitor(program: .demo(waitWithWFI: false))
        monitor.installsVirtualEnables = true
        let events = monitor.run(limit: 1_000)
        // The firmware gets its interrupt once, then the real MTI, still
        // pending and enabled, traps again before each instruction of the
        // handler: the firmware never moves mtimecmp and never powers off.
        let physical = events.filter { if case .physicalInterrupt = $0 { true } else { false } }
        #expect(physical.count > 500)
        #expect(events.filter { if case .injected = $0 { true } else { false } }.count == 1)
        #expect(monitor.powerOffCode == nil)
    }

    @Test func deviceStoresReachTheBus() {
        var monitor = TinyMonitor()
        monitor.run()
        let stores = monitor.bus.log.filter(\.isStore)
        let clint = MemoryMap.clint, plic = MemoryMap.plic
        #expect(stores == [
            BusAccess(isStore: true, address: clint + 0x4000, width: 8, value: UInt64(Program.deadline)),
            BusAccess(isStore: true, address: clint + 4, width: 4, value: 1),          // hart 1's doorbell
            BusAccess(isStore: true, address: plic + 4, width: 4, value: 1),           // priority[1]
            BusAccess(isStore: true, address: plic + 0x2000, width: 4, value: 2),      // M-context enable
            BusAccess(isStore: true, address: plic, width: 4, value: 0),               // re-evaluate
            BusAccess(isStore: true, address: clint + 0x4000, width: 8, value: .max),
            BusAccess(isStore: true, address: MemoryMap.testDevice, width: 4, value: UInt64(MemoryMap.powerOffPass)),
        ])
    }

    @Test func theHandEncodedInstructionsDecodeAsIntended() {
        #expect(Decoder.decode(Encode.csrrw(Reg.a0, CSR.mscratch.rawValue, Reg.a1)).instruction
                == .csr(CSRInstruction(operation: .readWrite, rd: Reg.a0, source: Reg.a1, isImmediate: false,
                                       csr: .mscratch)))
        #expect(Decoder.decode(Encode.csrrsi(Reg.zero, CSR.mstatus.rawValue, 8)).instruction
                == .csr(CSRInstruction(operation: .readSet, rd: 0, source: 8, isImmediate: true, csr: .mstatus)))
        #expect(Decoder.decode(Encode.sd(Reg.t1, 8, Reg.t0)).instruction
                == .store(MemoryAccess(width: 8, signExtends: false, register: Reg.t1, base: Reg.t0, offset: 8)))
        #expect(Decoder.decode(Encode.mret).instruction == .mret)
        #expect(Decoder.decode(Encode.wfi).instruction == .wfi)
        #expect(Decoder.decode(Encode.ecall).instruction == .ecall)
    }
}

extension Event {
    /// A coarse name of the event, for comparing traces.
    var kind: String {
        switch self {
        case .emulated: "emulated"
        case .device: "device"
        case .timerProgrammed: "timer"
        case .doorbell: "doorbell"
        case .waited: "waited"
        case .physicalInterrupt: "physical"
        case .injected: "injected"
        case .exception: "trap"
        case .worldSwitch(let world, _): world == .payload ? "switch-payload" : "switch-firmware"
        case .powerOff: "power-off"
        case .stuck: "stuck"
        }
    }
}
