import VirtCore

/// An independent decoder for the instruction classes the monitor emulates,
/// written as match/mask pairs and immediate scatter tables straight from the
/// specification's listings (unprivileged "RV32/64G Instruction Set
/// Listings" and the Zca quadrant tables; privileged "Privileged Instruction
/// Listing"). Everything else is ``Decoded/other``.
enum ReferenceDecoder {
    enum Decoded: Equatable {
        case csr(Encode.CSRKind, rd: UInt8, source: UInt8, csr: UInt16)
        case ecall, ebreak, mret, sret, wfi
        case sfenceVMA(rs1: UInt8, rs2: UInt8)
        case hfenceVVMA(rs1: UInt8, rs2: UInt8)
        case hfenceGVMA(rs1: UInt8, rs2: UInt8)
        case load(width: UInt8, signed: Bool, rd: UInt8, rs1: UInt8, offset: Int64)
        case store(width: UInt8, rs2: UInt8, rs1: UInt8, offset: Int64)
        case atomic(name: String, width: UInt8, rd: UInt8, rs1: UInt8, rs2: UInt8, aq: Bool, rl: Bool)
        case other
    }

    /// A `(mask, match)` pair: the instruction is `bits & mask == match`.
    struct Pattern {
        var mask: UInt32
        var match: UInt32
        func matches(_ bits: UInt32) -> Bool { bits & mask == match }
    }

    // Privileged instruction listing: fully fixed encodings.
    static let ecall = Pattern(mask: 0xFFFF_FFFF, match: 0x0000_0073)
    static let ebreak = Pattern(mask: 0xFFFF_FFFF, match: 0x0010_0073)
    static let sret = Pattern(mask: 0xFFFF_FFFF, match: 0x1020_0073)
    static let mret = Pattern(mask: 0xFFFF_FFFF, match: 0x3020_0073)
    static let wfi = Pattern(mask: 0xFFFF_FFFF, match: 0x1050_0073)
    // funct7 | rs2 | rs1 | 000 | 00000 | 1110011: rs1 and rs2 free.
    static let sfenceVMA = Pattern(mask: 0xFE00_7FFF, match: 0x1200_0073)
    static let hfenceVVMA = Pattern(mask: 0xFE00_7FFF, match: 0x2200_0073)
    static let hfenceGVMA = Pattern(mask: 0xFE00_7FFF, match: 0x6200_0073)

    /// RV32A/RV64A listing: `(name, mask, match)` with aq/rl, rs1, rd (and
    /// rs2 except for `lr`) free; funct3 010 is `.w`, 011 is `.d`.
    static let atomics: [(String, Pattern)] = {
        let names: [(String, UInt32)] = [
            ("lr", 0b00010), ("sc", 0b00011), ("amoswap", 0b00001), ("amoadd", 0b00000),
            ("amoxor", 0b00100), ("amoand", 0b01100), ("amoor", 0b01000), ("amomin", 0b10000),
            ("amomax", 0b10100), ("amominu", 0b11000), ("amomaxu", 0b11100),
        ]
        var table: [(String, Pattern)] = []
        for (name, funct5) in names {
            for funct3: UInt32 in [0b010, 0b011] {
                let mask: UInt32 = name == "lr" ? 0xF9F0_707F : 0xF800_707F
                table.append((name, Pattern(mask: mask, match: funct5 << 27 | funct3 << 12 | 0x2F)))
            }
        }
        return table
    }()

    /// Decodes one instruction; the length is 2 when bits 1:0 are not 11.
    static func decode(_ bits: UInt32) -> (Decoded, length: UInt64) {
        if bits & 0b11 != 0b11 {
            return (decodeCompressed(UInt16(truncatingIfNeeded: bits)), 2)
        }
        return (decodeStandard(bits), 4)
    }

    static func field(_ bits: UInt32, _ high: Int, _ low: Int) -> UInt32 {
        (bits >> UInt32(low)) & ((1 << UInt32(high - low + 1)) - 1)
    }

    /// SYSTEM funct3 of the six Zicsr instructions (100 is not one of them).
    static let csrKinds: [UInt32: Encode.CSRKind] = [
        0b001: .csrrw, 0b010: .csrrs, 0b011: .csrrc,
        0b101: .csrrwi, 0b110: .csrrsi, 0b111: .csrrci,
    ]
    /// LOAD funct3: lb lh lw ld lbu lhu lwu (width, sign-extends); 111 is reserved.
    static let loadWidths: [UInt32: (UInt8, Bool)] = [
        0b000: (1, true), 0b001: (2, true), 0b010: (4, true), 0b011: (8, true),
        0b100: (1, false), 0b101: (2, false), 0b110: (4, false),
    ]
    /// STORE funct3: sb sh sw sd.
    static let storeWidths: [UInt32: UInt8] = [0b000: 1, 0b001: 2, 0b010: 4, 0b011: 8]

    static func decodeStandard(_ bits: UInt32) -> Decoded {
        if ecall.matches(bits) { return .ecall }
        if ebreak.matches(bits) { return .ebreak }
        if sret.matches(bits) { return .sret }
        if mret.matches(bits) { return .mret }
        if wfi.matches(bits) { return .wfi }
        let rd = UInt8(field(bits, 11, 7))
        let rs1 = UInt8(field(bits, 19, 15))
        let rs2 = UInt8(field(bits, 24, 20))
        if sfenceVMA.matches(bits) { return .sfenceVMA(rs1: rs1, rs2: rs2) }
        if hfenceVVMA.matches(bits) { return .hfenceVVMA(rs1: rs1, rs2: rs2) }
        if hfenceGVMA.matches(bits) { return .hfenceGVMA(rs1: rs1, rs2: rs2) }

        for (name, pattern) in atomics where pattern.matches(bits) {
            return .atomic(name: name, width: field(bits, 14, 12) == 0b010 ? 4 : 8, rd: rd, rs1: rs1,
                           rs2: rs2, aq: field(bits, 26, 26) == 1, rl: field(bits, 25, 25) == 1)
        }
        let opcode = field(bits, 6, 0)
        let funct3 = field(bits, 14, 12)
        switch opcode {
        case 0b111_0011:
            guard let kind = csrKinds[funct3] else { return .other }
            return .csr(kind, rd: rd, source: rs1, csr: UInt16(field(bits, 31, 20)))
        case 0b000_0011:
            // imm[11:0] sign-extended from bit 31.
            var imm = Int64(field(bits, 31, 20))
            if imm & 0x800 != 0 { imm -= 0x1000 }
            guard let (width, signed) = loadWidths[funct3] else { return .other }
            // `ld` has no sign to extend at XLEN 64; report it as not extending.
            return .load(width: width, signed: signed && width < 8, rd: rd, rs1: rs1, offset: imm)
        case 0b010_0011:
            var imm = Int64(field(bits, 31, 25) << 5 | field(bits, 11, 7))
            if imm & 0x800 != 0 { imm -= 0x1000 }
            guard let width = storeWidths[funct3] else { return .other }
            return .store(width: width, rs2: rs2, rs1: rs1, offset: imm)
        default:
            return .other
        }
    }

    /// Gathers immediate bits: each pair is (instruction bit, immediate bit).
    static func scatter(_ bits: UInt16, _ map: [(Int, Int)]) -> Int64 {
        var imm: Int64 = 0
        for (from, to) in map where (bits >> UInt16(from)) & 1 == 1 {
            imm |= 1 << Int64(to)
        }
        return imm
    }

    // Zca listing, the immediate fields bit by bit.
    /// c.lw / c.sw: uimm[5:3] in 12:10, uimm[2] in 6, uimm[6] in 5.
    static let wordCL: [(Int, Int)] = [(12, 5), (11, 4), (10, 3), (6, 2), (5, 6)]
    /// c.ld / c.sd: uimm[5:3] in 12:10, uimm[7:6] in 6:5.
    static let doubleCL: [(Int, Int)] = [(12, 5), (11, 4), (10, 3), (6, 7), (5, 6)]
    /// c.lwsp: uimm[5] in 12, uimm[4:2] in 6:4, uimm[7:6] in 3:2.
    static let lwsp: [(Int, Int)] = [(12, 5), (6, 4), (5, 3), (4, 2), (3, 7), (2, 6)]
    /// c.ldsp: uimm[5] in 12, uimm[4:3] in 6:5, uimm[8:6] in 4:2.
    static let ldsp: [(Int, Int)] = [(12, 5), (6, 4), (5, 3), (4, 8), (3, 7), (2, 6)]
    /// c.swsp: uimm[5:2] in 12:9, uimm[7:6] in 8:7.
    static let swsp: [(Int, Int)] = [(12, 5), (11, 4), (10, 3), (9, 2), (8, 7), (7, 6)]
    /// c.sdsp: uimm[5:3] in 12:10, uimm[8:6] in 9:7.
    static let sdsp: [(Int, Int)] = [(12, 5), (11, 4), (10, 3), (9, 8), (8, 7), (7, 6)]

    static func decodeCompressed(_ bits: UInt16) -> Decoded {
        let b = UInt32(bits)
        let quadrant = b & 3
        let funct3 = field(b, 15, 13)
        let rdPrime = UInt8(field(b, 4, 2)) + 8
        let rs1Prime = UInt8(field(b, 9, 7)) + 8
        let rdFull = UInt8(field(b, 11, 7))
        let rs2Full = UInt8(field(b, 6, 2))
        switch (quadrant, funct3) {
        case (0b00, 0b010): return .load(width: 4, signed: true, rd: rdPrime, rs1: rs1Prime, offset: scatter(bits, wordCL))
        case (0b00, 0b011): return .load(width: 8, signed: false, rd: rdPrime, rs1: rs1Prime, offset: scatter(bits, doubleCL))
        case (0b00, 0b110): return .store(width: 4, rs2: rdPrime, rs1: rs1Prime, offset: scatter(bits, wordCL))
        case (0b00, 0b111): return .store(width: 8, rs2: rdPrime, rs1: rs1Prime, offset: scatter(bits, doubleCL))
        case (0b10, 0b010):
            return rdFull == 0 ? .other : .load(width: 4, signed: true, rd: rdFull, rs1: 2, offset: scatter(bits, lwsp))
        case (0b10, 0b011):
            return rdFull == 0 ? .other : .load(width: 8, signed: false, rd: rdFull, rs1: 2, offset: scatter(bits, ldsp))
        case (0b10, 0b110): return .store(width: 4, rs2: rs2Full, rs1: 2, offset: scatter(bits, swsp))
        case (0b10, 0b111): return .store(width: 8, rs2: rs2Full, rs1: 2, offset: scatter(bits, sdsp))
        case (0b10, 0b100) where bits == 0x9002: return .ebreak
        default: return .other
        }
    }

    /// The same instruction in the vocabulary of the code under test, for comparison.
    static func asInstruction(_ d: Decoded) -> Instruction {
        switch d {
        case .csr(let kind, let rd, let source, let csr):
            let op: CSROperation
            switch kind {
            case .csrrw, .csrrwi: op = .readWrite
            case .csrrs, .csrrsi: op = .readSet
            case .csrrc, .csrrci: op = .readClear
            }
            return .csr(CSRInstruction(operation: op, rd: rd, source: source,
                                       isImmediate: kind.isImmediate, csr: CSR(csr)))
        case .ecall: return .ecall
        case .ebreak: return .ebreak
        case .mret: return .mret
        case .sret: return .sret
        case .wfi: return .wfi
        case .sfenceVMA(let a, let b): return .sfenceVMA(rs1: a, rs2: b)
        case .hfenceVVMA(let a, let b): return .hfenceVVMA(rs1: a, rs2: b)
        case .hfenceGVMA(let a, let b): return .hfenceGVMA(rs1: a, rs2: b)
        case .load(let w, let s, let rd, let rs1, let off):
            return .load(MemoryAccess(width: w, signExtends: s, register: rd, base: rs1, offset: off))
        case .store(let w, let rs2, let rs1, let off):
            return .store(MemoryAccess(width: w, signExtends: false, register: rs2, base: rs1, offset: off))
        case .atomic(let name, let w, let rd, let rs1, let rs2, let aq, let rl):
            let operations: [String: AtomicOperation] = [
                "lr": .loadReserved, "sc": .storeConditional, "amoswap": .swap, "amoadd": .add,
                "amoxor": .xor, "amoand": .and, "amoor": .or, "amomin": .min, "amomax": .max,
                "amominu": .minu, "amomaxu": .maxu,
            ]
            return .atomic(AtomicAccess(operation: operations[name]!, width: w, rd: rd, base: rs1,
                                        source: name == "lr" ? 0 : rs2, acquire: aq, release: rl))
        case .other: return .illegal
        }
    }
}
