import PropertyBased
import Testing
import VirtCore

/// A CLINT written straight from the ACLINT specification's register maps:
/// a table of every register's (offset, width) pairs, and plain arrays of
/// state. Independent of `VirtualCLINT`'s arithmetic decoding.
///
/// Which single accesses exist is QEMU 7.2's (`riscv_aclint`): the MSWI
/// (0x0000…0x3FFF) takes aligned 32-bit accesses, the MTIMER
/// (0x4000…0xBFFF) aligned 32- or 64-bit ones, nothing else is mapped; an
/// access that exists but names no register reads 0 and ignores writes.
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

    static func exists(offset: UInt64, width: Int) -> Bool {
        let mswi: ClosedRange<UInt64> = 0x0000...0x3FFF, mtimer: ClosedRange<UInt64> = 0x4000...0xBFFF
        switch width {
        case 4: return offset % 4 == 0 && (mswi.contains(offset) || mtimer.contains(offset))
        case 8: return offset % 8 == 0 && mtimer.contains(offset)
        default: return false
        }
    }

    func read(offset: UInt64, width: Int, time: UInt64) -> UInt64? {
        guard Self.exists(offset: offset, width: width) else { return nil }
        switch map[Access(offset: offset, width: width)] {
        case nil: return 0
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
        guard Self.exists(offset: offset, width: width) else { return nil }
        switch map[Access(offset: offset, width: width)] {
        case nil: return .unchanged
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

/// A guest instruction performed natively on `ReferenceCLINT`, written from
/// QEMU 7.2's behaviour (the same rules as `NativeHost` in the PLIC tests):
/// single accesses that do not exist fault; a misaligned load is two aligned
/// loads of its own width, combined little-endian; a misaligned store is
/// byte stores, which the CLINT refuses at once; AMOs and LR/SC need natural
/// alignment, an AMO is a load then a store, `sc` compares addresses first.
private enum NativeCLINTHost {
    struct Outcome: Equatable {
        var exception: UInt64?
        var rd: UInt64
    }

    static func extend(_ raw: UInt64, width: Int, signed: Bool) -> UInt64 {
        switch (width, signed) {
        case (1, true): return UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: raw)))
        case (2, true): return UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: raw)))
        case (4, true): return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: raw)))
        case (8, _): return raw
        default: return raw & ((1 << UInt64(8 * width)) - 1)
        }
    }

    static func perform(_ operation: DeviceOperation, offset: UInt64, value: UInt64, time: UInt64,
                        reservation: inout (offset: UInt64, value: UInt64)?, on clint: inout ReferenceCLINT) -> Outcome {
        func exists(_ o: UInt64, _ w: Int) -> Bool { ReferenceCLINT.exists(offset: o, width: w) }
        switch operation {
        case .load(let width, let signed):
            let first = offset - offset % UInt64(width)
            guard exists(first, width) else { return Outcome(exception: 5, rd: 0) }
            if first == offset {
                return Outcome(exception: nil, rd: extend(clint.read(offset: offset, width: width, time: time)!,
                                                          width: width, signed: signed))
            }
            guard exists(first + UInt64(width), width) else { return Outcome(exception: 5, rd: 0) }
            let low = UInt128(clint.read(offset: first, width: width, time: time)!)
            let high = UInt128(clint.read(offset: first + UInt64(width), width: width, time: time)!)
            let combined = (low | high << (8 * width)) >> (8 * (offset - first))
            return Outcome(exception: nil, rd: extend(UInt64(truncatingIfNeeded: combined), width: width, signed: signed))
        case .store(let width):
            let at = offset % UInt64(width) == 0 ? (offset, width) : (offset, 1)
            guard exists(at.0, at.1) else { return Outcome(exception: 7, rd: 0) }
            _ = clint.write(offset: offset, width: width, value: value)
            return Outcome(exception: nil, rd: 0)
        case .atomic(.loadReserved, let width):
            guard offset % UInt64(width) == 0 else { return Outcome(exception: 4, rd: 0) }
            guard exists(offset, width) else { return Outcome(exception: 5, rd: 0) }
            // QEMU keeps the loaded register value (sign-extended) as `load_val`.
            let loaded = extend(clint.read(offset: offset, width: width, time: time)!, width: width, signed: true)
            reservation = (offset, loaded)
            return Outcome(exception: nil, rd: loaded)
        case .atomic(.storeConditional, let width):
            let held = reservation
            reservation = nil
            guard let held, held.offset == offset else { return Outcome(exception: nil, rd: 1) }
            // A compare-and-swap of `width` bytes against `load_val`; rd is 0
            // when the (sign-extended) old value equals `load_val`.
            let expected = extend(held.value, width: width, signed: false)
            let now = clint.read(offset: offset, width: width, time: time)!
            _ = clint.write(offset: offset, width: width, value: now == expected ? value : now)
            return Outcome(exception: nil, rd: extend(now, width: width, signed: true) == held.value ? 0 : 1)
        case .atomic(let op, let width):
            guard offset % UInt64(width) == 0 else { return Outcome(exception: 6, rd: 0) }
            guard exists(offset, width) else { return Outcome(exception: 5, rd: 0) }
            let old = clint.read(offset: offset, width: width, time: time)!
            _ = clint.write(offset: offset, width: width,
                            value: HostDeviceAccessTests.referenceCombine(op, old, value, width: width))
            return Outcome(exception: nil, rd: extend(old, width: width, signed: true))
        }
    }
}

@Suite struct CLINTHostAccessPropertyTests {
    /// Random guest instructions of every width and alignment, AMOs and
    /// LR/SC (no misaligned `sc`, see `HostDeviceAccessTests`) from random
    /// harts, through `InterruptFabric.clintAccess`, against the same
    /// instructions performed natively on `ReferenceCLINT`: same outcome,
    /// same `msip` and `mtimecmp` of every hart after every step.
    @Test func clintAccessAgreesWithTheHost() async {
        let operations: [AtomicOperation] = [.swap, .add, .xor, .and, .or, .min, .max, .minu, .maxu]
        await propertyCheck(
            count: 150, input: Gen.int(in: 1...8), operation.array(of: 60...120)
        ) { harts, steps in
            var fabric = InterruptFabric(harts: harts, plicSources: 95)
            var reference = ReferenceCLINT(harts: harts)
            let legal = reference.map.keys.map(\.offset).sorted()
            var reservation = DeviceReservation()
            var nativeReservation: (offset: UInt64, value: UInt64)? = nil
            var reservedWidth = 4
            var time: UInt64 = 1000
            for (n, op) in steps.enumerated() {
                time &+= op.noise >> 50
                var offset = legal[op.index % legal.count]
                switch (op.noise >> 8) % 6 {
                case 0: offset &+= (op.noise >> 16) % 8
                case 1: offset = (op.noise >> 16) % 0x1_0010
                default: break
                }
                let width = [1, 2, 4, 4, 8, 8][Int((op.noise >> 24) % 6)]
                let operation: DeviceOperation
                switch op.kind {
                case 0..<35: operation = .load(width: width, signExtends: op.noise & 1 == 0)
                case 35..<70: operation = .store(width: width)
                case 70..<88: operation = .atomic(operations[op.index % 9], width: width == 8 ? 8 : 4)
                case 88..<94:
                    operation = .atomic(.loadReserved, width: width == 8 ? 8 : 4)
                default:
                    // sc of the width of the lr (mixed widths and misaligned sc: see HostDeviceAccessTests).
                    var w = width == 8 ? 8 : 4
                    if let held = reservation.offset, op.noise & 2 == 0 {
                        offset = held
                        w = reservedWidth
                    }
                    offset &= ~UInt64(w - 1)
                    if offset == reservation.offset { w = reservedWidth }
                    operation = .atomic(.storeConditional, width: w)
                }
                let hart = op.index % harts
                let value = op.kind % 3 == 0 ? time &+ op.value % 7 : op.value
                var actions = PhysicalActions()
                let outcome = fabric.clintAccess(hart: hart, operation: operation, offset: offset, value: value,
                                                 time: time, reservation: &reservation, actions: &actions)
                let want = NativeCLINTHost.perform(operation, offset: offset, value: value, time: time,
                                                   reservation: &nativeReservation, on: &reference)
                if case .atomic(.loadReserved, let w) = operation, case .completed = outcome { reservedWidth = w }
                let got: NativeCLINTHost.Outcome
                switch outcome {
                case .completed(let v): got = .init(exception: nil, rd: v)
                case .exception(let e): got = .init(exception: e.rawValue, rd: 0)
                }
                let what = "step \(n): hart \(hart) \(operation) at 0x\(String(offset, radix: 16)) value 0x\(String(value, radix: 16))"
                #expect(got == want, "\(what)")
                let agree = (0..<harts).allSatisfy {
                    fabric.clint.msip(hart: $0) == reference.msip[$0] && fabric.clint.mtimecmp(hart: $0) == reference.mtimecmp[$0]
                }
                #expect(agree, "state differs after \(what)")
                if got != want || !agree { return }
            }
        }
    }
}
