#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// The firmware's loads and stores that the PMP turned away from the real
/// CLINT, PLIC and test device, performed on the virtual devices.
extension HartContext {
    /// Emulates `access` at `address`. Returns false when no device answers
    /// (the monitor then injects the original access fault).
    mutating func emulateDeviceAccess(_ access: MemoryAccess, isStore: Bool, address: UInt64,
                                      registers: FrameRegisters) -> Bool {
        let width = Int(access.width)
        var regs = registers
        let value = isStore ? regs.get(access.register) : 0
        let me = index
        let time = csr_read_time()
        var actions = PhysicalActions()
        var powerOff = false
        let result: DeviceAccessResult = withMachine { m in
            let p = m.platform
            if p.clint.contains(address, width: UInt64(width)) {
                return m.fabric.clintAccess(hart: me, offset: address - p.clint.base, width: width,
                                            isStore: isStore, value: value, time: time, actions: &actions)
            }
            if p.plic.contains(address, width: UInt64(width)) {
                let r = m.fabric.plicAccess(hart: me, offset: address - p.plic.base, width: width,
                                            isStore: isStore, value: value, actions: &actions)
                HartContext.perform(actions, machine: &m)
                return r
            }
            if p.testDevice.size > 0 && p.testDevice.contains(address, width: UInt64(width))
                && (width == 2 || width == 4) && address & UInt64(width - 1) == 0 {
                // A store is a power-off or reset request: the summary goes first.
                powerOff = isStore
                return .passthrough(orBits: 0)
            }
            return .fault
        }
        if actions.timerHart >= 0 {
            var clint = Clint(bus: PhysicalBus(), base: clintBase)
            clint.setMTimeCmp(hart: actions.timerHart, actions.deadline)
        }
        switch result {
        case .fault:
            return false
        case .loaded(let v):
            regs.set(access.register, HartContext.extend(v, access))
        case .stored:
            break
        case .passthrough(let bits):
            if powerOff { HartContext.printSummary() }
            if isStore {
                if width == 2 {
                    mmio_write16(UInt(address), UInt16(truncatingIfNeeded: value))
                } else {
                    mmio_write32(UInt(address), UInt32(truncatingIfNeeded: value))
                }
            } else {
                let v = width == 2 ? UInt32(mmio_read16(UInt(address))) : mmio_read32(UInt(address))
                regs.set(access.register, HartContext.extend(UInt64(v | bits), access))
            }
        }
        statistics.deviceEmulations &+= 1
        if actions.mtimeWriteIgnored {
            reportOnce(.mtimeWrite, "mtime write ignored: the real clock is shared with the payload", value: value)
        }
        ringDoorbells(actions.doorbells, except: me, clintBase: clintBase)
        refreshDeviceLines()
        return true
    }

    /// The real-PLIC half of ``PhysicalActions`` (under the machine lock).
    static func perform(_ actions: PhysicalActions, machine m: inout Machine) {
        var plic = m.realPlic
        if actions.completeSource != 0 {
            plic.complete(context: Plic<PhysicalBus>.machineContext(hart: actions.completeHart),
                          source: UInt32(actions.completeSource))
        }
        if actions.mirrorEnablesHart >= 0 {
            let hart = actions.mirrorEnablesHart
            for word in 0..<m.fabric.plic.words {
                plic.setEnableWord(context: Plic<PhysicalBus>.machineContext(hart: hart), word: word,
                                   m.fabric.plic.enables(hart: hart, word: word))
            }
        }
    }

    /// Sign- or zero-extends a loaded value to 64 bits.
    static func extend(_ value: UInt64, _ access: MemoryAccess) -> UInt64 {
        switch (access.width, access.signExtends) {
        case (1, true): return UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: value)))
        case (2, true): return UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: value)))
        case (4, true): return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: value)))
        case (1, false): return value & 0xFF
        case (2, false): return value & 0xFFFF
        case (4, false): return value & 0xFFFF_FFFF
        default: return value
        }
    }

    /// Re-reads this hart's virtual device lines into `mip` (MSIP, MTIP, MEIP).
    mutating func refreshDeviceLines() {
        let me = index
        let time = csr_read_time()
        let (lines, deadline) = withMachine { ($0.fabric.lines(hart: me, time: time), $0.fabric.clint.mtimecmp(hart: me)) }
        hart.mipDevices = lines
        timerDeadline = deadline
    }

    /// MTIP alone, which moves with time rather than with device accesses:
    /// compared against this hart's copy of its deadline, which every change
    /// of `mtimecmp[me]` refreshes (locally, or through the doorbell when
    /// another hart wrote it), so the trap path takes no lock.
    mutating func refreshTimerLine() {
        var lines = hart.mipDevices
        if csr_read_time() >= timerDeadline { lines.insert(.mtip) } else { lines.remove(.mtip) }
        hart.mipDevices = lines
    }

    /// Handles a real interrupt: the doorbell (MSI), the timer (MTI) or the
    /// PLIC's M context (MEI). Afterwards the virtual lines are up to date and
    /// the real source is silent.
    mutating func acknowledgePhysicalInterrupts(pending: InterruptBits) {
        let me = index
        if pending.contains(.msip) {
            // Clear the doorbell before reading the state it announces.
            mmio_write32(UInt(clintBase + 4 * UInt64(me)), 0)
            cpu_fence()
            serveMailbox()
        }
        if pending.contains(.meip) {
            let doorbells: UInt32 = withMachine { m in
                var plic = m.realPlic
                let context = Plic<PhysicalBus>.machineContext(hart: me)
                var changed: UInt32 = 0
                // Claim everything the real context offers: each claim
                // silences its source until the firmware completes it.
                for _ in 0..<VirtualPLIC.maximumSources {
                    let source = plic.claim(context: context)
                    if source == 0 { break }
                    if Int(source) <= m.fabric.plic.sources {
                        changed |= m.fabric.claimed(source: Int(source), byHart: me)
                    } else {
                        plic.complete(context: context, source: source)
                    }
                }
                return changed
            }
            ringDoorbells(doorbells, except: me, clintBase: clintBase)
        }
        refreshDeviceLines()
    }
}
#endif
