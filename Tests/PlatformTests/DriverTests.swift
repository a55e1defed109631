import Platform
import PropertyBased
import Testing

/// An `MMIOBus` that logs every access and serves scripted reads.
struct RecordingBus: MMIOBus {
    enum Kind: Equatable { case load, store }

    struct Access: Equatable, CustomStringConvertible {
        var kind: Kind
        var width: Int
        var address: UInt64
        var value: UInt64

        static func load(_ width: Int, _ address: UInt64, _ value: UInt64) -> Access {
            Access(kind: .load, width: width, address: address, value: value)
        }
        static func store(_ width: Int, _ address: UInt64, _ value: UInt64) -> Access {
            Access(kind: .store, width: width, address: address, value: value)
        }
        var description: String {
            "\(kind == .load ? "ld" : "st")\(width * 8) 0x\(String(address, radix: 16)) = 0x\(String(value, radix: 16))"
        }
    }

    var log: [Access] = []
    /// Values for the next loads, in order; when empty, `defaultRead` answers.
    var script: [UInt64] = []
    var defaultRead: (UInt64) -> UInt64 = { _ in 0 }
    /// Loads counted but not logged once the log holds this many entries.
    var logLimit = Int.max
    var loads = 0

    private mutating func load(_ width: Int, _ address: UInt64) -> UInt64 {
        let value = script.isEmpty ? defaultRead(address) : script.removeFirst()
        let mask: UInt64 = width == 8 ? ~0 : (1 << UInt64(8 * width)) - 1
        loads += 1
        if log.count < logLimit { log.append(.load(width, address, value & mask)) }
        return value & mask
    }

    private mutating func store(_ width: Int, _ address: UInt64, _ value: UInt64) {
        log.append(.store(width, address, value))
    }

    mutating func load32(_ a: UInt64) -> UInt32 { UInt32(load(4, a)) }
    mutating func store32(_ a: UInt64, _ v: UInt32) { store(4, a, UInt64(v)) }
    mutating func load64(_ a: UInt64) -> UInt64 { load(8, a) }
    mutating func store64(_ a: UInt64, _ v: UInt64) { store(8, a, v) }
    mutating func load8(_ a: UInt64) -> UInt8 { UInt8(load(1, a)) }
    mutating func store8(_ a: UInt64, _ v: UInt8) { store(1, a, UInt64(v)) }
    mutating func load16(_ a: UInt64) -> UInt16 { UInt16(load(2, a)) }
    mutating func store16(_ a: UInt64, _ v: UInt16) { store(2, a, UInt64(v)) }
}

/// A console that keeps what it is given.
struct TextSink: ByteSink {
    var bytes: [UInt8] = []
    mutating func put(_ byte: UInt8) { bytes.append(byte) }
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// The drivers' register accesses on QEMU `virt` (addresses written out from
/// the ACLINT and PLIC memory maps, not computed the drivers' way).
@Suite("CLINT, PLIC and UART drivers")
struct DriverTests {
    typealias A = RecordingBus.Access

    // MARK: CLINT: msip[h] at +4h, mtimecmp[h] at +0x4000 + 8h, mtime at +0xBFF8

    @Test func clintMSIPIsOneWordPerHart() {
        var clint = Clint(bus: RecordingBus(), base: 0x0200_0000)
        clint.setMSIP(hart: 0, true)
        clint.setMSIP(hart: 3, true)
        clint.setMSIP(hart: 3, false)
        clint.setMSIP(hart: 7, true)
        #expect(clint.bus.log == [A.store(4, 0x0200_0000, 1), A.store(4, 0x0200_000C, 1),
                                  A.store(4, 0x0200_000C, 0), A.store(4, 0x0200_001C, 1)])
    }

    @Test func clintMSIPReadsBitZero() {
        var clint = Clint(bus: RecordingBus(script: [0xFFFF_FFFE, 1]), base: 0x0200_0000)
        let two = clint.msip(hart: 2), five = clint.msip(hart: 5)
        #expect(!two && five)
        #expect(clint.bus.log.map(\.address) == [0x0200_0008, 0x0200_0014])
        #expect(clint.bus.log.allSatisfy { $0.kind == .load && $0.width == 4 })
    }

    @Test func clintTimerRegistersAreSixtyFourBitAccesses() {
        var clint = Clint(bus: RecordingBus(script: [0x1234_5678_9ABC_DEF0, 42]), base: 0x0200_0000)
        clint.setMTimeCmp(hart: 0, 0xFFFF_FFFF_FFFF_FFFF)
        clint.setMTimeCmp(hart: 3, 0x1_0000_0000)
        let time = clint.mtime(), deadline = clint.mtimecmp(hart: 1)
        #expect(time == 0x1234_5678_9ABC_DEF0 && deadline == 42)
        #expect(clint.bus.log == [
            A.store(8, 0x0200_4000, 0xFFFF_FFFF_FFFF_FFFF),
            A.store(8, 0x0200_4018, 0x1_0000_0000),
            A.load(8, 0x0200_BFF8, 0x1234_5678_9ABC_DEF0),
            A.load(8, 0x0200_4008, 42),
        ])
    }

    // MARK: PLIC: priority at +4n, enables at +0x2000 + 0x80c, threshold at +0x20_0000 + 0x1000c, claim at +4

    @Test func plicRegistersAreThirtyTwoBitAccessesAtTheSpecOffsets() {
        var plic = Plic(bus: RecordingBus(script: [10]), base: 0x0C00_0000)
        plic.setPriority(source: 10, 7)
        plic.setPriority(source: 95, 1)
        plic.setEnableWord(context: 0, word: 0, 1 << 10)
        plic.setEnableWord(context: 3, word: 2, 0x8000_0000)
        plic.setThreshold(context: 0, 0)
        plic.setThreshold(context: 7, 7)
        let claimed = plic.claim(context: 2)
        plic.complete(context: 2, source: claimed)
        #expect(claimed == 10)
        #expect(plic.bus.log == [
            A.store(4, 0x0C00_0028, 7),
            A.store(4, 0x0C00_017C, 1),
            A.store(4, 0x0C00_2000, 1 << 10),
            A.store(4, 0x0C00_2188, 0x8000_0000),
            A.store(4, 0x0C20_0000, 0),
            A.store(4, 0x0C20_7000, 7),
            A.load(4, 0x0C20_2004, 10),
            A.store(4, 0x0C20_2004, 10),
        ])
    }

    @Test func plicRegisterAtAnOffsetIsOneThirtyTwoBitAccess() {
        var plic = Plic(bus: RecordingBus(script: [0x0400]), base: 0x0C00_0000)
        let enables = plic.load(offset: 0x2080)
        plic.store(offset: 0x2080, 0x8000_0400)
        plic.store(offset: 0, 0)
        #expect(enables == 0x0400)
        #expect(plic.bus.log == [A.load(4, 0x0C00_2080, 0x0400), A.store(4, 0x0C00_2080, 0x8000_0400),
                                 A.store(4, 0x0C00_0000, 0)])
    }

    @Test func plicContextsOfAHart() {
        #expect(Plic<RecordingBus>.machineContext(hart: 0) == 0)
        #expect(Plic<RecordingBus>.machineContext(hart: 3) == 6)
    }

    // MARK: 16550 UART: LSR at +5 (bit 5: THR empty), THR at +0

    @Test func uartWritesAtOnceWhenTheTransmitterIsEmpty() {
        var uart = Uart16550(bus: RecordingBus(script: [0x60]), base: 0x1000_0000)
        uart.put(UInt8(ascii: "A"))
        #expect(uart.bus.log == [A.load(1, 0x1000_0005, 0x60), A.store(1, 0x1000_0000, 0x41)])
    }

    @Test func uartPollsUntilTheTransmitterEmpties() {
        var uart = Uart16550(bus: RecordingBus(script: [0x00, 0xDF, 0x01, 0x20]), base: 0x1000_0000)
        uart.put(0x0A)
        #expect(uart.bus.log == [
            A.load(1, 0x1000_0005, 0x00), A.load(1, 0x1000_0005, 0xDF), A.load(1, 0x1000_0005, 0x01),
            A.load(1, 0x1000_0005, 0x20), A.store(1, 0x1000_0000, 0x0A),
        ])
    }

    /// A UART whose transmitter never empties (absent, or stuck) costs a
    /// bounded wait per byte, and the byte is still written.
    @Test func uartGivesUpPollingAfterItsBound() {
        var bus = RecordingBus()
        bus.defaultRead = { _ in 0xDF }
        bus.logLimit = 10
        var uart = Uart16550(bus: bus, base: 0x1000_0000)
        uart.put(0x21)
        let log = uart.bus.log
        #expect(uart.bus.loads > 1000, "it does wait")
        #expect(uart.bus.loads <= 10_000_001)
        #expect(log.last == A.store(1, 0x1000_0000, 0x21))
        #expect(log.dropLast().allSatisfy { $0 == A.load(1, 0x1000_0005, 0xDF) })
    }

    @Test func uartIsAConsole() {
        var uart = Uart16550(bus: RecordingBus(defaultRead: { _ in 0x20 }), base: 0x1000_0000)
        uart.write("ok\n")
        #expect(uart.bus.log.filter { $0.kind == .store } == [
            A.store(1, 0x1000_0000, 0x6F), A.store(1, 0x1000_0000, 0x6B), A.store(1, 0x1000_0000, 0x0A),
        ])
        #expect(uart.bus.log.count == 6)
    }

    // MARK: Console formatting

    @Test(arguments: [
        (UInt64(0), "0", "0x0000000000000000"),
        (1, "1", "0x0000000000000001"),
        (10, "10", "0x000000000000000a"),
        (0x8000_0000, "2147483648", "0x0000000080000000"),
        (UInt64.max, "18446744073709551615", "0xffffffffffffffff"),
    ])
    func consoleFormatsNumbers(value: UInt64, decimal: String, hex: String) {
        var sink = TextSink()
        sink.write(decimal: value)
        #expect(sink.text == decimal)
        sink = TextSink()
        sink.write(hex: value)
        #expect(sink.text == hex)
    }

    @Test func consoleFormatsAnyNumberLikeTheStandardLibrary() async {
        let value = Gen.int(in: 0...63).map { bits in bits }
        await propertyCheck(count: 500, input: Gen.uint64(), value) { raw, bits in
            let n = raw >> UInt64(bits)  // every magnitude
            var sink = TextSink()
            sink.write(decimal: n)
            sink.write(" ")
            sink.write(hex: n)
            let hex = String(n, radix: 16)
            #expect(sink.text == "\(n) 0x" + String(repeating: "0", count: 16 - hex.count) + hex)
        }
    }
}
