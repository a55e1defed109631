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

/// Page tables as the payload's hart reads them: guest RAM (``GuestMemory``)
/// that the firmware's PMP also lets S/U-mode read, since a page-table read
/// the PMP denies is an access fault ("Virtual Address Translation Process",
/// step 2; QEMU 7.2 checks it with S-mode's PMP permissions).
struct PayloadPageTables: PhysicalMemoryReader {
    var ram: GuestMemory
    let pmp: PMPFile

    mutating func read64(_ address: UInt64) -> UInt64? {
        guard pmp.permitsLowerPrivilege(address: address, size: 8, needs: PMPFile.Bits.read) else { return nil }
        return ram.read64(address)
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
    /// From VS/VU-mode (V = 1) the data address and the pc are guest virtual
    /// addresses: they go through the two-stage translation
    /// (``locateVirtualAccess(code:pc:address:memory:)``).
    ///
    /// Returns the pc after the instruction (or the trap vector of a fault the
    /// host raises), or `nil` when the access is the firmware's to handle as
    /// the fault it is (another address, or the firmware's PMP denies it).
    mutating func emulatePayloadDeviceAccess(code: UInt64, pc: UInt64, address: UInt64,
                                             registers: FrameRegisters) -> UInt64? {
        let (platform, monitor) = withMachine { ($0.platform, $0.monitor) }
        var memory = GuestMemory(memory: platform.memory, monitor: monitor)
        let data: UInt64
        var bits: UInt32
        if hart.virtualized {
            guard let located = locateVirtualAccess(code: code, pc: pc, address: address, memory: memory) else {
                return nil
            }
            (data, bits) = located
        } else {
            let satp = csr_read_satp()
            guard let physical = PageTableWalk.translate(address, satp: satp, memory: &memory),
                  let low = PageTableWalk.translate(pc, satp: satp, memory: &memory),
                  let first = memory.read16(low) else { return nil }
            data = physical
            bits = first
            if first & 3 == 3 {
                guard let high = PageTableWalk.translate(pc &+ 2, satp: satp, memory: &memory),
                      let second = memory.read16(high) else { return nil }
                bits |= second << 16
            }
        }
        let decoded = Decoder.decode(bits)
        let isStore = code == Exception.storeAccessFault.rawValue || code == Exception.storeGuestPageFault.rawValue
        guard let access = DeviceInstruction(decoded.instruction, registers: registers),
              access.isStore == isStore else { return nil }
        let width = UInt64(access.width)
        // Within the guest page translated (a device access never spans two).
        guard !hart.virtualized || (address & 0xFFF) &+ width <= 0x1000 else { return nil }
        // A fault the device raises is an access fault from V = 1 with
        // mtval2 = 0, whatever the trap that brought the monitor here wrote.
        let deviceFaultMTVal2: UInt64? = hart.virtualized ? 0 : nil
        let next = pc &+ decoded.length
        let onPLIC = platform.plic.contains(data, width: width)
        if onPLIC || platform.clint.contains(data, width: width) {
            guard hart.pmp.permitsLowerPrivilege(address: data, size: width, needs: access.permissions) else {
                return nil
            }
            let offset = data - (onPLIC ? platform.plic.base : platform.clint.base)
            let outcome = onPLIC ? performOnPLIC(access, offset: offset) : performOnCLINT(access, offset: offset)
            if _slowPath(trace.contains(.device)) { traceDevice(pc: pc, onPLIC ? "plic" : "clint", offset: offset, access, outcome) }
            return complete(access, outcome, address: address, next: next, pc: pc, registers: registers,
                            mtval2: deviceFaultMTVal2)
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
            return complete(access, outcome, address: address, next: next, pc: pc, registers: registers,
                            mtval2: deviceFaultMTVal2)
        }
        if platform.testDevice.size > 0, platform.testDevice.contains(data, width: 2) {
            return performOnTestDevice(access, address: data, next: next, registers: registers)
        }
        return nil
    }
}

extension HartContext {
    /// The two-stage half of ``emulatePayloadDeviceAccess(code:pc:address:registers:)``:
    /// the supervisor physical address of a VS/VU-mode access and the
    /// instruction at `pc`, or `nil` unless the PMP is what refused it.
    ///
    /// The refusal arrives as an access fault (5/7: the specification's
    /// report of a PMP check at the final address) or, on QEMU 7.2, as a
    /// guest-page fault (21/23) whose `mtval2` is the access's guest
    /// physical address >> 2 and whose `mtinst` is no pseudoinstruction
    /// (`riscv_cpu_tlb_fill` raises a G-stage fault after a failed PMP check
    /// of a two-stage access). Either way the walk must find the access
    /// allowed by both stages with nothing left to update (A/D: the hardware
    /// set them before its PMP check); a walk that faults or would update
    /// means the hardware raised a genuine translation fault, which the
    /// firmware gets unchanged.
    ///
    /// The walk's MXR is what both the specification and QEMU 7.2 grant, so
    /// that it never allows what either refuses: the VS stage takes
    /// `vsstatus.MXR` (QEMU ignores HS-level MXR there; the specification
    /// ORs it in), the G stage both `mstatus.MXR` and `vsstatus.MXR` (the
    /// specification's and QEMU's choice respectively).
    mutating func locateVirtualAccess(code: UInt64, pc: UInt64, address: UInt64,
                                      memory: GuestMemory) -> (data: UInt64, bits: UInt32)? {
        var tables = PayloadPageTables(ram: memory, pmp: hart.pmp)
        let vsstatus = MStatus(rawValue: csr_read_vsstatus())
        let inputs = TwoStageTranslation.Inputs(
            vsatp: csr_read_vsatp(), hgatp: csr_read_hgatp(), privilege: hart.mode,
            sum: vsstatus.contains(.sum), vsStageMXR: vsstatus.contains(.mxr),
            gStageMXR: vsstatus.contains(.mxr) && hart.mstatus.contains(.mxr))
        let isStore = code == Exception.storeAccessFault.rawValue || code == Exception.storeGuestPageFault.rawValue
        guard case .translated(let data, let guestPhysical) = TwoStageTranslation.translate(
            address, access: isStore ? .store : .load, inputs: inputs, memory: &tables) else { return nil }
        if code == Exception.loadGuestPageFault.rawValue || code == Exception.storeGuestPageFault.rawValue {
            let mtinst = csr_read_mtinst()
            guard csr_read_mtval2() == guestPhysical >> 2, mtinst == 0 || mtinst & 1 == 1 else { return nil }
        }
        guard case .translated(let low, _) = TwoStageTranslation.translate(pc, access: .fetch, inputs: inputs,
                                                                             memory: &tables),
              let first = tables.ram.read16(low) else { return nil }
        var bits = first
        if first & 3 == 3 {
            guard case .translated(let high, _) = TwoStageTranslation.translate(pc &+ 2, access: .fetch,
                                                                                  inputs: inputs, memory: &tables),
                  let second = tables.ram.read16(high) else { return nil }
            bits |= second << 16
        }
        return (data, bits)
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
