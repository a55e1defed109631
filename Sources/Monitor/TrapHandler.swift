#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// The trap loop, one trap at a time: save (done by trap.S), dispatch by who
/// trapped, emulate, inject what became pending, switch worlds if the
/// virtual mode changed, restore (trap.S again).
@_cdecl("firmvisor_trap")
func firmvisorTrap(_ frame: UnsafeMutablePointer<firmvisor_frame>) {
    let mcause = csr_read_mcause()
    // The frame's first scratch word caches this hart's context (set at boot).
    let context = UnsafeMutablePointer<HartContext>(bitPattern: UInt(frame.pointee.scratch.0))!
    // Fast path: the firmware's trap entry/exit CSR accesses (mscratch,
    // mepc, mcause, mtval, ...) change nothing that could make an interrupt
    // takeable or switch worlds, so the firmware resumes at once; the real
    // mie and mstatus already hold what the return needs. (A trap from the
    // monitor itself has MPP = M and never comes with `installed` here being
    // the firmware's U-mode illegal instruction, but the slow path checks.)
    let mstatus = csr_read_mstatus()
    if mcause == Exception.illegalInstruction.rawValue, context.pointee.plainCSRFastPath,
       (mstatus >> 11) & 3 == 0 {
        var registers = FrameRegisters(frame: frame)
        // The instruction comes from memory, not from mtval: QEMU 7.2 leaves
        // a stale mtval for some illegal instructions (hlv/hsv in U-mode).
        let bits = HartContext.fetchInstruction(at: csr_read_mepc())
        if bits >> 20 == CSR.mstatus.rawValue {
            // FS/VS may have turned dirty natively: a mstatus read must see it.
            context.pointee.hart.absorbNativeStatus(mstatus, installed: .firmware)
        }
        if context.pointee.hart.executePlainCSR(bits, registers: &registers) {
            context.pointee.statistics.firmwareExceptions[2] &+= 1
            csr_write_mepc(csr_read_mepc() &+ 4)
            return
        }
    }
    handleTrapSlowly(frame, context: context, mcause: mcause, mstatus: mstatus)
}

/// Every trap but the fast path's.
@inline(never)
func handleTrapSlowly(_ frame: UnsafeMutablePointer<firmvisor_frame>, context: UnsafeMutablePointer<HartContext>,
                      mcause: UInt64, mstatus: UInt64) {
    let mepc = csr_read_mepc()
    if (mstatus >> 11) & 3 == 3 {
        monitorFault(frame: frame, mcause: mcause, mepc: mepc, mtval: csr_read_mtval())
    }
    context.pointee.handleTrap(registers: FrameRegisters(frame: frame), mcause: mcause, mepc: mepc,
                               mstatus: mstatus)
    // trap.S serves the payload's offloaded set_timer with Sstc itself while
    // this holds (every change of the firmware's MTIE comes through here).
    frame.pointee.timer = context.pointee.sstcTimerFastPath && context.pointee.hart.mie.contains(.mtip) ? 1 : 0
}

extension HartContext {
    mutating func handleTrap(registers: FrameRegisters, mcause: UInt64, mepc: UInt64, mstatus: UInt64) {
        entryStatus = mstatus
        absorbNativeState(physicalStatus: mstatus)
        // MTIP follows mtime and MEIP the real PLIC between traps: a mip read
        // must see a deadline that passed or a source that rose or was
        // claimed since the last trap.
        refreshLiveLines()
        var pc = mepc
        let code = mcause & 0xFF
        if mcause >> 63 == 1 {
            statistics.physicalInterrupts[Int(code & 15)] &+= 1
            if _slowPath(trace.contains(.interrupt)) { traceInterrupt(pc: mepc, cause: code, injected: false) }
            acknowledgePhysicalInterrupts(pending: InterruptBits(rawValue: csr_read_mip()))
            policyPhysicalInterrupt()
        } else if installed == .firmware {
            statistics.firmwareExceptions[Int(min(code, 23))] &+= 1
            pc = handleFirmwareException(code: code, pc: mepc, value: csr_read_mtval(), registers: registers)
        } else {
            // A payload exception the firmware did not delegate: it is the
            // firmware's to handle, as on the real hart.
            statistics.payloadExceptions[Int(min(code, 23))] &+= 1
            let value = csr_read_mtval()
            if code == Exception.environmentCallFromS.rawValue,
               let next = policyPayloadCall(pc: mepc, registers: registers) {
                if _slowPath(trace.contains(.sbi)) { traceSBI(pc: mepc, registers: registers, offloaded: true) }
                pc = next
            } else if code == Exception.environmentCallFromS.rawValue, _slowPath(trace.contains(.sbi)) {
                traceSBI(pc: mepc, registers: registers, offloaded: false)
                pc = injectException(code: code, value: value, pc: mepc)
            } else if code == Exception.loadAccessFault.rawValue || code == Exception.storeAccessFault.rawValue
                        || (hart.virtualized && Exception(rawValue: code)?.isGuestPageFault == true
                            && code != Exception.instructionGuestPageFault.rawValue),
               let next = emulatePayloadDeviceAccess(code: code, pc: mepc, address: value, registers: registers) {
                pc = next
            } else {
                pc = injectException(code: code, value: value, pc: mepc)
            }
        }
        resume(at: pc)
    }

    /// An exception raised by the firmware's own execution in U-mode.
    mutating func handleFirmwareException(code: UInt64, pc: UInt64, value: UInt64,
                                          registers: FrameRegisters) -> UInt64 {
        var env = RealHart()
        var regs = registers
        switch Exception(rawValue: code) {
        case .illegalInstruction?:
            // From memory, not from mtval (stale in QEMU 7.2 for hlv/hsv); the
            // injected trap still reports the instruction bits as mtval.
            let bits = HartContext.fetchInstruction(at: pc)
            if bits & 0x7F == 0x73, bits >> 20 == UInt32(CSR.tdata1.rawValue), hart.triggers.isImplemented {
                absorbTriggerHit()
            }
            let result = _slowPath(trace.contains(.csr))
                ? executeTracingCSR(bits, pc: pc, registers: &regs)
                : hart.execute(bits, pc: pc, registers: &regs, environment: &env)
            if bits & 0x7F == 0x73, (0x3A0...0x3EF).contains(bits >> 20), hart.mode == .machine {
                firmwarePMPChanged()
            }
            switch result {
            case .resume(let next):
                return next
            case .waitForInterrupt(let next):
                waitForInterrupt()
                return next
            case .fence(let fence, let next):
                HartContext.perform(fence)
                return next
            case .memoryAccess:
                // Loads and stores never raise illegal-instruction: the bits
                // do not describe what trapped. Report it as the hardware did.
                return hart.takeTrap(.exception(.illegalInstruction), value: value, pc: pc)
            }
        case .environmentCallFromU?:
            // The firmware believes it runs in M-mode: its ecall is cause 11.
            return hart.takeTrap(.exception(.environmentCallFromM), value: 0, pc: pc)
        case .loadAccessFault?, .storeAccessFault?:
            let bits = HartContext.fetchInstruction(at: pc)
            let decoded = Decoder.decode(bits)
            let isStore = code == Exception.storeAccessFault.rawValue
            if mprvInstalled {
                // A policy may refuse the firmware's accesses as the payload
                // (the sandbox: except while it handles a payload trap that
                // needs them): an access fault, as a PMP would raise.
                guard policiesPermitFirmwareMPRV() else {
                    return hart.takeException(code: code, value: value, pc: pc)
                }
                switch decoded.instruction {
                case .load(let access) where !isStore:
                    return performWithMPRV(access, isStore: false, address: value, pc: pc,
                                           length: decoded.length, registers: registers)
                case .store(let access) where isStore:
                    return performWithMPRV(access, isStore: true, address: value, pc: pc,
                                           length: decoded.length, registers: registers)
                default:
                    // Atomics and floating-point accesses under MPRV are not emulated.
                    reportOnce(.mprv, "firmware atomic or FP access under mstatus.MPRV: access fault injected",
                               value: pc)
                    return hart.takeException(code: code, value: value, pc: pc)
                }
            }
            if let next = emulateFirmwareDeviceAccess(decoded, isStore: isStore, pc: pc, registers: registers) {
                return next
            }
            return hart.takeException(code: code, value: value, pc: pc)
        default:
            // Anything else (breakpoints from `ebreak` or from a trigger the
            // firmware armed for M, misaligned or faulting fetches, accesses
            // to the monitor's memory) is what the hardware would have
            // raised in M-mode as well: the firmware gets it unchanged.
            return hart.takeException(code: code, value: value, pc: pc)
        }
    }

    /// Reads the instruction at `pc` (a firmware address it just executed
    /// from, so it is readable); a compressed instruction yields 16 bits.
    static func fetchInstruction(at pc: UInt64) -> UInt32 {
        let low = UInt32(mmio_read16(UInt(pc)))
        if low & 3 != 3 { return low }
        return low | UInt32(mmio_read16(UInt(pc &+ 2))) << 16
    }

    /// Executes an address-translation fence the firmware asked for.
    static func perform(_ fence: Fence) {
        switch fence {
        case .sfenceVMA(let address?, let asid?): cpu_sfence_vma(address, asid)
        case .sfenceVMA(let address?, nil): cpu_sfence_vma_address(address)
        case .sfenceVMA(nil, let asid?): cpu_sfence_vma_asid(asid)
        case .sfenceVMA(nil, nil): cpu_sfence_vma_all()
        case .hfenceVVMA: cpu_hfence_vvma_all()
        case .hfenceGVMA: cpu_hfence_gvma_all()
        }
    }

    /// The firmware executed `wfi` with nothing to wake it: sleep on the real
    /// hart with every enable that could make the virtual `wfi` complete,
    /// then take what arrived. Never a busy loop: each turn is a real `wfi`.
    mutating func waitForInterrupt() {
        statistics.waits &+= 1
        var env = RealHart()
        while true {
            installedEnables = hart.wakeUpEnables.rawValue
            csr_write_mie(installedEnables)
            cpu_wfi()
            let pending = InterruptBits(rawValue: csr_read_mip()).intersection(hart.wakeUpEnables)
            acknowledgePhysicalInterrupts(pending: pending)
            if hart.wfiMayComplete(environment: &env) { return }
        }
    }

    /// Injects what became pending, switches worlds if the virtual mode
    /// changed, and programs the real CSRs for the return.
    mutating func resume(at target: UInt64) {
        refreshLiveLines()
        let next = hart.prepareReturn(to: target)
        if let interrupt = next.injected {
            statistics.injectedInterrupts[Int(interrupt.rawValue & 15)] &+= 1
            if _slowPath(trace.contains(.interrupt)) { traceInterrupt(pc: target, cause: interrupt.rawValue, injected: true) }
        }
        let pc = next.pc
        let world = next.world
        if world != installed {
            statistics.worldSwitches &+= 1
            if _slowPath(trace.contains(.world)) { traceWorld(pc: pc, to: world) }
            if world == .firmware {
                installFirmwareWorld()
                policyEnteringFirmware(cause: hart.mcause)
            } else {
                installPayloadWorld()
                policyEnteringPayload(pc: pc)
            }
        }
        if world == .firmware { syncFirmwareMPRV() }
        // The real triggers follow the world and the firmware's trigger CSRs.
        installTriggers()
        // The real mie and mstatus usually already hold what the return
        // needs (a trap changes neither MPP nor FS/VS from U-mode): write
        // them only when they differ.
        let enables = hart.physicalInterruptEnables(for: world).rawValue
        if enables != installedEnables {
            csr_write_mie(enables)
            installedEnables = enables
        }
        csr_write_mepc(pc)
        let status = hart.physicalStatus(installed: installed)
        if status != entryStatus { csr_write_mstatus(status) }
    }
}

/// A trap taken by the monitor itself: its own invariant is broken.
func monitorFault(frame: UnsafeMutablePointer<firmvisor_frame>, mcause: UInt64, mepc: UInt64, mtval: UInt64) -> Never {
    var console = MonitorConsole(base: machinePointer.pointee.platform.uart.base)
    console.write("\n[firmvisor] monitor fault on hart ")
    console.write(decimal: frame.pointee.hartid)
    console.write(": mcause ")
    console.write(hex: mcause)
    console.write(" mepc ")
    console.write(hex: mepc)
    console.write(" mtval ")
    console.write(hex: mtval)
    console.write("\n")
    powerOff(failure: 2)
}

/// Ends the machine through the test device (QEMU exits with `code`).
func powerOff(failure code: UInt32) -> Never {
    let base = machinePointer.pointee.platform.testDevice.base
    if base != 0 { mmio_write32(UInt(base), 0x3333 | code << 16) }
    while true { cpu_wfi() }
}
#endif
