import PropertyBased
import Testing
import VirtCore

/// One random firmware or device action on an interrupt file.
private struct IMSICOperation: Sendable {
    var kind: Int
    var pick: Int
    var value: UInt64
    var noise: UInt64
}

private let operation = zip(
    Gen.int(in: 0...99), Gen.int(in: 0...10_000), Gen.uint64(), Gen.uint64()
).map { IMSICOperation(kind: $0, pick: $1, value: $2, noise: $3) }.withoutShrink()

/// `riscv,num-ids`: QEMU virt's 255, the extremes, other valid sizes, or a
/// count the specification does not allow (which the model clamps, and
/// whose last word is partly implemented).
private let identityCount = zip(Gen.int(in: 0...6), Gen.int(in: 63...2047)).map { pick, any in
    [255, 63, 2047, 127, 1023, any | 63, any][pick]
}

@Suite struct VirtualIMSICFilePropertyTests {
    /// Random sequences (120 runs x 150-250 operations) of `mireg` reads and
    /// writes with any `miselect`, `seteipnum_le` writes, `mtopei` reads and
    /// claims, checked after every step against `ReferenceIMSIC`: the
    /// result of the step, then every register, `mtopei` and the interrupt
    /// line.
    @Test func interruptFileAgreesWithTheReferenceModel() async {
        await propertyCheck(count: 120, input: identityCount, operation.array(of: 150...250)) { identities, operations in
            var file = VirtualIMSICFile(identities: identities)
            var reference = ReferenceIMSIC(identities: identities)
            let legal = reference.table.keys.sorted()
            for (step, op) in operations.enumerated() {
                // miselect: mostly a register, sometimes a neighbour or anything.
                var select = legal[op.pick % legal.count]
                switch op.noise % 8 {
                case 0: select = 0x60 + (op.noise >> 8) % 0xB0
                case 1: select = op.noise >> 3
                default: break
                }
                // Values: sparse bit patterns keep topei away from the first identities.
                let value: UInt64
                switch (op.noise >> 16) % 6 {
                case 0: value = op.value
                case 1: value = 1 << (op.value % 64)
                case 2: value = 0
                case 3: value = .max
                default: value = op.value & (op.noise >> 3) & (op.value >> 7) & (op.noise << 5)
                }
                // Identities and thresholds near the interesting boundaries.
                let near = UInt64(op.pick % (identities + 3))

                let what: String
                switch op.kind {
                case 0..<30:
                    what = "read 0x\(String(select, radix: 16))"
                    let got = file.read(select: select)
                    #expect(got == reference.read(select: select), "step \(step): \(what)")
                case 30..<58:
                    let written = select == 0x72 && op.noise & 0x100 != 0 ? near : value
                    what = "write 0x\(String(select, radix: 16)) = 0x\(String(written, radix: 16))"
                    let got = file.write(select: select, value: written)
                    let want = reference.write(select: select, value: written)
                    #expect(got == want, "step \(step): \(what)")
                case 58..<85:
                    let identity = op.noise & 0x200 != 0 ? near : op.value >> (op.noise % 64)
                    what = "seteipnum \(identity)"
                    file.setPending(identity: identity)
                    reference.seteipnumLE(identity)
                case 85..<92:
                    what = "claim"
                    let got = file.claim()
                    let want = reference.claim()
                    #expect(got == want, "step \(step): \(what)")
                default:
                    what = "topei"
                    let got = file.topei()
                    #expect(got == reference.topei(), "step \(step): \(what)")
                }

                var agree = file.topei() == reference.topei() && file.interruptPending() == reference.interruptPending()
                for select in legal where file.read(select: select) != reference.read(select: select) {
                    agree = false
                }
                #expect(agree, "state differs after step \(step): \(what)")
                if !agree { return }
            }
        }
    }

    /// Every `miselect` value up to 0x1FF (QEMU 7.2's `miselect` holds 9
    /// bits) has a register in the model exactly when it has one in the
    /// reference, for every size the specification allows.
    @Test func everySelectValueOfEverySize() {
        for identities in stride(from: 63, through: 2047, by: 64) {
            let reference = ReferenceIMSIC(identities: identities)
            for select: UInt64 in 0...0x1FF {
                let got = VirtualIMSICFile.register(select: select, identities: identities)
                let want = reference.table[select]
                let same: Bool
                switch (got, want) {
                case (nil, nil): same = true
                case (.eidelivery, .eidelivery), (.eithreshold, .eithreshold): same = true
                case (.eip(let a), .eip(let b)), (.eie(let a), .eie(let b)): same = a == b
                default: same = false
                }
                #expect(same, "identities \(identities) miselect 0x\(String(select, radix: 16))")
                if !same { return }
            }
        }
    }
}
