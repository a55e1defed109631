import PropertyBased
import Testing
import VirtCore

/// A PLIC written straight from the RISC-V PLIC specification with sets and
/// dictionaries: a table of every legal register offset, and the rules
/// ("Interrupt Priorities", "Priority Thresholds", "Interrupt Claim Process",
/// "Interrupt Completion") as set operations. Independent of `VirtualPLIC`'s
/// bitmaps and arithmetic decoding.
private struct ReferencePLIC {
    enum Register: Equatable {
        case priority(source: Int)
        case pending(word: Int)
        case enable(context: Int, word: Int)
        case threshold(context: Int)
        case claim(context: Int)
    }

    let sources: Int
    let harts: Int
    let levels: UInt32
    var priority: [Int: UInt32] = [:]
    var pending: Set<Int> = []
    var inService: Set<Int> = []
    /// Enabled sources of each hart's M context.
    var enabled: [Int: Set<Int>] = [:]
    var threshold: [Int: UInt32] = [:]
    let map: [UInt64: Register]

    init(sources: Int, harts: Int, priorityBits: Int) {
        self.sources = sources
        self.harts = harts
        levels = 1 << UInt32(priorityBits)
        var map: [UInt64: Register] = [:]
        let words = sources / 32 + 1
        for source in 0...sources { map[UInt64(source) * 4] = .priority(source: source) }
        for word in 0..<words { map[0x1000 + UInt64(word) * 4] = .pending(word: word) }
        for context in 0..<(2 * harts) {
            for word in 0..<words {
                map[0x2000 + UInt64(context) * 0x80 + UInt64(word) * 4] = .enable(context: context, word: word)
            }
            map[0x20_0000 + UInt64(context) * 0x1000] = .threshold(context: context)
            map[0x20_0004 + UInt64(context) * 0x1000] = .claim(context: context)
        }
        self.map = map
    }

    func sourcesIn(word: Int) -> ClosedRange<Int> { (word * 32)...(word * 32 + 31) }

    func bits(_ set: Set<Int>, word: Int) -> UInt32 {
        sourcesIn(word: word).reduce(0) { set.contains($1) ? $0 | 1 << UInt32($1 - word * 32) : $0 }
    }

    /// Claimable by hart `h`: pending, enabled, not in service, priority > 0.
    func candidates(hart: Int) -> [Int] {
        pending.intersection(enabled[hart, default: []]).subtracting(inService)
            .filter { priority[$0, default: 0] > 0 }
    }

    func claimable(hart: Int) -> Int {
        // Highest priority first, then lowest ID.
        candidates(hart: hart).max {
            (priority[$0, default: 0], -$0) < (priority[$1, default: 0], -$1)
        } ?? 0
    }

    func meip(hart: Int) -> Bool {
        candidates(hart: hart).contains { priority[$0, default: 0] > threshold[hart, default: 0] }
    }

    mutating func raise(source: Int) {
        if source >= 1 && source <= sources { pending.insert(source) }
    }

    mutating func read(offset: UInt64, width: Int) -> PLICAccess {
        guard width == 4, let register = map[offset] else { return .fault }
        switch register {
        case .priority(let s): return .value(priority[s, default: 0])
        case .pending(let w): return .passthroughOr(bits(pending, word: w))
        case .enable(let c, let w): return c % 2 == 1 ? .passthrough : .value(bits(enabled[c / 2, default: []], word: w))
        case .threshold(let c): return c % 2 == 1 ? .passthrough : .value(threshold[c / 2, default: 0])
        case .claim(let c):
            if c % 2 == 1 { return .passthrough }
            let s = claimable(hart: c / 2)
            if s != 0 {
                pending.remove(s)
                inService.insert(s)
            }
            return .value(UInt32(s))
        }
    }

    mutating func write(offset: UInt64, width: Int, value: UInt32) -> PLICAccess {
        guard width == 4, let register = map[offset] else { return .fault }
        switch register {
        case .priority(let s):
            if s == 0 { return .done }
            priority[s] = value % levels
            return .passthroughAndRecord
        case .pending:
            return .done
        case .enable(let c, let w):
            if c % 2 == 1 { return .passthrough }
            let hart = c / 2
            let old = enabled[hart, default: []]
            let written = Set(sourcesIn(word: w).filter { s in
                s >= 1 && s <= sources && (value >> UInt32(s - w * 32)) & 1 == 1
            })
            let new = old.filter { !sourcesIn(word: w).contains($0) }.union(written)
            if new == old { return .done }
            enabled[hart] = new
            return .enablesChanged(hart: hart)
        case .threshold(let c):
            if c % 2 == 1 { return .passthrough }
            threshold[c / 2] = value % levels
            return .done
        case .claim(let c):
            if c % 2 == 1 { return .passthrough }
            let s = Int(value)
            guard enabled[c / 2, default: []].contains(s), inService.contains(s) else { return .done }
            inService.remove(s)
            return .completed(source: s)
        }
    }
}

/// One random firmware or monitor action.
private struct PLICOperation: Sendable {
    var kind: Int
    var index: Int
    var value: UInt32
    var noise: UInt64
}

private let operation = zip(
    Gen.int(in: 0...99), Gen.int(in: 0...10_000), Gen.uint32(), Gen.uint64()
).map { PLICOperation(kind: $0, index: $1, value: $2, noise: $3) }.withoutShrink()

/// `riscv,ndev`: QEMU virt's 95, word boundaries, the maximum, or anything.
private let sourceCount = zip(Gen.int(in: 0...7), Gen.int(in: 0...127)).map { pick, any in
    [95, 95, 31, 32, 63, 127, 1, any][pick]
}

private let configuration = zip(sourceCount, Gen.int(in: 1...8), Gen.int(in: 1...4))

@Suite struct VirtualPLICPropertyTests {
    /// Random sequences (100 runs x 100-150 operations) of firmware loads and
    /// stores (claims, completes, enables, priorities, thresholds, pending,
    /// S-context and unsupported accesses) and monitor `raise` calls, checked
    /// after every step against `ReferencePLIC`: the access result, every
    /// hart's MEIP line and `meipHarts`, and every source's priority, pending
    /// and in-service state, every enable word and threshold.
    @Test func plicAgreesWithTheReferenceModel() async {
        await propertyCheck(
            count: 100, input: configuration, operation.array(of: 100...150)
        ) { config, operations in
            let (sources, harts, priorityBits) = config
            var plic = VirtualPLIC(sources: sources, harts: harts, priorityBits: priorityBits)
            var reference = ReferencePLIC(sources: sources, harts: harts, priorityBits: priorityBits)
            let registers = reference.map.sorted { $0.key < $1.key }
            // A few "hot" sources make enabled, pending and claimed meet often.
            let hot = sources == 0 ? [0] : [1, sources, (sources + 1) / 2, min(sources, 10)]

            func offset(of wanted: ReferencePLIC.Register) -> UInt64 {
                registers.first { $0.value == wanted }!.key
            }
            // The first offsets past each block's implemented registers.
            let words = UInt64(sources / 32 + 1)
            let contexts = UInt64(2 * harts)
            let boundaries: [UInt64] = [
                4 * UInt64(sources + 1), 0x1000 + 4 * words, 0x2000 + 4 * words,
                0x2000 + 0x80 * contexts, 0x20_0000 + 0x1000 * contexts,
                0x20_0004 + 0x1000 * contexts, 0x20_0008, 0x400_0000,
            ]

            for (step, op) in operations.enumerated() {
                let hart = op.index % harts
                let source = (op.noise >> 4) % 4 == 0 ? op.index % (sources + 2) : hot[op.index % hot.count]
                var offsetToUse: UInt64
                var width = 4
                var value = op.value
                let isWrite = op.noise % 2 == 0

                // Choose the register: biased towards the interesting ones.
                switch op.kind {
                case 0..<20:
                    offsetToUse = offset(of: .claim(context: 2 * hart))
                    if isWrite {
                        // Complete something in service most of the time.
                        let inService = reference.inService.sorted()
                        if !inService.isEmpty && op.value % 4 != 0 {
                            value = UInt32(inService[op.index % inService.count])
                        } else {
                            value = op.value % 3 == 0 ? op.value : UInt32(source)
                        }
                    }
                case 20..<35:
                    offsetToUse = offset(of: .priority(source: min(source, sources)))
                    if op.value % 2 == 0 { value = op.value % 8 }
                case 35..<50:
                    let word = source / 32 <= sources / 32 ? source / 32 : 0
                    offsetToUse = offset(of: .enable(context: 2 * hart + (op.value % 8 == 0 ? 1 : 0), word: word))
                    if op.value % 3 == 0 { value = 1 << UInt32(source % 32) }
                case 50..<58:
                    offsetToUse = offset(of: .threshold(context: 2 * hart))
                    value = op.value % 9
                default:
                    offsetToUse = registers[op.index % registers.count].key
                }
                switch (op.noise >> 8) % 16 {
                case 0: offsetToUse &+= (op.noise >> 16) % 8
                case 1: offsetToUse = (op.noise >> 16) % 0x40_0000
                case 2: offsetToUse = op.noise >> 16
                case 3: width = [0, 1, 2, 8][Int((op.noise >> 16) % 4)]
                case 4: offsetToUse = boundaries[Int((op.noise >> 16) % UInt64(boundaries.count))]
                default: break
                }

                let what: String
                if op.kind >= 85 {
                    what = "raise(source: \(source))"
                    plic.raise(source: source)
                    reference.raise(source: source)
                } else if isWrite {
                    what = "write \(offsetToUse) width \(width) value \(value)"
                    let got = plic.write(offset: offsetToUse, width: width, value: value)
                    let want = reference.write(offset: offsetToUse, width: width, value: value)
                    #expect(got == want, "step \(step): \(what)")
                } else {
                    what = "read \(offsetToUse) width \(width)"
                    let got = plic.read(offset: offsetToUse, width: width)
                    let want = reference.read(offset: offsetToUse, width: width)
                    #expect(got == want, "step \(step): \(what)")
                }

                let difference = firstDifference(plic, reference)
                #expect(difference == nil, "after step \(step): \(what)")
                if difference != nil { return }
            }
        }
    }

    /// The first piece of state on which the model and the reference differ.
    private func firstDifference(_ plic: VirtualPLIC, _ reference: ReferencePLIC) -> String? {
        var lines: UInt32 = 0
        for hart in 0..<reference.harts {
            if plic.meip(hart: hart) != reference.meip(hart: hart) { return "meip(hart: \(hart))" }
            if reference.meip(hart: hart) { lines |= 1 << UInt32(hart) }
            if plic.threshold(hart: hart) != reference.threshold[hart, default: 0] { return "threshold(hart: \(hart))" }
            for word in 0...(reference.sources / 32)
            where plic.enables(hart: hart, word: word) != reference.bits(reference.enabled[hart, default: []], word: word) {
                return "enables(hart: \(hart), word: \(word))"
            }
        }
        if plic.meipHarts != lines { return "meipHarts" }
        for source in 0...(reference.sources + 1) {
            if plic.priority(source: source) != reference.priority[source, default: 0] { return "priority(source: \(source))" }
            if plic.isPending(source: source) != reference.pending.contains(source) { return "isPending(source: \(source))" }
            if plic.isInService(source: source) != reference.inService.contains(source) { return "isInService(source: \(source))" }
        }
        return nil
    }
}
