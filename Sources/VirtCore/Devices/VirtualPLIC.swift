/// A register of the PLIC's memory map (RISC-V PLIC specification 1.0.0,
/// "Memory Map"; SiFive layout as on QEMU `virt`).
public enum PLICRegister: Equatable, Sendable {
    /// `priority[source]` ("Interrupt Priorities"), sources `1...sources`.
    case priority(source: Int)
    /// `pending` word `word` ("Interrupt Pending Bits"): read-only.
    case pending(word: Int)
    /// `enable` word `word` of `context` ("Interrupt Enables").
    case enable(context: Int, word: Int)
    /// `threshold` of `context` ("Priority Thresholds").
    case threshold(context: Int)
    /// `claim` (load) / `complete` (store) of `context` ("Interrupt Claim
    /// Process", "Interrupt Completion").
    case claimComplete(context: Int)
    /// Anything else inside the PLIC's window: source 0's priority, words and
    /// contexts beyond the implemented ones, the gaps between registers. The
    /// specification leaves them reserved; the host (QEMU's `sifive_plic`)
    /// reads them as 0 and ignores writes.
    case reserved

    /// The context the register belongs to, if any.
    @inlinable public var context: Int? {
        switch self {
        case .enable(let context, _), .threshold(let context), .claimComplete(let context): return context
        default: return nil
        }
    }
}

/// What the monitor does with one 32-bit register access to the PLIC, from
/// either world.
public enum PLICRoute: Equatable, Sendable {
    /// Perform the access on the real register: the real PLIC's state is the
    /// truth for every context (a claim clears the gateway's pending bit for
    /// all contexts, as natively).
    case real
    /// Perform the store on the real register, then make the real PLIC
    /// re-evaluate its interrupt lines with a store of 0 to the reserved
    /// `priority[0]` (see ``VirtualPLIC``).
    case realThenReevaluate
    /// A reserved register or a store to the read-only `pending` words: loads
    /// return 0, stores are dropped; the real PLIC is not touched.
    case none
}

/// The firmware's PLIC: a faithful view over the real gateway (RISC-V PLIC
/// specification 1.0.0).
///
/// The monitor makes no private use of the real PLIC. The real M context of
/// hart `h` (context `2h`) holds exactly the enables and threshold the
/// firmware wrote, the real `pending` bits are the only pending state, and a
/// claim or complete by the firmware is the real claim or complete. So:
///
/// - a source enabled in both a hart's M and S context is pending at both
///   (`mip.MEIP` and `mip.SEIP`), and either side's claim clears it for both,
///   exactly as on the native machine;
/// - what the firmware reads (`pending`, `claim`, `mip.MEIP`) is the gateway
///   at the moment it reads;
/// - the monitor learns of a machine external interrupt from the real
///   `mip.MEIP` and keeps it from storming by masking its real `mie.MEIE`
///   while the virtual MEIP is recorded and not yet taken
///   (``VirtualHart/physicalInterruptEnables(for:)``), never by a claim the
///   firmware did not make.
///
/// What this type decides is the routing of every access (``route(_:isStore:)``):
/// which register an offset names (``decode(offset:)``), that reserved
/// registers read 0 and ignore writes, and one correction of the host: QEMU
/// 7.2's PLIC does not re-evaluate its interrupt lines after an `enable` store
/// (only after priority, threshold, claim and complete), while the
/// specification's lines follow the state; an `enable` store is therefore
/// followed by a store of 0 to the reserved `priority[0]` (source 0 does not
/// exist: its priority is hardwired to 0), which makes QEMU re-evaluate every
/// context and changes no state, there or on hardware whose lines are
/// combinational. Unlike rewriting a threshold, it races with nothing.
///
/// Which world reaches which register natively is the monitor's PMP layout:
/// every access of the firmware traps and is routed here; the payload reaches
/// the PLIC natively when the firmware's PMP grants it the whole PLIC, and
/// otherwise its own S-context `threshold`/`claim` page natively and the rest
/// through here, after the firmware's PMP check.
public struct VirtualPLIC: Sendable {
    /// The largest number of source IDs, including the reserved source 0
    /// (the specification's 1024).
    public static let maximumSources = 1024
    /// The largest number of contexts (the specification's 15872).
    public static let maximumContexts = 15872

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
    /// End of the PLIC window of the specification.
    public static let size: UInt64 = 0x400_0000

    /// The highest source ID: `riscv,ndev` from the device tree (QEMU `virt`:
    /// 95), clamped to `0..<maximumSources`.
    public let sources: Int
    /// The number of harts; contexts are `0..<2 * harts`, `2h` being hart
    /// `h`'s M context and `2h + 1` its S context (QEMU `virt`).
    public let harts: Int
    /// The `pending`/`enable` words that exist: `(sources + 32) / 32`.
    public let words: Int

    /// A PLIC with source IDs `1...sources` (`riscv,ndev`) and `harts` harts.
    public init(sources: Int, harts: Int) {
        self.sources = min(max(sources, 0), VirtualPLIC.maximumSources - 1)
        self.harts = min(max(harts, 1), VirtualPLIC.maximumContexts / 2)
        self.words = (self.sources + 32) / 32
    }

    /// The number of contexts.
    @inlinable public var contexts: Int { 2 * harts }

    /// Hart `hart`'s M-mode context.
    @inlinable public static func machineContext(hart: Int) -> Int { 2 * hart }

    /// Hart `hart`'s S-mode context.
    @inlinable public static func supervisorContext(hart: Int) -> Int { 2 * hart + 1 }

    /// Offset of the reserved `priority[0]`, whose store makes the host
    /// re-evaluate its lines (``PLICRoute/realThenReevaluate``).
    public static let reevaluateOffset: UInt64 = 0

    /// Offset of `threshold` of `context` (its `claim`/`complete` follows at +4).
    @inlinable public static func thresholdOffset(context: Int) -> UInt64 {
        contextOffset + contextStride * UInt64(context)
    }

    /// Offset of `enable` word `word` of `context`.
    @inlinable public static func enableOffset(context: Int, word: Int) -> UInt64 {
        enableOffset + enableStride * UInt64(context) + 4 * UInt64(word)
    }

    /// The register an aligned 32-bit access at `offset` names.
    public func decode(offset: UInt64) -> PLICRegister {
        guard offset & 3 == 0 else { return .reserved }
        if offset < VirtualPLIC.pendingOffset {
            let source = offset / 4
            return source >= 1 && source <= UInt64(sources) ? .priority(source: Int(source)) : .reserved
        }
        if offset < VirtualPLIC.enableOffset {
            let word = (offset - VirtualPLIC.pendingOffset) / 4
            return word < UInt64(words) ? .pending(word: Int(word)) : .reserved
        }
        if offset < VirtualPLIC.contextOffset {
            let relative = offset - VirtualPLIC.enableOffset
            let context = relative / VirtualPLIC.enableStride
            let word = relative % VirtualPLIC.enableStride / 4
            guard context < UInt64(contexts), word < UInt64(words) else { return .reserved }
            return .enable(context: Int(context), word: Int(word))
        }
        if offset < VirtualPLIC.size {
            let relative = offset - VirtualPLIC.contextOffset
            let context = relative / VirtualPLIC.contextStride
            guard context < UInt64(contexts) else { return .reserved }
            switch relative % VirtualPLIC.contextStride {
            case 0: return .threshold(context: Int(context))
            case VirtualPLIC.claimOffset: return .claimComplete(context: Int(context))
            default: return .reserved
            }
        }
        return .reserved
    }

    /// How the monitor performs a 32-bit load (`isStore == false`) or store
    /// of `register`.
    public func route(_ register: PLICRegister, isStore: Bool) -> PLICRoute {
        switch register {
        case .reserved:
            return .none
        case .pending:
            // Read-only: "a pending bit ... can be cleared by setting the
            // associated enable bit then performing a claim".
            return isStore ? .none : .real
        case .enable:
            return isStore ? .realThenReevaluate : .real
        case .priority, .threshold, .claimComplete:
            return .real
        }
    }
}
