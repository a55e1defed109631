import PropertyBased
import Testing
import VirtCore

/// `riscv,num-sources`: QEMU virt's 96, word boundaries, the extremes, or
/// anything.
private let sourceCount = zip(Gen.int(in: 0...7), Gen.int(in: 0...1023)).map { pick, any in
    [96, 31, 32, 63, 1023, 0, 1, any][pick]
}

/// One random firmware access to the virtual MSI address registers.
private struct MSIAddressStep: Sendable {
    var register: Int
    var value: UInt32
    var lock: Int
    var hartIndex: UInt64
    var guest: UInt64
}

private let msiAddressStep = zip(
    Gen.int(in: 0...9), Gen.uint32(), Gen.int(in: 0...15), Gen.uint64(in: 0...0x3FFF), Gen.uint64(in: 0...0x3F)
).map { MSIAddressStep(register: $0, value: $1, lock: $2, hartIndex: $3, guest: $4) }.withoutShrink()

@Suite("Virtual APLIC against the specification's table")
struct VirtualAPLICPropertyTests {
    /// Random geometries and offsets (registers that exist, their neighbours,
    /// anything in or beyond the window): `decode`, `implements` and `route`
    /// agree with `ReferenceAPLIC`'s table.
    @Test func decodeAndRouteAgreeWithTheTable() async {
        let offsets = zip(Gen.int(in: 0...9), Gen.uint64(), Gen.uint64()).array(of: 200...300)
        await propertyCheck(count: 80, input: sourceCount, Gen.int(in: 0...40), Gen.bool, offsets) {
            sources, harts, msiMode, offsets in
            let aplic = VirtualAPLIC(sources: sources, harts: harts, msiMode: msiMode)
            let reference = ReferenceAPLIC(sources: sources, harts: harts, msiMode: msiMode)
            let legal = reference.table.keys.sorted()
            for (kind, a, b) in offsets {
                let offset: UInt64
                switch kind {
                case 0...3: offset = legal[Int(a % UInt64(legal.count))]
                case 4...5: offset = legal[Int(a % UInt64(legal.count))] &+ (b % 9) &- 4
                case 6: offset = a % 0x8100
                case 7: offset = (a % 0x8100) & ~3
                case 8: offset = 0x4000 + (a % 48) * 32 + (b % 32) & ~3
                default: offset = a
                }
                let want = reference.decode(offset: offset)
                let got = aplic.decode(offset: offset)
                #expect(got == want, "sources \(sources) harts \(harts) msi \(msiMode) offset 0x\(String(offset, radix: 16))")
                #expect(aplic.implements(got) == (want != .reserved), "implements \(want)")
                for isStore in [false, true] {
                    #expect(aplic.route(got, isStore: isStore) == ReferenceAPLIC.route(want), "route of \(want)")
                }
                if got != want { return }
            }
        }
    }

    /// Every aligned offset of the window (and a little beyond) of small and
    /// QEMU-sized domains, exhaustively.
    @Test(arguments: [(96, 4, true), (96, 4, false), (0, 0, false), (31, 1, false), (32, 2, true), (1023, 512, false)])
    func everyAlignedOffsetOfTheWindow(sources: Int, harts: Int, msiMode: Bool) {
        let aplic = VirtualAPLIC(sources: sources, harts: harts, msiMode: msiMode)
        let reference = ReferenceAPLIC(sources: sources, harts: harts, msiMode: msiMode)
        var mismatches = 0
        for offset in stride(from: UInt64(0), to: 0x8400, by: 4) where aplic.decode(offset: offset) != reference.decode(offset: offset) {
            mismatches += 1
            if mismatches < 5 { Issue.record("0x\(String(offset, radix: 16))") }
        }
        #expect(mismatches == 0)
        let words = sources / 32 + 1
        let expected = 8 + 2 * sources + 4 * words + (msiMode ? 4 : 5 * harts)
        #expect(reference.table.count == expected)
    }

    /// Random sequences (150 runs x 40-80 steps) of firmware stores and loads
    /// of the four MSI address registers (and of other registers, which hold
    /// no virtual state), with L set now and then: after every step all four
    /// registers read as in `ReferenceAPLIC`, and the decoded configurations
    /// give the reference's fields and the specification formula's address
    /// for a random hart index and guest.
    @Test func virtualRegistersAgreeWithTheReference() async {
        let registers: [APLICRegister] = [
            .mmsiaddrcfg, .mmsiaddrcfgh, .smsiaddrcfg, .smsiaddrcfgh,
            .mmsiaddrcfgh, .smsiaddrcfgh, .domaincfg, .genmsi, .target(source: 1), .reserved,
        ]
        let virtual: [APLICRegister] = [.mmsiaddrcfg, .mmsiaddrcfgh, .smsiaddrcfg, .smsiaddrcfgh]
        await propertyCheck(count: 150, input: Gen.bool, msiAddressStep.array(of: 40...80)) { msiMode, steps in
            var aplic = VirtualAPLIC(sources: 96, harts: 4, msiMode: msiMode)
            var reference = ReferenceAPLIC(sources: 96, harts: 4, msiMode: msiMode)
            for (n, step) in steps.enumerated() {
                let register = registers[step.register]
                // L (bit 31) is set by one high-register store in sixteen.
                let value = step.lock == 0 ? step.value | 1 << 31 : step.value & ~(1 << 31)
                aplic.writeVirtual(register, value: value)
                reference.write(register, value: value)

                var agree = true
                for register in virtual {
                    let got = aplic.readVirtual(register)
                    agree = agree && got == reference.read(register)
                }
                let machine = ReferenceAPLIC.Fields(low: reference.mmsiaddrcfg, high: reference.mmsiaddrcfgh)
                let supervisor = ReferenceAPLIC.Fields(low: reference.smsiaddrcfg, high: reference.smsiaddrcfgh)
                for (got, want) in [(aplic.machineMSIAddress, machine), (aplic.supervisorMSIAddress, supervisor)] {
                    agree = agree && got.basePPN == want.basePPN && got.lhxs == want.lhxs && got.lhxw == want.lhxw
                        && got.hhxs == want.hhxs && got.hhxw == want.hhxw && got.locked == want.locked
                        && got.address(hartIndex: step.hartIndex, guest: step.guest)
                            == want.address(hartIndex: step.hartIndex, guest: step.guest)
                }
                #expect(agree, "step \(n): write \(register) 0x\(String(value, radix: 16)) (MSI mode \(msiMode))")
                if !agree { return }
            }
        }
    }

    /// Random fields, hart indexes and guests: the address by hart index is
    /// the specification's formula (`ReferenceAPLIC.Fields`), the address by
    /// group and hart agrees with it, and the registers round-trip.
    @Test func addressFormulaAgreesWithTheSpecification() async {
        let input = zip(Gen.uint32(), Gen.uint32(), Gen.uint64(in: 0...0x3FFF), Gen.uint64(in: 0...0xFF))
        await propertyCheck(count: 2000, input: input) { low, rawHigh, hartIndex, guest in
            let high = rawHigh & APLICMSIAddressConfiguration.highRegisterMask
            let config = APLICMSIAddressConfiguration(low: low, high: high)
            let want = ReferenceAPLIC.Fields(low: low, high: high).address(hartIndex: hartIndex, guest: guest)
            #expect(config.address(hartIndex: hartIndex, guest: guest) == want)
            let group = hartIndex >> UInt64(config.lhxw)
            #expect(config.address(group: group, hart: hartIndex, guest: guest) == want)
            #expect(config.registerValues == (low, high))
        }
    }

    /// Random bases, strides and counts: `forFiles` answers exactly when the
    /// layout is expressible (written here from the specification's
    /// conditions), and then file h is at `base + h * stride` for every
    /// hart index below the count.
    @Test func filesConfigurationsAddressEveryFile() async {
        let input = zip(Gen.int(in: 0...5), Gen.uint64(), Gen.int(in: 0...24), Gen.int(in: -2...300), Gen.int(in: 0...3))
        await propertyCheck(count: 1500, input: input) { baseKind, raw, strideBits, rawCount, countKind in
            Self.checkFiles(baseKind: baseKind, raw: raw, strideBits: strideBits, rawCount: rawCount, countKind: countKind)
        }
    }

    private static func checkFiles(baseKind: Int, raw: UInt64, strideBits: Int, rawCount: Int, countKind: Int) {
        let fileStride: UInt64 = strideBits == 24 ? 0x3000 : 1 << UInt64(strideBits)
        let count = [rawCount, rawCount & 63, 16384, 16385][countKind]
        // An aligned base, a slightly misaligned one, or anything.
        let base: UInt64
        switch baseKind {
        case 0, 1, 2: base = (raw % (1 << 44)) & ~((fileStride << 15) - 1)
        case 3: base = ((raw % (1 << 44)) & ~((fileStride << 15) - 1)) | fileStride
        case 4: base = raw >> (raw % 64)
        default: base = raw
        }
        var hartBits = 0
        while count > 0 && 1 << hartBits < count { hartBits += 1 }
        let expressible = fileStride >= 4096 && fileStride <= 512 * 1024 && fileStride & (fileStride - 1) == 0
            && count >= 1 && count <= 16384
            && base % (fileStride << UInt64(hartBits)) == 0 && base < 1 << 56
        let config = APLICMSIAddressConfiguration.forFiles(base: base, stride: fileStride, count: count)
        #expect((config != nil) == expressible,
                "base 0x\(String(base, radix: 16)) stride 0x\(String(fileStride, radix: 16)) count \(count)")
        guard let config else { return }
        #expect(config.lhxw == hartBits && config.hhxw == 0 && !config.locked)
        for hart in stride(from: 0, to: count, by: max(1, count / 97)) {
            #expect(config.address(hartIndex: UInt64(hart)) == base + fileStride * UInt64(hart), "hart \(hart)")
        }
        #expect(config.address(hartIndex: UInt64(count - 1)) == base + fileStride * UInt64(count - 1))
    }
}
