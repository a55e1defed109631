/// The outcome of a firmware access to the virtual PLIC: what the monitor
/// must do to finish it.
public enum PLICAccess: Equatable, Sendable {
    /// An emulated load: return this value to the firmware.
    case value(UInt32)
    /// An emulated store (or a store the PLIC ignores): nothing to forward.
    case done
    /// An emulated complete released `source` from service (RISC-V PLIC
    /// specification, "Interrupt Completion"): the monitor forwards it as a
    /// real complete of `source` on the real M context that claimed it, so
    /// that the real gateway forwards the source's next request.
    case completed(source: Int)
    /// The firmware changed the enables of hart `hart`'s M context: the monitor
    /// mirrors ``VirtualPLIC/enables(hart:word:)`` into the real M context of
    /// that hart, so that only sources the firmware enabled reach the monitor.
    case enablesChanged(hart: Int)
    /// Not virtualized (S-context registers): perform the same access on the
    /// real PLIC and, for a load, return its value.
    case passthrough
    /// A `pending` word load: read the real word and return it OR these bits,
    /// the sources the monitor already claimed on the real M context and
    /// raised here, which the real `pending` word no longer shows.
    case passthroughOr(UInt32)
    /// A `priority` store: the model recorded the legalised priority (it
    /// ranks M-context interrupts); the monitor also performs the store on
    /// the real PLIC, because priorities are shared with the S contexts.
    case passthroughAndRecord
    /// Not supported (width not 4, unaligned, a reserved offset, a source or
    /// context that does not exist): the monitor injects an access fault.
    case fault
}

/// The firmware's view of a PLIC whose M-mode contexts are virtualized
/// (RISC-V PLIC specification 1.0.0; SiFive PLIC layout as on QEMU `virt`).
///
/// Context `2h` is hart `h`'s M-mode context and is emulated here; context
/// `2h + 1` is its S-mode context and belongs to the payload: its registers
/// pass through to the real PLIC. The state is that of Bao's virtual PLIC:
/// `priority` per source, `pending` and in-service ("claimed") bitmaps, and per
/// M context an `enable` bitmap and a `threshold`.
///
/// | offset | register (specification section) | here |
/// |---|---|---|
/// | `4s` | `priority[s]` ("Interrupt Priorities"); source 0 reads 0 | read emulated, write recorded and passed through |
/// | `0x1000 + 4w` | `pending` word `w` ("Interrupt Pending Bits") | read passed through and merged, write ignored |
/// | `0x2000 + 0x80c + 4w` | `enable` word `w` of context `c` ("Interrupt Enables") | emulated for M contexts |
/// | `0x20_0000 + 0x1000c` | `threshold` of `c` ("Priority Thresholds") | emulated for M contexts |
/// | `0x20_0004 + 0x1000c` | `claim`/`complete` of `c` ("Interrupt Claim Process", "Interrupt Completion") | emulated for M contexts |
///
/// Only aligned 32-bit accesses exist ("Memory Map"). Sources are `1...sources`;
/// contexts `0..<2 * harts`.
///
/// Rules, from the specification:
/// - Priority 0 means "never interrupt": such a source is neither signalled
///   nor claimed ("Interrupt Priorities"). Priorities and thresholds are WARL
///   over `0...(2^priorityBits - 1)`.
/// - A context's interrupt line (MEIP for an M context) is set while some
///   source is pending, enabled in that context, not in service and has a
///   priority above the context's threshold ("Interrupt Flow", "Priority
///   Thresholds").
/// - A claim returns the highest-priority source that is pending, enabled,
///   not in service and of non-zero priority, the lowest ID on ties
///   ("Interrupt Identifiers"), or 0; it clears the source's pending bit and
///   puts it in service. The claim ignores the threshold: "the claim
///   operation is not affected by the setting of the priority threshold
///   register" ("Interrupt Claim Process"). Documented difference: QEMU's
///   `sifive_plic.c` and Bao's `vplic.c` both return 0 from a claim when no
///   source is above the threshold.
/// - A complete of source `s` is ignored unless `s` is enabled in that
///   context ("Interrupt Completion") and in service; otherwise `s` leaves
///   service and its gateway may forward a new request. QEMU and Bao do not
///   check the enable.
/// - A source stays in service until completed; a request recorded for it
///   meanwhile (``raise(source:)``) stays pending and becomes claimable after
///   the complete, as in QEMU's and Bao's `pending & ~claimed`.
///
/// Reset values (as QEMU's `sifive_plic_reset`): every priority, pending and
/// in-service bit, enable and threshold is 0.
public struct VirtualPLIC: Sendable {
    /// The largest number of source IDs, including the reserved source 0.
    public static let maximumSources = 128
    /// The largest number of harts.
    public static let maximumHarts = 8
    /// 32-bit words of a bitmap over ``maximumSources`` IDs.
    public static let maximumWords = maximumSources / 32

    /// Offset of `priority[0]` ("Interrupt Priorities").
    public static let priorityOffset: UInt64 = 0x0000
    /// Offset of the first `pending` word ("Interrupt Pending Bits").
    public static let pendingOffset: UInt64 = 0x1000
    /// Offset of context 0's first `enable` word ("Interrupt Enables").
    public static let enableOffset: UInt64 = 0x2000
    /// Distance between the `enable` words of consecutive contexts.
    public static let enableStride: UInt64 = 0x80
    /// Offset of context 0's `threshold` ("Priority Thresholds").
    public static let contextOffset: UInt64 = 0x20_0000
    /// Distance between the `threshold` registers of consecutive contexts.
    public static let contextStride: UInt64 = 0x1000
    /// Offset of `claim`/`complete` within a context's block.
    public static let claimOffset: UInt64 = 4
    /// End of the PLIC region (the last context block of the specification).
    public static let size: UInt64 = 0x400_0000

    /// The highest source ID: `riscv,ndev` from the FDT (QEMU `virt`: 95),
    /// clamped to `0..<maximumSources`.
    public let sources: Int
    /// The number of harts, clamped to `1...maximumHarts`; contexts are
    /// `0..<2 * harts`.
    public let harts: Int
    /// The implemented bits of `priority` and `threshold`: `2^priorityBits - 1`
    /// (QEMU `virt`: 7).
    public let priorityMask: UInt32
    /// The `pending`/`enable` words that exist: `(sources + 32) / 32`.
    public let words: Int

    /// `priority[s]`.
    private var priorities: InlineArray<128, UInt8>
    /// `pending` bitmap, one bit per source ID.
    private var pendingBits: InlineArray<4, UInt32>
    /// Sources claimed and not yet completed.
    private var inServiceBits: InlineArray<4, UInt32>
    /// `enable` bitmaps of the M contexts: word `w` of hart `h` at `4h + w`.
    private var enableBits: InlineArray<32, UInt32>
    /// `threshold` of each hart's M context.
    private var thresholds: InlineArray<8, UInt8>

    /// A PLIC with source IDs `1...sources` (`riscv,ndev`), `harts` harts and
    /// `priorityBits` implemented priority bits (clamped to `1...8`), in its
    /// reset state.
    public init(sources: Int, harts: Int, priorityBits: Int = 3) {
        self.sources = min(max(sources, 0), VirtualPLIC.maximumSources - 1)
        self.harts = min(max(harts, 1), VirtualPLIC.maximumHarts)
        self.priorityMask = (UInt32(1) << UInt32(min(max(priorityBits, 1), 8))) - 1
        self.words = (self.sources + 32) / 32
        self.priorities = InlineArray(repeating: 0)
        self.pendingBits = InlineArray(repeating: 0)
        self.inServiceBits = InlineArray(repeating: 0)
        self.enableBits = InlineArray(repeating: 0)
        self.thresholds = InlineArray(repeating: 0)
    }

    // MARK: Monitor side

    /// Records a request of `source` as pending: the monitor claimed it on the
    /// real M context, which clears it there ("Interrupt Gateways": the
    /// gateway sends nothing more until the complete). Ignored for a source
    /// that does not exist.
    public mutating func raise(source: Int) {
        guard isSource(source) else { return }
        pendingBits[source / 32] |= VirtualPLIC.bit(source)
    }

    /// The virtual MEIP of `hart`: its M context has an interrupt to signal
    /// (an enabled, pending source not in service with priority above the
    /// threshold). False for a hart that does not exist.
    public func meip(hart: Int) -> Bool {
        guard isHart(hart) else { return false }
        return best(hart: hart, above: UInt8(thresholds[hart])) != 0
    }

    /// The virtual MEIP of every hart as a bitmap (bit `h` = hart `h`): the
    /// monitor compares it before and after an access to find the harts whose
    /// line changed (a claim on one hart can lower another hart's line).
    public var meipHarts: UInt32 {
        var lines: UInt32 = 0
        for hart in 0..<harts where meip(hart: hart) {
            lines |= 1 << UInt32(hart)
        }
        return lines
    }

    /// Word `word` of the `enable` bitmap of `hart`'s M context, to mirror
    /// into the real M context; 0 outside `0..<words` or for a hart that does
    /// not exist.
    public func enables(hart: Int, word: Int) -> UInt32 {
        guard isHart(hart), word >= 0, word < words else { return 0 }
        return enableBits[hart * VirtualPLIC.maximumWords + word]
    }

    /// `priority[source]` as the model holds it; 0 for source 0 and sources
    /// that do not exist.
    public func priority(source: Int) -> UInt32 {
        isSource(source) ? UInt32(priorities[source]) : 0
    }

    /// Records `priority[source]` without an MMIO access (legalised), for a
    /// monitor that re-reads the real registers the payload may have changed.
    public mutating func recordPriority(source: Int, _ value: UInt32) {
        guard isSource(source) else { return }
        priorities[source] = UInt8(value & priorityMask)
    }

    /// The `threshold` of `hart`'s M context; 0 for a hart that does not exist.
    public func threshold(hart: Int) -> UInt32 {
        isHart(hart) ? UInt32(thresholds[hart]) : 0
    }

    /// Whether `source` is pending in the model.
    public func isPending(source: Int) -> Bool {
        isSource(source) && pendingBits[source / 32] & VirtualPLIC.bit(source) != 0
    }

    /// Whether `source` has been claimed and not yet completed.
    public func isInService(source: Int) -> Bool {
        isSource(source) && inServiceBits[source / 32] & VirtualPLIC.bit(source) != 0
    }

    // MARK: Firmware side (MMIO)

    /// Emulates a firmware load of `width` bytes at `offset` from the PLIC
    /// base. Mutating because a load of `claim` claims ("Interrupt Claim
    /// Process").
    public mutating func read(offset: UInt64, width: Int) -> PLICAccess {
        guard let register = decode(offset: offset, width: width) else { return .fault }
        switch register {
        case .priority(let source):
            return .value(priority(source: source))
        case .pending(let word):
            return .passthroughOr(pendingBits[word])
        case .enable(let context, let word):
            guard let hart = VirtualPLIC.machineHart(context) else { return .passthrough }
            return .value(enables(hart: hart, word: word))
        case .threshold(let context):
            guard let hart = VirtualPLIC.machineHart(context) else { return .passthrough }
            return .value(UInt32(thresholds[hart]))
        case .claim(let context):
            guard let hart = VirtualPLIC.machineHart(context) else { return .passthrough }
            return .value(UInt32(claim(hart: hart)))
        }
    }

    /// Emulates a firmware store of `value` (`width` bytes) at `offset` from
    /// the PLIC base.
    public mutating func write(offset: UInt64, width: Int, value: UInt32) -> PLICAccess {
        guard let register = decode(offset: offset, width: width) else { return .fault }
        switch register {
        case .priority(let source):
            // Source 0 does not exist: its register is hardwired to 0.
            guard source != 0 else { return .done }
            recordPriority(source: source, value)
            return .passthroughAndRecord
        case .pending:
            // Read-only: "a pending bit ... can be cleared by setting the
            // associated enable bit then performing a claim".
            return .done
        case .enable(let context, let word):
            guard let hart = VirtualPLIC.machineHart(context) else { return .passthrough }
            let index = hart * VirtualPLIC.maximumWords + word
            let new = value & implementedBits(word: word)
            if new == enableBits[index] { return .done }
            enableBits[index] = new
            return .enablesChanged(hart: hart)
        case .threshold(let context):
            guard let hart = VirtualPLIC.machineHart(context) else { return .passthrough }
            thresholds[hart] = UInt8(value & priorityMask)
            return .done
        case .claim(let context):
            guard let hart = VirtualPLIC.machineHart(context) else { return .passthrough }
            return complete(hart: hart, source: value)
        }
    }

    // MARK: Rules

    /// The claim of `hart`'s M context: the best claimable source, or 0.
    private mutating func claim(hart: Int) -> Int {
        let source = best(hart: hart, above: 0)
        if source != 0 {
            pendingBits[source / 32] &= ~VirtualPLIC.bit(source)
            inServiceBits[source / 32] |= VirtualPLIC.bit(source)
        }
        return source
    }

    /// The complete of `source` (the raw stored value) by `hart`'s M context.
    private mutating func complete(hart: Int, source value: UInt32) -> PLICAccess {
        guard value <= UInt32(sources) else { return .done }
        let source = Int(value)
        let word = source / 32
        let bit = VirtualPLIC.bit(source)
        guard enableBits[hart * VirtualPLIC.maximumWords + word] & bit != 0,
              inServiceBits[word] & bit != 0 else { return .done }
        inServiceBits[word] &= ~bit
        return .completed(source: source)
    }

    /// The highest-priority source pending, enabled in `hart`'s M context and
    /// not in service whose priority exceeds `floor`; lowest ID on ties; 0
    /// when there is none. Enable bits of source 0 and of missing sources are
    /// never set, so the scan sees only real sources.
    private func best(hart: Int, above floor: UInt8) -> Int {
        var bestSource = 0
        var bestPriority = floor
        for word in 0..<words {
            var candidates = pendingBits[word] & ~inServiceBits[word]
                & enableBits[hart * VirtualPLIC.maximumWords + word]
            while candidates != 0 {
                let source = word * 32 + candidates.trailingZeroBitCount
                candidates &= candidates - 1
                // Ascending IDs and a strict comparison: ties go to the lowest ID.
                if priorities[source] > bestPriority {
                    bestPriority = priorities[source]
                    bestSource = source
                }
            }
        }
        return bestSource
    }

    /// The bits of `enable` word `word` that name existing sources: source 0
    /// and IDs above ``sources`` are hardwired to 0 ("Interrupt Enables").
    private func implementedBits(word: Int) -> UInt32 {
        var mask: UInt32 = word == 0 ? ~1 : ~0
        let lastBit = sources - word * 32
        if lastBit < 0 { return 0 }
        if lastBit < 31 { mask &= (UInt32(1) << UInt32(lastBit + 1)) - 1 }
        return mask
    }

    // MARK: Decoding

    private enum Register {
        case priority(source: Int)
        case pending(word: Int)
        case enable(context: Int, word: Int)
        case threshold(context: Int)
        case claim(context: Int)
    }

    private static func bit(_ source: Int) -> UInt32 {
        UInt32(1) << UInt32(source % 32)
    }

    private func isSource(_ source: Int) -> Bool {
        source >= 1 && source <= sources
    }

    private func isHart(_ hart: Int) -> Bool {
        hart >= 0 && hart < harts
    }

    /// The hart whose M context is `context`, or nil for an S context.
    private static func machineHart(_ context: Int) -> Int? {
        context % 2 == 0 ? context / 2 : nil
    }

    /// The register an access reaches, or nil when it is not supported.
    private func decode(offset: UInt64, width: Int) -> Register? {
        guard width == 4, offset & 3 == 0 else { return nil }
        let contexts = UInt64(2 * harts)
        if offset < VirtualPLIC.pendingOffset {
            let source = offset / 4
            return source <= UInt64(sources) ? .priority(source: Int(source)) : nil
        }
        if offset < VirtualPLIC.enableOffset {
            let word = (offset - VirtualPLIC.pendingOffset) / 4
            return word < UInt64(words) ? .pending(word: Int(word)) : nil
        }
        if offset < VirtualPLIC.contextOffset {
            let relative = offset - VirtualPLIC.enableOffset
            let context = relative / VirtualPLIC.enableStride
            let word = relative % VirtualPLIC.enableStride / 4
            guard context < contexts, word < UInt64(words) else { return nil }
            return .enable(context: Int(context), word: Int(word))
        }
        if offset < VirtualPLIC.size {
            let relative = offset - VirtualPLIC.contextOffset
            let context = relative / VirtualPLIC.contextStride
            guard context < contexts else { return nil }
            switch relative % VirtualPLIC.contextStride {
            case 0: return .threshold(context: Int(context))
            case VirtualPLIC.claimOffset: return .claim(context: Int(context))
            default: return nil
            }
        }
        return nil
    }
}
