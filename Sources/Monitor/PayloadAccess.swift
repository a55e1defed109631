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
    /// A payload memory instruction that the monitor's PMP walls refused
    /// although the payload may reach the device natively:
    ///
    /// - the PLIC, outside this hart's own S-context page (or inside it,
    ///   while the firmware's PMP does not open the whole page), and the
    ///   CLINT: checked against the firmware's PMP exactly as the hardware
    ///   would check it, then performed as the host performs it, on the real
    ///   PLIC (so the payload's accesses to M-context registers act on the
    ///   firmware's state as natively) or on the firmware's virtual CLINT;
    /// - the test device (power-off and reset; U-Boot's `poweroff` uses it),
    ///   printing the summary before a store ends the machine.
    ///
    /// Returns the pc after the instruction (or the trap vector of a fault the
    /// host raises), or `nil` when the access is the firmware's to handle as
    /// the access fault it is (another address, or the firmware's PMP denies
    /// it).
    mutating func emulatePayloadDeviceAccess(code: UInt64, pc: UInt64, address: UInt64,
                                             registers: FrameRegisters) -> UInt64? {
        // A VS/VU-mode guest's addresses go through two stages of
        // translation (vsatp, then hgatp): not emulated here. The firmware
        // gets the access fault exactly as the real hart reported it (MPV,
        // GVA, mtinst, mtval2: ``injectException(code:value:pc:)``).
        if hart.virtualized { return nil }
        let (platform, monitor) = withMachine { ($0.platform, $0.monitor) }
        var memory = GuestMemory(memory: platform.memory, monitor: monitor)
        let satp = csr_read_satp()
        guard let data = PageTableWalk.translate(address, satp: satp, memory: &memory),
              let low = PageTableWalk.translate(pc, satp: satp, memory: &memory),
              let first = memory.read16(low) else { return nil }
        var bits = first
        if first & 3 == 3 {
            guard let high = PageTableWalk.translate(pc &+ 2, satp: satp, memory: &memory),
                  let second = memory.read16(high) else { return nil }
            bits |= second << 16
        }
        let decoded = Decoder.decode(bits)
        guard let access = DeviceInstruction(decoded.instruction, registers: registers),
              access.isStore == (code == Exception.storeAccessFault.rawValue) else { return nil }
        let width = UInt64(access.width)
        let next = pc &+ decoded.length
        let onPLIC = platform.plic.contains(data, width: width)
        if onPLIC || platform.clint.contains(data, width: width) {
            guard hart.pmp.permitsLowerPrivilege(address: data, size: width, needs: access.permissions) else {
                return nil
            }
            let offset = data - (onPLIC ? platform.plic.base : platform.clint.base)
            let outcome = onPLIC ? performOnPLIC(access, offset: offset) : performOnCLINT(access, offset: offset)
            if _slowPath(trace.contains(.device)) { traceDevice(pc: pc, onPLIC ? "plic" : "clint", offset: offset, access, outcome) }
            return complete(access, outcome, address: address, next: next, pc: pc, registers: registers)
        }
        // The AIA's M-level devices, when the firmware's PMP grants the
        // payload access (OpenSBI's does not: they are M-only regions there).
        let aia = platform.aia
        let onAPLIC = aia.aplicMachine.size > 0 && aia.aplicMachine.contains(data, width: width)
        if onAPLIC || (aia.hasIMSIC && aia.imsicMachine.contains(data, width: width)) {
            guard hart.pmp.permitsLowerPrivilege(address: data, size: width, needs: access.permissions) else {
                return nil
            }
            let outcome = onAPLIC ? performOnAPLIC(access, offset: data - aia.aplicMachine.base)
                                  : performOnMachineFiles(access, address: data)
            if _slowPath(trace.contains(.device)) {
                traceDevice(pc: pc, onAPLIC ? "aplic" : "imsic", offset: data - (onAPLIC ? aia.aplicMachine.base : aia.imsicMachine.base), access, outcome)
            }
            return complete(access, outcome, address: address, next: next, pc: pc, registers: registers)
        }
        if platform.testDevice.size > 0, platform.testDevice.contains(data, width: 2) {
            return performOnTestDevice(access, address: data, next: next, registers: registers)
        }
        return nil
    }
}

extension DeviceInstruction {
    /// The PMP permissions the access needs: R for a load or `lr`, W for a
    /// store or `sc`, both for an AMO.
    var permissions: UInt8 {
        switch operation {
        case .load, .atomic(.loadReserved, _): return PMPFile.Bits.read
        case .store, .atomic(.storeConditional, _): return PMPFile.Bits.write
        case .atomic: return PMPFile.Bits.read | PMPFile.Bits.write
        }
    }
}
#endif
