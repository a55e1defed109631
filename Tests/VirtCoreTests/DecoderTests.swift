import Testing
import VirtCore

/// The decoder, form by form, from encodings built with the specification's
/// tables (unprivileged "RV32/64G Instruction Set Listings", Zca quadrants 0
/// and 2, "Privileged Instruction Listing").
@Suite("Decoder")
struct DecoderTests {
    static func access(_ width: UInt8, _ signed: Bool, _ reg: UInt8, _ base: UInt8, _ offset: Int64) -> MemoryAccess {
        MemoryAccess(width: width, signExtends: signed, register: reg, base: base, offset: offset)
    }

    // MARK: Compressed loads and stores, every offset

    @Test func cLwDecodesEveryOffset() {
        for offset in stride(from: UInt16(0), to: 128, by: 4) {
            for (rd, rs1) in [(UInt8(8), UInt8(15)), (15, 8), (10, 10)] {
                let d = Decoder.decode(UInt32(Encode.cLW(rd: rd, rs1: rs1, offset: offset)))
                #expect(d == DecodedInstruction(.load(Self.access(4, true, rd, rs1, Int64(offset))), length: 2),
                        "c.lw x\(rd), \(offset)(x\(rs1))")
            }
        }
    }

    @Test func cLdDecodesEveryOffset() {
        for offset in stride(from: UInt16(0), to: 256, by: 8) {
            let d = Decoder.decode(UInt32(Encode.cLD(rd: 9, rs1: 12, offset: offset)))
            #expect(d == DecodedInstruction(.load(Self.access(8, false, 9, 12, Int64(offset))), length: 2),
                    "c.ld x9, \(offset)(x12)")
        }
    }

    @Test func cSwDecodesEveryOffset() {
        for offset in stride(from: UInt16(0), to: 128, by: 4) {
            let d = Decoder.decode(UInt32(Encode.cSW(rs2: 14, rs1: 11, offset: offset)))
            #expect(d == DecodedInstruction(.store(Self.access(4, false, 14, 11, Int64(offset))), length: 2),
                    "c.sw x14, \(offset)(x11)")
        }
    }

    @Test func cSdDecodesEveryOffset() {
        for offset in stride(from: UInt16(0), to: 256, by: 8) {
            let d = Decoder.decode(UInt32(Encode.cSD(rs2: 8, rs1: 13, offset: offset)))
            #expect(d == DecodedInstruction(.store(Self.access(8, false, 8, 13, Int64(offset))), length: 2),
                    "c.sd x8, \(offset)(x13)")
        }
    }

    @Test func cLwspDecodesEveryOffset() {
        for offset in stride(from: UInt16(0), to: 256, by: 4) {
            for rd in [UInt8(1), 17, 31] {
                let d = Decoder.decode(UInt32(Encode.cLWSP(rd: rd, offset: offset)))
                #expect(d == DecodedInstruction(.load(Self.access(4, true, rd, 2, Int64(offset))), length: 2),
                        "c.lwsp x\(rd), \(offset)(sp)")
            }
        }
    }

    @Test func cLdspDecodesEveryOffset() {
        for offset in stride(from: UInt16(0), to: 512, by: 8) {
            let d = Decoder.decode(UInt32(Encode.cLDSP(rd: 31, offset: offset)))
            #expect(d == DecodedInstruction(.load(Self.access(8, false, 31, 2, Int64(offset))), length: 2),
                    "c.ldsp x31, \(offset)(sp)")
        }
    }

    @Test func cSwspDecodesEveryOffset() {
        for offset in stride(from: UInt16(0), to: 256, by: 4) {
            let d = Decoder.decode(UInt32(Encode.cSWSP(rs2: 0, offset: offset)))
            #expect(d == DecodedInstruction(.store(Self.access(4, false, 0, 2, Int64(offset))), length: 2),
                    "c.swsp x0, \(offset)(sp)")
        }
    }

    @Test func cSdspDecodesEveryOffset() {
        for offset in stride(from: UInt16(0), to: 512, by: 8) {
            let d = Decoder.decode(UInt32(Encode.cSDSP(rs2: 5, offset: offset)))
            #expect(d == DecodedInstruction(.store(Self.access(8, false, 5, 2, Int64(offset))), length: 2),
                    "c.sdsp x5, \(offset)(sp)")
        }
    }

    @Test func cLwspAndCLdspWithRdX0AreReserved() {
        #expect(Decoder.decode(UInt32(Encode.cLWSP(rd: 0, offset: 4))).instruction == .illegal)
        #expect(Decoder.decode(UInt32(Encode.cLDSP(rd: 0, offset: 8))).instruction == .illegal)
    }

    @Test func compressedFloatingPointAccessesAreNotEmulated() {
        // c.fld (Q0 001), c.fsd (Q0 101), c.fldsp (Q2 001), c.fsdsp (Q2 101).
        for word: UInt16 in [0b001 << 13 | 0b00, 0b101 << 13 | 0b00, 0b001 << 13 | 1 << 7 | 0b10, 0b101 << 13 | 0b10] {
            #expect(Decoder.decode(UInt32(word)) == DecodedInstruction(.illegal, length: 2))
        }
    }

    @Test func compressedEbreak() {
        #expect(Decoder.decode(UInt32(Encode.cEBREAK)) == DecodedInstruction(.ebreak, length: 2))
        #expect(Decoder.decode(0xFFFF_0000 | UInt32(Encode.cEBREAK)) == DecodedInstruction(.ebreak, length: 2),
                "the upper half of a compressed instruction's word is ignored")
        #expect(Decoder.decode(0x9006).instruction == .illegal, "c.add with rs2 = x1 is not c.ebreak")
    }

    @Test func allZeroParcelIsIllegal() {
        #expect(Decoder.decode(0) == DecodedInstruction(.illegal, length: 2))
    }

    // MARK: Standard loads and stores

    @Test func standardLoadsDecodeWidthSignAndOffset() {
        let cases: [(UInt32, UInt8, Bool)] = [
            (Encode.lb(rd: 1, rs1: 2, imm: -2048), 1, true), (Encode.lh(rd: 1, rs1: 2, imm: -2048), 2, true),
            (Encode.lw(rd: 1, rs1: 2, imm: -2048), 4, true), (Encode.ld(rd: 1, rs1: 2, imm: -2048), 8, false),
            (Encode.lbu(rd: 1, rs1: 2, imm: -2048), 1, false), (Encode.lhu(rd: 1, rs1: 2, imm: -2048), 2, false),
            (Encode.lwu(rd: 1, rs1: 2, imm: -2048), 4, false),
        ]
        for (bits, width, signed) in cases {
            #expect(Decoder.decode(bits) == DecodedInstruction(.load(Self.access(width, signed, 1, 2, -2048)), length: 4))
        }
        #expect(Decoder.decode(Encode.ld(rd: 31, rs1: 30, imm: 2047)).instruction
                == .load(Self.access(8, false, 31, 30, 2047)))
        #expect(Decoder.decode(Encode.lw(rd: 3, rs1: 4, imm: -1)).instruction == .load(Self.access(4, true, 3, 4, -1)))
    }

    @Test func loadFunct3Of7IsIllegal() {
        #expect(Decoder.decode(Encode.iType(imm: 0, rs1: 1, funct3: 0b111, rd: 1, opcode: 0b000_0011)).instruction == .illegal)
    }

    @Test func standardStoresDecodeWidthAndSplitOffset() {
        for (bits, width) in [(Encode.sb(rs2: 7, rs1: 8, imm: -1), UInt8(1)), (Encode.sh(rs2: 7, rs1: 8, imm: -1), 2),
                              (Encode.sw(rs2: 7, rs1: 8, imm: -1), 4), (Encode.sd(rs2: 7, rs1: 8, imm: -1), 8)] {
            #expect(Decoder.decode(bits) == DecodedInstruction(.store(Self.access(width, false, 7, 8, -1)), length: 4))
        }
        #expect(Decoder.decode(Encode.sd(rs2: 1, rs1: 2, imm: 0x7E1)).instruction == .store(Self.access(8, false, 1, 2, 0x7E1)))
        #expect(Decoder.decode(Encode.sw(rs2: 1, rs1: 2, imm: -2048)).instruction == .store(Self.access(4, false, 1, 2, -2048)))
    }

    @Test(arguments: [UInt32(0b100), 0b101, 0b110, 0b111])
    func storeFunct3Above3IsIllegal(funct3: UInt32) {
        #expect(Decoder.decode(Encode.sType(imm: 0, rs2: 1, rs1: 2, funct3: funct3, opcode: 0b010_0011)).instruction == .illegal)
    }

    // MARK: SYSTEM

    @Test(arguments: Encode.CSRKind.allCases)
    func csrInstructionsDecode(kind: Encode.CSRKind) {
        let d = Decoder.decode(Encode.csr(kind, rd: 17, csr: 0xABC, source: 29))
        let operation: CSROperation = switch kind {
        case .csrrw, .csrrwi: .readWrite
        case .csrrs, .csrrsi: .readSet
        case .csrrc, .csrrci: .readClear
        }
        #expect(d == DecodedInstruction(.csr(CSRInstruction(operation: operation, rd: 17, source: 29,
                                                            isImmediate: kind.isImmediate, csr: CSR(0xABC))), length: 4))
    }

    @Test func csrWritesFollowZicsr() {
        func writes(_ kind: Encode.CSRKind, _ source: UInt8) -> Bool? {
            guard case .csr(let i) = Decoder.decode(Encode.csr(kind, rd: 1, csr: 0x340, source: source)).instruction
            else { return nil }
            return i.writes
        }
        #expect(writes(.csrrw, 0) == true)
        #expect(writes(.csrrwi, 0) == true)
        #expect(writes(.csrrs, 0) == false)
        #expect(writes(.csrrc, 0) == false)
        #expect(writes(.csrrsi, 0) == false)
        #expect(writes(.csrrci, 0) == false)
        #expect(writes(.csrrs, 1) == true)
        #expect(writes(.csrrci, 1) == true)
    }

    @Test func systemFunct3Of4IsNotACSRInstruction() {
        // funct3 100 is the hypervisor load/store space, not Zicsr.
        #expect(Decoder.decode(Encode.csrInstruction(0b100, 1, 0x340, 2)).instruction == .illegal)
    }

    @Test func fixedPrivilegedEncodings() {
        #expect(Decoder.decode(Encode.ecall).instruction == .ecall)
        #expect(Decoder.decode(Encode.ebreak).instruction == .ebreak)
        #expect(Decoder.decode(Encode.mret).instruction == .mret)
        #expect(Decoder.decode(Encode.sret).instruction == .sret)
        #expect(Decoder.decode(Encode.wfi).instruction == .wfi)
        #expect(Encode.mret == 0x3020_0073 && Encode.sret == 0x1020_0073 && Encode.wfi == 0x1050_0073)
    }

    @Test func privilegedInstructionsWithNonZeroFieldsAreIllegal() {
        for bits in [Encode.mret | 1 << 7, Encode.mret | 1 << 15, Encode.sret | 3 << 7, Encode.wfi | 1 << 15,
                     Encode.ecall | 1 << 7, Encode.ebreak | 1 << 15, Encode.mret ^ (1 << 25)] {
            #expect(Decoder.decode(bits).instruction == .illegal, "\(hex(bits))")
        }
    }

    @Test func fencesDecodeTheirRegisters() {
        #expect(Decoder.decode(Encode.sfenceVMA(rs1: 3, rs2: 4)).instruction == .sfenceVMA(rs1: 3, rs2: 4))
        #expect(Decoder.decode(Encode.hfenceVVMA(rs1: 5, rs2: 0)).instruction == .hfenceVVMA(rs1: 5, rs2: 0))
        #expect(Decoder.decode(Encode.hfenceGVMA(rs1: 0, rs2: 6)).instruction == .hfenceGVMA(rs1: 0, rs2: 6))
        #expect(Decoder.decode(Encode.sfenceVMA(rs1: 3, rs2: 4) | 1 << 7).instruction == .illegal, "rd must be x0")
        // sinval.vma (funct7 0001011, Svinval) is not implemented.
        #expect(Decoder.decode(Encode.fence(0b0001011, 1, 2)).instruction == .illegal)
    }

    // MARK: A extension (opcode AMO, 0x2F)

    static func atomic(_ op: AtomicOperation, _ width: UInt8, rd: UInt8, rs1: UInt8, rs2: UInt8,
                       aq: Bool = false, rl: Bool = false) -> Instruction {
        .atomic(AtomicAccess(operation: op, width: width, rd: rd, base: rs1, source: rs2, acquire: aq, release: rl))
    }

    /// Encodings produced by an assembler (`llvm-mc -triple=riscv64
    /// -mattr=+a -show-encoding`), one per mnemonic and width.
    @Test(arguments: [
        (UInt32(0x1006_252F), "lr.w a0, (a2)", DecoderTests.atomic(.loadReserved, 4, rd: 10, rs1: 12, rs2: 0)),
        (0x1604_B2AF, "lr.d.aqrl t0, (s1)", DecoderTests.atomic(.loadReserved, 8, rd: 5, rs1: 9, rs2: 0, aq: true, rl: true)),
        (0x18B6_252F, "sc.w a0, a1, (a2)", DecoderTests.atomic(.storeConditional, 4, rd: 10, rs1: 12, rs2: 11)),
        (0x1A7E_332F, "sc.d.rl t1, t2, (t3)", DecoderTests.atomic(.storeConditional, 8, rd: 6, rs1: 28, rs2: 7, rl: true)),
        (0x08B6_252F, "amoswap.w a0, a1, (a2)", DecoderTests.atomic(.swap, 4, rd: 10, rs1: 12, rs2: 11)),
        (0x0D3A_392F, "amoswap.d.aq s2, s3, (s4)", DecoderTests.atomic(.swap, 8, rd: 18, rs1: 20, rs2: 19, aq: true)),
        (0x0000_202F, "amoadd.w zero, zero, (zero)", DecoderTests.atomic(.add, 4, rd: 0, rs1: 0, rs2: 0)),
        (0x0108_B7AF, "amoadd.d a5, a6, (a7)", DecoderTests.atomic(.add, 8, rd: 15, rs1: 17, rs2: 16)),
        (0x21EF_AEAF, "amoxor.w t4, t5, (t6)", DecoderTests.atomic(.xor, 4, rd: 29, rs1: 31, rs2: 30)),
        (0x2021_B0AF, "amoxor.d ra, sp, (gp)", DecoderTests.atomic(.xor, 8, rd: 1, rs1: 3, rs2: 2)),
        (0x60B6_252F, "amoand.w a0, a1, (a2)", DecoderTests.atomic(.and, 4, rd: 10, rs1: 12, rs2: 11)),
        (0x60B6_352F, "amoand.d a0, a1, (a2)", DecoderTests.atomic(.and, 8, rd: 10, rs1: 12, rs2: 11)),
        (0x476B_AAAF, "amoor.w.aqrl s5, s6, (s7)", DecoderTests.atomic(.or, 4, rd: 21, rs1: 23, rs2: 22, aq: true, rl: true)),
        (0x40B6_352F, "amoor.d a0, a1, (a2)", DecoderTests.atomic(.or, 8, rd: 10, rs1: 12, rs2: 11)),
        (0x80B6_252F, "amomin.w a0, a1, (a2)", DecoderTests.atomic(.min, 4, rd: 10, rs1: 12, rs2: 11)),
        (0x80B6_352F, "amomin.d a0, a1, (a2)", DecoderTests.atomic(.min, 8, rd: 10, rs1: 12, rs2: 11)),
        (0xA0B6_252F, "amomax.w a0, a1, (a2)", DecoderTests.atomic(.max, 4, rd: 10, rs1: 12, rs2: 11)),
        (0xA0B6_352F, "amomax.d a0, a1, (a2)", DecoderTests.atomic(.max, 8, rd: 10, rs1: 12, rs2: 11)),
        (0xC0B6_252F, "amominu.w a0, a1, (a2)", DecoderTests.atomic(.minu, 4, rd: 10, rs1: 12, rs2: 11)),
        (0xC0B6_352F, "amominu.d a0, a1, (a2)", DecoderTests.atomic(.minu, 8, rd: 10, rs1: 12, rs2: 11)),
        (0xE0B6_252F, "amomaxu.w a0, a1, (a2)", DecoderTests.atomic(.maxu, 4, rd: 10, rs1: 12, rs2: 11)),
        (0xE3B2_BD2F, "amomaxu.d.rl s10, s11, (t0)", DecoderTests.atomic(.maxu, 8, rd: 26, rs1: 5, rs2: 27, rl: true)),
    ])
    func atomicEncodingsFromAnAssembler(bits: UInt32, text: String, want: Instruction) {
        #expect(Decoder.decode(bits) == DecodedInstruction(want, length: 4), "\(text)")
    }

    /// Every `funct5` of the A extension, both widths, both ordering bits,
    /// with the fields built from the instruction format (R-type: funct5 |
    /// aq | rl | rs2 | rs1 | funct3 | rd | opcode).
    @Test func everyAtomicFunct5WidthAndOrdering() {
        let operations: [(UInt32, AtomicOperation)] = [
            (0b00010, .loadReserved), (0b00011, .storeConditional), (0b00001, .swap), (0b00000, .add),
            (0b00100, .xor), (0b01100, .and), (0b01000, .or), (0b10000, .min), (0b10100, .max),
            (0b11000, .minu), (0b11100, .maxu),
        ]
        for (funct5, operation) in operations {
            for (funct3, width) in [(UInt32(2), UInt8(4)), (3, 8)] {
                for aq in [false, true] {
                    for rl in [false, true] {
                        let rs2: UInt32 = operation == .loadReserved ? 0 : 21
                        let bits = funct5 << 27 | (aq ? 1 : 0) << 26 | (rl ? 1 : 0) << 25 | rs2 << 20
                            | 9 << 15 | funct3 << 12 | 31 << 7 | 0x2F
                        let want = Self.atomic(operation, width, rd: 31, rs1: 9, rs2: UInt8(rs2), aq: aq, rl: rl)
                        #expect(Decoder.decode(bits) == DecodedInstruction(want, length: 4),
                                "funct5 \(funct5) funct3 \(funct3) aq \(aq) rl \(rl)")
                    }
                }
            }
        }
    }

    @Test func lrWithANonZeroRs2IsIllegal() {
        for rs2: UInt32 in [1, 2, 11, 31] {
            for funct3: UInt32 in [2, 3] {
                let bits = 0b00010 << 27 | rs2 << 20 | 12 << 15 | funct3 << 12 | 10 << 7 | 0x2F
                #expect(Decoder.decode(bits).instruction == .illegal, "lr, rs2 = x\(rs2)")
            }
        }
    }

    @Test func atomicFunct3OtherThanWordAndDoubleIsIllegal() {
        for funct3: UInt32 in [0, 1, 4, 5, 6, 7] {
            for funct5: UInt32 in [0b00000, 0b00001, 0b00010, 0b00011, 0b11100] {
                let bits = funct5 << 27 | 12 << 15 | funct3 << 12 | 10 << 7 | 0x2F
                #expect(Decoder.decode(bits).instruction == .illegal, "funct5 \(funct5) funct3 \(funct3)")
            }
        }
    }

    @Test func unassignedAtomicFunct5IsIllegal() {
        let assigned: Set<UInt32> = [0b00000, 0b00001, 0b00010, 0b00011, 0b00100, 0b01000, 0b01100,
                                     0b10000, 0b10100, 0b11000, 0b11100]
        for funct5 in UInt32(0)..<32 where !assigned.contains(funct5) {
            for funct3: UInt32 in [2, 3] {
                let bits = funct5 << 27 | 11 << 20 | 12 << 15 | funct3 << 12 | 10 << 7 | 0x2F
                #expect(Decoder.decode(bits).instruction == .illegal, "funct5 \(funct5)")
            }
        }
    }

    /// Random 32-bit words with the AMO opcode against the reference decoder.
    @Test func randomAtomicWordsMatchTheReferenceDecoder() {
        var generator = SystemRandomNumberGenerator()
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let bits = (UInt32.random(in: 0...UInt32.max, using: &generator) & ~0x7F) | 0x2F
            let actual = Decoder.decode(bits)
            let (expected, length) = ReferenceDecoder.decode(bits)
            let want = DecodedInstruction(ReferenceDecoder.asInstruction(expected), length: length)
            if actual != want && mismatches.count < 20 { mismatches.append("\(hex(Int(bits))): \(actual) != \(want)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    // MARK: Everything else

    @Test(arguments: [
        UInt32(0x0000_0013),  // addi x0, x0, 0
        0x0000_006F,  // jal x0, 0
        0x0000_000F,  // fence
        0x0000_100F,  // fence.i
        0x0000_0033,  // add
        0x0020_9007,  // flw/fld space (LOAD-FP)
        0x0000_402F,  // AMO opcode, funct3 100
        0x0000_001F,  // 48-bit prefix
        0x0000_007F,  // 64-bit prefix
        0xFFFF_FFFF,
    ])
    func unknownEncodingsDecodeToIllegal(bits: UInt32) {
        let d = Decoder.decode(bits)
        #expect(d.instruction == .illegal)
        #expect(d.length == 4)
    }

    @Test func lengthFollowsTheLowTwoBits() {
        for low in UInt32(0)...2 {
            #expect(Decoder.decode(0xFFFF_FFFC | low).length == 2)
        }
        #expect(Decoder.decode(0x0000_0003).length == 4)
    }

    /// All 65,536 sixteen-bit parcels against the reference decoder.
    @Test func everyCompressedParcelMatchesTheReferenceDecoder() {
        var mismatches: [String] = []
        for word in 0...0xFFFF where word & 3 != 3 {
            let actual = Decoder.decode(UInt32(word))
            let (expected, length) = ReferenceDecoder.decode(UInt32(word))
            let want = DecodedInstruction(ReferenceDecoder.asInstruction(expected), length: length)
            if actual != want && mismatches.count < 20 { mismatches.append("\(hex(word)): \(actual) != \(want)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }
}
