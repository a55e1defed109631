#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// Every hart enters here from start.S, in the moved copy, with QEMU's boot
/// arguments: `a0` = hartid, `a1` = the device tree (moved if the monitor's
/// region covered it), `a2` = the `fw_dynamic_info` for the firmware. The
/// cold-boot hart (the lottery's winner) sets up the machine and places the
/// firmware; every hart then enters it at the start of DRAM in virtual
/// M-mode with the same arguments, as QEMU's reset code would have.
@_cdecl("firmvisor_hart_entry")
func firmvisorHartEntry(hartid: UInt64, fdt: UInt64, dyninfo: UInt64, cold: UInt64) -> Never {
    if cold != 0 {
        bootMachine(hartid: hartid, fdt: fdt)
    } else {
        while atomicLoad(&machineReady) == 0 {}
    }
    // The cold-boot hart wrote the firmware with stores.
    cpu_fence_i()
    enterFirmware(hartid: hartid, fdt: fdt, dyninfo: dyninfo)
}

@inline(never)
func atomicLoad(_ word: UnsafeMutablePointer<UInt32>) -> UInt32 {
    let value = UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self).pointee
    cpu_fence()
    return value
}

/// The cold-boot hart: read the platform, probe the hart, reset the real
/// devices the monitor owns, place the firmware, and publish the shared state.
@_optimize(size)
func bootMachine(hartid: UInt64, fdt: UInt64) {
    let plan = firmvisor_boot_plan_storage().pointee
    guard let base = UnsafeRawPointer(bitPattern: UInt(fdt)), let tree = DeviceTree(base: base),
          let platform = PlatformDescription(deviceTree: tree) else {
        bootFailure(uart: 0x1000_0000, test: 0x10_0000, "the moved device tree does not read back at ", value: fdt)
    }
    if platform.aia.unsupportedLayout {
        bootFailure(uart: platform.uart.base, test: platform.testDevice.base,
                    "an AIA layout the monitor cannot wall (several machine-level APLIC domains or IMSIC regions, e.g. one per socket); the last M-level APLIC domain is at ",
                    value: platform.aia.aplicMachine.base)
    }
    let harts = Int(plan.harts)
    // The static storage CShim reserves must hold the Swift state: a broken
    // build invariant, not something a guest can cause.
    if MemoryLayout<HartContext>.size > Int(FIRMVISOR_HART_STORAGE)
        || MemoryLayout<Machine>.size > Int(FIRMVISOR_MACHINE_STORAGE) {
        var console = MonitorConsole(base: platform.uart.base)
        console.write("[firmvisor] build error: per-hart state ")
        console.write(decimal: UInt64(MemoryLayout<HartContext>.size))
        console.write(" bytes, machine state ")
        console.write(decimal: UInt64(MemoryLayout<Machine>.size))
        console.write(" bytes exceed CShim's storage (sync.h)\n")
        mmio_write32(UInt(platform.testDevice.base), 0x3333 | 3 << 16)
        while true { cpu_wfi() }
    }
    var console = MonitorConsole(base: platform.uart.base)
    let arrived = awaitHarts(expected: plan.cpus, clint: platform.clint, timebase: platform.timebaseFrequency)
    if arrived < plan.cpus {
        // A hart that never arrived may still run at the load address: it
        // would execute the firmware in real M-mode. Refuse.
        bootFailure(uart: platform.uart.base, test: platform.testDevice.base,
                    "harts listed in the device tree that never started (arrived / listed): ",
                    value: arrived << 32 | plan.cpus)
    }
    let (firmware, descriptor) = placeFirmware(platform: platform, plan: plan)
    let monitor = PlatformDescription.Region(base: plan.region_base, size: plan.region_size)
    machinePointer.initialize(to: Machine(
        platform: platform, monitor: monitor, firmwareEntry: platform.memory.base,
        hartTemplate: probeHart(platform: platform),
        fabric: InterruptFabric(harts: harts, plicSources: platform.plicSources),
        aplic: VirtualAPLIC(sources: platform.aia.aplicSources, harts: harts, msiMode: platform.aia.aplicDeliversMSIs),
        policies: Policies(options: descriptor.options),
        trace: TraceKinds(rawValue: descriptor.options & BootOptions.traceKinds),
        traceLimiter: TraceLimiter(timebase: platform.timebaseFrequency,
                                   linesPerSecond: descriptor.traceRate == 0 ? BootOptions.defaultTraceRate : UInt64(descriptor.traceRate))))

    // The monitor owns the real CLINT. The real PLIC's M contexts are the
    // firmware's (VirtualPLIC) and keep their reset state.
    var clint = Clint(bus: PhysicalBus(), base: platform.clint.base)
    for hart in 0..<harts {
        clint.setMTimeCmp(hart: hart, VirtualCLINT.resetMTimeCmp)
    }

    console.write("\n[firmvisor] Firmvisor monitor at ")
    console.write(hex: monitor.base)
    console.write("-")
    console.write(hex: monitor.base + monitor.size)
    console.write(" (end of DRAM, not in the memory node): ")
    console.write(decimal: UInt64(harts))
    console.write(" harts")
    if plan.cpus > plan.harts {
        console.write(" (of ")
        console.write(decimal: plan.cpus)
        console.write(" listed: the monitor runs at most ")
        console.write(decimal: UInt64(FIRMVISOR_MAX_HARTS))
        console.write("; the rest are marked status=\"fail\" in the device tree")
        if plan.unmarked > 0 {
            console.write(", ")
            console.write(decimal: plan.unmarked)
            console.write(" of them without a status to mark")
        }
        console.write(")")
    }
    console.write(", firmware ")
    console.write(firmware.isELF ? "ELF" : "binary")
    console.write(" at ")
    console.write(hex: firmware.segments[0].address)
    console.write(" in virtual M-mode, ")
    console.write(decimal: UInt64(PMPLayout.virtualEntries))
    console.write(" PMP entries for it, offload ")
    console.write(machinePointer.pointee.policies.offload ? "on" : "off")
    console.write(machinePointer.pointee.policies.sandbox ? ", sandbox on" : "")
    if platform.hasAIA {
        console.write(platform.aia.hasIMSIC ? ", AIA: APLIC M domain (MSI) and M-level IMSIC files virtualized"
                                            : ", AIA: APLIC M domain (direct) virtualized")
    }
    console.write("\n")
    if plan.fdt != plan.original_fdt {
        console.write("[firmvisor] device tree moved from ")
        console.write(hex: plan.original_fdt)
        console.write(" to ")
        console.write(hex: plan.fdt)
        console.write("\n")
    }
    cpu_fence()
    machineReady = 1
    cpu_fence()
}

/// What the firmware will find when it probes the hart: the real hart's
/// identity and extensions, discovered by writing all-ones and reading back.
@_optimize(size)
func probeHart(platform: PlatformDescription) -> HartConfiguration {
    var c = HartConfiguration(hartID: 0, misa: csr_read_misa())
    c.mvendorid = csr_read_mvendorid()
    c.marchid = csr_read_marchid()
    c.mimpid = csr_read_mimpid()
    // mstatus.VS without V is the hart's choice (WARL): the firmware sees it.
    let status = csr_read_mstatus()
    csr_write_mstatus(status | MStatus.vs.rawValue)
    c.mstatusVSWritable = c.hasSupervisor && csr_read_mstatus() & MStatus.vs.rawValue != 0
    csr_write_mstatus(status)
    // A privileged-1.11 hart has no menvcfg: probe before touching it.
    c.hasEnvironmentConfiguration = firmvisor_probe_menvcfg() != 0
    var envcfg: UInt64 = 0
    if c.hasEnvironmentConfiguration {
        csr_write_menvcfg(~0)
        envcfg = csr_read_menvcfg()
        csr_write_menvcfg(0)
    }
    // QEMU 7.2 keeps menvcfg.STCE writable without Sstc: probe stimecmp itself.
    c.hasSstc = firmvisor_probe_stimecmp() != 0
    c.hasSvpbmt = envcfg & EnvironmentConfiguration.pbmte != 0
    c.hasZicbom = envcfg & EnvironmentConfiguration.cbie != 0
    c.hasZicboz = envcfg & EnvironmentConfiguration.cbze != 0
    c.pmpEntries = PMPLayout.virtualEntries
    c.triggers = probeTriggers()
    c.smaia = probeSmaia(platform: platform)
    return c
}

/// Smaia (AIA specification, "Extensions Smaia and Ssaia"): present when
/// `mtopi` reads (OpenSBI's own test). Then `miselect`'s writable bits and
/// each `iprio` register's reset value and writable bits, by writing ones
/// and zeros and reading back; the registers are left as they were.
@_optimize(size)
func probeSmaia(platform: PlatformDescription) -> SmaiaConfiguration {
    var c = SmaiaConfiguration()
    var top: UInt64 = 0
    guard firmvisor_probe_read_mtopi(&top) != 0 else { return c }
    c.isImplemented = true
    c.imsicIdentities = platform.aia.hasIMSIC ? min(platform.aia.imsicIdentities, VirtualIMSICFile.maximumIdentities) : 0
    let select = csr_read_miselect()
    csr_write_miselect(~0)
    c.miselectWritable = csr_read_miselect()
    for i in 0..<8 {
        csr_write_miselect(InterruptSelect.iprioFirst + 2 * UInt64(i))
        let reset = csr_read_mireg()
        csr_write_mireg(~0)
        let ones = csr_read_mireg()
        csr_write_mireg(0)
        let zeros = csr_read_mireg()
        csr_write_mireg(reset)
        c.iprioReset[i] = reset
        c.iprioWritable[i] = ones & ~zeros
    }
    csr_write_miselect(select)
    return c
}

/// Makes this hart's real M-level IMSIC file the monitor's inbox: delivery
/// on, no threshold, every identity enabled, nothing pending. Whatever
/// arrives (an IPI the firmware sent through the file's page, an MSI of the
/// APLIC's M domain) raises the real MEI, and the monitor moves it into the
/// firmware's virtual file (``HartContext/drainMachineFile()``), where the
/// firmware's own `eidelivery`, `eithreshold` and `eie` decide.
@_optimize(size)
func configureMachineFile(identities: Int) {
    let registers = UInt64((identities + 64) / 64)
    for r in 0..<registers {
        csr_write_miselect(VirtualIMSICFile.eieSelect + 2 * r)
        csr_write_mireg(~0)
        csr_write_miselect(VirtualIMSICFile.eipSelect + 2 * r)
        csr_write_mireg(0)
    }
    csr_write_miselect(VirtualIMSICFile.eithresholdSelect)
    csr_write_mireg(0)
    csr_write_miselect(VirtualIMSICFile.eideliverySelect)
    csr_write_mireg(1)
    csr_write_miselect(0)
}

/// Sets up this hart's virtual hart at reset and enters the firmware.
@_optimize(size)
func enterFirmware(hartid: UInt64, fdt: UInt64, dyninfo: UInt64) -> Never {
    let machine = machinePointer
    var configuration = machine.pointee.hartTemplate
    configuration.hartID = hartid
    let context = hartContext(hartid)
    context.initialize(to: HartContext(hart: VirtualHart(configuration: configuration), index: Int(hartid),
                                       clintBase: machine.pointee.platform.clint.base,
                                       layout: PMPLayout(monitor: machine.pointee.monitor,
                                                         platform: machine.pointee.platform,
                                                         hart: Int(hartid)),
                                       trace: machine.pointee.trace,
                                       frame: firmvisor_frame_for_hart(hartid)!,
                                       policies: machine.pointee.policies,
                                       memory: machine.pointee.platform.memory))
    context.pointee.publishCSRSlots()
    csr_write_mideleg(context.pointee.hart.mideleg.rawValue)
    if configuration.smaia.imsicIdentities > 0 {
        configureMachineFile(identities: configuration.smaia.imsicIdentities)
    }
    // The real hart starts in the firmware's world.
    context.pointee.installed = .payload
    context.pointee.payloadPMPConfiguration = context.pointee.layout.payloadConfiguration(context.pointee.hart.pmp)
    context.pointee.sstcTimerFastPath = machine.pointee.policies.offload && configuration.hasSstc
        && !machine.pointee.trace.contains(.sbi)
    // trap.S serves the legacy console putchar as the offload would.
    let servesConsole = machine.pointee.policies.offload && !machine.pointee.trace.contains(.sbi)
    firmvisor_frame_for_hart(hartid)!.pointee.console = servesConsole ? machine.pointee.platform.uart.base : 0
    context.pointee.installFirmwareWorld()
    context.pointee.refreshDeviceLines()

    let frame = firmvisor_frame_for_hart(hartid)!
    frame.pointee.scratch.0 = UInt64(UInt(bitPattern: context))
    let registers = FrameRegisters(frame: frame)
    for i in 1..<32 { registers[i] = 0 }
    registers[10] = hartid
    registers[11] = fdt
    registers[12] = dyninfo
    context.pointee.entryStatus = csr_read_mstatus()
    context.pointee.resume(at: machine.pointee.firmwareEntry)
    firmvisor_enter_guest(frame)
}

extension HartContext {
    /// Gives trap.S the addresses and write masks of the virtual CSRs it
    /// serves as plain storage, 0x340 + i: `mscratch`, `mepc`, `mcause`,
    /// `mtval`, and `mtinst`, `mtval2` on a hart with H (address 0: not
    /// served, Swift decides). Each address is checked with a sentinel written
    /// through it and read back as the property; trap.S's fast path runs only
    /// if all check out.
    mutating func publishCSRSlots() {
        func address(_ pointer: UnsafeMutablePointer<UInt64>) -> UInt64 { UInt64(UInt(bitPattern: pointer)) }
        func poke(_ slot: UInt64, _ value: UInt64) { UnsafeMutablePointer<UInt64>(bitPattern: UInt(slot))?.pointee = value }
        let h = hart.configuration.hasHypervisor
        let slots = (withUnsafeMutablePointer(to: &hart.mscratch) { address($0) },
                     withUnsafeMutablePointer(to: &hart.mepc) { address($0) },
                     withUnsafeMutablePointer(to: &hart.mcause) { address($0) },
                     withUnsafeMutablePointer(to: &hart.mtval) { address($0) },
                     h ? withUnsafeMutablePointer(to: &hart.mtinst) { address($0) } : 0,
                     h ? withUnsafeMutablePointer(to: &hart.mtval2) { address($0) } : 0)
        let epc = hart.masks.epcWritable
        frame.pointee.slots = (slots.0, ~0, slots.1, epc, slots.2, ~0, slots.3, ~0,
                               0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                               slots.4, ~0, slots.5, ~0)
        firmvisor_frame_install_tables(frame)
        let saved = (hart.mscratch, hart.mepc, hart.mcause, hart.mtval, hart.mtinst, hart.mtval2)
        poke(slots.0, 0x5E17_0000)
        poke(slots.1, 0x5E17_0001)
        poke(slots.2, 0x5E17_0002)
        poke(slots.3, 0x5E17_0003)
        poke(slots.4, 0x5E17_0004)
        poke(slots.5, 0x5E17_0005)
        assemblyFastPath = hart.mscratch == 0x5E17_0000 && hart.mepc == 0x5E17_0001
            && hart.mcause == 0x5E17_0002 && hart.mtval == 0x5E17_0003
            && (!h || (hart.mtinst == 0x5E17_0004 && hart.mtval2 == 0x5E17_0005))
        (hart.mscratch, hart.mepc, hart.mcause, hart.mtval, hart.mtinst, hart.mtval2) = saved
        // mstatus reads (an MStatus is its 64-bit raw value).
        let status = withUnsafeMutablePointer(to: &hart.mstatus) { UInt64(UInt(bitPattern: $0)) }
        let savedStatus = hart.mstatus
        poke(status, 0x5E17_0006)
        let statusChecks = hart.mstatus.rawValue == 0x5E17_0006
        hart.mstatus = savedStatus
        frame.pointee.mstatus = statusChecks ? status : 0
        firmvisor_set_fast_path(frame, plainCSRFastPath && assemblyFastPath ? 1 : 0)
    }

    /// The most stack any hart has used: the cold-boot hart zeroes every
    /// block, so the lowest non-zero word of a stack marks its deepest point.
    static func deepestStack() -> UInt64 {
        var deepest: UInt64 = 0
        for h in 0..<machinePointer.pointee.fabric.clint.harts {
            guard let frame = firmvisor_frame_for_hart(UInt64(h)) else { continue }
            let block = UInt64(UInt(bitPattern: frame))
            var address = block + UInt64(FIRMVISOR_BLOCK_STACK)
            let top = block + UInt64(FIRMVISOR_HART_BLOCK)
            while address < top && UnsafePointer<UInt64>(bitPattern: UInt(address))!.pointee == 0 { address += 8 }
            deepest = max(deepest, top - address)
        }
        return deepest
    }

    /// The power-off summary: traps from the firmware by cause, world
    /// switches and injected interrupts, summed over the harts.
    @_optimize(size)
    static func printSummary() {
        let machine = machinePointer
        var console = MonitorConsole(base: machine.pointee.platform.uart.base)
        var total = Statistics()
        for h in 0..<machine.pointee.fabric.clint.harts {
            var s = hartContext(UInt64(h)).pointee.statistics
            // Plain CSR traps trap.S served without calling Swift.
            s.firmwareExceptions[2] &+= hartContext(UInt64(h)).pointee.frame.pointee.fast_count
            // Offloaded set_timer calls trap.S served.
            s.payloadExceptions[9] &+= hartContext(UInt64(h)).pointee.frame.pointee.timer_count
            s.offloadedCalls &+= hartContext(UInt64(h)).pointee.frame.pointee.timer_count
            // Legacy console putchar calls trap.S served.
            s.payloadExceptions[9] &+= hartContext(UInt64(h)).pointee.frame.pointee.console_count
            s.offloadedCalls &+= hartContext(UInt64(h)).pointee.frame.pointee.console_count
            for i in 0..<24 {
                total.firmwareExceptions[i] &+= s.firmwareExceptions[i]
                total.payloadExceptions[i] &+= s.payloadExceptions[i]
            }
            for i in 0..<16 {
                total.physicalInterrupts[i] &+= s.physicalInterrupts[i]
                total.injectedInterrupts[i] &+= s.injectedInterrupts[i]
            }
            total.worldSwitches &+= s.worldSwitches
            total.deviceEmulations &+= s.deviceEmulations
            total.waits &+= s.waits
            total.offloadedCalls &+= s.offloadedCalls
            total.offloadedTimerEvents &+= s.offloadedTimerEvents
        }
        console.write("\n[firmvisor] summary: firmware traps by cause:")
        for i in 0..<24 where total.firmwareExceptions[i] != 0 {
            console.write(" ")
            console.write(decimal: UInt64(i))
            console.write("=")
            console.write(decimal: total.firmwareExceptions[i])
        }
        console.write("\n[firmvisor] summary: payload traps to firmware by cause:")
        for i in 0..<24 where total.payloadExceptions[i] != 0 {
            console.write(" ")
            console.write(decimal: UInt64(i))
            console.write("=")
            console.write(decimal: total.payloadExceptions[i])
        }
        console.write("\n[firmvisor] summary: emulated instructions ")
        console.write(decimal: total.firmwareExceptions[2])
        console.write(", device accesses ")
        console.write(decimal: total.deviceEmulations)
        console.write(", wfi waits ")
        console.write(decimal: total.waits)
        console.write(", offloaded SBI calls ")
        console.write(decimal: total.offloadedCalls)
        console.write(", offloaded timer events ")
        console.write(decimal: total.offloadedTimerEvents)
        console.write(", world switches ")
        console.write(decimal: total.worldSwitches)
        console.write(", deepest monitor stack ")
        console.write(decimal: deepestStack())
        console.write(" of ")
        console.write(decimal: UInt64(FIRMVISOR_HART_BLOCK - FIRMVISOR_BLOCK_STACK))
        console.write(" bytes")
        console.write("\n[firmvisor] summary: interrupts injected MSI=")
        console.write(decimal: total.injectedInterrupts[3])
        console.write(" MTI=")
        console.write(decimal: total.injectedInterrupts[7])
        console.write(" MEI=")
        console.write(decimal: total.injectedInterrupts[11])
        console.write("; physical MSI=")
        console.write(decimal: total.physicalInterrupts[3])
        console.write(" MTI=")
        console.write(decimal: total.physicalInterrupts[7])
        console.write(" MEI=")
        console.write(decimal: total.physicalInterrupts[11])
        console.write("\n")
    }
}
#endif
