import VirtCore

/// Instruction encodings for tests, written from the specification's tables
/// (unprivileged "RV32/64G Instruction Set Listings", the Zca listing of
/// quadrants 0 and 2, and the privileged "Privileged Instruction Listing"),
/// not from the decoder under test.
enum Encode {
    // MARK: Field helpers

    static func bits(_ value: UInt32, _ high: UInt32, _ low: UInt32) -> UInt32 {
        (value >> low) & ((1 << (high - low + 1)) - 1)
    }

    /// I-type: imm[11:0] | rs1 | funct3 | rd | opcode.
    static func iType(imm: Int32, rs1: UInt8, funct3: UInt32, rd: UInt8, opcode: UInt32) -> UInt32 {
        (UInt32(bitPattern: imm) & 0xFFF) << 20 | UInt32(rs1 & 31) << 15 | funct3 << 12
            | UInt32(rd & 31) << 7 | opcode
    }

    /// S-type: imm[11:5] | rs2 | rs1 | funct3 | imm[4:0] | opcode.
    static func sType(imm: Int32, rs2: UInt8, rs1: UInt8, funct3: UInt32, opcode: UInt32) -> UInt32 {
        let i = UInt32(bitPattern: imm) & 0xFFF
        return bits(i, 11, 5) << 25 | UInt32(rs2 & 31) << 20 | UInt32(rs1 & 31) << 15 | funct3 << 12
            | bits(i, 4, 0) << 7 | opcode
    }

    // MARK: Zicsr (opcode SYSTEM = 1110011)

    static let system: UInt32 = 0b111_0011

    static func csrrw(rd: UInt8, csr: UInt16, rs1: UInt8) -> UInt32 { csrInstruction(0b001, rd, csr, rs1) }
    static func csrrs(rd: UInt8, csr: UInt16, rs1: UInt8) -> UInt32 { csrInstruction(0b010, rd, csr, rs1) }
    static func csrrc(rd: UInt8, csr: UInt16, rs1: UInt8) -> UInt32 { csrInstruction(0b011, rd, csr, rs1) }
    static func csrrwi(rd: UInt8, csr: UInt16, uimm: UInt8) -> UInt32 { csrInstruction(0b101, rd, csr, uimm) }
    static func csrrsi(rd: UInt8, csr: UInt16, uimm: UInt8) -> UInt32 { csrInstruction(0b110, rd, csr, uimm) }
    static func csrrci(rd: UInt8, csr: UInt16, uimm: UInt8) -> UInt32 { csrInstruction(0b111, rd, csr, uimm) }

    /// `csr[11:0] | rs1/uimm | funct3 | rd | 1110011`.
    static func csrInstruction(_ funct3: UInt32, _ rd: UInt8, _ csr: UInt16, _ source: UInt8) -> UInt32 {
        UInt32(csr & 0xFFF) << 20 | UInt32(source & 31) << 15 | funct3 << 12 | UInt32(rd & 31) << 7 | system
    }

    /// One of the six CSR instructions by kind.
    static func csr(_ kind: CSRKind, rd: UInt8, csr: UInt16, source: UInt8) -> UInt32 {
        csrInstruction(kind.funct3, rd, csr, source)
    }

    /// The six Zicsr instructions with their `funct3`.
    enum CSRKind: CaseIterable, CustomStringConvertible {
        case csrrw, csrrs, csrrc, csrrwi, csrrsi, csrrci
        var funct3: UInt32 {
            switch self {
            case .csrrw: 0b001
            case .csrrs: 0b010
            case .csrrc: 0b011
            case .csrrwi: 0b101
            case .csrrsi: 0b110
            case .csrrci: 0b111
            }
        }
        var isImmediate: Bool { funct3 >= 4 }
        var description: String {
            switch self {
            case .csrrw: "csrrw"
            case .csrrs: "csrrs"
            case .csrrc: "csrrc"
            case .csrrwi: "csrrwi"
            case .csrrsi: "csrrsi"
            case .csrrci: "csrrci"
            }
        }
    }

    // MARK: Privileged instructions (fixed encodings)

    /// `ecall`: imm 0, rs1 0, funct3 0, rd 0.
    static let ecall: UInt32 = 0x0000_0073
    /// `ebreak`: imm 1.
    static let ebreak: UInt32 = 0x0010_0073
    /// `sret`: funct7 0001000, rs2 00010.
    static let sret: UInt32 = 0b0001000 << 25 | 0b00010 << 20 | system
    /// `mret`: funct7 0011000, rs2 00010.
    static let mret: UInt32 = 0b0011000 << 25 | 0b00010 << 20 | system
    /// `wfi`: funct7 0001000, rs2 00101.
    static let wfi: UInt32 = 0b0001000 << 25 | 0b00101 << 20 | system

    /// `sfence.vma rs1, rs2`: funct7 0001001.
    static func sfenceVMA(rs1: UInt8, rs2: UInt8) -> UInt32 { fence(0b0001001, rs1, rs2) }
    /// `hfence.vvma rs1, rs2`: funct7 0010001.
    static func hfenceVVMA(rs1: UInt8, rs2: UInt8) -> UInt32 { fence(0b0010001, rs1, rs2) }
    /// `hfence.gvma rs1, rs2`: funct7 0110001.
    static func hfenceGVMA(rs1: UInt8, rs2: UInt8) -> UInt32 { fence(0b0110001, rs1, rs2) }

    static func fence(_ funct7: UInt32, _ rs1: UInt8, _ rs2: UInt8) -> UInt32 {
        funct7 << 25 | UInt32(rs2 & 31) << 20 | UInt32(rs1 & 31) << 15 | system
    }

    // MARK: Loads and stores (opcodes LOAD = 0000011, STORE = 0100011)

    static func lb(rd: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { iType(imm: imm, rs1: rs1, funct3: 0b000, rd: rd, opcode: 0b000_0011) }
    static func lh(rd: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { iType(imm: imm, rs1: rs1, funct3: 0b001, rd: rd, opcode: 0b000_0011) }
    static func lw(rd: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { iType(imm: imm, rs1: rs1, funct3: 0b010, rd: rd, opcode: 0b000_0011) }
    static func ld(rd: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { iType(imm: imm, rs1: rs1, funct3: 0b011, rd: rd, opcode: 0b000_0011) }
    static func lbu(rd: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { iType(imm: imm, rs1: rs1, funct3: 0b100, rd: rd, opcode: 0b000_0011) }
    static func lhu(rd: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { iType(imm: imm, rs1: rs1, funct3: 0b101, rd: rd, opcode: 0b000_0011) }
    static func lwu(rd: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { iType(imm: imm, rs1: rs1, funct3: 0b110, rd: rd, opcode: 0b000_0011) }

    static func sb(rs2: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { sType(imm: imm, rs2: rs2, rs1: rs1, funct3: 0b000, opcode: 0b010_0011) }
    static func sh(rs2: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { sType(imm: imm, rs2: rs2, rs1: rs1, funct3: 0b001, opcode: 0b010_0011) }
    static func sw(rs2: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { sType(imm: imm, rs2: rs2, rs1: rs1, funct3: 0b010, opcode: 0b010_0011) }
    static func sd(rs2: UInt8, rs1: UInt8, imm: Int32) -> UInt32 { sType(imm: imm, rs2: rs2, rs1: rs1, funct3: 0b011, opcode: 0b010_0011) }

    // MARK: Compressed (Zca, RV64)

    /// Quadrant-0 CL/CS layout: funct3 | uimm[5:3] | rs1' | two offset bits | rd'/rs2' | 00.
    static func cRegisterForm(funct3: UInt16, low2: UInt16, uimm53: UInt16, base: UInt8, reg: UInt8) -> UInt16 {
        precondition((8...15).contains(base) && (8...15).contains(reg), "CL/CS registers are x8-x15")
        return funct3 << 13 | uimm53 << 10 | UInt16(base - 8) << 7 | low2 << 5 | UInt16(reg - 8) << 2 | 0b00
    }

    /// `c.lw rd', offset(rs1')`: uimm[2|6] in bits 6:5.
    static func cLW(rd: UInt8, rs1: UInt8, offset: UInt16) -> UInt16 {
        precondition(offset % 4 == 0 && offset < 128)
        let low2 = (offset >> 2 & 1) << 1 | (offset >> 6 & 1)
        return cRegisterForm(funct3: 0b010, low2: low2, uimm53: offset >> 3 & 7, base: rs1, reg: rd)
    }
    /// `c.ld rd', offset(rs1')`: uimm[7:6] in bits 6:5.
    static func cLD(rd: UInt8, rs1: UInt8, offset: UInt16) -> UInt16 {
        precondition(offset % 8 == 0 && offset < 256)
        return cRegisterForm(funct3: 0b011, low2: offset >> 6 & 3, uimm53: offset >> 3 & 7, base: rs1, reg: rd)
    }
    /// `c.sw rs2', offset(rs1')`.
    static func cSW(rs2: UInt8, rs1: UInt8, offset: UInt16) -> UInt16 {
        precondition(offset % 4 == 0 && offset < 128)
        let low2 = (offset >> 2 & 1) << 1 | (offset >> 6 & 1)
        return cRegisterForm(funct3: 0b110, low2: low2, uimm53: offset >> 3 & 7, base: rs1, reg: rs2)
    }
    /// `c.sd rs2', offset(rs1')`.
    static func cSD(rs2: UInt8, rs1: UInt8, offset: UInt16) -> UInt16 {
        precondition(offset % 8 == 0 && offset < 256)
        return cRegisterForm(funct3: 0b111, low2: offset >> 6 & 3, uimm53: offset >> 3 & 7, base: rs1, reg: rs2)
    }

    /// `c.lwsp rd, offset(sp)`: 010 | uimm[5] | rd | uimm[4:2|7:6] | 10.
    static func cLWSP(rd: UInt8, offset: UInt16) -> UInt16 {
        precondition(offset % 4 == 0 && offset < 256)
        let low5 = (offset >> 2 & 7) << 2 | (offset >> 6 & 3)
        return 0b010 << 13 | (offset >> 5 & 1) << 12 | UInt16(rd & 31) << 7 | low5 << 2 | 0b10
    }
    /// `c.ldsp rd, offset(sp)`: 011 | uimm[5] | rd | uimm[4:3|8:6] | 10.
    static func cLDSP(rd: UInt8, offset: UInt16) -> UInt16 {
        precondition(offset % 8 == 0 && offset < 512)
        let low5 = (offset >> 3 & 3) << 3 | (offset >> 6 & 7)
        return 0b011 << 13 | (offset >> 5 & 1) << 12 | UInt16(rd & 31) << 7 | low5 << 2 | 0b10
    }
    /// `c.swsp rs2, offset(sp)`: 110 | uimm[5:2|7:6] | rs2 | 10.
    static func cSWSP(rs2: UInt8, offset: UInt16) -> UInt16 {
        precondition(offset % 4 == 0 && offset < 256)
        let imm6 = (offset >> 2 & 0xF) << 2 | (offset >> 6 & 3)
        return 0b110 << 13 | imm6 << 7 | UInt16(rs2 & 31) << 2 | 0b10
    }
    /// `c.sdsp rs2, offset(sp)`: 111 | uimm[5:3|8:6] | rs2 | 10.
    static func cSDSP(rs2: UInt8, offset: UInt16) -> UInt16 {
        precondition(offset % 8 == 0 && offset < 512)
        let imm6 = (offset >> 3 & 7) << 3 | (offset >> 6 & 7)
        return 0b111 << 13 | imm6 << 7 | UInt16(rs2 & 31) << 2 | 0b10
    }
    /// `c.ebreak`: 100 | 1 | 00000 | 00000 | 10.
    static let cEBREAK: UInt16 = 0b100 << 13 | 1 << 12 | 0b10
}
