import VirtCore

// Test support for the M-mode interrupt virtualization tests: the machine as
// the monitor drives it (`VirtualizationRig`), the machine as the firmware
// would see it natively (`NativeMachine`), and the PLIC both are built on
// (`SpecPLIC`). The rig calls the same VirtCore functions, in the same order,
// as `Sources/Monitor/{TrapHandler,DeviceEmulation,WorldSwitch}.swift`; the
// native machine is written from the specifications alone.

// MARK: - The PLIC of the specification

/// A PLIC written from the RISC-V PLIC specification 1.0.0 with plain arrays,
/// independent of `VirtualPLIC`. It is the real device under the monitor in
/// ``VirtualizationRig`` and the firmware's own device in ``NativeMachine``.
///
/// - Sources are level-triggered ("Interrupt Gateways"): while a source's
///   line is asserted and it has no request outstanding (pending or in
///   service), its gateway sends one request, which sets its pending bit.
/// - A context's line is set while some source is pending, enabled in it and
///   of priority above its threshold ("Priority Thresholds"); priority 0
///   never interrupts ("Interrupt Priorities").
/// - A claim returns the best pending enabled source of non-zero priority
///   (highest priority, lowest ID on ties), whatever the threshold ("Interrupt
///   Claim Process"), clears its pending bit and puts it in service.
/// - A complete is ignored unless the source is enabled in the completing
///   context ("Interrupt Completion"); otherwise the source leaves service and
///   its gateway may send the next request.
struct SpecPLIC: Equatable {
    static let maximumPriority: UInt32 = 7

    let sources: Int
    let contexts: Int
    /// Indexed by source ID (0 unused).
    var priority: [UInt32]
    var pending: [Bool]
    var inService: [Bool]
    /// The devices' interrupt lines.
    var level: [Bool]
    /// `enable[context][source]`.
    var enable: [[Bool]]
    var threshold: [UInt32]

    init(sources: Int, harts: Int) {
        self.sources = sources
        self.contexts = 2 * harts
        priority = Array(repeating: 0, count: sources + 1)
        pending = Array(repeating: false, count: sources + 1)
        inService = Array(repeating: false, count: sources + 1)
        level = Array(repeating: false, count: sources + 1)
        enable = Array(repeating: Array(repeating: false, count: sources + 1), count: 2 * harts)
        threshold = Array(repeating: 0, count: 2 * harts)
    }

    /// 32-bit words of the `pending` and `enable` bitmaps.
    var words: Int { (sources + 32) / 32 }

    mutating func setLevel(source: Int, _ asserted: Bool) {
        level[source] = asserted
        gateway(source)
    }

    private mutating func gateway(_ source: Int) {
        if level[source] && !pending[source] && !inService[source] { pending[source] = true }
    }

    /// The best source `context` may claim with a priority above `floor`, or 0.
    func best(context: Int, above floor: UInt32) -> Int {
        var found = 0
        var highest = floor
        for source in 1...sources where pending[source] && enable[context][source] && priority[source] > highest {
            found = source
            highest = priority[source]
        }
        return found
    }

    /// The interrupt line of `context` (MEIP for an M context).
    func line(context: Int) -> Bool {
        best(context: context, above: threshold[context]) != 0
    }

    mutating func claim(context: Int) -> Int {
        let source = best(context: context, above: 0)
        if source != 0 {
            pending[source] = false
            inService[source] = true
        }
        return source
    }

    mutating func complete(context: Int, id: UInt32) {
        guard id >= 1, id <= UInt32(sources) else { return }
        let source = Int(id)
        guard enable[context][source], inService[source] else { return }
        inService[source] = false
        gateway(source)
    }

    // MARK: Registers (aligned 32-bit accesses, "Memory Map")

    enum Register: Equatable {
        case priority(Int), pending(word: Int), enable(context: Int, word: Int), threshold(Int), claim(Int)
    }

    static func priorityOffset(_ source: Int) -> UInt64 { 4 * UInt64(source) }
    static func pendingOffset(word: Int) -> UInt64 { 0x1000 + 4 * UInt64(word) }
    static func enableOffset(context: Int, word: Int) -> UInt64 { 0x2000 + 0x80 * UInt64(context) + 4 * UInt64(word) }
    static func thresholdOffset(context: Int) -> UInt64 { 0x20_0000 + 0x1000 * UInt64(context) }
    static func claimOffset(context: Int) -> UInt64 { thresholdOffset(context: context) + 4 }

    func decode(_ offset: UInt64) -> Register? {
        for source in 0...sources where offset == SpecPLIC.priorityOffset(source) { return .priority(source) }
        for word in 0..<words where offset == SpecPLIC.pendingOffset(word: word) { return .pending(word: word) }
        for context in 0..<contexts {
            for word in 0..<words where offset == SpecPLIC.enableOffset(context: context, word: word) {
                return .enable(context: context, word: word)
            }
            if offset == SpecPLIC.thresholdOffset(context: context) { return .threshold(context) }
            if offset == SpecPLIC.claimOffset(context: context) { return .claim(context) }
        }
        return nil
    }

    private func bits(_ flags: [Bool], word: Int) -> UInt32 {
        var value: UInt32 = 0
        for bit in 0..<32 where word * 32 + bit <= sources && word * 32 + bit >= 1 && flags[word * 32 + bit] {
            value |= 1 << UInt32(bit)
        }
        return value
    }

    /// A load; a claim is a load with an effect. Nil: no such register.
    mutating func read(offset: UInt64) -> UInt32? {
        switch decode(offset) {
        case nil: return nil
        case .priority(let s): return s == 0 ? 0 : priority[s]
        case .pending(let w): return bits(pending, word: w)
        case .enable(let c, let w): return bits(enable[c], word: w)
        case .threshold(let c): return threshold[c]
        case .claim(let c): return UInt32(claim(context: c))
        }
    }

    /// A store (priorities and thresholds are written with legal values only).
    mutating func write(offset: UInt64, value: UInt32) {
        switch decode(offset) {
        case nil, .pending?: break
        case .priority(let s)?: if s != 0 { priority[s] = value & SpecPLIC.maximumPriority }
        case .enable(let c, let w)?:
            for bit in 0..<32 where w * 32 + bit <= sources && w * 32 + bit >= 1 {
                enable[c][w * 32 + bit] = value & (1 << UInt32(bit)) != 0
            }
        case .threshold(let c)?: threshold[c] = value & SpecPLIC.maximumPriority
        case .claim(let c)?: complete(context: c, id: value)
        }
    }
}

// MARK: - The CLINT layout (ACLINT, SiFive-compatible, as on QEMU virt)

enum CLINTMap {
    static func msip(_ hart: Int) -> UInt64 { 4 * UInt64(hart) }
    static func mtimecmp(_ hart: Int) -> UInt64 { 0x4000 + 8 * UInt64(hart) }
    static let mtime: UInt64 = 0xBFF8
}

/// Where a firmware load or store goes.
enum Device: Equatable { case clint, plic }

/// The real PLIC as the monitor reaches it for a trapped access: the view's
/// routing (as `Platform.PLICRegisters`) over a ``SpecPLIC``, whose lines are
/// combinational, so the re-evaluation store has nothing to do.
struct SpecPLICPort: DeviceRegisters {
    var plic: SpecPLIC
    let view: VirtualPLIC

    func accepts(offset: UInt64, width: Int) -> Bool {
        width == 4 && offset & 3 == 0 && offset < VirtualPLIC.size
    }

    mutating func load(offset: UInt64, width: Int) -> UInt64 {
        view.route(view.decode(offset: offset), isStore: false) == .none ? 0 : UInt64(plic.read(offset: offset) ?? 0)
    }

    mutating func store(offset: UInt64, width: Int, value: UInt64) {
        guard view.route(view.decode(offset: offset), isStore: true) != .none else { return }
        plic.write(offset: offset, value: UInt32(truncatingIfNeeded: value))
    }
}

// MARK: - The machine under the monitor

/// The monitor's view of a machine of 1-8 harts, driven exactly as
/// `Sources/Monitor` drives it: one ``VirtualHart`` per hart and one
/// ``InterruptFabric``, above a simulated real machine (real `msip`, which is
/// the monitor's doorbell, real `mtimecmp`, real `mie`, and a ``SpecPLIC``
/// whose M contexts hold the firmware's own state: the monitor performs the
/// firmware's PLIC accesses on it and never claims by itself).
///
/// Every operation runs to quiescence: afterwards every hart whose real
/// `mip & mie` was non-zero has taken its real trap (the monitor never runs
/// with interrupts enabled, and the guests always run below M).
struct VirtualizationRig {
    var harts: [VirtualHart]
    var fabric: InterruptFabric
    /// The world installed on each real hart.
    var installed: [World]
    /// The guest pc at which each hart continues (a waiting hart: its `wfi`).
    var pc: [UInt64]
    /// Harts the monitor holds in its `wfi` loop for the firmware.
    var waiting: [Bool]
    // The real machine.
    var realMie: [InterruptBits]
    var realMsip: [Bool]
    var realMtimecmp: [UInt64]
    var realPLIC: SpecPLIC
    var time: UInt64
    var env = FakeEnvironment()
    /// Each hart's device reservation (`deviceReservation`).
    var reservations: [DeviceReservation]
    /// The payload world's PMP opens the whole PLIC (`PMPLayout.opensPLIC`).
    var payloadPLICNative = false

    /// Interrupts the monitor injected, per hart, in order.
    var injected: [[Interrupt]]
    /// Real interrupt traps taken, per hart.
    var realTraps: [Int]
    /// Broken invariants the rig saw while running (trap storms).
    var violations: [String] = []

    static let mtvec: UInt64 = 0x8000_0400
    static let firmwarePC: UInt64 = 0x8000_1000

    init(harts count: Int, configuration: HartConfiguration = TestHarts.qemu, sources: Int = 40, time: UInt64 = 1000) {
        harts = (0..<count).map { h in
            var c = configuration
            c.hartID = UInt64(h)
            var hart = VirtualHart(configuration: c)
            hart.mtvec = VirtualizationRig.mtvec
            return hart
        }
        fabric = InterruptFabric(harts: count, plicSources: sources)
        installed = Array(repeating: .firmware, count: count)
        pc = Array(repeating: VirtualizationRig.firmwarePC, count: count)
        waiting = Array(repeating: false, count: count)
        realMie = harts.map { $0.physicalInterruptEnables(for: .firmware) }
        realMsip = Array(repeating: false, count: count)
        realMtimecmp = Array(repeating: VirtualCLINT.resetMTimeCmp, count: count)
        realPLIC = SpecPLIC(sources: sources, harts: count)
        injected = Array(repeating: [], count: count)
        realTraps = Array(repeating: 0, count: count)
        reservations = Array(repeating: DeviceReservation(), count: count)
        self.time = time
    }

    var count: Int { harts.count }

    // MARK: The real machine

    /// The real `mip` M-level bits of hart `h`.
    func realMip(_ h: Int) -> InterruptBits {
        var bits: InterruptBits = []
        if realMsip[h] { bits.insert(.msip) }
        if time >= realMtimecmp[h] { bits.insert(.mtip) }
        if realPLIC.line(context: 2 * h) { bits.insert(.meip) }
        return bits
    }

    /// Rings the doorbell (real `msip`) of every hart in `bits` but `me`.
    mutating func ring(_ bits: UInt64, except me: Int) {
        for h in 0..<count where h != me && bits & (1 << UInt64(h)) != 0 { realMsip[h] = true }
    }

    // MARK: The monitor (TrapHandler.swift, DeviceEmulation.swift)

    /// `refreshDeviceLines`: MSIP and MTIP from the fabric, MEIP from the
    /// real `mip` (the real M context's line).
    mutating func refreshDeviceLines(_ h: Int) {
        var lines = fabric.lines(hart: h, time: time)
        if realPLIC.line(context: 2 * h) { lines.insert(.meip) }
        harts[h].mipDevices = lines
    }

    /// `refreshLiveLines`: MTIP from time, MEIP from the real `mip`.
    mutating func refreshLiveLines(_ h: Int) {
        var lines = harts[h].mipDevices
        if time >= fabric.clint.mtimecmp(hart: h) { lines.insert(.mtip) } else { lines.remove(.mtip) }
        if realPLIC.line(context: 2 * h) { lines.insert(.meip) } else { lines.remove(.meip) }
        harts[h].mipDevices = lines
    }

    /// `resume(at:)`: refresh MTIP, inject, switch worlds, install the real `mie`.
    mutating func resume(_ h: Int, at target: UInt64) {
        refreshLiveLines(h)
        let next = harts[h].prepareReturn(to: target)
        if let interrupt = next.injected { injected[h].append(interrupt) }
        let world = next.world
        if world != installed[h] {
            if world == .firmware {
                // absorbNativeState: the payload's sie comes back from the real mie.
                harts[h].absorbSupervisorInterrupts(realEnables: realMie[h], realPending: harts[h].mipSoftware)
            }
            installed[h] = world
        }
        realMie[h] = harts[h].physicalInterruptEnables(for: world)
        pc[h] = next.pc
    }

    /// `acknowledgePhysicalInterrupts(pending:)`: the doorbell is cleared; an
    /// external interrupt is only recorded (its real enable is masked by
    /// `physicalInterruptEnables` until the line falls), never claimed.
    mutating func acknowledge(_ h: Int, pending: InterruptBits) {
        if pending.contains(.msip) { realMsip[h] = false }
        refreshDeviceLines(h)
    }

    /// A real interrupt trap on hart `h` (from either world).
    mutating func takeRealInterrupt(_ h: Int) {
        realTraps[h] += 1
        acknowledge(h, pending: realMip(h))
        resume(h, at: pc[h])
        // No trap storm: whatever trapped has been recorded and silenced.
        let again = realMip(h).intersection(realMie[h])
        if !again.isEmpty {
            violations.append("hart \(h): real mip & mie = \(hex(again.rawValue)) right after its interrupt trap")
        }
    }

    /// One turn of `waitForInterrupt` on hart `h`, if its real `wfi` would return.
    mutating func wakeIfInterrupted(_ h: Int) -> Bool {
        let pending = realMip(h).intersection(harts[h].wakeUpEnables)
        guard !pending.isEmpty else { return false }
        realTraps[h] += 1
        acknowledge(h, pending: pending)
        env.time = time
        if harts[h].wfiMayComplete(environment: &env) {
            waiting[h] = false
            resume(h, at: pc[h] &+ 4)
        } else {
            realMie[h] = harts[h].wakeUpEnables
            let again = realMip(h).intersection(realMie[h])
            if !again.isEmpty {
                violations.append("hart \(h): wfi loop spins on real mip & mie = \(hex(again.rawValue))")
            }
        }
        return true
    }

    /// Lets every hart take the real interrupts pending for it, until none is.
    mutating func settle() {
        for _ in 0..<(16 * count + 16) {
            var progress = false
            for h in 0..<count {
                if waiting[h] {
                    progress = wakeIfInterrupted(h) || progress
                } else if !realMip(h).intersection(realMie[h]).isEmpty {
                    takeRealInterrupt(h)
                    progress = true
                }
            }
            if !progress { return }
        }
        violations.append("real interrupts still pending after \(16 * count + 16) rounds: a trap storm")
    }

    // MARK: What the guests do

    /// A firmware CSR instruction on hart `h` (virtual M-mode), then `resume`.
    /// Returns the value for `rd`, or nil when it raised illegal instruction.
    /// `writes: false` is `csrrs rd, csr, x0`, a plain read.
    @discardableResult
    mutating func csr(_ h: Int, _ csr: CSR, _ operation: CSROperation, _ operand: UInt64, writes: Bool = true)
        -> UInt64? {
        precondition(harts[h].mode == .machine && !waiting[h])
        env.time = time
        // handleTrap: MTIP is refreshed before anything is emulated.
        refreshLiveLines(h)
        let old = harts[h].accessCSR(csr, operation: operation, operand: operand, writes: writes, environment: &env)
        let next = old == nil
            ? harts[h].takeTrap(.exception(.illegalInstruction), value: 0, pc: pc[h])
            : pc[h] &+ 4
        resume(h, at: next)
        settle()
        return old
    }

    /// A firmware load or store on a device (`emulateFirmwareDeviceAccess`),
    /// performed as the host performs it. Returns the loaded value (nil for a
    /// store or a fault).
    @discardableResult
    mutating func access(_ h: Int, _ device: Device, offset: UInt64, width: Int = 4, store value: UInt64? = nil)
        -> UInt64? {
        precondition(harts[h].mode == .machine && !waiting[h])
        let operation: DeviceOperation = value == nil
            ? .load(width: width, signExtends: false) : .store(width: width)
        return perform(h, device, operation, offset: offset, value: value ?? 0)
    }

    /// Any memory instruction of the firmware on a device (loads, stores,
    /// AMOs, LR/SC); returns what `rd` receives, nil for a fault.
    @discardableResult
    mutating func perform(_ h: Int, _ device: Device, _ operation: DeviceOperation, offset: UInt64,
                          value: UInt64) -> UInt64? {
        precondition(harts[h].mode == .machine && !waiting[h])
        var actions = PhysicalActions()
        let outcome: DeviceAccessOutcome
        switch device {
        case .clint:
            outcome = fabric.clintAccess(hart: h, operation: operation, offset: offset, value: value, time: time,
                                         reservation: &reservations[h], actions: &actions)
        case .plic:
            outcome = performOnPLIC(h, operation, offset: offset, value: value)
        }
        if actions.timerHart >= 0 { realMtimecmp[actions.timerHart] = actions.deadline }
        ring(actions.doorbells, except: h)
        return complete(h, operation, outcome, address: offset)
    }

    /// `performOnPLIC`: the real PLIC behind the firmware's view.
    mutating func performOnPLIC(_ h: Int, _ operation: DeviceOperation, offset: UInt64,
                                value: UInt64) -> DeviceAccessOutcome {
        var port = SpecPLICPort(plic: realPLIC, view: fabric.plic)
        let outcome = HostDeviceAccess.perform(operation, offset: offset, value: value,
                                               reservation: &reservations[h], on: &port)
        realPLIC = port.plic
        return outcome
    }

    /// `complete(_:_:address:next:pc:registers:)`: the result, or the fault
    /// injected; then the return to the guest.
    mutating func complete(_ h: Int, _ operation: DeviceOperation, _ outcome: DeviceAccessOutcome,
                           address: UInt64) -> UInt64? {
        refreshDeviceLines(h)
        var result: UInt64? = nil
        var next = pc[h] &+ 4
        switch outcome {
        case .completed(let v):
            if case .store = operation {} else { result = v }
        case .exception(let e):
            next = harts[h].takeException(code: e.rawValue, value: address, pc: pc[h])
        }
        resume(h, at: next)
        settle()
        return result
    }

    /// A payload (S-mode) load or store on the PLIC from hart `h`. With
    /// ``payloadPLICNative`` (the firmware's PMP grants it the whole PLIC)
    /// every access is native; otherwise its own S context's
    /// `threshold`/`claim` page is native and everything else traps and is
    /// performed by `emulatePayloadDeviceAccess` (the firmware's PMP grants
    /// these registers here; the PMP check itself is PMPLayout's and
    /// PMPFile's, tested there).
    @discardableResult
    mutating func payloadPLICAccess(_ h: Int, offset: UInt64, store value: UInt64? = nil) -> UInt64? {
        precondition(harts[h].mode != .machine && !waiting[h])
        let ownPage = VirtualPLIC.thresholdOffset(context: VirtualPLIC.supervisorContext(hart: h))
        if payloadPLICNative || (offset >= ownPage && offset < ownPage + VirtualPLIC.contextStride) {
            var loaded: UInt64? = nil
            if let value {
                realPLIC.write(offset: offset, value: UInt32(truncatingIfNeeded: value))
            } else {
                loaded = UInt64(realPLIC.read(offset: offset) ?? 0)
            }
            pc[h] &+= 4
            settle()
            return loaded
        }
        let operation: DeviceOperation = value == nil ? .load(width: 4, signExtends: false) : .store(width: 4)
        let outcome = performOnPLIC(h, operation, offset: offset, value: value ?? 0)
        return complete(h, operation, outcome, address: offset)
    }

    /// `mret` in virtual M-mode.
    mutating func mret(_ h: Int) {
        precondition(harts[h].mode == .machine && !waiting[h])
        refreshLiveLines(h)   // handleTrap, first
        resume(h, at: harts[h].returnFromMachineTrap())
        settle()
    }

    /// `wfi` in virtual M-mode: completes now, or the monitor waits.
    mutating func wfi(_ h: Int) {
        precondition(harts[h].mode == .machine && !waiting[h])
        refreshLiveLines(h)   // handleTrap, first
        env.time = time
        if harts[h].wfiMayComplete(environment: &env) {
            resume(h, at: pc[h] &+ 4)
        } else {
            waiting[h] = true
            realMie[h] = harts[h].wakeUpEnables
        }
        settle()
    }

    /// An `ecall` of the payload (S or U), which the firmware handles.
    mutating func ecall(_ h: Int) {
        precondition(harts[h].mode != .machine)
        refreshLiveLines(h)   // handleTrap, first
        let code: UInt64 = harts[h].mode == .supervisor ? 9 : 8
        resume(h, at: harts[h].takeException(code: code, value: 0, pc: pc[h]))
        settle()
    }

    /// Time passes.
    mutating func advance(to now: UInt64) {
        time = max(time, now)
        settle()
    }

    /// A device changes the level of its PLIC source.
    mutating func setSource(_ source: Int, _ asserted: Bool) {
        realPLIC.setLevel(source: source, asserted)
        settle()
    }
}

// MARK: - The machine without a monitor

/// What harts with a real CLINT and PLIC would do running the firmware
/// natively in M-mode, written from the privileged specification, the ACLINT
/// and the PLIC specification; it shares no code with the monitor.
///
/// - `mip`: MSIP = `msip[h]`, MTIP = `mtime >= mtimecmp[h]` (unsigned), MEIP =
///   the line of the PLIC's M context `2h`.
/// - An M-level interrupt is taken iff `(mode < M or mstatus.MIE)` and
///   `mip & mie & ~mideleg != 0` (no M-level bit is delegated), highest first:
///   MEI (11), MSI (3), MTI (7).
/// - Trap entry: `mepc = pc`, `mcause`, `MPIE = MIE`, `MIE = 0`, `MPP = mode`,
///   mode M, pc = `mtvec` (direct). `mret`: `MIE = MPIE`, `MPIE = 1`, mode =
///   MPP, `MPP = U`, pc = `mepc`.
/// - `wfi` stalls until `mip & mie != 0`, whatever MIE says, then continues
///   at pc + 4 (where an interrupt it takes on wake-up is taken).
/// - Every interrupt is re-evaluated after each instruction and each change
///   of a device.
struct NativeMachine {
    struct Hart: Equatable {
        var mode: PrivilegeMode = .machine
        var mie: UInt64 = 0
        var mieBit = false
        var mpie = false
        var mpp: UInt64 = 0
        var mepc: UInt64 = 0
        var mcause: UInt64 = 0
        var pc: UInt64 = VirtualizationRig.firmwarePC
        var waiting = false
    }

    static let msi: UInt64 = 3, mti: UInt64 = 7, mei: UInt64 = 11
    /// MEI > MSI > MTI ("Machine Interrupt Registers").
    static let priorityOrder: [UInt64] = [mei, msi, mti]

    var harts: [Hart]
    var msip: [Bool]
    var mtimecmp: [UInt64]
    var time: UInt64
    var plic: SpecPLIC
    /// The writable `mie` bits of the hart.
    let implemented: UInt64
    /// Interrupts taken, per hart, in order (cause codes).
    var taken: [[UInt64]]

    init(harts count: Int, configuration: HartConfiguration = TestHarts.qemu, sources: Int = 40, time: UInt64 = 1000) {
        harts = Array(repeating: Hart(), count: count)
        msip = Array(repeating: false, count: count)
        mtimecmp = Array(repeating: .max, count: count)
        self.time = time
        plic = SpecPLIC(sources: sources, harts: count)
        // Sscofpmf adds LCOFI (13), H the VS-level and SGEI bits (2, 6, 10, 12).
        var bits: UInt64 = 0b1010_1010_1010
        if configuration.hasSscofpmf { bits |= 1 << 13 }
        if configuration.hasHypervisor { bits |= (1 << 2) | (1 << 6) | (1 << 10) | (1 << 12) }
        implemented = bits
        taken = Array(repeating: [], count: count)
    }

    var count: Int { harts.count }

    func mip(_ h: Int) -> UInt64 {
        var bits: UInt64 = 0
        if msip[h] { bits |= 1 << NativeMachine.msi }
        if time >= mtimecmp[h] { bits |= 1 << NativeMachine.mti }
        if plic.line(context: 2 * h) { bits |= 1 << NativeMachine.mei }
        return bits
    }

    /// The interrupt hart `h` takes now, if any.
    func takeable(_ h: Int) -> UInt64? {
        let hart = harts[h]
        guard hart.mode != .machine || hart.mieBit else { return nil }
        let ready = mip(h) & hart.mie
        return NativeMachine.priorityOrder.first { ready & (1 << $0) != 0 }
    }

    mutating func trap(_ h: Int, cause: UInt64) {
        harts[h].mepc = harts[h].pc
        harts[h].mcause = cause
        harts[h].mpie = harts[h].mieBit
        harts[h].mieBit = false
        harts[h].mpp = UInt64(harts[h].mode.rawValue)
        harts[h].mode = .machine
        harts[h].pc = VirtualizationRig.mtvec
    }

    /// Every hart wakes from `wfi` and takes the interrupts it now can.
    mutating func settle() {
        for h in 0..<count {
            if harts[h].waiting && mip(h) & harts[h].mie != 0 {
                harts[h].waiting = false
                harts[h].pc &+= 4
            }
            if !harts[h].waiting, let cause = takeable(h) {
                taken[h].append(cause)
                trap(h, cause: 1 << 63 | cause)
            }
        }
    }

    /// `mstatus` as far as these tests use it: MIE, MPIE, MPP.
    func mstatus(_ h: Int) -> UInt64 {
        (harts[h].mieBit ? 1 << 3 : 0) | (harts[h].mpie ? 1 << 7 : 0) | harts[h].mpp << 11
    }

    /// A CSR instruction on `mie` or `mstatus` (operands touch MIE, MPIE and
    /// whole MPP values only). Returns the old value.
    @discardableResult
    mutating func csr(_ h: Int, _ csr: CSR, _ operation: CSROperation, _ operand: UInt64) -> UInt64 {
        let old: UInt64
        if csr == .mie {
            old = harts[h].mie
            let new: UInt64
            switch operation {
            case .readWrite: new = operand
            case .readSet: new = old | operand
            case .readClear: new = old & ~operand
            }
            harts[h].mie = new & implemented
        } else {
            precondition(csr == .mstatus)
            old = mstatus(h)
            let new: UInt64
            switch operation {
            case .readWrite: new = operand
            case .readSet: new = old | operand
            case .readClear: new = old & ~operand
            }
            harts[h].mieBit = new & (1 << 3) != 0
            harts[h].mpie = new & (1 << 7) != 0
            harts[h].mpp = (new >> 11) & 3
        }
        harts[h].pc &+= 4
        settle()
        return old
    }

    /// `csrr mip` (M-level bits only: nothing here sets the S-level ones).
    mutating func readMIP(_ h: Int) -> UInt64 {
        let value = mip(h)
        harts[h].pc &+= 4
        settle()
        return value
    }

    /// A load or store on the CLINT or the PLIC. Returns the loaded value.
    @discardableResult
    mutating func access(_ h: Int, _ device: Device, offset: UInt64, width: Int = 4, store value: UInt64? = nil)
        -> UInt64? {
        var loaded: UInt64? = nil
        switch device {
        case .clint:
            loaded = clint(offset: offset, width: width, store: value)
        case .plic:
            // Reserved registers read 0 and ignore writes (the host's PLIC).
            if let value {
                plic.write(offset: offset, value: UInt32(truncatingIfNeeded: value))
            } else {
                loaded = UInt64(plic.read(offset: offset) ?? 0)
            }
        }
        harts[h].pc &+= 4
        settle()
        return loaded
    }

    /// A payload PLIC load or store (the firmware's PMP grants the PLIC).
    @discardableResult
    mutating func payloadPLICAccess(_ h: Int, offset: UInt64, store value: UInt64? = nil) -> UInt64? {
        access(h, .plic, offset: offset, store: value)
    }

    private mutating func clint(offset: UInt64, width: Int, store value: UInt64?) -> UInt64? {
        for h in 0..<count {
            if offset == CLINTMap.msip(h) && width == 4 {
                if let value { msip[h] = value & 1 == 1 }
                return value == nil ? (msip[h] ? 1 : 0) : nil
            }
            let base = CLINTMap.mtimecmp(h)
            if offset == base || offset == base + 4 {
                let high = offset == base + 4
                if let value {
                    switch (width, high) {
                    case (8, _): mtimecmp[h] = value
                    case (_, false): mtimecmp[h] = mtimecmp[h] & 0xFFFF_FFFF_0000_0000 | value & 0xFFFF_FFFF
                    case (_, true): mtimecmp[h] = mtimecmp[h] & 0xFFFF_FFFF | value << 32
                    }
                    return nil
                }
                return width == 8 ? mtimecmp[h] : (high ? mtimecmp[h] >> 32 : mtimecmp[h] & 0xFFFF_FFFF)
            }
        }
        if offset == CLINTMap.mtime || offset == CLINTMap.mtime + 4 {
            precondition(value == nil, "the monitor cannot move mtime: not generated")
            return width == 8 ? time : (offset == CLINTMap.mtime + 4 ? time >> 32 : time & 0xFFFF_FFFF)
        }
        return nil
    }

    mutating func mret(_ h: Int) {
        harts[h].mieBit = harts[h].mpie
        harts[h].mpie = true
        harts[h].mode = PrivilegeMode(rawValue: UInt8(harts[h].mpp)) ?? .user
        harts[h].mpp = 0
        harts[h].pc = harts[h].mepc
        settle()
    }

    mutating func wfi(_ h: Int) {
        if mip(h) & harts[h].mie != 0 {
            harts[h].pc &+= 4
        } else {
            harts[h].waiting = true
        }
        settle()
    }

    mutating func ecall(_ h: Int) {
        trap(h, cause: harts[h].mode == .supervisor ? 9 : 8)
        settle()
    }

    mutating func advance(to now: UInt64) {
        time = max(time, now)
        settle()
    }

    mutating func setSource(_ source: Int, _ asserted: Bool) {
        plic.setLevel(source: source, asserted)
        settle()
    }
}
