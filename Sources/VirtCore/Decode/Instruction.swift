/// An instruction the monitor may have to emulate for a deprivileged guest.
///
/// Everything else decodes to ``Instruction/illegal``: the monitor never
/// executes an instruction it does not know, it injects the trap the hardware
/// raised instead.
public enum Instruction: Equatable, Sendable {
    /// One of the six Zicsr instructions.
    case csr(CSRInstruction)
    /// `mret`: return from an M-mode trap.
    case mret
    /// `sret`: return from an S-mode trap.
    case sret
    /// `wfi`: wait for interrupt.
    case wfi
    /// `sfence.vma rs1, rs2`.
    case sfenceVMA(rs1: UInt8, rs2: UInt8)
    /// `hfence.vvma rs1, rs2` (H extension).
    case hfenceVVMA(rs1: UInt8, rs2: UInt8)
    /// `hfence.gvma rs1, rs2` (H extension).
    case hfenceGVMA(rs1: UInt8, rs2: UInt8)
    /// `ecall`.
    case ecall
    /// `ebreak` or `c.ebreak`.
    case ebreak
    /// An integer load (`lb` … `ld`, `c.lw`, `c.ld`, `c.lwsp`, `c.ldsp`).
    case load(MemoryAccess)
    /// An integer store (`sb` … `sd`, `c.sw`, `c.sd`, `c.swsp`, `c.sdsp`).
    case store(MemoryAccess)
    /// An A-extension instruction: an AMO, `lr` or `sc` (`.w` or `.d`).
    case atomic(AtomicAccess)
    /// Anything else, including every reserved encoding.
    case illegal
}

/// A decoded Zicsr instruction.
public struct CSRInstruction: Equatable, Sendable {
    public var operation: CSROperation
    /// Destination register.
    public var rd: UInt8
    /// `rs1` for the register forms, the 5-bit `uimm` for the immediate forms.
    public var source: UInt8
    /// True for `csrrwi`, `csrrsi`, `csrrci`.
    public var isImmediate: Bool
    public var csr: CSR

    public init(operation: CSROperation, rd: UInt8, source: UInt8, isImmediate: Bool, csr: CSR) {
        self.operation = operation
        self.rd = rd
        self.source = source
        self.isImmediate = isImmediate
        self.csr = csr
    }

    /// Zicsr: `csrrw` always writes; `csrrs`/`csrrc` write only when `rs1` is
    /// not `x0`; the immediate forms only when `uimm` is not zero.
    @inlinable public var writes: Bool { operation == .readWrite || source != 0 }
}

/// The operands of a load or a store.
public struct MemoryAccess: Equatable, Sendable {
    /// Access size in bytes: 1, 2, 4 or 8.
    public var width: UInt8
    /// Loads only: sign-extend the value (`lb`, `lh`, `lw`).
    public var signExtends: Bool
    /// The loaded register for loads, the stored register (`rs2`) for stores.
    public var register: UInt8
    /// The base address register.
    public var base: UInt8
    /// The sign-extended immediate offset.
    public var offset: Int64

    public init(width: UInt8, signExtends: Bool, register: UInt8, base: UInt8, offset: Int64) {
        self.width = width
        self.signExtends = signExtends
        self.register = register
        self.base = base
        self.offset = offset
    }
}

/// An instruction and the size of its encoding (2 for compressed, else 4).
public struct DecodedInstruction: Equatable, Sendable {
    public var instruction: Instruction
    public var length: UInt64

    public init(_ instruction: Instruction, length: UInt64) {
        self.instruction = instruction
        self.length = length
    }
}

/// The A extension's operations (unprivileged specification, "A" Extension
/// for Atomic Instructions): the `funct5` field of opcode `AMO`.
public enum AtomicOperation: UInt8, Equatable, Sendable {
    case add = 0b00000
    case swap = 0b00001
    case loadReserved = 0b00010
    case storeConditional = 0b00011
    case xor = 0b00100
    case or = 0b01000
    case and = 0b01100
    case min = 0b10000
    case max = 0b10100
    case minu = 0b11000
    case maxu = 0b11100
}

/// The operands of an AMO, `lr` or `sc`: the address is `rs1` itself.
public struct AtomicAccess: Equatable, Sendable {
    public var operation: AtomicOperation
    /// 4 (`.w`) or 8 (`.d`).
    public var width: UInt8
    public var rd: UInt8
    /// The address register.
    public var base: UInt8
    /// The operand (AMOs) or stored value (`sc`); 0 for `lr`.
    public var source: UInt8
    /// The `aq` and `rl` ordering bits.
    public var acquire: Bool
    public var release: Bool

    public init(operation: AtomicOperation, width: UInt8, rd: UInt8, base: UInt8, source: UInt8,
                acquire: Bool = false, release: Bool = false) {
        self.operation = operation
        self.width = width
        self.rd = rd
        self.base = base
        self.source = source
        self.acquire = acquire
        self.release = release
    }
}
