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
        let value = isStore ? registers.get(access.register) : 0
        let me = index
        var loaded: UInt64 = 0
        var handled = false
        var doorbells: UInt32 = 0
        var clintEvent: CLINTWrite? = nil
        var powerOff = false
        let time = csr_read_time()
        withMachine { m in
            let p = m.platform
            if p.clint.contains(address, width: UInt64(width)) {
                let offset = address - p.clint.base
                if isStore {
                    clintEvent = m.clint.write(offset: offset, width: width, value: value)
                    handled = clintEvent != nil
                    switch clintEvent {
                    case .msip(let hart)?:
                        doorbells |= 1 << UInt32(hart)
                    case .mtimecmp(let hart)?:
                        // The real comparator follows the firmware's deadline.
                        var clint = m.realClint
                        clint.setMTimeCmp(hart: hart, m.clint.mtimecmp(hart: hart))
                        doorbells |= 1 << UInt32(hart)
                    default:
                        break
                    }
                } else if let v = m.clint.read(offset: offset, width: width, time: time) {
                    loaded = v
                    handled = true
                }
            } else if p.plic.contains(address, width: UInt64(width)) {
                let offset = address - p.plic.base
                let before = m.plic.meipHarts
                let result = isStore
                    ? m.plic.write(offset: offset, width: width, value: UInt32(truncatingIfNeeded: value))
                    : m.plic.read(offset: offset, width: width)
                handled = true
                var plic = m.realPlic
                switch result {
                case .value(let v):
                    loaded = UInt64(v)
                case .done:
                    break
                case .completed(let source):
                    let owner = Int(m.claimedBy[source & 127])
                    plic.complete(context: Plic<PhysicalBus>.machineContext(hart: owner), source: UInt32(source))
                case .enablesChanged(let hart):
                    for word in 0..<m.plic.words {
                        plic.setEnableWord(context: Plic<PhysicalBus>.machineContext(hart: hart), word: word,
                                           m.plic.enables(hart: hart, word: word))
                    }
                case .passthrough, .passthroughAndRecord:
                    if isStore {
                        mmio_write32(UInt(address), UInt32(truncatingIfNeeded: value))
                    } else {
                        loaded = UInt64(mmio_read32(UInt(address)))
                    }
                case .passthroughOr(let bits):
                    loaded = UInt64(mmio_read32(UInt(address)) | bits)
                case .fault:
                    handled = false
                }
                doorbells |= before ^ m.plic.meipHarts
            } else if p.testDevice.size > 0 && p.testDevice.contains(address, width: UInt64(width)) {
                handled = true
                if isStore {
                    // A power-off or reset request: the summary goes first.
                    powerOff = true
                } else {
                    loaded = UInt64(mmio_read32(UInt(address & ~3)))
                }
            }
        }
        guard handled else { return false }
        statistics.deviceEmulations &+= 1
        if case .mtime? = clintEvent {
            reportOnce(.mtimeWrite, "mtime write ignored: the real clock is shared with the payload", value: value)
        }
        if powerOff {
            printSummary()
            mmio_write32(UInt(address & ~3), UInt32(truncatingIfNeeded: value))
        }
        ringDoorbells(doorbells, except: me, clintBase: clintBase)
        if !isStore {
            var regs = registers
            regs.set(access.register, extend(loaded, access))
        }
        refreshDeviceLines()
        return true
    }

    /// Sign- or zero-extends a loaded value to 64 bits.
    func extend(_ value: UInt64, _ access: MemoryAccess) -> UInt64 {
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
        let (msip, mtip, meip) = withMachine { m in
            (m.clint.msip(hart: me), m.clint.mtip(hart: me, time: time), m.plic.meip(hart: me))
        }
        hart.setDeviceLines(msip: msip, mtip: mtip, meip: meip)
    }

    /// MTIP alone, which moves with time rather than with device accesses.
    mutating func refreshTimerLine() {
        let me = index
        let time = csr_read_time()
        let deadline = withMachine { $0.clint.mtimecmp(hart: me) }
        var lines = hart.mipDevices
        if time >= deadline { lines.insert(.mtip) } else { lines.remove(.mtip) }
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
        }
        if pending.contains(.meip) {
            var doorbells: UInt32 = 0
            withMachine { m in
                var plic = m.realPlic
                let context = Plic<PhysicalBus>.machineContext(hart: me)
                let before = m.plic.meipHarts
                // Claim everything the real context offers: each claim
                // silences its source until the firmware completes it.
                var guardCount = 0
                while guardCount < 128 {
                    let source = plic.claim(context: context)
                    if source == 0 { break }
                    if Int(source) <= m.plic.sources {
                        m.plic.raise(source: Int(source))
                        m.claimedBy[Int(source) & 127] = UInt8(me)
                    } else {
                        plic.complete(context: context, source: source)
                    }
                    guardCount += 1
                }
                doorbells = before ^ m.plic.meipHarts
            }
            ringDoorbells(doorbells, except: me, clintBase: clintBase)
        }
        refreshDeviceLines()
    }
}
#endif
