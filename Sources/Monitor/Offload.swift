#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// The offload fast path: the payload's hottest SBI calls served by the
/// monitor without entering the firmware, leaving the firmware's virtual
/// state as its own handler would have left it (OpenSBI 1.1's
/// `sbi_timer_event_start`, `sbi_ipi_send_smode`, `sbi_remote_fence_*`).
/// The ``OffloadPolicy`` (Policy.swift); switched off with the boot option
/// ``BootOptions/noOffload``.
extension HartContext {
    /// Serves the payload's `ecall` if it is an offloaded call; returns the
    /// pc to resume the payload at, or `nil` to hand the call to the firmware.
    mutating func serveOffloadedCall(pc: UInt64, registers: FrameRegisters) -> UInt64? {
        var regs = registers
        let hartCount = machinePointer.pointee.fabric.clint.harts
        guard let call = SBI.decode(extension: regs.get(17), function: regs.get(16),
                                    arguments: regs.get(10), regs.get(11), hartCount: hartCount) else { return nil }
        switch call {
        case .setTimer(let deadline):
            setTimer(deadline)
        case .sendIPI(let harts):
            sendSupervisorSoftwareInterrupts(harts)
        case .remoteFence(let harts, _):
            remoteFence(harts)
        case .consolePutchar(let byte):
            consolePutchar(byte)
        }
        statistics.offloadedCalls &+= 1
        regs.set(10, SBI.success)
        if !call.isLegacy { regs.set(11, 0) }
        return pc &+ 4
    }

    /// The legacy `sbi_console_putchar`, as OpenSBI 1.1's `sbi_putc` writes
    /// it to its 8250 console (the device tree's UART): a carriage return
    /// before a newline, each byte once the transmit holding register is
    /// empty. With `console=hvc0` every byte of the payload's console is one
    /// such call; served here, a byte costs no world switch.
    mutating func consolePutchar(_ byte: UInt8) {
        // MonitorConsole puts the carriage return before a newline itself.
        var console = MonitorConsole(base: machinePointer.pointee.platform.uart.base)
        console.put(byte)
    }

    /// `sbi_set_timer`: with Sstc, `stimecmp` (the payload's, installed);
    /// without, the firmware's `mtimecmp` and a cleared STIP. Both set the
    /// firmware's `mie.MTIE`, as OpenSBI does.
    mutating func setTimer(_ deadline: UInt64) {
        if hart.configuration.hasSstc {
            csr_write_stimecmp(deadline)
        } else {
            let me = index
            _ = withMachine { m in
                m.fabric.clint.write(offset: VirtualCLINT.mtimecmpOffset + 8 * UInt64(me), width: 8, value: deadline)
            }
            var clint = Clint(bus: PhysicalBus(), base: clintBase)
            clint.setMTimeCmp(hart: me, deadline)
            hart.mipSoftware.remove(.stip)
            csr_clear_mip(InterruptBits.stip.rawValue)
            refreshDeviceLines()
            payloadOwnsTimer = true
        }
        hart.mie.insert(.mtip)
    }

    /// The machine timer expired for a deadline the payload's offloaded
    /// set_timer programmed, and the firmware has not run since: what
    /// OpenSBI's `sbi_timer_process` does on that MTI (clear `mie.MTIE`, set
    /// `mip.STIP`), done here instead of a round trip through the firmware.
    /// Returns whether it did.
    mutating func completeOffloadedTimerEvent() -> Bool {
        guard payloadOwnsTimer, installed == .payload, hart.mipDevices.contains(.mtip),
              hart.mie.contains(.mtip) else { return false }
        hart.mie.remove(.mtip)
        hart.mipSoftware.insert(.stip)
        csr_set_mip(InterruptBits.stip.rawValue)
        statistics.offloadedTimerEvents &+= 1
        return true
    }

    /// `sbi_send_ipi`: SSIP on every target, through its mailbox.
    mutating func sendSupervisorSoftwareInterrupts(_ harts: UInt64) {
        var rest = harts
        while rest != 0 {
            let target = rest.trailingZeroBitCount
            rest &= rest - 1
            if target == index {
                raiseSupervisorSoftwareInterrupt()
            } else {
                firmvisor_atomic_or32(firmvisor_mailbox(UInt64(target)), FIRMVISOR_REQUEST_SSIP)
                ringDoorbell(hart: target, clintBase: clintBase)
            }
        }
    }

    mutating func raiseSupervisorSoftwareInterrupt() {
        hart.mipSoftware.insert(.ssip)
        if installed == .payload { csr_set_mip(InterruptBits.ssip.rawValue) }
    }

    /// Remote fences with a completion barrier: returns only after every
    /// target executed `fence.i` and `sfence.vma` after the request.
    mutating func remoteFence(_ harts: UInt64) {
        // One ticket per target hart (64 at most), addressed in place.
        var storage = InlineArray<64, UInt64>(repeating: 0)
        withUnsafeMutablePointer(to: &storage) { pointer in
            let tickets = UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: UInt64.self)
            var rest = harts
            while rest != 0 {
                let target = rest.trailingZeroBitCount
                rest &= rest - 1
                if target == index { continue }
                tickets[target] = firmvisor_atomic_fetch_add64(firmvisor_fence_requested(UInt64(target)), 1) &+ 1
                ringDoorbell(hart: target, clintBase: clintBase)
            }
            if harts & (1 << UInt64(index)) != 0 {
                cpu_fence_i()
                cpu_sfence_vma_all()
            }
            rest = harts & ~(1 << UInt64(index))
            // A hart that halted (a firmware's halt loop, a failed boot) can
            // no longer answer: after a second of guest time, give up and say so.
            let start = csr_read_time()
            let patience = max(machinePointer.pointee.platform.timebaseFrequency, 1)
            while rest != 0 {
                let target = rest.trailingZeroBitCount
                // Serve requests aimed at this hart while waiting: two harts
                // fencing each other must not wait for each other forever.
                serveMailbox()
                if firmvisor_atomic_load64(firmvisor_fence_completed(UInt64(target))) >= tickets[target] {
                    rest &= rest - 1
                } else if csr_read_time() &- start > patience {
                    reportOnce(.fenceTimeout, "remote fence: a hart did not answer within 1 s; not waiting for it",
                               value: UInt64(target))
                    rest &= rest - 1
                }
            }
        }
    }

    /// Carries out what other harts' offloaded calls asked of this one.
    mutating func serveMailbox() {
        let me = UInt64(index)
        let requested = firmvisor_atomic_load64(firmvisor_fence_requested(me))
        if firmvisor_atomic_load64(firmvisor_fence_completed(me)) < requested {
            cpu_fence_i()
            cpu_sfence_vma_all()
            firmvisor_atomic_store64(firmvisor_fence_completed(me), requested)
        }
        if firmvisor_atomic_swap32(firmvisor_mailbox(me), 0) & FIRMVISOR_REQUEST_SSIP != 0 {
            raiseSupervisorSoftwareInterrupt()
        }
    }
}

/// Options the monitor reads at boot from the ``BootDescriptor`` that
/// `scripts/run` stages with the firmware, zero by default.
struct BootOptions {
    /// Bit 0: serve no SBI call in the monitor (`--no-offload`, `--policy`
    /// without `offload`).
    static let noOffload: UInt32 = 1
    /// Bit 1: the sandbox policy (`--policy ...,sandbox`).
    static let sandbox: UInt32 = 2
    /// Bits 8…12: ``TraceKinds`` (`--trace`).
    static let traceKinds: UInt32 = 0x1F00
    /// Trace lines per second unless `--trace-rate` says otherwise.
    static let defaultTraceRate: UInt64 = 1000
}
#endif
