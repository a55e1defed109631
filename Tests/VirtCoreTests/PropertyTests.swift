import PropertyBased
import Testing
import VirtCore

/// Random programs run by the virtual hart and by the reference model side
/// by side. A failure prints the seed to reproduce it with `.fixedSeed(...)`
/// (never commit one).
@Suite("Property tests against the reference model")
struct PropertyTests {
    static let cases = 10_000

    // MARK: Inputs

    /// One input event of a CSR program.
    enum Event: Sendable, CustomStringConvertible {
        case csr(Encode.CSRKind, csr: UInt16, rd: UInt8, source: UInt8, value: UInt64)
        case time(UInt64)
        case seipLine(Bool)
        case deviceLines(UInt64)
        case counters(UInt64)
        case mode(PrivilegeMode)

        var description: String {
            switch self {
            case .csr(let k, let n, let rd, let s, let v):
                k.isImmediate ? "\(k) x\(rd), \(hex(n)), \(s)" : "\(k) x\(rd), \(hex(n)), x\(s)=\(hex(v))"
            case .time(let t): "time=\(hex(t))"
            case .seipLine(let l): "seip line=\(l)"
            case .deviceLines(let d): "devices=\(hex(d))"
            case .counters(let c): "counters+=\(c)"
            case .mode(let m): "mode=\(m)"
            }
        }
    }

    typealias RNG = any SeededRandomNumberGenerator

    static func chance(_ percent: UInt64, _ rng: inout RNG) -> Bool { rng.next() % 100 < percent }

    static func pick<T>(_ items: [T], _ rng: inout RNG) -> T { items[Int(rng.next() % UInt64(items.count))] }

    /// Operand values with the bit patterns the WARL rules care about.
    static func interestingValue(_ rng: inout RNG) -> UInt64 {
        let r = rng.next()
        switch rng.next() % 16 {
        case 0: return 0
        case 1: return ~0
        case 2: return 1 << (r % 64)
        case 3: return ~(1 << (r % 64))
        case 4: return r & rng.next() & rng.next()  // sparse
        case 5: return 0x5555_5555_5555_5555 << (r % 2)
        case 6: return (r & ~(3 << 11)) | (2 << 11)  // MPP = 2
        case 7: return (r & ~3) | 2 | (r & 1)  // trap-vector MODE 2 or 3
        case 8: return (r & ~(3 << 4)) | (2 << 4)  // CBIE = 0b10
        case 9: return r & 0x8080_8080_8080_8080 | (r >> 8) & 0x1F1F_1F1F_1F1F_1F1F  // PMP L bits
        case 10: return (rng.next() % 16) << 60 | (r & ((1 << 60) - 1))  // satp MODE
        case 11: return r & 0x3FFF  // interrupt bits
        case 12: return 1 << 63 | (r & 0xFFFF)  // cause-like
        case 13: return r & 0xFFFF_FFFF
        default: return r
        }
    }

    static func implementedCSRs(_ c: HartConfiguration) -> [UInt16] {
        let ref = ReferenceHart(c)
        return (0...0xFFF).map(UInt16.init).filter { ref.exists($0) }
    }

    static let implemented: [String: [UInt16]] = [
        TestHarts.name(TestHarts.qemu): implementedCSRs(TestHarts.qemu),
        TestHarts.name(TestHarts.small): implementedCSRs(TestHarts.small),
    ]

    /// Numbers next to implemented ones, which must stay illegal.
    static let neighbours: [UInt16] = [
        0x001, 0x002, 0x003, 0x101, 0x10C, 0x14E, 0x181, 0x301 + 0x10, 0x308, 0x30C, 0x310, 0x31A, 0x321,
        0x3A1, 0x3A3, 0x3AF, 0x3F0, 0x601, 0x60C, 0x747, 0x7A0, 0x7B0, 0xB01, 0xB80, 0xC80, 0xC20, 0xDA0, 0xFB0,
    ]

    static func csrNumber(_ table: [UInt16], _ rng: inout RNG) -> UInt16 {
        switch rng.next() % 10 {
        case 0...6: return pick(table, &rng)
        case 7: return pick(neighbours, &rng)
        default: return UInt16(rng.next() & 0xFFF)
        }
    }

    static func csrEvent(_ table: [UInt16], _ rng: inout RNG) -> Event {
        let kind = pick(Encode.CSRKind.allCases, &rng)
        let rd = UInt8(rng.next() % 32)
        let value = interestingValue(&rng)
        let source: UInt8
        if kind.isImmediate {
            source = chance(25, &rng) ? 0 : UInt8(value & 31)
        } else {
            source = chance(25, &rng) ? 0 : UInt8(1 + rng.next() % 31)
        }
        return .csr(kind, csr: csrNumber(table, &rng), rd: rd, source: source, value: value)
    }

    static func program(_ c: HartConfiguration, modes: Bool) -> Generator<[Event], Shrink.None<[Event]>> {
        let table = implemented[TestHarts.name(c)]!
        return Generator { rng in
            var events: [Event] = []
            let length = 1 + Int(rng.next() % 16)
            for _ in 0..<length {
                switch rng.next() % 20 {
                case 0: events.append(.time(chance(50, &rng) ? rng.next() : rng.next() % 64))
                case 1: events.append(.seipLine(chance(50, &rng)))
                case 2: events.append(.deviceLines(rng.next() & (B.msi | B.mti | B.mei)))
                case 3: events.append(.counters(rng.next() % 1000))
                case 4 where modes: events.append(.mode(pick([PrivilegeMode.machine, .supervisor, .user], &rng)))
                default: events.append(csrEvent(table, &rng))
                }
            }
            return events
        }
    }

    // MARK: Running

    /// Applies `events` to both models; returns the first divergence.
    static func run(_ events: [Event], on c: HartConfiguration) -> String? {
        var ls = Lockstep(c)
        var pc: UInt64 = 0x8000_0000
        for (index, event) in events.enumerated() {
            switch event {
            case .time(let t): ls.setEnvironment { $0.time = t }
            case .seipLine(let l): ls.setEnvironment { $0.supervisorExternalLine = l }
            case .deviceLines(let d): ls.setDeviceLines(d)
            case .counters(let n): ls.setEnvironment { $0.cycle &+= n; $0.instret &+= n / 2 }
            case .mode(let m): ls.mode = m
            case .csr(let kind, let n, let rd, let source, let value):
                if !kind.isImmediate && source != 0 { ls.setRegister(Int(source), value) }
                pc += 4
                let (actual, expected) = ls.step(Encode.csr(kind, rd: rd, csr: n, source: source), pc: pc)
                if ls.ref.lastTrapWasDelegated { return nil }  // see delegatedIllegalInstructionFromSModeGoesToS
                if actual != expected { return "step \(index) \(event): \(actual) != reference \(expected)" }
                let (a, e) = ls.readBoth(n)
                if a != e { return "step \(index) \(event): \(hex(n)) = \(a.map(hex) ?? "absent") != \(e.map(hex) ?? "absent")" }
                if let d = ls.differences([]).first { return "step \(index) \(event): \(d)" }
            }
        }
        if let d = ls.differences().first { return "end: \(d)" }
        return nil
    }

    @Test("random CSR programs match the reference", arguments: TestHarts.all)
    func csrProgramsMatchTheReference(configuration: HartConfiguration) async {
        await propertyCheck(count: Self.cases, input: Self.program(configuration, modes: false)) { events in
            let divergence = Self.run(events, on: configuration)
            #expect(divergence == nil, "\(divergence ?? "")")
        }
    }

    @Test("random CSR programs with mode changes match the reference", arguments: TestHarts.all)
    func csrProgramsAcrossModesMatchTheReference(configuration: HartConfiguration) async {
        await propertyCheck(count: Self.cases, input: Self.program(configuration, modes: true)) { events in
            let divergence = Self.run(events, on: configuration)
            #expect(divergence == nil, "\(divergence ?? "")")
        }
    }

    // MARK: Random instruction words

    /// Words biased towards the classes the emulator handles.
    static let words = Generator<UInt32, Shrink.None<UInt32>> { rng in
        let r = UInt32(truncatingIfNeeded: rng.next())
        switch rng.next() % 10 {
        case 0, 1, 2: return r  // anything, compressed or not
        case 3, 4: return (r & ~0x7F) | 0x73  // SYSTEM with random fields
        case 5: return pick([Encode.mret, Encode.sret, Encode.wfi, Encode.ecall, Encode.ebreak], &rng)
            ^ (chance(50, &rng) ? 1 << (r % 32) : 0)  // fixed encodings, maybe one bit flipped
        case 6: return (r & ~0xFE00_7FFF) | pick([0x1200_0073, 0x2200_0073, 0x6200_0073, 0x1600_0073], &rng)
        case 7: return (r & ~0x7F) | pick([0x03, 0x23], &rng)  // LOAD / STORE
        default: return r & 0xFFFF_FFFC | UInt32(rng.next() % 3)  // compressed with random upper half
        }
    }

    /// A random machine state reached through CSR writes, then one word.
    struct WordCase: Sendable, CustomStringConvertible {
        var setup: [Event]
        var mode: PrivilegeMode
        var word: UInt32
        var registers: [UInt64]
        var description: String { "word \(hex(word)) in \(mode) after \(setup)" }
    }

    static func wordCases(_ c: HartConfiguration) -> Generator<WordCase, Shrink.None<WordCase>> {
        let table = implemented[TestHarts.name(c)]!
        let machine: [UInt16] = [N.mstatus, N.mie, N.mip, N.mtvec, N.mepc, N.sepc, N.medeleg, N.menvcfg,
                                 N.mcounteren, N.scounteren, N.stimecmp]
        return Generator { rng in
            var setup: [Event] = []
            for _ in 0..<Int(rng.next() % 6) {
                // Mostly the registers the privileged instructions read.
                let n = chance(70, &rng) ? pick(machine, &rng) : pick(table, &rng)
                setup.append(.csr(.csrrw, csr: n, rd: 0, source: 31, value: interestingValue(&rng)))
            }
            if chance(30, &rng) { setup.append(.deviceLines(rng.next() & (B.msi | B.mti | B.mei))) }
            // Exceptions delegated from S/U would leave the emulator's scope: keep medeleg clear.
            setup.append(.csr(.csrrw, csr: N.medeleg, rd: 0, source: 0, value: 0))
            let registers = (0..<32).map { _ in interestingValue(&rng) }
            return WordCase(setup: setup, mode: pick([PrivilegeMode.machine, .machine, .supervisor, .user], &rng),
                            word: words.run(using: &rng), registers: registers)
        }
    }

    static func runWord(_ w: WordCase, on c: HartConfiguration) -> String? {
        // The decoder against the reference decoder.
        let (refDecoded, length) = ReferenceDecoder.decode(w.word)
        let decoded = Decoder.decode(w.word)
        let expected = DecodedInstruction(ReferenceDecoder.asInstruction(refDecoded), length: length)
        if decoded != expected { return "decode: \(decoded) != reference \(expected)" }
        // The emulator against the reference.
        var ls = Lockstep(c)
        var setupEvents = w.setup
        setupEvents.append(.mode(w.mode))
        for event in setupEvents {
            switch event {
            case .csr(let kind, let n, let rd, let source, let value):
                ls.mode = .machine
                if source != 0 { ls.setRegister(Int(source), value) }
                _ = ls.step(Encode.csr(kind, rd: rd, csr: n, source: source), pc: 0x100)
            case .deviceLines(let d): ls.setDeviceLines(d)
            case .mode(let m): ls.mode = m
            default: break
            }
        }
        for r in 1..<32 { ls.setRegister(r, w.registers[r]) }
        let (actual, wanted) = ls.step(w.word, pc: 0x8000_0000)
        if actual != wanted { return "execute: \(actual) != reference \(wanted)" }
        if let d = ls.differences().first { return "after execute: \(d)" }
        // Then whatever interrupt is due.
        var refEnv = ls.refEnv
        let refInterrupt = ls.ref.pendingMachineInterrupt(&refEnv)
        let interrupt = ls.hart.pendingMachineInterrupt
        if interrupt?.rawValue != refInterrupt { return "pending interrupt \(String(describing: interrupt)) != reference \(String(describing: refInterrupt))" }
        return nil
    }

    @Test("random instruction words: decoder and emulator match the reference", arguments: TestHarts.all)
    func randomWordsMatchTheReference(configuration: HartConfiguration) async {
        await propertyCheck(count: Self.cases, input: Self.wordCases(configuration)) { w in
            let divergence = Self.runWord(w, on: configuration)
            #expect(divergence == nil, "\(divergence ?? "")")
        }
    }

    @Test("random 16-bit parcels with random upper halves never crash and match the reference")
    func randomCompressedWordsMatchTheReference() async {
        let parcels = Generator<UInt32, Shrink.None<UInt32>> { rng in
            let r = UInt32(truncatingIfNeeded: rng.next())
            return r & 0xFFFF_FFFC | UInt32(rng.next() % 3)
        }
        await propertyCheck(count: Self.cases, input: parcels) { word in
            var ls = Lockstep(TestHarts.qemu)
            for r in 1..<32 { ls.setRegister(r, UInt64(r) &* 0x0101_0101_0101_0101) }
            let (actual, expected) = ls.step(word, pc: 0x8000_0002)
            #expect(actual == expected, "\(hex(word))")
            #expect(ls.differences().isEmpty, "\(hex(word)): \(ls.differences())")
            if case .resume(let pc) = actual, ls.hart.mcause == 2 {
                #expect(pc == 0 && ls.hart.mtval == UInt64(word & 0xFFFF), "an illegal parcel reports its 16 bits")
            }
        }
    }
}
