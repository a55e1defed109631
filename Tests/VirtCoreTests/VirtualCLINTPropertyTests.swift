import PropertyBased
import Testing
import VirtCore

/// A CLINT written straight from the ACLINT specification's register maps:
/// a table of every legal (offset, width) pair, and plain arrays of state.
/// Independent of `VirtualCLINT`'s arithmetic decoding.
private struct ReferenceCLINT {
    enum Register: Equatable {
        case msip(Int)
        case mtimecmp(Int), mtimecmpLow(Int), mtimecmpHigh(Int)
        case mtime, mtimeLow, mtimeHigh
    }

    struct Access: Hashable {
        var offset: UInt64
        var width: Int
    }

    let harts: Int
    var msip: [Bool]
    var mtimecmp: [UInt64]
    let map: [Access: Register]

    init(harts: Int) {
        self.harts = harts
        msip = Array(repeating: false, count: harts)
        mtimecmp = Array(repeating: UInt64.max, count: harts)
        var map: [Access: Register] = [
            Access(offset: 0xBFF8, width: 8): .mtime,
            Access(offset: 0xBFF8, width: 4): .mtimeLow,
            Access(offset: 0xBFFC, width: 4): .mtimeHigh,
        ]
        for hart in 0..<harts {
            map[Access(offset: UInt64(hart) * 4, width: 4)] = .msip(hart)
            let cmp = 0x4000 + UInt64(hart) * 8
            map[Access(offset: cmp, width: 8)] = .mtimecmp(hart)
            map[Access(offset: cmp, width: 4)] = .mtimecmpLow(hart)
            map[Access(offset: cmp + 4, width: 4)] = .mtimecmpHigh(hart)
        }
        self.map = map
    }

    func read(offset: UInt64, width: Int, time: UInt64) -> UInt64? {
        switch map[Access(offset: offset, width: width)] {
        case nil: return nil
        case .msip(let h): return msip[h] ? 1 : 0
        case .mtimecmp(let h): return mtimecmp[h]
        case .mtimecmpLow(let h): return UInt64(UInt32(truncatingIfNeeded: mtimecmp[h]))
        case .mtimecmpHigh(let h): return UInt64(UInt32(truncatingIfNeeded: mtimecmp[h] >> 32))
        case .mtime: return time
        case .mtimeLow: return UInt64(UInt32(truncatingIfNeeded: time))
        case .mtimeHigh: return UInt64(UInt32(truncatingIfNeeded: time >> 32))
        }
    }

    mutating func write(offset: UInt64, width: Int, value: UInt64) -> CLINTWrite? {
        func setDeadline(_ h: Int, _ new: UInt64) -> CLINTWrite {
            if mtimecmp[h] == new { return .unchanged }
            mtimecmp[h] = new
            return .mtimecmp(hart: h)
        }
        let low = UInt64(UInt32(truncatingIfNeeded: value))
        switch map[Access(offset: offset, width: width)] {
        case nil: return nil
        case .msip(let h):
            let new = value % 2 == 1
            if msip[h] == new { return .unchanged }
            msip[h] = new
            return .msip(hart: h)
        case .mtimecmp(let h): return setDeadline(h, value)
        case .mtimecmpLow(let h): return setDeadline(h, (mtimecmp[h] >> 32) << 32 + low)
        case .mtimecmpHigh(let h): return setDeadline(h, low << 32 + (mtimecmp[h] << 32) >> 32)
        case .mtime, .mtimeLow, .mtimeHigh: return .mtime
        }
    }

    func mtip(hart: Int, time: UInt64) -> Bool { !(time < mtimecmp[hart]) }
}

/// One random firmware or monitor action.
private struct CLINTOperation: Sendable {
    var kind: Int
    var index: Int
    var value: UInt64
    var noise: UInt64
}

private let operation = zip(
    Gen.int(in: 0...99), Gen.int(in: 0...1_000), Gen.uint64(), Gen.uint64()
).map { CLINTOperation(kind: $0, index: $1, value: $2, noise: $3) }.withoutShrink()

@Suite struct VirtualCLINTPropertyTests {
    /// Random sequences (100 runs x 100-150 operations) of firmware loads and
    /// stores, direct `setMSIP` calls and moving time, checked after every step
    /// against `ReferenceCLINT`: the access result and every hart's `msip`,
    /// `mtimecmp` and MTIP.
    @Test func clintAgreesWithTheReferenceModel() async {
        await propertyCheck(
            count: 100, input: Gen.int(in: 1...8), operation.array(of: 100...150)
        ) { harts, operations in
            var clint = VirtualCLINT(harts: harts)
            var reference = ReferenceCLINT(harts: harts)
            let legal = reference.map.keys.sorted { ($0.offset, $0.width) < ($1.offset, $1.width) }
            var time: UInt64 = 0
            for (step, op) in operations.enumerated() {
                // Time moves forward mostly, and now and then lands near a deadline.
                switch op.noise % 4 {
                case 0: time = reference.mtimecmp[op.index % harts] &+ (op.noise >> 62) &- 1
                case 1: time = op.value
                default: time &+= op.noise >> 40
                }
                // Offsets: mostly legal registers, sometimes a neighbour or anything.
                var access = legal[op.index % legal.count]
                switch (op.noise >> 8) % 8 {
                case 0: access.offset &+= (op.noise >> 16) % 16
                case 1: access.offset = (op.noise >> 16) % 0x1_0010
                case 2: access.offset = op.noise
                case 3: access.width = [0, 1, 2, 3, 4, 8, 16, -8][Int((op.noise >> 16) % 8)]
                default: break
                }
                // Values: deadlines close to the current time are interesting.
                let value = op.kind % 3 == 0 ? time &+ (op.value % 5) &- 2 : op.value

                let what: String
                switch op.kind {
                case 0..<45:
                    what = "read \(access)"
                    let got = clint.read(offset: access.offset, width: access.width, time: time)
                    let want = reference.read(offset: access.offset, width: access.width, time: time)
                    #expect(got == want, "step \(step): \(what)")
                case 45..<95:
                    what = "write \(access) \(value)"
                    let got = clint.write(offset: access.offset, width: access.width, value: value)
                    let want = reference.write(offset: access.offset, width: access.width, value: value)
                    #expect(got == want, "step \(step): \(what)")
                default:
                    let hart = op.index % 10 - 1
                    let pending = op.value % 2 == 0
                    what = "setMSIP(hart: \(hart), \(pending))"
                    clint.setMSIP(hart: hart, pending)
                    if hart >= 0 && hart < harts { reference.msip[hart] = pending }
                }

                var agree = true
                for hart in 0..<harts {
                    agree = agree && clint.msip(hart: hart) == reference.msip[hart]
                        && clint.mtimecmp(hart: hart) == reference.mtimecmp[hart]
                        && clint.mtip(hart: hart, time: time) == reference.mtip(hart: hart, time: time)
                }
                agree = agree && !clint.msip(hart: harts) && !clint.mtip(hart: harts, time: time)
                #expect(agree, "state differs after step \(step): \(what)")
                if !agree { return }
            }
        }
    }
}
