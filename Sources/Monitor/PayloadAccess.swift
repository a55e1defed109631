#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// Guest RAM as the monitor may read it on the payload's behalf: inside the
/// platform's memory and outside the monitor's own image.
struct GuestMemory: PhysicalMemoryReader {
    let memory: PlatformDescription.Region
    let monitor: PlatformDescription.Region

    mutating func read64(_ address: UInt64) -> UInt64? {
        guard address & 7 == 0, memory.contains(address, width: 8),
              !monitor.contains(address) else { return nil }
        return mmio_read64(UInt(address))
    }

    mutating func read16(_ address: UInt64) -> UInt32? {
        guard let word = read64(address & ~7) else { return nil }
        return UInt32(truncatingIfNeeded: word >> ((address & 6) * 8)) & 0xFFFF
    }
}

extension HartContext {
    /// A payload load or store that the PMP refused because it targets the
    /// test device (power-off and reset): natively the payload may use it
    /// (U-Boot's `poweroff` does), so the monitor performs it, printing its
    /// summary before a store ends the machine. Returns the pc after the
    /// instruction, or `nil` when the access was not to the test device and
    /// is the firmware's to handle.
    mutating func emulatePayloadDeviceAccess(code: UInt64, pc: UInt64, address: UInt64,
                                             registers: FrameRegisters) -> UInt64? {
        let (platform, monitor) = withMachine { ($0.platform, $0.monitor) }
        guard platform.testDevice.size > 0 else { return nil }
        var memory = GuestMemory(memory: platform.memory, monitor: monitor)
        let satp = csr_read_satp()
        guard let data = PageTableWalk.translate(address, satp: satp, memory: &memory),
              platform.testDevice.contains(data, width: 2),
              let low = PageTableWalk.translate(pc, satp: satp, memory: &memory),
              let first = memory.read16(low) else { return nil }
        var bits = first
        if first & 3 == 3 {
            guard let high = PageTableWalk.translate(pc &+ 2, satp: satp, memory: &memory),
                  let second = memory.read16(high) else { return nil }
            bits |= second << 16
        }
        let decoded = Decoder.decode(bits)
        var regs = registers
        switch decoded.instruction {
        case .store(let access) where code == Exception.storeAccessFault.rawValue
                && (access.width == 2 || access.width == 4) && data & UInt64(access.width - 1) == 0:
            statistics.deviceEmulations &+= 1
            HartContext.printSummary()
            let value = regs.get(access.register)
            if access.width == 2 {
                mmio_write16(UInt(data), UInt16(truncatingIfNeeded: value))
            } else {
                mmio_write32(UInt(data), UInt32(truncatingIfNeeded: value))
            }
        case .load(let access) where code == Exception.loadAccessFault.rawValue
                && (access.width == 2 || access.width == 4) && data & UInt64(access.width - 1) == 0:
            statistics.deviceEmulations &+= 1
            let v = access.width == 2 ? UInt32(mmio_read16(UInt(data))) : mmio_read32(UInt(data))
            regs.set(access.register, HartContext.extend(UInt64(v), access))
        default:
            return nil
        }
        return pc &+ decoded.length
    }
}
#endif
