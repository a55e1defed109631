import PropertyBased
import Testing
import VirtCore

/// A little-endian register file of `size` bytes that accepts naturally
/// aligned accesses of the widths in `widths` only, and logs every access
/// the host makes.
struct RecordingDevice: DeviceRegisters {
    enum Access: Equatable, CustomStringConvertible {
        case load(offset: UInt64, width: Int, value: UInt64)
        case store(offset: UInt64, width: Int, value: UInt64)

        var description: String {
            switch self {
            case .load(let o, let w, let v): return "ld\(w * 8) 0x\(String(o, radix: 16)) -> 0x\(String(v, radix: 16))"
            case .store(let o, let w, let v): return "st\(w * 8) 0x\(String(o, radix: 16)) <- 0x\(String(v, radix: 16))"
            }
        }
    }

    var bytes: [UInt8]
    let widths: Set<Int>
    var log: [Access] = []

    init(size: Int = 64, widths: Set<Int>, fill: (Int) -> UInt8 = { UInt8(truncatingIfNeeded: 0x10 + $0) }) {
        bytes = (0..<size).map(fill)
        self.widths = widths
    }

    func accepts(offset: UInt64, width: Int) -> Bool {
        widths.contains(width) && offset % UInt64(width) == 0 && offset + UInt64(width) <= UInt64(bytes.count)
    }

    /// The little-endian value of `width` bytes at `offset`, without logging.
    func peek(_ offset: UInt64, _ width: Int) -> UInt64 {
        (0..<width).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[Int(offset) + $1]) }
    }

    mutating func poke(_ offset: UInt64, _ width: Int, _ value: UInt64) {
        for i in 0..<width { bytes[Int(offset) + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }

    mutating func load(offset: UInt64, width: Int) -> UInt64 {
        #expect(accepts(offset: offset, width: width), "the host only performs accepted accesses")
        let value = peek(offset, width)
        log.append(.load(offset: offset, width: width, value: value))
        return value
    }

    mutating func store(offset: UInt64, width: Int, value: UInt64) {
        #expect(accepts(offset: offset, width: width), "the host only performs accepted accesses")
        let low = width == 8 ? value : value & ((1 << UInt64(8 * width)) - 1)
        log.append(.store(offset: offset, width: width, value: low))
        poke(offset, width, low)
    }
}

/// How the host (QEMU 7.2) performs loads, stores, AMOs and LR/SC on a
/// device: `HostDeviceAccess`, access by access.
@Suite("Host device access")
struct HostDeviceAccessTests {
    typealias Access = RecordingDevice.Access

    static func run(_ operation: DeviceOperation, _ offset: UInt64, _ value: UInt64 = 0,
                    on device: inout RecordingDevice,
                    reservation: inout DeviceReservation) -> DeviceAccessOutcome {
        HostDeviceAccess.perform(operation, offset: offset, value: value, reservation: &reservation, on: &device)
    }

    static func run(_ operation: DeviceOperation, _ offset: UInt64, _ value: UInt64 = 0,
                    on device: inout RecordingDevice) -> DeviceAccessOutcome {
        var reservation = DeviceReservation()
        return run(operation, offset, value, on: &device, reservation: &reservation)
    }

    static func amo(_ op: AtomicOperation, _ width: Int) -> DeviceOperation { .atomic(op, width: width) }

    // MARK: Aligned loads and stores

    @Test(arguments: [1, 2, 4, 8])
    func alignedLoadIsOneAccessZeroExtended(width: Int) {
        var device = RecordingDevice(widths: [1, 2, 4, 8], fill: { _ in 0xF0 })
        let offset = UInt64(2 * width)
        let raw = HostDeviceAccess.widthMask(width) & 0xF0F0_F0F0_F0F0_F0F0
        #expect(Self.run(.load(width: width, signExtends: false), offset, on: &device) == .completed(value: raw))
        #expect(device.log == [.load(offset: offset, width: width, value: raw)])
    }

    @Test func alignedSignedLoadsAreSignExtended() {
        var device = RecordingDevice(widths: [1, 2, 4, 8], fill: { _ in 0x80 })
        #expect(Self.run(.load(width: 1, signExtends: true), 0, on: &device) == .completed(value: 0xFFFF_FFFF_FFFF_FF80))
        #expect(Self.run(.load(width: 2, signExtends: true), 0, on: &device) == .completed(value: 0xFFFF_FFFF_FFFF_8080))
        #expect(Self.run(.load(width: 4, signExtends: true), 0, on: &device) == .completed(value: 0xFFFF_FFFF_8080_8080))
        #expect(Self.run(.load(width: 8, signExtends: true), 0, on: &device) == .completed(value: 0x8080_8080_8080_8080))
        #expect(Self.run(.load(width: 4, signExtends: false), 0, on: &device) == .completed(value: 0x8080_8080))
        var positive = RecordingDevice(widths: [4], fill: { _ in 0x7F })
        #expect(Self.run(.load(width: 4, signExtends: true), 4, on: &positive) == .completed(value: 0x7F7F_7F7F))
    }

    @Test(arguments: [1, 2, 4, 8])
    func alignedStoreIsOneAccessOfTheLowBytes(width: Int) {
        var device = RecordingDevice(widths: [1, 2, 4, 8])
        let value: UInt64 = 0x1122_3344_5566_7788
        #expect(Self.run(.store(width: width), 8, value, on: &device) == .completed(value: 0))
        #expect(device.log == [.store(offset: 8, width: width, value: value & HostDeviceAccess.widthMask(width))])
    }

    @Test func refusedWidthIsAnAccessFaultWithoutAnyAccess() {
        var device = RecordingDevice(widths: [4])
        for width in [1, 2, 8] {
            #expect(Self.run(.load(width: width, signExtends: false), 8, on: &device) == .exception(.loadAccessFault))
            #expect(Self.run(.load(width: width, signExtends: true), 8, on: &device) == .exception(.loadAccessFault))
            #expect(Self.run(.store(width: width), 8, 1, on: &device) == .exception(.storeAccessFault))
        }
        #expect(Self.run(.load(width: 4, signExtends: false), 64, on: &device) == .exception(.loadAccessFault),
                "past the device")
        #expect(Self.run(.store(width: 4), 64, on: &device) == .exception(.storeAccessFault))
        #expect(device.log.isEmpty)
    }

    // MARK: Misaligned loads: two aligned loads of the same width, combined little-endian

    @Test func misalignedWordLoadIsTwoAlignedWordLoads() {
        var device = RecordingDevice(widths: [4])  // byte i holds 0x10 + i
        #expect(Self.run(.load(width: 4, signExtends: false), 6, on: &device) == .completed(value: 0x1918_1716))
        #expect(device.log == [.load(offset: 4, width: 4, value: 0x1716_1514),
                               .load(offset: 8, width: 4, value: 0x1B1A_1918)])
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7])
    func misalignedDoubleLoadIsTwoAlignedDoubleLoads(misalignment: UInt64) {
        var device = RecordingDevice(widths: [8])
        let offset = 16 + misalignment
        let want = (0..<8).reversed().reduce(UInt64(0)) { $0 << 8 | (0x10 + offset + UInt64($1)) }
        #expect(Self.run(.load(width: 8, signExtends: false), offset, on: &device) == .completed(value: want))
        #expect(device.log == [.load(offset: 16, width: 8, value: device.peek(16, 8)),
                               .load(offset: 24, width: 8, value: device.peek(24, 8))])
    }

    @Test func misalignedHalfLoadIsSignExtendedAfterCombining() {
        var device = RecordingDevice(widths: [2], fill: { [0x00, 0x11, 0xFF, 0x00][$0 % 4] })
        // Bytes 1, 2: 0x11, 0xFF → 0xFF11.
        #expect(Self.run(.load(width: 2, signExtends: true), 1, on: &device) == .completed(value: 0xFFFF_FFFF_FFFF_FF11))
        #expect(Self.run(.load(width: 2, signExtends: false), 1, on: &device) == .completed(value: 0xFF11))
        #expect(device.log.count == 4)
        #expect(device.log.prefix(2) == [.load(offset: 0, width: 2, value: 0x1100),
                                         .load(offset: 2, width: 2, value: 0x00FF)])
    }

    @Test func misalignedSignedWordLoad() {
        var device = RecordingDevice(widths: [4], fill: { $0 == 8 ? 0x80 : 0 })
        // Bytes 5…8: 00 00 00 80.
        #expect(Self.run(.load(width: 4, signExtends: true), 5, on: &device) == .completed(value: 0xFFFF_FFFF_8000_0000))
    }

    @Test func misalignedLoadWhosePartIsRefusedFaults() {
        var device = RecordingDevice(size: 16, widths: [4])
        #expect(Self.run(.load(width: 4, signExtends: false), 14, on: &device) == .exception(.loadAccessFault),
                "the second word is past the device")
        #expect(Self.run(.load(width: 8, signExtends: false), 4, on: &device) == .exception(.loadAccessFault),
                "the device refuses 8-byte parts")
        #expect(device.log.isEmpty)
    }

    // MARK: Misaligned stores: byte stores in ascending order

    @Test func misalignedStoreIsByteStoresAscending() {
        var device = RecordingDevice(widths: [1, 4, 8])
        #expect(Self.run(.store(width: 4), 3, 0xAABB_CCDD, on: &device) == .completed(value: 0))
        #expect(device.log == [.store(offset: 3, width: 1, value: 0xDD), .store(offset: 4, width: 1, value: 0xCC),
                               .store(offset: 5, width: 1, value: 0xBB), .store(offset: 6, width: 1, value: 0xAA)])
    }

    @Test func misalignedDoubleStoreIsEightByteStores() {
        var device = RecordingDevice(widths: [1, 8])
        #expect(Self.run(.store(width: 8), 12, 0x0807_0605_0403_0201, on: &device) == .completed(value: 0))
        let want: [Access] = (0..<8).map { (i: UInt64) -> Access in .store(offset: 12 + i, width: 1, value: i + 1) }
        #expect(device.log == want)
        #expect(device.peek(12, 8) == 0x0807_0605_0403_0201)
    }

    @Test func misalignedStoreToADeviceWithoutByteAccessFaultsBeforeAnyAccess() {
        var device = RecordingDevice(widths: [4])
        #expect(Self.run(.store(width: 4), 2, 0xFFFF_FFFF, on: &device) == .exception(.storeAccessFault))
        #expect(device.log.isEmpty)
    }

    @Test func misalignedStoreKeepsTheBytesBeforeARefusedOne() {
        var device = RecordingDevice(size: 8, widths: [1, 4])
        #expect(Self.run(.store(width: 4), 6, 0x4433_2211, on: &device) == .exception(.storeAccessFault))
        #expect(device.log == [.store(offset: 6, width: 1, value: 0x11), .store(offset: 7, width: 1, value: 0x22)])
    }

    // MARK: AMOs: a load, then a store of the combined value; rd = the old value

    /// Old value, operand and the expected stored value of every AMO, for
    /// 32-bit operands where `old` is negative as a signed word.
    static let wordCases: [(AtomicOperation, UInt64)] = [
        (.swap, 0x0000_0001), (.add, 0x8000_0001), (.xor, 0x8000_0001), (.and, 0x0000_0000),
        (.or, 0x8000_0001), (.min, 0x8000_0000), (.max, 0x0000_0001), (.minu, 0x0000_0001),
        (.maxu, 0x8000_0000),
    ]

    @Test(arguments: wordCases)
    func wordAMOLoadsStoresAndReturnsTheSignExtendedOldValue(operation: AtomicOperation, stored: UInt64) {
        var device = RecordingDevice(widths: [4], fill: { _ in 0 })
        device.poke(8, 4, 0x8000_0000)
        // The operand's upper 32 bits are ignored.
        let outcome = Self.run(Self.amo(operation, 4), 8, 0xDEAD_BEEF_0000_0001, on: &device)
        #expect(outcome == .completed(value: 0xFFFF_FFFF_8000_0000))
        #expect(device.log == [.load(offset: 8, width: 4, value: 0x8000_0000),
                               .store(offset: 8, width: 4, value: stored)])
    }

    static let doubleCases: [(AtomicOperation, UInt64)] = [
        (.swap, 0x0000_0000_0000_0001), (.add, 0x8000_0000_0000_0001), (.xor, 0x8000_0000_0000_0001),
        (.and, 0x0000_0000_0000_0000), (.or, 0x8000_0000_0000_0001), (.min, 0x8000_0000_0000_0000),
        (.max, 0x0000_0000_0000_0001), (.minu, 0x0000_0000_0000_0001), (.maxu, 0x8000_0000_0000_0000),
    ]

    /// Old value `0x8000…0000` (the smallest signed double), operand 1.
    @Test(arguments: doubleCases)
    func doubleAMOLoadsStoresAndReturnsTheOldValue(operation: AtomicOperation, stored: UInt64) {
        var device = RecordingDevice(widths: [4, 8], fill: { _ in 0 })
        device.poke(16, 8, 0x8000_0000_0000_0000)
        let outcome = Self.run(Self.amo(operation, 8), 16, 1, on: &device)
        #expect(outcome == .completed(value: 0x8000_0000_0000_0000))
        #expect(device.log == [.load(offset: 16, width: 8, value: 0x8000_0000_0000_0000),
                               .store(offset: 16, width: 8, value: stored)])
    }

    @Test func doubleAddWraps() {
        var device = RecordingDevice(widths: [8], fill: { _ in 0 })
        device.poke(0, 8, 0x7FFF_FFFF_FFFF_FFFF)
        #expect(Self.run(Self.amo(.add, 8), 0, 2, on: &device) == .completed(value: 0x7FFF_FFFF_FFFF_FFFF))
        #expect(device.peek(0, 8) == 0x8000_0000_0000_0001)
    }

    @Test func signedMinAndMaxCompareAsSignedDoubles() {
        var device = RecordingDevice(widths: [8], fill: { _ in 0 })
        device.poke(0, 8, 0xFFFF_FFFF_FFFF_FFFF)  // -1
        _ = Self.run(Self.amo(.min, 8), 0, 5, on: &device)
        #expect(device.peek(0, 8) == UInt64.max, "min(-1, 5) = -1")
        _ = Self.run(Self.amo(.max, 8), 0, 5, on: &device)
        #expect(device.peek(0, 8) == 5, "max(-1, 5) = 5")
        _ = Self.run(Self.amo(.maxu, 8), 0, UInt64.max, on: &device)
        #expect(device.peek(0, 8) == UInt64.max)
        _ = Self.run(Self.amo(.minu, 8), 0, 5, on: &device)
        #expect(device.peek(0, 8) == 5)
    }

    @Test func wordAMOReturnsAPositiveOldValueZeroExtended() {
        var device = RecordingDevice(widths: [4], fill: { _ in 0 })
        device.poke(4, 4, 0x7FFF_FFFF)
        #expect(Self.run(Self.amo(.add, 4), 4, 1, on: &device) == .completed(value: 0x7FFF_FFFF))
        #expect(device.peek(4, 4) == 0x8000_0000)
        #expect(Self.run(Self.amo(.add, 4), 4, 0, on: &device) == .completed(value: 0xFFFF_FFFF_8000_0000))
    }

    @Test(arguments: [(4, UInt64(2)), (4, 6), (8, 4), (8, 1), (8, 12)])
    func misalignedAMOIsAStoreAddressMisalignedWithoutAccess(width: Int, offset: UInt64) {
        var device = RecordingDevice(widths: [1, 2, 4, 8])
        for operation: AtomicOperation in [.swap, .add, .xor, .and, .or, .min, .max, .minu, .maxu] {
            #expect(Self.run(Self.amo(operation, width), offset, 1, on: &device) == .exception(.storeAddressMisaligned))
        }
        #expect(device.log.isEmpty)
    }

    /// QEMU 7.2 performs an AMO on I/O memory as a plain load followed by a
    /// store: a device that refuses the width fails the load first.
    @Test func amoOfARefusedWidthFaultsWithoutAccess() {
        var device = RecordingDevice(widths: [4])
        #expect(Self.run(Self.amo(.swap, 8), 8, 1, on: &device) == .exception(.loadAccessFault))
        #expect(Self.run(Self.amo(.add, 4), 64, 1, on: &device) == .exception(.loadAccessFault))
        #expect(device.log.isEmpty)
    }

    // MARK: LR/SC

    @Test func lrLoadsSignExtendedAndRecordsTheReservation() {
        var device = RecordingDevice(widths: [4, 8], fill: { _ in 0 })
        device.poke(8, 4, 0x8000_0001)
        var reservation = DeviceReservation()
        let outcome = Self.run(Self.amo(.loadReserved, 4), 8, on: &device, reservation: &reservation)
        #expect(outcome == .completed(value: 0xFFFF_FFFF_8000_0001))
        // The reservation keeps what rd received, as QEMU's load_val.
        #expect(reservation == DeviceReservation(offset: 8, value: 0xFFFF_FFFF_8000_0001))
        #expect(device.log == [.load(offset: 8, width: 4, value: 0x8000_0001)])
    }

    @Test(arguments: [(4, UInt64(2)), (8, 4), (8, 3)])
    func misalignedLRIsALoadAddressMisalignedWithoutAccess(width: Int, offset: UInt64) {
        var device = RecordingDevice(widths: [1, 2, 4, 8])
        var reservation = DeviceReservation(offset: 16, value: 7)
        #expect(Self.run(Self.amo(.loadReserved, width), offset, on: &device, reservation: &reservation)
                == .exception(.loadAddressMisaligned))
        #expect(device.log.isEmpty)
    }

    @Test func lrOfARefusedWidthIsALoadAccessFault() {
        var device = RecordingDevice(widths: [4])
        var reservation = DeviceReservation()
        #expect(Self.run(Self.amo(.loadReserved, 8), 8, on: &device, reservation: &reservation)
                == .exception(.loadAccessFault))
        #expect(device.log.isEmpty)
    }

    @Test func scWithoutAReservationFailsWithoutAccess() {
        var device = RecordingDevice(widths: [4, 8])
        var reservation = DeviceReservation()
        #expect(Self.run(Self.amo(.storeConditional, 4), 8, 5, on: &device, reservation: &reservation)
                == .completed(value: 1))
        #expect(device.log.isEmpty)
        #expect(reservation.offset == nil)
    }

    @Test func scToAnotherOffsetFailsWithoutAccessAndClearsTheReservation() {
        var device = RecordingDevice(widths: [4, 8])
        var reservation = DeviceReservation(offset: 8, value: device.peek(8, 4))
        #expect(Self.run(Self.amo(.storeConditional, 4), 12, 5, on: &device, reservation: &reservation)
                == .completed(value: 1))
        #expect(device.log.isEmpty)
        #expect(reservation.offset == nil)
        // The reservation is gone: an sc to the reserved offset fails too.
        #expect(Self.run(Self.amo(.storeConditional, 4), 8, 5, on: &device, reservation: &reservation)
                == .completed(value: 1))
        #expect(device.log.isEmpty)
    }

    @Test(arguments: [4, 8])
    func lrThenScSucceeds(width: Int) {
        var device = RecordingDevice(widths: [4, 8])
        var reservation = DeviceReservation()
        let old = device.peek(16, width)
        #expect(Self.run(Self.amo(.loadReserved, width), 16, on: &device, reservation: &reservation)
                == .completed(value: HostDeviceAccess.extend(old, width: width, signExtends: true)))
        #expect(Self.run(Self.amo(.storeConditional, width), 16, 0xAAAA_AAAA_5555_5555, on: &device,
                         reservation: &reservation) == .completed(value: 0))
        let new = 0xAAAA_AAAA_5555_5555 & HostDeviceAccess.widthMask(width)
        #expect(device.log == [.load(offset: 16, width: width, value: old),
                               .load(offset: 16, width: width, value: old),
                               .store(offset: 16, width: width, value: new)])
        #expect(reservation.offset == nil)
    }

    /// The register changed between `lr` and `sc`: QEMU's compare-and-swap
    /// on I/O memory loads, finds a different value, stores back what it
    /// loaded and fails.
    @Test func scAfterTheValueChangedStoresTheOldValueAndFails() {
        var device = RecordingDevice(widths: [4], fill: { _ in 0 })
        var reservation = DeviceReservation()
        device.poke(8, 4, 3)
        _ = Self.run(Self.amo(.loadReserved, 4), 8, on: &device, reservation: &reservation)
        device.poke(8, 4, 4)  // the device changed on its own
        #expect(Self.run(Self.amo(.storeConditional, 4), 8, 99, on: &device, reservation: &reservation)
                == .completed(value: 1))
        #expect(device.log == [.load(offset: 8, width: 4, value: 3), .load(offset: 8, width: 4, value: 4),
                               .store(offset: 8, width: 4, value: 4)])
        #expect(device.peek(8, 4) == 4)
        #expect(reservation.offset == nil)
    }

    @Test func scWordComparesTheWordLRLoadedWhateverItsSign() {
        var device = RecordingDevice(widths: [4], fill: { _ in 0 })
        device.poke(0, 4, 0xFFFF_FFF0)
        var reservation = DeviceReservation()
        #expect(Self.run(Self.amo(.loadReserved, 4), 0, on: &device, reservation: &reservation)
                == .completed(value: 0xFFFF_FFFF_FFFF_FFF0))
        #expect(Self.run(Self.amo(.storeConditional, 4), 0, 1, on: &device, reservation: &reservation)
                == .completed(value: 0))
        #expect(device.peek(0, 4) == 1)
    }

    /// QEMU 7.2 (`gen_sc`) compares the address with the reservation before
    /// any memory access: a misaligned `sc` never matches the (aligned)
    /// reservation of an `lr`, so it fails with rd = 1 and no exception, and
    /// the reservation is cleared. (The specification allows an
    /// address-misaligned exception instead; the host does not raise one.)
    @Test func misalignedSCFailsLikeTheHostWithoutAnException() {
        var device = RecordingDevice(widths: [4, 8])
        var reservation = DeviceReservation(offset: 8, value: device.peek(8, 4))
        #expect(Self.run(Self.amo(.storeConditional, 4), 10, 5, on: &device, reservation: &reservation)
                == .completed(value: 1))
        #expect(device.log.isEmpty)
        #expect(reservation.offset == nil)
    }

    /// QEMU 7.2 keeps what `lr` wrote to rd (sign-extended) as `load_val`;
    /// `sc` is a compare-and-swap of its own width against `load_val`
    /// truncated to that width, and rd = 0 iff the sign-extended old value
    /// equals `load_val`. With an `lr` and an `sc` of different widths at the
    /// same address (the MTIMER accepts both) this differs from comparing the
    /// raw value `lr` loaded.
    @Test func scOfAnotherWidthThanTheLRComparesLikeTheHost() {
        do {
            // lr.w then sc.d over 0xFFFF_FFFF_8000_0000: load_val is all of it, so the host succeeds.
            var device = RecordingDevice(widths: [4, 8], fill: { _ in 0 })
            device.poke(8, 8, 0xFFFF_FFFF_8000_0000)
            var reservation = DeviceReservation()
            _ = Self.run(Self.amo(.loadReserved, 4), 8, on: &device, reservation: &reservation)
            #expect(Self.run(Self.amo(.storeConditional, 8), 8, 7, on: &device, reservation: &reservation)
                    == .completed(value: 0))
            #expect(device.peek(8, 8) == 7)
            // lr.d then sc.w over 0x0000_0001_0000_0005: the low words match and the
            // store happens, but 5 != 0x1_0000_0005 so the host reports failure.
            device.poke(16, 8, 0x0000_0001_0000_0005)
            _ = Self.run(Self.amo(.loadReserved, 8), 16, on: &device, reservation: &reservation)
            #expect(Self.run(Self.amo(.storeConditional, 4), 16, 9, on: &device, reservation: &reservation)
                    == .completed(value: 1))
            #expect(device.peek(16, 8) == 0x0000_0001_0000_0009)
        }
    }

    // MARK: AtomicOperation.combine

    @Test func combineOfLRAndSCKeepsTheOldValue() {
        #expect(AtomicOperation.loadReserved.combine(0x1234, 0x5678, width: 8) == 0x1234)
        #expect(AtomicOperation.storeConditional.combine(0xFFFF_FFFF_1234, 0x5678, width: 4) == 0xFFFF_1234)
    }

    /// AMO semantics from the unprivileged specification ("Atomic Memory
    /// Operations"): the operation on `width`-byte operands, using Swift's
    /// fixed-width types for the signed and unsigned views.
    static func referenceCombine(_ op: AtomicOperation, _ old: UInt64, _ operand: UInt64, width: Int) -> UInt64 {
        if width == 4 {
            let a = UInt32(truncatingIfNeeded: old), b = UInt32(truncatingIfNeeded: operand)
            let sa = Int32(bitPattern: a), sb = Int32(bitPattern: b)
            let r: UInt32
            switch op {
            case .swap: r = b
            case .add: r = a &+ b
            case .xor: r = a ^ b
            case .and: r = a & b
            case .or: r = a | b
            case .min: r = UInt32(bitPattern: Swift.min(sa, sb))
            case .max: r = UInt32(bitPattern: Swift.max(sa, sb))
            case .minu: r = Swift.min(a, b)
            case .maxu: r = Swift.max(a, b)
            case .loadReserved, .storeConditional: r = a
            }
            return UInt64(r)
        }
        let sa = Int64(bitPattern: old), sb = Int64(bitPattern: operand)
        switch op {
        case .swap: return operand
        case .add: return old &+ operand
        case .xor: return old ^ operand
        case .and: return old & operand
        case .or: return old | operand
        case .min: return UInt64(bitPattern: Swift.min(sa, sb))
        case .max: return UInt64(bitPattern: Swift.max(sa, sb))
        case .minu: return Swift.min(old, operand)
        case .maxu: return Swift.max(old, operand)
        case .loadReserved, .storeConditional: return old
        }
    }

    static let amoOperations: [AtomicOperation] = [.swap, .add, .xor, .and, .or, .min, .max, .minu, .maxu]

    /// Operands biased towards the interesting ones: equal, sign boundaries,
    /// values that differ only above bit 31.
    static let operand = zip(Gen.int(in: 0...5), Gen.uint64()).map { pick, any -> UInt64 in
        [any, 0, UInt64.max, 0x8000_0000, 0x7FFF_FFFF, any & 0xFFFF_FFFF][pick]
    }

    @Test func combineAgreesWithTheSpecification() async {
        await propertyCheck(count: 3000, input: Gen.int(in: 0...8), Gen.int(in: 0...1), Self.operand, Self.operand) {
            pick, wide, old, operand in
            let op = Self.amoOperations[pick], width = wide == 1 ? 8 : 4
            let want = Self.referenceCombine(op, old, operand, width: width)
            #expect(op.combine(old, operand, width: width) == want,
                    "\(op).\(width == 4 ? "w" : "d") 0x\(String(old, radix: 16)) 0x\(String(operand, radix: 16))")
            #expect(op.combine(operand, operand, width: width) == Self.referenceCombine(op, operand, operand, width: width))
        }
    }

    // MARK: Plain memory: any load or store of any alignment agrees with the bytes

    /// A device that accepts every aligned width behaves like memory: a load
    /// of any width and alignment returns the bytes little-endian, and a store
    /// writes them, whatever the host's splitting.
    @Test func loadsAndStoresOfAnyAlignmentActLikeMemory() async {
        let step = zip(Gen.int(in: 0...3), Gen.uint64(in: 0...55), Gen.uint64(), Gen.bool)
        await propertyCheck(count: 300, input: step.array(of: 1...30)) { steps in
            var device = RecordingDevice(widths: [1, 2, 4, 8])
            var memory = device.bytes
            for (w, offset, value, isStore) in steps {
                let width = 1 << w
                if isStore {
                    #expect(Self.run(.store(width: width), offset, value, on: &device) == .completed(value: 0))
                    for i in 0..<width { memory[Int(offset) + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
                } else {
                    let want = (0..<width).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(memory[Int(offset) + $1]) }
                    #expect(Self.run(.load(width: width, signExtends: false), offset, on: &device)
                            == .completed(value: want))
                }
                #expect(device.bytes == memory)
            }
        }
    }

    // MARK: DeviceInstruction

    @Test func deviceInstructionOfALoad() {
        let registers = TestRegisters([5: 0x0C00_0000])
        let load = Instruction.load(MemoryAccess(width: 4, signExtends: true, register: 10, base: 5, offset: -4))
        let d = DeviceInstruction(load, registers: registers)
        #expect(d?.operation == .load(width: 4, signExtends: true))
        #expect(d?.address == 0x0BFF_FFFC)
        #expect(d?.value == 0 && d?.rd == 10)
        #expect(d?.isStore == false && d?.width == 4)
    }

    @Test func deviceInstructionOfAStore() {
        let registers = TestRegisters([6: 0x0200_4000, 7: 0x1234])
        let store = Instruction.store(MemoryAccess(width: 8, signExtends: false, register: 7, base: 6, offset: 8))
        let d = DeviceInstruction(store, registers: registers)
        #expect(d?.operation == .store(width: 8))
        #expect(d?.address == 0x0200_4008)
        #expect(d?.value == 0x1234 && d?.rd == 0)
        #expect(d?.isStore == true && d?.width == 8)
    }

    @Test func deviceInstructionOfAnAMOUsesRs1AsTheAddress() {
        let registers = TestRegisters([12: 0x0C20_0004, 11: 7])
        let amo = Instruction.atomic(AtomicAccess(operation: .swap, width: 4, rd: 10, base: 12, source: 11))
        let d = DeviceInstruction(amo, registers: registers)
        #expect(d?.operation == .atomic(.swap, width: 4))
        #expect(d?.address == 0x0C20_0004 && d?.value == 7 && d?.rd == 10)
        #expect(d?.isStore == true && d?.width == 4)
    }

    @Test func lrIsNotAStoreAndScIs() {
        let registers = TestRegisters([12: 0x100])
        let lr = DeviceInstruction(.atomic(AtomicAccess(operation: .loadReserved, width: 8, rd: 1, base: 12, source: 0)),
                                   registers: registers)
        let sc = DeviceInstruction(.atomic(AtomicAccess(operation: .storeConditional, width: 8, rd: 1, base: 12,
                                                        source: 0)), registers: registers)
        #expect(lr?.isStore == false && lr?.width == 8)
        #expect(sc?.isStore == true && sc?.value == 0, "x0 reads 0")
    }

    @Test func otherInstructionsAreNotDeviceInstructions() {
        #expect(DeviceInstruction(.illegal, registers: TestRegisters()) == nil)
        #expect(DeviceInstruction(.mret, registers: TestRegisters()) == nil)
    }

    // MARK: Helpers

    @Test func widthMaskAndExtend() {
        #expect(HostDeviceAccess.widthMask(1) == 0xFF)
        #expect(HostDeviceAccess.widthMask(2) == 0xFFFF)
        #expect(HostDeviceAccess.widthMask(4) == 0xFFFF_FFFF)
        #expect(HostDeviceAccess.widthMask(8) == UInt64.max)
        #expect(HostDeviceAccess.extend(0x1_80, width: 1, signExtends: true) == 0xFFFF_FFFF_FFFF_FF80)
        #expect(HostDeviceAccess.extend(0x1_80, width: 1, signExtends: false) == 0x80)
        #expect(HostDeviceAccess.extend(0x8000, width: 2, signExtends: true) == 0xFFFF_FFFF_FFFF_8000)
        #expect(HostDeviceAccess.extend(0xF_8000_0000, width: 4, signExtends: false) == 0x8000_0000)
        #expect(HostDeviceAccess.extend(0x8000_0000_0000_0000, width: 8, signExtends: false) == 0x8000_0000_0000_0000)
    }
}
