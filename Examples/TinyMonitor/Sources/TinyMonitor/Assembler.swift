/// Integer register numbers by ABI name (the RISC-V calling convention).
public enum Reg {
    public static let zero: UInt8 = 0
    public static let ra: UInt8 = 1
    public static let sp: UInt8 = 2
    public static let t0: UInt8 = 5
    public static let t1: UInt8 = 6
    public static let t2: UInt8 = 7
    public static let s1: UInt8 = 9
    public static let a0: UInt8 = 10
    public static let a1: UInt8 = 11
    public static let a7: UInt8 = 17
    public static let t3: UInt8 = 28
    public static let t4: UInt8 = 29
}

/// Encodes the few RV64 instructions the example firmware uses (unprivileged
/// specification, "RV32/64G Instruction Set Listings"; privileged
/// specification, "Privileged Instruction Listing"). Hand-written so that
/// the example needs no cross assembler.
public enum Encode {
    static func i(_ opcode: UInt32, rd: UInt8, funct3: UInt32, rs1: UInt8, imm: Int64) -> UInt32 {
        precondition(imm >= -2048 && imm < 2048, "12-bit immediate out of range: \(imm)")
        return UInt32(truncatingIfNeeded: imm & 0xFFF) << 20 | UInt32(rs1) << 15 | funct3 << 12
            | UInt32(rd) << 7 | opcode
    }

    static func s(_ funct3: UInt32, rs2: UInt8, rs1: UInt8, imm: Int64) -> UInt32 {
        precondition(imm >= -2048 && imm < 2048, "12-bit offset out of range: \(imm)")
        let v = UInt32(truncatingIfNeeded: imm & 0xFFF)
        return (v >> 5) << 25 | UInt32(rs2) << 20 | UInt32(rs1) << 15 | funct3 << 12 | (v & 0x1F) << 7 | 0x23
    }

    public static func lui(_ rd: UInt8, _ upper: UInt32) -> UInt32 { (upper & 0xFFFFF) << 12 | UInt32(rd) << 7 | 0x37 }
    public static func auipc(_ rd: UInt8, _ upper: UInt32) -> UInt32 { (upper & 0xFFFFF) << 12 | UInt32(rd) << 7 | 0x17 }
    public static func addi(_ rd: UInt8, _ rs1: UInt8, _ imm: Int64) -> UInt32 { i(0x13, rd: rd, funct3: 0, rs1: rs1, imm: imm) }
    public static let nop = addi(0, 0, 0)
    public static func lw(_ rd: UInt8, _ offset: Int64, _ rs1: UInt8) -> UInt32 { i(0x03, rd: rd, funct3: 2, rs1: rs1, imm: offset) }
    public static func ld(_ rd: UInt8, _ offset: Int64, _ rs1: UInt8) -> UInt32 { i(0x03, rd: rd, funct3: 3, rs1: rs1, imm: offset) }
    public static func sw(_ rs2: UInt8, _ offset: Int64, _ rs1: UInt8) -> UInt32 { s(2, rs2: rs2, rs1: rs1, imm: offset) }
    public static func sd(_ rs2: UInt8, _ offset: Int64, _ rs1: UInt8) -> UInt32 { s(3, rs2: rs2, rs1: rs1, imm: offset) }

    /// `jal rd, offset` (offset even, ±1 MiB).
    public static func jal(_ rd: UInt8, _ offset: Int64) -> UInt32 {
        let v = UInt32(truncatingIfNeeded: offset)
        return (v >> 20 & 1) << 31 | (v >> 1 & 0x3FF) << 21 | (v >> 11 & 1) << 20 | (v >> 12 & 0xFF) << 12
            | UInt32(rd) << 7 | 0x6F
    }

    /// `beq rs1, rs2, offset` (offset even, ±4 KiB).
    public static func beq(_ rs1: UInt8, _ rs2: UInt8, _ offset: Int64) -> UInt32 {
        let v = UInt32(truncatingIfNeeded: offset)
        return (v >> 12 & 1) << 31 | (v >> 5 & 0x3F) << 25 | UInt32(rs2) << 20 | UInt32(rs1) << 15
            | (v >> 1 & 0xF) << 8 | (v >> 11 & 1) << 7 | 0x63
    }

    static func csr(_ funct3: UInt32, rd: UInt8, csr: UInt16, source: UInt8) -> UInt32 {
        UInt32(csr & 0xFFF) << 20 | UInt32(source & 31) << 15 | funct3 << 12 | UInt32(rd) << 7 | 0x73
    }

    public static func csrrw(_ rd: UInt8, _ csr: UInt16, _ rs1: UInt8) -> UInt32 { Encode.csr(1, rd: rd, csr: csr, source: rs1) }
    public static func csrrs(_ rd: UInt8, _ csr: UInt16, _ rs1: UInt8) -> UInt32 { Encode.csr(2, rd: rd, csr: csr, source: rs1) }
    public static func csrrc(_ rd: UInt8, _ csr: UInt16, _ rs1: UInt8) -> UInt32 { Encode.csr(3, rd: rd, csr: csr, source: rs1) }
    public static func csrrsi(_ rd: UInt8, _ csr: UInt16, _ uimm: UInt8) -> UInt32 { Encode.csr(6, rd: rd, csr: csr, source: uimm) }
    public static let ecall: UInt32 = 0x0000_0073
    public static let mret: UInt32 = 0x3020_0073
    public static let wfi: UInt32 = 0x1050_0073
}

/// A one-pass assembler with forward labels: enough to lay out a firmware
/// and its trap vectors at fixed addresses.
public struct Assembler {
    public let origin: UInt64
    public private(set) var words: [UInt32] = []
    public private(set) var labels: [String: UInt64] = [:]
    private var fixups: [(index: Int, label: String, kind: Fixup)] = []

    private enum Fixup { case jal(rd: UInt8), beq(rs1: UInt8, rs2: UInt8), la(rd: UInt8) }

    public init(origin: UInt64) { self.origin = origin }

    /// The address of the next instruction.
    public var pc: UInt64 { origin + 4 * UInt64(words.count) }

    public mutating func emit(_ word: UInt32) { words.append(word) }

    public mutating func label(_ name: String) {
        precondition(labels[name] == nil, "label \(name) defined twice")
        labels[name] = pc
    }

    /// Names an address outside this block of code (another segment).
    public mutating func define(_ name: String, at address: UInt64) {
        precondition(labels[name] == nil, "label \(name) defined twice")
        labels[name] = address
    }

    /// Pads with `nop` up to `address`.
    public mutating func org(_ address: UInt64) {
        precondition(address >= pc && address % 4 == 0, "cannot move back to \(address)")
        while pc < address { emit(Encode.nop) }
    }

    public mutating func jal(_ rd: UInt8, _ target: String) {
        fixups.append((words.count, target, .jal(rd: rd))); emit(0)
    }

    public mutating func beq(_ rs1: UInt8, _ rs2: UInt8, _ target: String) {
        fixups.append((words.count, target, .beq(rs1: rs1, rs2: rs2))); emit(0)
    }

    /// `la rd, target`: `auipc` + `addi`, position independent.
    public mutating func la(_ rd: UInt8, _ target: String) {
        fixups.append((words.count, target, .la(rd: rd))); emit(0); emit(0)
    }

    /// `li rd, value` for values that `lui` + `addi` can build (32-bit signed).
    public mutating func li(_ rd: UInt8, _ value: Int64) {
        precondition(value >= Int64(Int32.min) && value <= Int64(Int32.max), "li: 32-bit values only")
        if value >= -2048 && value < 2048 {
            emit(Encode.addi(rd, Reg.zero, value))
            return
        }
        let low = (value << 52) >> 52  // sign-extended low 12 bits
        let high = (value - low) >> 12
        emit(Encode.lui(rd, UInt32(truncatingIfNeeded: high)))
        if low != 0 { emit(Encode.addi(rd, rd, low)) }
    }

    /// The words with every label resolved.
    public func assemble() -> [UInt32] {
        var out = words
        for fixup in fixups {
            guard let target = labels[fixup.label] else { preconditionFailure("undefined label \(fixup.label)") }
            let at = origin + 4 * UInt64(fixup.index)
            let offset = Int64(bitPattern: target &- at)
            switch fixup.kind {
            case .jal(let rd):
                out[fixup.index] = Encode.jal(rd, offset)
            case .beq(let rs1, let rs2):
                out[fixup.index] = Encode.beq(rs1, rs2, offset)
            case .la(let rd):
                let low = (offset << 52) >> 52
                out[fixup.index] = Encode.auipc(rd, UInt32(truncatingIfNeeded: (offset - low) >> 12))
                out[fixup.index + 1] = Encode.addi(rd, rd, low)
            }
        }
        return out
    }
}
