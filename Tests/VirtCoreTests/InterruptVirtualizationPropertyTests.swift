import PropertyBased
import Testing
import VirtCore

/// One random event, interpreted against the current state (a firmware event
/// for a hart in virtual M-mode, a payload event for one below, a machine
/// event otherwise).
private struct InterruptEvent: Sendable {
    var kind: Int
    var hart: Int
    var a: UInt64
    var b: UInt64
}

private let event = zip(Gen.int(in: 0...99), Gen.int(in: 0...7), Gen.uint64(), Gen.uint64())
    .map { InterruptEvent(kind: $0, hart: $1, a: $2, b: $3) }

/// The monitor-driven machine and the native one, fed the same events and
/// compared after every one.
private struct InterruptLockstep {
    var rig: VirtualizationRig
    var native: NativeMachine
    /// The last source each hart's firmware claimed (to complete it later).
    var lastClaim: [UInt64]

    /// PLIC sources the events use: both bitmap words, neighbours, the last one.
    static let pool = [1, 2, 3, 5, 31, 32, 33, 40]
    static let sources = 40
    /// The `mstatus` fields the events touch: MIE, MPIE, MPP.
    static let statusFields: UInt64 = (1 << 3) | (1 << 7) | (3 << 11)

    init(harts: Int, configuration: HartConfiguration) {
        rig = VirtualizationRig(harts: harts, configuration: configuration, sources: Self.sources)
        native = NativeMachine(harts: harts, configuration: configuration, sources: Self.sources)
        lastClaim = Array(repeating: 0, count: harts)
    }

    var count: Int { rig.count }

    // MARK: Events

    /// The firmware's boot on every hart, randomised from `seed`: PLIC
    /// priorities of the pool's sources, each hart's M-context enables and
    /// threshold, `mie`, `mstatus.MPP = S` and now and then `mstatus.MIE`.
    /// Performed on both machines like any event; returns the mismatches.
    mutating func boot(seed: UInt64) -> [String] {
        var state = seed
        func next(_ bound: UInt64) -> UInt64 {
            // SplitMix64.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return (z ^ (z >> 31)) % bound
        }
        var problems: [String] = []
        for source in Self.pool {
            let priority = next(4) == 0 ? 0 : 1 + next(7)
            problems += device(0, .plic, offset: SpecPLIC.priorityOffset(source), width: 4, value: priority).1
        }
        for h in 0..<count {
            for word in 0..<2 {
                var bits: UInt64 = 0
                for s in Self.pool where s / 32 == word && next(2) == 0 { bits |= 1 << UInt64(s % 32) }
                problems += device(h, .plic, offset: SpecPLIC.enableOffset(context: 2 * h, word: word), width: 4,
                                   value: bits).1
            }
            let threshold = next(4) == 0 ? next(8) : 0
            problems += device(h, .plic, offset: SpecPLIC.thresholdOffset(context: 2 * h), width: 4, value: threshold).1
            var enables: UInt64 = 0
            for bit: UInt64 in [3, 7, 11] where next(4) != 0 { enables |= 1 << bit }
            for bit: UInt64 in [1, 5, 9] where next(2) == 0 { enables |= 1 << bit }
            problems += csrMIE(h, InterruptEvent(kind: 0, hart: h, a: 0, b: enables)).1
            problems += csrMStatus(h, InterruptEvent(kind: 0, hart: h, a: 6, b: 0)).1
            if next(2) == 0 { problems += csrMStatus(h, InterruptEvent(kind: 0, hart: h, a: 0, b: 0)).1 }
        }
        return problems
    }

    /// Applies `e` to both machines; returns what happened and any mismatch
    /// in the values the firmware got.
    mutating func apply(_ e: InterruptEvent) -> (String, [String]) {
        // A hart the monitor holds in wfi does nothing: pick the next one.
        guard let h = (0..<count).map({ (e.hart + $0) % count }).first(where: { !rig.waiting[$0] }) else {
            return (machineEvent(e, wakeUp: true), [])
        }
        if rig.harts[h].mode != .machine {
            if e.kind % 3 == 0 {
                rig.ecall(h)
                native.ecall(h)
                return ("payload ecall on hart \(h)", [])
            }
            if e.kind % 3 == 1 { return plic(h, e, fromPayload: true) }
            return (machineEvent(e), [])
        }
        switch e.kind {
        case 0..<12: return (machineEvent(e), [])
        case 12..<24: return csrMIE(h, e)
        case 24..<26: return readMIP(h)
        case 26..<38: return csrMStatus(h, e)
        case 38..<56: return clint(h, e)
        case 56..<82: return plic(h, e)
        case 82..<96:
            rig.mret(h)
            native.mret(h)
            return ("mret on hart \(h)", [])
        default:
            rig.wfi(h)
            native.wfi(h)
            return ("wfi on hart \(h)", [])
        }
    }

    /// Time passes, or a device moves its PLIC line. With `wakeUp` (every
    /// hart waits in wfi) time often jumps to the next deadline.
    mutating func machineEvent(_ e: InterruptEvent, wakeUp: Bool = false) -> String {
        if wakeUp && e.a % 2 == 0, let next = native.mtimecmp.filter({ $0 > native.time }).min(), next != .max {
            rig.advance(to: next)
            native.advance(to: next)
            return "time -> \(native.time)"
        }
        if e.a % 3 == 0 {
            let source = Self.pool[Int(e.b % UInt64(Self.pool.count))]
            let asserted = (e.b >> 8) % 2 == 0
            rig.setSource(source, asserted)
            native.setSource(source, asserted)
            return "source \(source) \(asserted ? "asserted" : "deasserted")"
        }
        let now: UInt64
        if e.a % 3 == 1 {
            // Close to a deadline, on either side.
            let deadline = native.mtimecmp[Int(e.b % UInt64(count))]
            now = deadline == .max ? native.time &+ 1 : deadline &+ (e.b >> 8) % 3 &- 1
        } else {
            now = native.time &+ (e.b >> 8) % 12
        }
        rig.advance(to: now)
        native.advance(to: now)
        return "time -> \(native.time)"
    }

    mutating func csrMIE(_ h: Int, _ e: InterruptEvent) -> (String, [String]) {
        let operation = CSROperation.allCases[Int(e.a % 3)]
        // Mostly M- and S-level enables, now and then anything.
        let levels: UInt64 = 0b1010_1010_1010
        let operand = (e.a >> 8) % 8 == 0 ? e.b : e.b & levels
        let got = rig.csr(h, .mie, operation, operand)
        let want = native.csr(h, .mie, operation, operand)
        let what = "hart \(h): \(operation) mie, \(hex(operand))"
        return (what, got == want ? [] : ["\(what) read \(got.map(hex) ?? "trap"), natively \(hex(want))"])
    }

    /// `csrr mip`. While MTIE is clear, MTIP may read stale until the next
    /// trap refreshes it (a known issue of the monitor's trap path, see
    /// `mipReadShowsTimerThatExpiredSinceTheLastTrap`): left out then.
    mutating func readMIP(_ h: Int) -> (String, [String]) {
        let lagging = rig.harts[h].mie.contains(.mtip) ? 0 : InterruptBits.mtip.rawValue
        let got = rig.csr(h, .mip, .readSet, 0, writes: false).map { $0 & ~lagging }
        let want = native.readMIP(h) & ~lagging
        let what = "hart \(h): csrr mip"
        return (what, got == want ? [] : ["\(what) read \(got.map(hex) ?? "trap"), natively \(hex(want))"])
    }

    mutating func csrMStatus(_ h: Int, _ e: InterruptEvent) -> (String, [String]) {
        let mie: UInt64 = 1 << 3, mpie: UInt64 = 1 << 7, mpp: UInt64 = 3 << 11
        var steps: [(CSROperation, UInt64)]
        switch e.a % 8 {
        case 0, 1: steps = [(.readSet, mie)]
        case 2, 3: steps = [(.readClear, mie)]
        case 4: steps = [(e.b % 2 == 0 ? .readSet : .readClear, mpie)]
        case 5:
            // csrrw with legal MPP values only.
            let field = [0, 1, 3][Int(e.b % 3)] << 11
            steps = [(.readWrite, (e.b >> 8) & (mie | mpie) | UInt64(field))]
        default:
            // MPP <- U, S or M (biased to S so that mret enters the payload).
            let field: UInt64 = [1, 1, 3, 0][Int(e.b % 4)] << 11
            steps = [(.readClear, mpp), (.readSet, field)]
        }
        var what = "hart \(h):"
        var problems: [String] = []
        for (operation, operand) in steps {
            // Each instruction on a hart still in virtual M-mode.
            guard rig.harts[h].mode == .machine, native.harts[h].mode == .machine else { break }
            let got = rig.csr(h, .mstatus, operation, operand).map { $0 & Self.statusFields }
            let want = native.csr(h, .mstatus, operation, operand)
            what += " \(operation) mstatus, \(hex(operand));"
            if got != want { problems.append("\(what) read \(got.map(hex) ?? "trap"), natively \(hex(want))") }
        }
        return (what, problems)
    }

    mutating func clint(_ h: Int, _ e: InterruptEvent) -> (String, [String]) {
        let target = Int(e.a % UInt64(count))
        let delta = (e.a >> 8) % 48
        let deadline = (e.a >> 16) % 16 == 0 ? UInt64.max : native.time &+ delta &- 8
        let offset: UInt64, width: Int, value: UInt64?
        switch e.b % 12 {
        case 0, 1, 2:
            offset = CLINTMap.msip(target); width = 4
            value = [0, 1, 1, 0xFFFF_FFFE, 0xFFFF_FFFF][Int((e.b >> 8) % 5)]
        case 3:
            offset = CLINTMap.msip(target); width = 4; value = nil
        case 4, 5, 6:
            offset = CLINTMap.mtimecmp(target); width = 8; value = deadline
        case 7:
            offset = CLINTMap.mtimecmp(target); width = 4; value = deadline & 0xFFFF_FFFF
        case 8:
            offset = CLINTMap.mtimecmp(target) + 4; width = 4; value = (e.b >> 8) % 4 == 0 ? 0xFFFF_FFFF : deadline >> 32
        case 9:
            let half = (e.b >> 8) % 3
            offset = CLINTMap.mtimecmp(target) + (half == 2 ? 4 : 0); width = half == 0 ? 8 : 4; value = nil
        default:
            let half = (e.b >> 8) % 3
            offset = CLINTMap.mtime + (half == 2 ? 4 : 0); width = half == 0 ? 8 : 4; value = nil
        }
        let (what, problems, _) = device(h, .clint, offset: offset, width: width, value: value)
        return (what, problems)
    }

    /// A PLIC access of the firmware of hart `h`, or with `fromPayload` of
    /// the payload running on it (its own S context natively, the rest
    /// through the monitor): registers of any context, claims and completes
    /// included, and reserved offsets.
    mutating func plic(_ h: Int, _ e: InterruptEvent, fromPayload: Bool = false) -> (String, [String]) {
        let source = Self.pool[Int(e.a % UInt64(Self.pool.count))]
        // Contexts: mostly this hart's own (M for the firmware, S for the payload), else any.
        let anyContext = Int((e.a >> 8) % UInt64(2 * count))
        let own = fromPayload ? 2 * h + 1 : 2 * h
        let context = (e.a >> 16) % 3 == 0 ? anyContext : own
        let machineContext = (e.a >> 16) % 5 == 0 ? anyContext : own
        let word = Int((e.a >> 32) % 2)
        let offset: UInt64, value: UInt64?
        switch e.b % 16 {
        case 0, 1:
            offset = SpecPLIC.priorityOffset(source); value = (e.b >> 8) % 8
        case 2:
            offset = SpecPLIC.priorityOffset((e.b >> 8) % 8 == 0 ? 0 : source); value = nil
        case 3:
            offset = SpecPLIC.pendingOffset(word: word); value = nil
        case 4, 5:
            var bits: UInt32 = 0
            for s in Self.pool where s / 32 == word && (e.b >> (8 + UInt64(s % 32))) & 1 == 1 {
                bits |= 1 << UInt32(s % 32)
            }
            if (e.b >> 60) == 0 { bits = ~0 }
            offset = SpecPLIC.enableOffset(context: context, word: word); value = UInt64(bits)
        case 6:
            offset = SpecPLIC.enableOffset(context: context, word: word); value = nil
        case 7:
            offset = SpecPLIC.thresholdOffset(context: context); value = (e.b >> 8) % 3 == 0 ? (e.b >> 16) % 8 : 0
        case 8:
            offset = SpecPLIC.thresholdOffset(context: context); value = nil
        case 9, 10, 11:
            offset = SpecPLIC.claimOffset(context: machineContext); value = nil
        case 12:
            // A reserved register: past the sources, a gap in a context
            // block, a context that does not exist.
            let reserved: [UInt64] = [SpecPLIC.priorityOffset(Self.sources + 1), 0xFFC,
                                      SpecPLIC.pendingOffset(word: 2), SpecPLIC.enableOffset(context: context, word: 5),
                                      SpecPLIC.thresholdOffset(context: context) + 8,
                                      SpecPLIC.thresholdOffset(context: 2 * count), 0x3FF_FFFC]
            offset = reserved[Int((e.b >> 8) % UInt64(reserved.count))]
            value = (e.b >> 12) % 2 == 0 ? nil : 7
        default:
            // A complete: mostly of what this hart claimed last, else any ID.
            let id: UInt64
            switch (e.b >> 8) % 8 {
            case 0: id = UInt64(source)
            case 1: id = [0, 41, 0xFFFF_FFFF][Int((e.b >> 16) % 3)]
            default: id = lastClaim[h]
            }
            offset = SpecPLIC.claimOffset(context: machineContext); value = id
        }
        let isClaim = native.plic.decode(offset) == .claim(machineContext) && value == nil
        let (what, problems, loaded) = fromPayload
            ? payloadPLIC(h, offset: offset, value: value)
            : device(h, .plic, offset: offset, width: 4, value: value)
        if isClaim, let loaded, loaded != 0 { lastClaim[h] = loaded }
        return (what, problems)
    }

    /// The same payload PLIC access on both machines.
    mutating func payloadPLIC(_ h: Int, offset: UInt64, value: UInt64?) -> (String, [String], UInt64?) {
        let got = rig.payloadPLICAccess(h, offset: offset, store: value)
        let want = native.payloadPLICAccess(h, offset: offset, store: value)
        let what = "hart \(h) payload: \(value.map { "store \(hex($0)) to" } ?? "load from") plic \(hex(offset))"
        if value == nil && got != want {
            return (what, ["\(what) read \(got.map(hex) ?? "nothing"), natively \(want.map(hex) ?? "nothing")"], want)
        }
        return (what, [], want)
    }

    /// The same access on both machines; also returns the native value loaded.
    mutating func device(_ h: Int, _ device: Device, offset: UInt64, width: Int, value: UInt64?)
        -> (String, [String], UInt64?) {
        let got = rig.access(h, device, offset: offset, width: width, store: value)
        let want = native.access(h, device, offset: offset, width: width, store: value)
        let what = "hart \(h): \(value.map { "store \(hex($0)) to" } ?? "load from") \(device) \(hex(offset))/\(width)"
        if value == nil && got != want {
            return (what, ["\(what) read \(got.map(hex) ?? "nothing"), natively \(want.map(hex) ?? "nothing")"], want)
        }
        return (what, [], want)
    }

    // MARK: Invariants

    /// Every difference between the two machines, and every broken invariant
    /// of the monitor's real-machine state.
    func differences() -> [String] {
        var out = rig.violations
        let m = InterruptBits.machineLevel
        for h in 0..<count {
            let v = rig.harts[h], n = native.harts[h]
            let tag = "hart \(h):"
            // (a) the same interrupts taken, at the same point, with the same state.
            if rig.waiting[h] != n.waiting { out.append("\(tag) waiting \(rig.waiting[h]), natively \(n.waiting)") }
            if v.mode != n.mode { out.append("\(tag) mode \(v.mode), natively \(n.mode)") }
            if rig.injected[h].count != native.taken[h].count
                || rig.injected[h].last.map({ $0.rawValue }) != native.taken[h].last {
                out.append("\(tag) injected \(rig.injected[h].map { $0.rawValue }), natively took \(native.taken[h])")
            }
            if v.mcause != n.mcause { out.append("\(tag) mcause \(hex(v.mcause)), natively \(hex(n.mcause))") }
            if v.mepc != n.mepc { out.append("\(tag) mepc \(hex(v.mepc)), natively \(hex(n.mepc))") }
            if rig.pc[h] != n.pc { out.append("\(tag) pc \(hex(rig.pc[h])), natively \(hex(n.pc))") }
            if v.mie.rawValue != n.mie { out.append("\(tag) mie \(hex(v.mie.rawValue)), natively \(hex(n.mie))") }
            let status = v.mstatus.rawValue & Self.statusFields
            if status != native.mstatus(h) {
                out.append("\(tag) mstatus MIE/MPIE/MPP \(hex(status)), natively \(hex(native.mstatus(h)))")
            }
            // (b) no event lost: the virtual lines are the native ones, and
            // the hart's recorded lines are current (MTIP may lag while
            // MTIE is clear: nothing can observe it then without a trap
            // that refreshes it).
            var lines = rig.fabric.lines(hart: h, time: rig.time)
            if rig.realPLIC.line(context: 2 * h) { lines.insert(.meip) }
            if lines.rawValue != native.mip(h) {
                out.append("\(tag) virtual lines \(hex(lines.rawValue)), native mip \(hex(native.mip(h)))")
            }
            // MEIP may fall (another hart's or the payload's claim, a device)
            // while recorded: only its real enable is masked meanwhile, and
            // the next trap re-reads it. A rise is never missed while enabled.
            let recorded = v.mipDevices
            if recorded.subtracting([.mtip, .meip]) != lines.subtracting([.mtip, .meip])
                || (v.mie.contains(.mtip) && recorded.contains(.mtip) != lines.contains(.mtip))
                || (recorded.contains(.mtip) && !lines.contains(.mtip))
                || (v.mie.contains(.meip) && !recorded.contains(.meip) && lines.contains(.meip)) {
                out.append("\(tag) recorded lines \(hex(recorded.rawValue)), current \(hex(lines.rawValue))")
            }
            // (c) no trap storm: the real enables never include a line already recorded.
            let real = rig.realMie[h]
            if rig.installed[h] != v.world { out.append("\(tag) installed \(rig.installed[h]), virtual world \(v.world)") }
            if !real.contains(.msip) {
                out.append("\(tag) real mie \(hex(real.rawValue)) lacks MSIE (the doorbell)")
            }
            if recorded.contains(.mtip) && real.contains(.mtip) {
                out.append("\(tag) real MTIE set while the virtual MTIP is recorded")
            }
            if recorded.contains(.meip) && real.contains(.meip) {
                out.append("\(tag) real MEIE set while the virtual MEIP is recorded")
            }
            if rig.installed[h] == .firmware {
                let allowed: InterruptBits = rig.waiting[h] ? m.union(.seip) : m
                if !real.subtracting(allowed).isEmpty {
                    out.append("\(tag) real mie \(hex(real.rawValue)) enables S-level interrupts in the firmware's world")
                }
            } else if real.intersection(v.mideleg) != v.mie.intersection(v.mideleg) {
                out.append("\(tag) real mie \(hex(real.rawValue)) is not the payload's sie")
            }
            let stillPending = rig.realMip(h).intersection(real)
            if !stillPending.isEmpty { out.append("\(tag) real mip & mie = \(hex(stillPending.rawValue)) after settling") }
            // (d) device state: what the firmware wrote, and the real devices follow it.
            if rig.fabric.clint.msip(hart: h) != native.msip[h] {
                out.append("\(tag) msip \(rig.fabric.clint.msip(hart: h)), natively \(native.msip[h])")
            }
            if rig.fabric.clint.mtimecmp(hart: h) != native.mtimecmp[h] || rig.realMtimecmp[h] != native.mtimecmp[h] {
                out.append("\(tag) mtimecmp \(hex(rig.fabric.clint.mtimecmp(hart: h))) (real \(hex(rig.realMtimecmp[h]))), natively \(hex(native.mtimecmp[h]))")
            }
        }
        // The real PLIC is the firmware's PLIC: it must be exactly the native one.
        let real = rig.realPLIC, n = native.plic
        for s in 1...Self.sources {
            if real.priority[s] != n.priority[s] { out.append("source \(s): priority \(real.priority[s]), natively \(n.priority[s])") }
            if real.pending[s] != n.pending[s] { out.append("source \(s): pending \(real.pending[s]), natively \(n.pending[s])") }
            if real.inService[s] != n.inService[s] {
                out.append("source \(s): in service \(real.inService[s]), natively \(n.inService[s])")
            }
        }
        for context in 0..<real.contexts {
            if real.threshold[context] != n.threshold[context] {
                out.append("context \(context): threshold \(real.threshold[context]), natively \(n.threshold[context])")
            }
            if real.enable[context] != n.enable[context] { out.append("context \(context): enables differ from native") }
        }
        return out
    }
}

@Suite struct InterruptVirtualizationPropertyTests {
    static let runs = 1000
    static let eventsPerRun = 100

    /// Random sequences of firmware CSR accesses (`mie`, `mstatus`, `mip`),
    /// CLINT and PLIC accesses from any hart, `mret` into the payload and
    /// traps back, `wfi`, passing time and PLIC sources moving, on 1-4
    /// harts: the machine driven the way the monitor drives it agrees after
    /// every event with the same machine run natively, and the monitor's
    /// real-machine state keeps its invariants (see
    /// ``InterruptLockstep/differences()``).
    /// 1000 runs x 100 events, after a randomised boot of about 20 more.
    ///
    /// The PLIC events include the payload's accesses (all native, or its own
    /// S context natively and every other register through the monitor), claims and
    /// completes on any context from either world, and reserved offsets.
    /// Not generated: `mtime` writes (the monitor drops them: it cannot move
    /// the clock it shares with the payload). Shrinking is off: a failure
    /// prints the last events, and shrinking 100 events takes ages.
    @Test(.shrinking(false)) func monitorDrivenMachineAgreesWithNativeMachine() async {
        await propertyCheck(
            count: Self.runs, input: Gen.int(in: 1...4), Gen.bool, Gen.uint64(), event.array(of: Self.eventsPerRun)
        ) { harts, small, seed, events in
            var lockstep = InterruptLockstep(harts: harts, configuration: small ? TestHarts.small : TestHarts.qemu)
            // Half the runs: a firmware PMP that grants the payload the whole
            // PLIC (native accesses); the other half: only its S-context page.
            lockstep.rig.payloadPLICNative = seed & 1 == 1
            let booted = lockstep.boot(seed: seed) + lockstep.differences()
            if !booted.isEmpty {
                Issue.record("\(harts) harts, boot \(hex(seed)):\n\(booted.joined(separator: "\n"))")
                return
            }
            var history: [String] = []
            for (step, e) in events.enumerated() {
                let (what, problems) = lockstep.apply(e)
                history.append(what)
                let all = problems + lockstep.differences()
                if !all.isEmpty {
                    Issue.record("""
                        \(harts) harts (\(small ? "RV64IMASU" : "qemuRV64")), step \(step): \(what)
                        \(all.joined(separator: "\n"))
                        last events:
                        \(history.suffix(12).joined(separator: "\n"))
                        """)
                    return
                }
            }
        }
    }
}
