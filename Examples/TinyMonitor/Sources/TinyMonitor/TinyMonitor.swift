import Platform
import VirtCore

/// The guest's integer registers: what a bare-metal monitor keeps in its
/// trap frame.
public struct Registers: GeneralRegisters, Sendable {
    public var x = [UInt64](repeating: 0, count: 32)
    public init() {}
    public subscript(index: Int) -> UInt64 {
        get { x[index] }
        set { x[index] = newValue }
    }
}

/// The real hart's counters and lines as VirtCore asks for them. The
/// simulation's clock is `time`; one instruction is one tick.
public struct SimulatedHart: HartEnvironment, Sendable {
    public var time: UInt64 = 0
    public var retired: UInt64 = 0
    public init() {}
    public mutating func readTime() -> UInt64 { time }
    public mutating func readCycle() -> UInt64 { time }
    public mutating func readInstret() -> UInt64 { retired }
    /// No S-level device in this machine.
    public mutating func supervisorExternalInterruptLine() -> Bool { false }
    /// The H extension's CSRs would be read from the real hart; the demo
    /// firmware touches none.
    public mutating func readPassthroughCSR(_ csr: CSR) -> UInt64 { 0 }
    public mutating func writePassthroughCSR(_ csr: CSR, _ value: UInt64) {}
}

/// What happened during a run, in order: the monitor's trace.
public enum Event: Equatable, Sendable {
    /// A privileged instruction trapped and ``VirtualHart/execute(_:pc:registers:environment:)`` emulated it.
    case emulated(pc: UInt64, bits: UInt32)
    /// A trapped load or store on a device, performed as the host performs it.
    case device(pc: UInt64, access: DeviceInstruction, outcome: DeviceAccessOutcome)
    /// ``PhysicalActions``: the real `mtimecmp[hart]` was programmed.
    case timerProgrammed(hart: Int, deadline: UInt64)
    /// ``PhysicalActions``: hart `hart`'s doorbell (real `msip`) rang.
    case doorbell(hart: Int)
    /// The firmware's `wfi` waited on the real hart from `from` to `until`.
    case waited(pc: UInt64, from: UInt64, until: UInt64)
    /// A real M-level interrupt trapped to the monitor.
    case physicalInterrupt(Interrupt, time: UInt64)
    /// The monitor injected a virtual interrupt into virtual M-mode.
    case injected(Interrupt, epc: UInt64, vector: UInt64)
    /// An exception was delivered to the firmware.
    case exception(Exception, epc: UInt64, vector: UInt64)
    /// The hart changed worlds (firmware in vM-mode, payload in S/U).
    case worldSwitch(to: World, pc: UInt64)
    /// The firmware stored to the test device.
    case powerOff(code: UInt32, time: UInt64)
    /// Nothing can ever wake the firmware's `wfi`.
    case stuck(pc: UInt64)
}

/// A hosted firmware virtualization monitor in miniature: one hart, a tiny
/// instruction interpreter standing in for the real hart, and VirtCore and
/// Platform doing what they do in the bare-metal monitor.
///
/// The interpreter runs the plain integer instructions itself ("natively");
/// every privileged instruction goes to ``VirtualHart``, every CLINT, PLIC
/// and test-device access is trapped and performed through
/// ``HostDeviceAccess`` (``InterruptFabric`` for the CLINT,
/// ``PLICRegisters`` for the PLIC), and the physical consequences land on a
/// ``RecordingBus``. Real interrupts are taken when the real `mip` meets the
/// real `mie` the monitor installed (``VirtualHart/physicalInterruptEnables(for:)``).
public struct TinyMonitor {
    public let program: Program
    /// Where the devices are.
    public let platform: PlatformDescription
    public var hart: VirtualHart
    public var registers = Registers()
    public var host = SimulatedHart()
    public var fabric: InterruptFabric
    /// The machine's devices as the monitor reaches them.
    public var bus = RecordingBus()
    public var pc: UInt64
    public private(set) var events: [Event] = []

    /// The world whose state is installed on the real hart, and its real `mie`.
    public private(set) var installed: World = .firmware
    public private(set) var installedEnables: InterruptBits = []
    var reservation = DeviceReservation()

    /// For comparison only: install the firmware's `mie` as the real one
    /// instead of ``VirtualHart/physicalInterruptEnables(for:)``, as a naive
    /// monitor would. A recorded MTIP then traps again on every step until
    /// the firmware moves its deadline: a trap storm.
    public var installsVirtualEnables = false

    /// Steps on which some real line was pending but masked by the real `mie`.
    public private(set) var maskedSteps = 0
    public private(set) var steps = 0
    public private(set) var powerOffCode: UInt32?

    /// The fabric serves every hart of the platform (two in the demo: it rings
    /// hart 1's doorbell; hart 1 stays parked). Hart 0 runs.
    public init(program: Program = .demo(), platform: PlatformDescription = MemoryMap.platform,
                entry: UInt64 = MemoryMap.firmware) {
        self.program = program
        self.platform = platform
        self.hart = VirtualHart(configuration: .qemuRV64(hartID: 0))
        self.fabric = InterruptFabric(harts: platform.harts, plicSources: platform.plicSources)
        self.pc = entry
        // The real CLINT at reset as the monitor leaves it: no deadline.
        for h in 0..<platform.harts {
            bus.poke(platform.clint.base + VirtualCLINT.mtimecmpOffset + 8 * UInt64(h), width: 8, .max)
        }
        installedEnables = hart.physicalInterruptEnables(for: .firmware)
    }

    /// True once the firmware waits in `wfi` for something that cannot come.
    public private(set) var isStuck = false

    public var isRunning: Bool { powerOffCode == nil && !isStuck }

    /// Runs until power-off, a stuck `wfi` or `limit` steps.
    @discardableResult
    public mutating func run(limit: Int = 10_000) -> [Event] {
        while isRunning && steps < limit { step() }
        return events
    }

    // MARK: The real hart

    /// The real M-level lines of hart 0: the real CLINT's `msip[0]` and comparator.
    func realPending() -> InterruptBits {
        var bits: InterruptBits = []
        if bus.peek(platform.clint.base, width: 4) & 1 != 0 { bits.insert(.msip) }
        if host.time >= bus.peek(platform.clint.base + VirtualCLINT.mtimecmpOffset, width: 8) { bits.insert(.mtip) }
        return bits
    }

    /// One instruction of the guest, or one real interrupt.
    public mutating func step() {
        steps += 1
        // The guest runs below real M, so a real M-level interrupt is taken
        // whenever it is pending and enabled in the real `mie`.
        let pending = realPending()
        let taken = pending.intersection(installedEnables)
        if let interrupt = Interrupt.highestPriority(in: taken) {
            events.append(.physicalInterrupt(interrupt, time: host.time))
            acknowledge(taken)
            resume(at: pc)
            return
        }
        if !pending.isEmpty { maskedSteps += 1 }

        host.time += 1
        guard let bits = program.fetch(pc) else {
            deliver(.instructionAccessFault, value: pc, pc: pc)
            return
        }
        host.retired += 1
        let rd = UInt8(bits >> 7 & 31), rs1 = UInt8(bits >> 15 & 31), rs2 = UInt8(bits >> 20 & 31)
        let funct3 = bits >> 12 & 7
        let immI = Int64(Int32(bitPattern: bits) >> 20)
        switch bits & 0x7F {
        case 0x37:  // lui
            registers.set(rd, UInt64(bitPattern: Int64(Int32(bitPattern: bits & 0xFFFF_F000))))
            pc &+= 4
        case 0x17:  // auipc
            registers.set(rd, pc &+ UInt64(bitPattern: Int64(Int32(bitPattern: bits & 0xFFFF_F000))))
            pc &+= 4
        case 0x13 where funct3 == 0:  // addi
            registers.set(rd, registers.get(rs1) &+ UInt64(bitPattern: immI))
            pc &+= 4
        case 0x6F:  // jal
            let raw = (bits >> 31) << 20 | (bits >> 21 & 0x3FF) << 1 | (bits >> 20 & 1) << 11 | (bits >> 12 & 0xFF) << 12
            let offset = Int64(Int32(bitPattern: raw << 11) >> 11)
            registers.set(rd, pc &+ 4)
            pc &+= UInt64(bitPattern: offset)
        case 0x63 where funct3 == 0:  // beq rs1, rs2
            let raw = (bits >> 31) << 12 | (bits >> 25 & 0x3F) << 5 | (bits >> 8 & 0xF) << 1 | (bits >> 7 & 1) << 11
            let offset = Int64(Int32(bitPattern: raw << 19) >> 19)
            pc &+= registers.get(rs1) == registers.get(rs2) ? UInt64(bitPattern: offset) : 4
        case 0x03, 0x23:
            // No RAM is modelled: every load and store is a device access,
            // which the PMP would send to the monitor as an access fault.
            emulateDeviceAccess(bits)
        case 0x73:
            emulatePrivileged(bits)
        default:
            deliver(.illegalInstruction, value: UInt64(bits), pc: pc)
        }
    }

    // MARK: The monitor

    /// A trapped SYSTEM instruction, emulated on the virtual hart.
    mutating func emulatePrivileged(_ bits: UInt32) {
        let at = pc
        events.append(.emulated(pc: at, bits: bits))
        switch hart.execute(bits, pc: at, registers: &registers, environment: &host) {
        case .resume(let next):
            if case .ecall = Decoder.decode(bits).instruction, let cause = Exception(rawValue: hart.mcause) {
                events.append(.exception(cause, epc: at, vector: next))
            }
            resume(at: next)
        case .waitForInterrupt(let next):
            waitForInterrupt(at: at)
            resume(at: next)
        case .fence(_, let next):
            resume(at: next)
        case .memoryAccess:
            // Not produced for SYSTEM instructions.
            deliver(.illegalInstruction, value: UInt64(bits), pc: at)
        }
    }

    /// A trapped load or store on the CLINT, the PLIC or the test device.
    mutating func emulateDeviceAccess(_ bits: UInt32) {
        let at = pc
        let decoded = Decoder.decode(bits)
        guard let access = DeviceInstruction(decoded.instruction, registers: registers) else {
            deliver(.illegalInstruction, value: UInt64(bits), pc: at)
            return
        }
        let address = access.address, width = UInt64(access.width)
        let outcome: DeviceAccessOutcome
        var actions = PhysicalActions()
        if platform.clint.contains(address, width: width) {
            outcome = fabric.clintAccess(hart: 0, operation: access.operation, offset: address - platform.clint.base,
                                         value: access.value, time: host.time, reservation: &reservation,
                                         actions: &actions)
        } else if platform.plic.contains(address, width: width) {
            var port = PLICRegisters(plic: Plic(bus: bus, base: platform.plic.base), view: fabric.plic,
                                     size: platform.plic.size)
            bus = RecordingBus()
            outcome = HostDeviceAccess.perform(access.operation, offset: address - platform.plic.base,
                                               value: access.value, reservation: &reservation, on: &port)
            bus = port.plic.bus
        } else if platform.testDevice.contains(address, width: width), case .store(width: 4) = access.operation {
            bus.store32(address, UInt32(truncatingIfNeeded: access.value))
            powerOffCode = UInt32(truncatingIfNeeded: access.value)
            outcome = .completed(value: 0)
        } else {
            outcome = .exception(access.isStore ? .storeAccessFault : .loadAccessFault)
        }
        events.append(.device(pc: at, access: access, outcome: outcome))
        perform(actions)
        if let code = powerOffCode {
            events.append(.powerOff(code: code, time: host.time))
            return
        }
        switch outcome {
        case .completed(let value):
            registers.set(access.rd, value)  // x0 for stores: ignored
            refreshLines()
            resume(at: at &+ decoded.length)
        case .exception(let exception):
            deliver(exception, value: address, pc: at)
        }
    }

    /// The physical half of a CLINT access: the real comparator, doorbells.
    mutating func perform(_ actions: PhysicalActions) {
        var clint = Clint(bus: bus, base: platform.clint.base)
        bus = RecordingBus()
        if actions.timerHart >= 0 {
            clint.setMTimeCmp(hart: actions.timerHart, actions.deadline)
            events.append(.timerProgrammed(hart: actions.timerHart, deadline: actions.deadline))
        }
        for target in 0..<platform.harts where actions.doorbells & (1 << UInt64(target)) != 0 {
            clint.setMSIP(hart: target, true)
            events.append(.doorbell(hart: target))
        }
        bus = clint.bus
    }

    /// Injects an exception the firmware must see (or that S takes, if delegated).
    mutating func deliver(_ exception: Exception, value: UInt64, pc at: UInt64) {
        let vector = hart.takeTrap(.exception(exception), value: value, pc: at)
        events.append(.exception(exception, epc: at, vector: vector))
        resume(at: vector)
    }

    /// A real interrupt arrived: clear our doorbell first, then re-read the lines.
    mutating func acknowledge(_ pending: InterruptBits) {
        if pending.contains(.msip) {
            var clint = Clint(bus: bus, base: platform.clint.base)
            bus = RecordingBus()
            clint.setMSIP(hart: 0, false)
            bus = clint.bus
        }
        refreshLines()
    }

    /// MSIP and MTIP from the virtual CLINT; MEIP would be the real `mip.MEIP`
    /// of the PLIC's M context, which no device raises here.
    mutating func refreshLines() {
        let lines = fabric.lines(hart: 0, time: host.time)
        hart.setDeviceLines(msip: lines.contains(.msip), mtip: lines.contains(.mtip), meip: false)
    }

    /// The firmware's `wfi` with nothing pending: a real `wfi` with the wake
    /// enables installed, until the virtual `wfi` may complete.
    mutating func waitForInterrupt(at wfiPC: UInt64) {
        let from = host.time
        while true {
            installedEnables = hart.wakeUpEnables
            let enabled = installedEnables
            var wake: UInt64?
            if enabled.contains(.msip), realPending().contains(.msip) { wake = host.time }
            let deadline = bus.peek(platform.clint.base + VirtualCLINT.mtimecmpOffset, width: 8)
            if wake == nil, enabled.contains(.mtip), deadline != .max { wake = max(host.time, deadline) }
            guard let until = wake else {
                events.append(.stuck(pc: wfiPC))
                isStuck = true
                return
            }
            host.time = until
            acknowledge(realPending().intersection(enabled))
            if hart.wfiMayComplete(environment: &host) { break }
        }
        events.append(.waited(pc: wfiPC, from: from, until: host.time))
    }

    /// Before every return to the guest: re-read the lines, inject what
    /// became takeable, switch worlds if the mode changed, install the real `mie`.
    mutating func resume(at target: UInt64) {
        refreshLines()
        let next = hart.prepareReturn(to: target)
        if let interrupt = next.injected {
            events.append(.injected(interrupt, epc: target, vector: next.pc))
        }
        if next.world != installed {
            installed = next.world
            events.append(.worldSwitch(to: installed, pc: next.pc))
        }
        installedEnables = installsVirtualEnables
            ? hart.mie.intersection(.machineLevel).union(.msip)
            : hart.physicalInterruptEnables(for: installed)
        pc = next.pc
    }
}
