#if arch(riscv64)
import CShim
import Platform
import VirtCore

/// What `scripts/run --trace KINDS` asked the monitor to print, one line per
/// event: bits 8…12 of the boot option word (``BootOptions``).
struct TraceKinds: OptionSet {
    let rawValue: UInt32
    /// Every CSR access the firmware makes (the fast path is then off).
    static let csr = TraceKinds(rawValue: 1 << 8)
    /// Every emulated CLINT, PLIC and test-device access, from either world.
    static let device = TraceKinds(rawValue: 1 << 9)
    /// Every SBI call of the payload, offloaded or forwarded.
    static let sbi = TraceKinds(rawValue: 1 << 10)
    /// Interrupts injected into the firmware, and the real ones taken.
    static let interrupt = TraceKinds(rawValue: 1 << 11)
    /// World switches.
    static let world = TraceKinds(rawValue: 1 << 12)
}

/// The machine-wide rate limit of trace lines: a token bucket refilled by
/// `time`, so that a boot stays usable whatever the firmware does (OpenSBI
/// parks secondary harts in a `wfi` loop that traps millions of times).
/// Lines beyond the limit are counted and reported with the next one.
struct TraceLimiter {
    /// Timer ticks per line (timebase / lines per second).
    let ticksPerLine: UInt64
    /// Lines that may be printed at once after a quiet period.
    let burst: UInt64
    var tokens: UInt64
    var last: UInt64 = 0
    var suppressed: UInt64 = 0

    init(timebase: UInt64, linesPerSecond: UInt64) {
        ticksPerLine = max(timebase / max(linesPerSecond, 1), 1)
        burst = max(linesPerSecond / 10, 16)
        tokens = burst
    }

    /// Whether one more line may be printed at time `now`.
    mutating func admit(now: UInt64) -> Bool {
        if now > last {
            tokens = min(burst, tokens &+ (now - last) / ticksPerLine)
            last = now - (now - last) % ticksPerLine
        }
        guard tokens > 0 else {
            suppressed &+= 1
            return false
        }
        tokens -= 1
        return true
    }
}

extension HartContext {
    /// Starts a line `[trace] hN pc=… ` if the rate limit allows, holding the
    /// machine lock until ``endTraceLine(_:)`` so that lines of different
    /// harts do not interleave; `nil` (and no lock) when it does not.
    @inline(never)
    func beginTraceLine(pc: UInt64) -> MonitorConsole? {
        let lock = firmvisor_machine_lock()
        firmvisor_lock(lock)
        let m = machinePointer
        guard m.pointee.traceLimiter.admit(now: csr_read_time()) else {
            firmvisor_unlock(lock)
            return nil
        }
        var console = MonitorConsole(base: m.pointee.platform.uart.base)
        if m.pointee.traceLimiter.suppressed > 0 {
            console.write("[trace] ")
            console.write(decimal: m.pointee.traceLimiter.suppressed)
            console.write(" events not printed (rate limit; scripts/run --trace-rate)\n")
            m.pointee.traceLimiter.suppressed = 0
        }
        console.write("[trace] h")
        console.write(decimal: UInt64(index))
        console.write(" pc=")
        console.writeShortHex(pc)
        console.write(" ")
        return console
    }

    /// Ends the line ``beginTraceLine(pc:)`` started and releases the lock.
    @inline(never)
    func endTraceLine(_ console: inout MonitorConsole) {
        console.write("\n")
        firmvisor_unlock(firmvisor_machine_lock())
    }

    /// Emulates `bits` like ``VirtualHart/execute(_:pc:registers:environment:)``
    /// and traces it if it is a CSR instruction, with the CSR's value before
    /// and after.
    @inline(never)
    mutating func executeTracingCSR(_ bits: UInt32, pc: UInt64, registers: inout FrameRegisters) -> ExecutionResult {
        var env = RealHart()
        guard case .csr(let i) = Decoder.decode(bits).instruction else {
            return hart.execute(bits, pc: pc, registers: &registers, environment: &env)
        }
        let old = hart.read(i.csr, environment: &env)
        let result = hart.execute(bits, pc: pc, registers: &registers, environment: &env)
        let legal = result == .resume(pc: pc &+ 4)
        traceCSR(pc: pc, i, old: legal ? old : nil, new: legal ? hart.read(i.csr, environment: &env) : nil)
        return result
    }

    /// A firmware CSR instruction: the CSR, the instruction, the value
    /// before and after (or that it raised illegal-instruction).
    @inline(never)
    func traceCSR(pc: UInt64, _ instruction: CSRInstruction, old: UInt64?, new: UInt64?) {
        guard var console = beginTraceLine(pc: pc) else { return }
        defer { endTraceLine(&console) }
        console.write("csr ")
        if let name = instruction.csr.name {
            console.write(name)
            console.write(" ")
        }
        console.writeShortHex(UInt64(instruction.csr.rawValue))
        switch instruction.operation {
        case .readWrite: console.write(instruction.isImmediate ? " csrrwi" : " csrrw")
        case .readSet: console.write(instruction.isImmediate ? " csrrsi" : " csrrs")
        case .readClear: console.write(instruction.isImmediate ? " csrrci" : " csrrc")
        }
        guard let old, let new else {
            console.write(" illegal-instruction")
            return
        }
        console.write(" old=")
        console.writeShortHex(old)
        if instruction.writes {
            console.write(" new=")
            console.writeShortHex(new)
        }
    }

    /// An emulated device access: the world, the device and offset, the
    /// operation, and the value moved or the fault raised.
    @inline(never)
    func traceDevice(pc: UInt64, _ device: StaticString, offset: UInt64, _ access: DeviceInstruction,
                     _ outcome: DeviceAccessOutcome) {
        let firmware = installed == .firmware
        guard var console = beginTraceLine(pc: pc) else { return }
        defer { endTraceLine(&console) }
        console.write(firmware ? "device fw " : "device payload ")
        console.write(device)
        console.write("+")
        console.writeShortHex(offset)
        switch access.operation {
        case .load: console.write(" load/")
        case .store: console.write(" store/")
        case .atomic(.loadReserved, _): console.write(" lr/")
        case .atomic(.storeConditional, _): console.write(" sc/")
        case .atomic: console.write(" amo/")
        }
        console.write(decimal: UInt64(access.width))
        if access.isStore {
            console.write(" value=")
            console.writeShortHex(access.value)
        }
        switch outcome {
        case .completed(let value):
            if case .store = access.operation { return }
            console.write(" -> ")
            console.writeShortHex(value)
        case .exception(let exception):
            console.write(" fault cause ")
            console.write(decimal: exception.rawValue)
        }
    }

    /// A payload SBI call (SBI specification, "Binary Encoding": EID in
    /// `a7`, FID in `a6`, arguments in `a0`…).
    @inline(never)
    func traceSBI(pc: UInt64, registers: FrameRegisters, offloaded: Bool) {
        guard var console = beginTraceLine(pc: pc) else { return }
        defer { endTraceLine(&console) }
        console.write("sbi eid=")
        console.writeShortHex(registers.get(17))
        console.write(" fid=")
        console.writeShortHex(registers.get(16))
        console.write(" a0=")
        console.writeShortHex(registers.get(10))
        console.write(" a1=")
        console.writeShortHex(registers.get(11))
        console.write(offloaded ? " -> monitor" : " -> firmware")
        if offloaded {
            console.write(" error=")
            console.writeShortHex(registers.get(10))
            console.write(" value=")
            console.writeShortHex(registers.get(11))
        }
    }

    /// An interrupt injected into virtual M-mode (`injected`), or a real one
    /// the monitor took.
    @inline(never)
    func traceInterrupt(pc: UInt64, cause: UInt64, injected: Bool) {
        guard var console = beginTraceLine(pc: pc) else { return }
        defer { endTraceLine(&console) }
        console.write(injected ? "interrupt injected " : "interrupt physical ")
        switch cause {
        case 3: console.write("MSI")
        case 7: console.write("MTI")
        case 11: console.write("MEI")
        default: console.write(decimal: cause)
        }
    }

    /// A world switch, to `world`.
    @inline(never)
    func traceWorld(pc: UInt64, to world: World) {
        guard var console = beginTraceLine(pc: pc) else { return }
        console.write(world == .firmware ? "world payload -> firmware" : "world firmware -> payload")
        endTraceLine(&console)
    }
}
extension MonitorConsole {
    /// `0x` and the hexadecimal digits of `value` without leading zeros.
    mutating func writeShortHex(_ value: UInt64) {
        write("0x")
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            let digit = UInt8((value >> UInt64(shift)) & 0xF)
            put(digit < 10 ? 48 + digit : 87 + digit)
            shift -= 4
        }
    }
}
#endif
