#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// Loads, stores, AMOs and LR/SC that the PMP turned away from the real
/// CLINT, PLIC and test device, performed as the host machine performs them
/// (``HostDeviceAccess``): on the virtual CLINT, and on the real PLIC through
/// the firmware's view of it (``VirtualPLIC``).
extension HartContext {
    /// Performs the firmware's memory instruction `decoded` at `pc`, which
    /// raised a load (`isStore == false`) or store/AMO access fault. Returns
    /// the pc to continue at (past the instruction, or the firmware's trap
    /// vector when the host raises a fault), or `nil` when no device answers
    /// there (the caller then injects the original access fault).
    mutating func emulateFirmwareDeviceAccess(_ decoded: DecodedInstruction, isStore: Bool, pc: UInt64,
                                              registers: FrameRegisters) -> UInt64? {
        guard let access = DeviceInstruction(decoded.instruction, registers: registers),
              access.isStore == isStore else { return nil }
        let platform = machinePointer.pointee.platform
        let address = access.address
        let width = UInt64(access.width)
        let outcome: DeviceAccessOutcome
        if platform.clint.contains(address, width: width) {
            outcome = performOnCLINT(access, offset: address - platform.clint.base)
            if _slowPath(trace.contains(.device)) {
                traceDevice(pc: pc, "clint", offset: address - platform.clint.base, access, outcome)
            }
        } else if platform.plic.contains(address, width: width) {
            outcome = performOnPLIC(access, offset: address - platform.plic.base)
            if _slowPath(trace.contains(.device)) {
                traceDevice(pc: pc, "plic", offset: address - platform.plic.base, access, outcome)
            }
        } else if platform.aia.aplicMachine.size > 0, platform.aia.aplicMachine.contains(address, width: width) {
            outcome = performOnAPLIC(access, offset: address - platform.aia.aplicMachine.base)
            if _slowPath(trace.contains(.device)) {
                traceDevice(pc: pc, "aplic", offset: address - platform.aia.aplicMachine.base, access, outcome)
            }
        } else if platform.testDevice.size > 0, platform.testDevice.contains(address, width: width) {
            return performOnTestDevice(access, address: address, next: pc &+ decoded.length, registers: registers)
        } else {
            return nil
        }
        return complete(access, outcome, address: address, next: pc &+ decoded.length, pc: pc, registers: registers)
    }

    /// Writes an access's result to its destination register, or injects the
    /// fault the host raised (`mtval` = `faultAddress`; `mtval2` when given,
    /// else the real trap's: ``injectException(code:value:pc:mtval2:)``).
    mutating func complete(_ access: DeviceInstruction, _ outcome: DeviceAccessOutcome, address faultAddress: UInt64,
                           next: UInt64, pc: UInt64, registers: FrameRegisters, mtval2: UInt64? = nil) -> UInt64 {
        statistics.deviceEmulations &+= 1
        refreshDeviceLines()
        switch outcome {
        case .completed(let value):
            if case .store = access.operation { return next }
            var regs = registers
            regs.set(access.rd, value)
            return next
        case .exception(let exception):
            return injectException(code: exception.rawValue, value: faultAddress, pc: pc, mtval2: mtval2)
        }
    }

    /// One guest instruction on the virtual CLINT, then its physical
    /// consequences (doorbells, the real comparator).
    mutating func performOnCLINT(_ access: DeviceInstruction, offset: UInt64) -> DeviceAccessOutcome {
        let me = index
        let time = csr_read_time()
        var actions = PhysicalActions()
        var reservation = deviceReservation
        let outcome = withMachine { m in
            m.fabric.clintAccess(hart: me, operation: access.operation, offset: offset, value: access.value,
                                 time: time, reservation: &reservation, actions: &actions)
        }
        deviceReservation = reservation
        perform(actions)
        return outcome
    }

    /// One guest instruction on the real PLIC, under the machine lock (the
    /// PLIC's registers are shared by every hart, and an `enable` store is
    /// followed by a re-evaluation store that must not interleave).
    mutating func performOnPLIC(_ access: DeviceInstruction, offset: UInt64) -> DeviceAccessOutcome {
        var reservation = deviceReservation
        let outcome = withMachine { m in
            var port = m.plicRegisters
            return HostDeviceAccess.perform(access.operation, offset: offset, value: access.value,
                                            reservation: &reservation, on: &port)
        }
        deviceReservation = reservation
        return outcome
    }

    /// One guest instruction on the APLIC M domain, under the machine lock
    /// (the domain is shared by every hart, and so are the virtual MSI
    /// address registers).
    mutating func performOnAPLIC(_ access: DeviceInstruction, offset: UInt64) -> DeviceAccessOutcome {
        var reservation = deviceReservation
        let outcome: (DeviceAccessOutcome, Bool) = withMachine { m in
            var port = m.aplicRegisters
            let outcome = HostDeviceAccess.perform(access.operation, offset: offset, value: access.value,
                                                   reservation: &reservation, on: &port)
            m.aplic = port.view
            return (outcome, port.refusedConfiguration)
        }
        deviceReservation = reservation
        if _slowPath(outcome.1) {
            reportOnce(.msiAddress, "APLIC MSI address configuration that could reach the monitor's memory or walled devices: kept virtual, the real MSI addresses unchanged", value: offset)
        }
        return outcome.0
    }

    /// A payload access to an M-level IMSIC page that the firmware's PMP
    /// grants it: performed on the real page (its stores only set pending
    /// identities, which reach the firmware's virtual file through the
    /// monitor's inbox; loads read 0).
    mutating func performOnMachineFiles(_ access: DeviceInstruction, address: UInt64) -> DeviceAccessOutcome {
        var reservation = deviceReservation
        var port = IMSICFilePage(bus: PhysicalBus(), base: address & ~(VirtualIMSICFile.pageSize - 1))
        let outcome = HostDeviceAccess.perform(access.operation, offset: address & (VirtualIMSICFile.pageSize - 1), value: access.value,
                                               reservation: &reservation, on: &port)
        deviceReservation = reservation
        return outcome
    }

    /// The test device (`sifive_test`, 16- and 32-bit accesses): a store is a
    /// power-off or reset request, so the summary is printed first.
    mutating func performOnTestDevice(_ access: DeviceInstruction, address: UInt64, next: UInt64,
                                      registers: FrameRegisters) -> UInt64? {
        var regs = registers
        switch access.operation {
        case .store(let width) where (width == 2 || width == 4) && address & UInt64(width - 1) == 0:
            statistics.deviceEmulations &+= 1
            HartContext.printSummary()
            if width == 2 {
                mmio_write16(UInt(address), UInt16(truncatingIfNeeded: access.value))
            } else {
                mmio_write32(UInt(address), UInt32(truncatingIfNeeded: access.value))
            }
        case .load(let width, let signExtends) where (width == 2 || width == 4) && address & UInt64(width - 1) == 0:
            statistics.deviceEmulations &+= 1
            let v = width == 2 ? UInt64(mmio_read16(UInt(address))) : UInt64(mmio_read32(UInt(address)))
            regs.set(access.rd, HostDeviceAccess.extend(v, width: width, signExtends: signExtends))
        default:
            return nil
        }
        return next
    }

    /// The real-CLINT half of ``PhysicalActions``.
    mutating func perform(_ actions: PhysicalActions) {
        if actions.timerHart >= 0 {
            var clint = Clint(bus: PhysicalBus(), base: clintBase)
            clint.setMTimeCmp(hart: actions.timerHart, actions.deadline)
        }
        if actions.mtimeWriteIgnored {
            reportOnce(.mtimeWrite, "mtime write ignored: the real clock is shared with the payload", value: 0)
        }
        ringDoorbells(actions.doorbells, except: index, clintBase: clintBase)
    }

    /// Sign- or zero-extends a loaded value to 64 bits.
    static func extend(_ value: UInt64, _ access: MemoryAccess) -> UInt64 {
        HostDeviceAccess.extend(value, width: Int(access.width), signExtends: access.signExtends)
    }

    /// Re-reads this hart's M-level lines into `mip`: MSIP and MTIP from the
    /// virtual CLINT; MEIP from the real PLIC's M context or APLIC IDC (the
    /// real `mip.MEIP`: they hold the firmware's own state), or with an
    /// IMSIC from the firmware's virtual file, after moving in what arrived
    /// in the real one.
    mutating func refreshDeviceLines() {
        let me = index
        let time = csr_read_time()
        let (lines, deadline) = withMachine { $0.fabric.linesAndDeadline(hart: me, time: time) }
        var bits = lines
        if drainsMachineFile {
            if csr_read_mip() & InterruptBits.meip.rawValue != 0 { drainMachineFile() }
            if hart.mipDevices.contains(.meip) { bits.insert(.meip) }
        } else if csr_read_mip() & InterruptBits.meip.rawValue != 0 {
            bits.insert(.meip)
        }
        hart.mipDevices = bits
        timerDeadline = deadline
    }

    /// Moves every identity pending in this hart's real M-level IMSIC file
    /// (the monitor's inbox: ``configureMachineFile(identities:)``) into the
    /// firmware's virtual file, claiming each with `csrrw mtopei`, and
    /// refreshes the virtual MEIP from the virtual file. The real line falls.
    mutating func drainMachineFile() {
        while true {
            let top = csr_swap_mtopei(0)
            if top == 0 { break }
            hart.aia.imsic.setPending(identity: top >> 16)
        }
        hart.refreshIMSICLine()
    }

    /// The lines that move without a device access of this hart: MTIP with
    /// time, compared against this hart's copy of its deadline (which every
    /// change of `mtimecmp[me]` refreshes, locally or through the doorbell),
    /// and MEIP with the real PLIC (a source rising or falling, another
    /// hart's or the payload's claim). No lock on the trap path.
    @inline(__always)
    mutating func refreshLiveLines() {
        var lines = hart.mipDevices
        if csr_read_time() >= timerDeadline { lines.insert(.mtip) } else { lines.remove(.mtip) }
        // With an IMSIC, MEIP is the virtual file's line (kept current by
        // every change of the file): a real MEIP only means mail to move in.
        if csr_read_mip() & InterruptBits.meip.rawValue != 0 {
            if _slowPath(drainsMachineFile) {
                hart.mipDevices = lines
                drainMachineFile()
                return
            }
            lines.insert(.meip)
        } else if !drainsMachineFile {
            lines.remove(.meip)
        }
        hart.mipDevices = lines
    }

    /// Handles a real interrupt: the doorbell (MSI), the timer (MTI) or the
    /// PLIC's M context (MEI). Afterwards the virtual lines are up to date;
    /// the recorded MTIP and MEIP mask their real enables
    /// (``VirtualHart/physicalInterruptEnables(for:)``), so nothing storms.
    mutating func acknowledgePhysicalInterrupts(pending: InterruptBits) {
        if pending.contains(.msip) {
            // Clear the doorbell before reading the state it announces.
            mmio_write32(UInt(clintBase + 4 * UInt64(index)), 0)
            cpu_fence()
            serveMailbox()
        }
        refreshDeviceLines()
    }
}
#endif
