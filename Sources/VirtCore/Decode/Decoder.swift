/// Decodes the instructions a deprivileged guest can trap on (unprivileged
/// specification, "RV32/64G Instruction Set Listings" and "RVC Instruction
/// Set Listings"; privileged specification, "Privileged Instruction Listing").
public enum Decoder {
    /// Decodes the instruction whose first parcel is the low half of `bits`.
    /// A compressed instruction (low two bits not `11`) uses only 16 bits.
    @inlinable
    public static func decode(_ bits: UInt32) -> DecodedInstruction {
        if bits & 3 != 3 {
            return DecodedInstruction(decodeCompressed(UInt16(truncatingIfNeeded: bits)), length: 2)
        }
        return DecodedInstruction(decodeStandard(bits), length: 4)
    }

    @inlinable
    static func field(_ bits: UInt32, _ high: UInt32, _ low: UInt32) -> UInt32 {
        (bits >> low) & ((1 << (high - low + 1)) - 1)
    }

    /// A 32-bit instruction.
    @inlinable
    public static func decodeStandard(_ bits: UInt32) -> Instruction {
        let opcode = bits & 0x7F
        let rd = UInt8(field(bits, 11, 7))
        let funct3 = field(bits, 14, 12)
        let rs1 = UInt8(field(bits, 19, 15))
        switch opcode {
        case 0x73:
            return decodeSystem(bits, rd: rd, funct3: funct3, rs1: rs1)
        case 0x03:
            // I-type offset: bits 31:20, sign-extended.
            let offset = Int64(Int32(bitPattern: bits) >> 20)
            switch funct3 {
            case 0: return .load(MemoryAccess(width: 1, signExtends: true, register: rd, base: rs1, offset: offset))
            case 1: return .load(MemoryAccess(width: 2, signExtends: true, register: rd, base: rs1, offset: offset))
            case 2: return .load(MemoryAccess(width: 4, signExtends: true, register: rd, base: rs1, offset: offset))
            case 3: return .load(MemoryAccess(width: 8, signExtends: false, register: rd, base: rs1, offset: offset))
            case 4: return .load(MemoryAccess(width: 1, signExtends: false, register: rd, base: rs1, offset: offset))
            case 5: return .load(MemoryAccess(width: 2, signExtends: false, register: rd, base: rs1, offset: offset))
            case 6: return .load(MemoryAccess(width: 4, signExtends: false, register: rd, base: rs1, offset: offset))
            default: return .illegal
            }
        case 0x23:
            // S-type offset: imm[11:5] = bits 31:25, imm[4:0] = bits 11:7.
            let high = Int64(Int32(bitPattern: bits) >> 25) << 5
            let offset = high | Int64(field(bits, 11, 7))
            let rs2 = UInt8(field(bits, 24, 20))
            guard funct3 <= 3 else { return .illegal }
            return .store(MemoryAccess(width: 1 << UInt8(funct3), signExtends: false,
                                       register: rs2, base: rs1, offset: offset))
        case 0x2F:
            return decodeAtomic(bits, rd: rd, funct3: funct3, rs1: rs1)
        default:
            return .illegal
        }
    }

    /// Opcode `AMO` (0x2F): `funct3` 2 is `.w`, 3 is `.d`; `lr` requires
    /// `rs2 = x0`.
    @inlinable
    static func decodeAtomic(_ bits: UInt32, rd: UInt8, funct3: UInt32, rs1: UInt8) -> Instruction {
        guard funct3 == 2 || funct3 == 3,
              let operation = AtomicOperation(rawValue: UInt8(field(bits, 31, 27))) else { return .illegal }
        let rs2 = UInt8(field(bits, 24, 20))
        if operation == .loadReserved && rs2 != 0 { return .illegal }
        return .atomic(AtomicAccess(operation: operation, width: funct3 == 2 ? 4 : 8, rd: rd, base: rs1,
                                    source: rs2, acquire: field(bits, 26, 26) == 1,
                                    release: field(bits, 25, 25) == 1))
    }

    @inlinable
    static func decodeSystem(_ bits: UInt32, rd: UInt8, funct3: UInt32, rs1: UInt8) -> Instruction {
        if funct3 == 0 {
            switch bits {
            case 0x0000_0073: return .ecall
            case 0x0010_0073: return .ebreak
            case 0x3020_0073: return .mret
            case 0x1020_0073: return .sret
            case 0x1050_0073: return .wfi
            default: break
            }
            guard rd == 0 else { return .illegal }
            let rs2 = UInt8(field(bits, 24, 20))
            switch field(bits, 31, 25) {
            case 0x09: return .sfenceVMA(rs1: rs1, rs2: rs2)
            case 0x11: return .hfenceVVMA(rs1: rs1, rs2: rs2)
            case 0x31: return .hfenceGVMA(rs1: rs1, rs2: rs2)
            default: return .illegal
            }
        }
        let operation: CSROperation
        switch funct3 & 3 {
        case 1: operation = .readWrite
        case 2: operation = .readSet
        case 3: operation = .readClear
        default: return .illegal  // funct3 4: hypervisor loads/stores, not emulated
        }
        return .csr(CSRInstruction(operation: operation, rd: rd, source: rs1,
                                   isImmediate: funct3 >= 4, csr: CSR(UInt16(bits >> 20))))
    }

    /// A 16-bit instruction (RVC, RV64 quadrants).
    @inlinable
    public static func decodeCompressed(_ bits: UInt16) -> Instruction {
        let b = UInt32(bits)
        let funct3 = field(b, 15, 13)
        switch (b & 3, funct3) {
        case (0, 2), (0, 3), (0, 6), (0, 7):
            // c.lw / c.ld / c.sw / c.sd: registers x8-x15.
            let reg = UInt8(field(b, 4, 2) + 8)
            let base = UInt8(field(b, 9, 7) + 8)
            let isDouble = funct3 & 1 == 1
            let offset: UInt32 = isDouble
                ? (field(b, 12, 10) << 3) | (field(b, 6, 5) << 6)
                : (field(b, 12, 10) << 3) | (field(b, 6, 6) << 2) | (field(b, 5, 5) << 6)
            // Only c.lw sign-extends; c.sw expands to sw, whose access does not.
            let access = MemoryAccess(width: isDouble ? 8 : 4, signExtends: !isDouble && funct3 < 6,
                                      register: reg, base: base, offset: Int64(offset))
            return funct3 >= 6 ? .store(access) : .load(access)
        case (2, 2), (2, 3):
            // c.lwsp / c.ldsp: rd = 0 is reserved.
            let rd = UInt8(field(b, 11, 7))
            guard rd != 0 else { return .illegal }
            let isDouble = funct3 == 3
            let offset: UInt32 = isDouble
                ? (field(b, 12, 12) << 5) | (field(b, 6, 5) << 3) | (field(b, 4, 2) << 6)
                : (field(b, 12, 12) << 5) | (field(b, 6, 4) << 2) | (field(b, 3, 2) << 6)
            return .load(MemoryAccess(width: isDouble ? 8 : 4, signExtends: !isDouble,
                                      register: rd, base: 2, offset: Int64(offset)))
        case (2, 6), (2, 7):
            // c.swsp / c.sdsp.
            let rs2 = UInt8(field(b, 6, 2))
            let isDouble = funct3 == 7
            let offset: UInt32 = isDouble
                ? (field(b, 12, 10) << 3) | (field(b, 9, 7) << 6)
                : (field(b, 12, 9) << 2) | (field(b, 8, 7) << 6)
            return .store(MemoryAccess(width: isDouble ? 8 : 4, signExtends: false,
                                       register: rs2, base: 2, offset: Int64(offset)))
        case (2, 4) where bits == 0x9002:
            return .ebreak
        default:
            return .illegal
        }
    }
}
