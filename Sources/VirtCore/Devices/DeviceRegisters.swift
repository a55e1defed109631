/// A memory-mapped device as the host's bus sees it: which single accesses
/// it accepts, and their effect.
///
/// The monitor performs a trapped guest access to a device the way the host
/// machine would have performed it natively (``HostDeviceAccess``): it
/// splits, combines and sequences whole register accesses, and asks the
/// device for each one. Offsets are relative to the device's base.
public protocol DeviceRegisters {
    /// Whether the device accepts one naturally aligned access of `width`
    /// bytes at `offset` (QEMU: the region's `MemoryRegionOps.valid` sizes,
    /// and whether a region is mapped there at all). A refused access is an
    /// access fault.
    func accepts(offset: UInt64, width: Int) -> Bool
    /// One accepted load; the value is zero-extended.
    mutating func load(offset: UInt64, width: Int) -> UInt64
    /// One accepted store of the low `width` bytes of `value`.
    mutating func store(offset: UInt64, width: Int, value: UInt64)
}

/// A load reservation made by an emulated `lr` to a device (unprivileged
/// specification, "Load-Reserved/Store-Conditional Instructions").
public struct DeviceReservation: Equatable, Sendable {
    /// The reserved device offset, or `nil` when no reservation is held.
    public var offset: UInt64?
    /// The value the `lr` wrote to `rd` (sign-extended), which the host's
    /// `sc` compares the register's value, sign-extended, against.
    public var value: UInt64

    public init(offset: UInt64? = nil, value: UInt64 = 0) {
        self.offset = offset
        self.value = value
    }
}

/// The outcome of one guest memory instruction on a device.
public enum DeviceAccessOutcome: Equatable, Sendable {
    /// The instruction completed; `rd` (if the instruction has one) receives
    /// `value`, already sign- or zero-extended to 64 bits.
    case completed(value: UInt64)
    /// The host raises this exception (`mtval` = the access's address).
    case exception(Exception)
}

/// How the host machine (QEMU 7.2's TCG and memory API, the behaviour the
/// differential harness measures natively) performs a load, store, AMO or
/// LR/SC on a device.
///
/// - An aligned access of a size the device accepts is one device access; a
///   size it refuses is a load (cause 5) or store (cause 7) access fault, and
///   for an AMO a load access fault too (QEMU performs it as a load first;
///   the specification would say cause 7).
/// - A misaligned load is two aligned loads of the same size, at the address
///   rounded down and the next one, combined little-endian; a misaligned
///   store is a sequence of byte stores in ascending address order. Either
///   faults if the device refuses one of its parts.
/// - AMOs and `lr` must be naturally aligned (otherwise address-misaligned:
///   cause 6 for AMOs, 4 for `lr`). On a device, an AMO is a load followed by
///   a store of the combined value; `lr` is a load that records a reservation
///   of the address and of the value it wrote to `rd` (sign-extended); `sc`
///   fails without an access unless the reservation is for this address
///   (checked before alignment, so a misaligned `sc` simply fails), and
///   otherwise is a compare-and-swap of its width against the reserved value
///   (stores the new value if the register equals it, the old one if not)
///   whose `rd` is 0 iff the sign-extended old value equals the reserved
///   value. Every `sc` clears the reservation.
///
/// A trap-and-emulate monitor on QEMU reaches the `sc` of an `lr`/`sc` pair
/// on a device only if the hart still holds a reservation for it, and QEMU
/// 7.2 clears the hart's reservation on every privilege change, the monitor's
/// return to its guest included: such an `sc` fails in the guest (`rd = 1`,
/// nothing stored), which the A extension allows (an `sc` may fail; I/O
/// regions need not support reservations at all).
public enum HostDeviceAccess {
    /// Performs `operation` at `offset` on `device`. `value` is `rs2` for
    /// stores, AMOs and `sc`.
    public static func perform<Device: DeviceRegisters>(
        _ operation: DeviceOperation, offset: UInt64, value: UInt64,
        reservation: inout DeviceReservation, on device: inout Device
    ) -> DeviceAccessOutcome {
        switch operation {
        case .load(let width, let signExtends):
            guard let raw = load(width: width, offset: offset, on: &device) else {
                return .exception(.loadAccessFault)
            }
            return .completed(value: extend(raw, width: width, signExtends: signExtends))
        case .store(let width):
            return store(width: width, offset: offset, value: value, on: &device)
                ? .completed(value: 0) : .exception(.storeAccessFault)
        case .atomic(let atomic, let width):
            return performAtomic(atomic, width: width, offset: offset, value: value,
                                 reservation: &reservation, on: &device)
        }
    }

    static func performAtomic<Device: DeviceRegisters>(
        _ atomic: AtomicOperation, width: Int, offset: UInt64, value: UInt64,
        reservation: inout DeviceReservation, on device: inout Device
    ) -> DeviceAccessOutcome {
        let aligned = offset & UInt64(width - 1) == 0
        switch atomic {
        case .loadReserved:
            guard aligned else { return .exception(.loadAddressMisaligned) }
            guard device.accepts(offset: offset, width: width) else { return .exception(.loadAccessFault) }
            let loaded = extend(device.load(offset: offset, width: width), width: width, signExtends: true)
            reservation = DeviceReservation(offset: offset, value: loaded)
            return .completed(value: loaded)
        case .storeConditional:
            let held = reservation
            reservation = DeviceReservation()
            guard held.offset == offset else { return .completed(value: 1) }
            guard aligned else { return .exception(.storeAddressMisaligned) }
            guard device.accepts(offset: offset, width: width) else { return .exception(.loadAccessFault) }
            // A compare-and-swap of the sc's width against the reserved value
            // truncated to it; rd compares the sign-extended old value.
            let old = device.load(offset: offset, width: width)
            let swaps = old == held.value & widthMask(width)
            device.store(offset: offset, width: width, value: swaps ? value : old)
            return .completed(value: extend(old, width: width, signExtends: true) == held.value ? 0 : 1)
        default:
            guard aligned else { return .exception(.storeAddressMisaligned) }
            guard device.accepts(offset: offset, width: width) else { return .exception(.loadAccessFault) }
            let old = device.load(offset: offset, width: width)
            device.store(offset: offset, width: width, value: atomic.combine(old, value, width: width))
            return .completed(value: extend(old, width: width, signExtends: true))
        }
    }

    /// A load of `width` bytes at `offset` as the host performs it, or `nil`
    /// for an access fault.
    static func load<Device: DeviceRegisters>(width: Int, offset: UInt64, on device: inout Device) -> UInt64? {
        let misalignment = offset & UInt64(width - 1)
        if misalignment == 0 {
            guard device.accepts(offset: offset, width: width) else { return nil }
            return device.load(offset: offset, width: width)
        }
        let first = offset - misalignment
        let second = first &+ UInt64(width)
        guard device.accepts(offset: first, width: width), device.accepts(offset: second, width: width) else {
            return nil
        }
        let low = device.load(offset: first, width: width)
        let high = device.load(offset: second, width: width)
        let shift = misalignment * 8
        return ((low >> shift) | (high << (UInt64(width) * 8 - shift))) & widthMask(width)
    }

    /// A store as the host performs it; false for an access fault (bytes
    /// before the refused one have been stored, as on the host).
    static func store<Device: DeviceRegisters>(width: Int, offset: UInt64, value: UInt64,
                                               on device: inout Device) -> Bool {
        if offset & UInt64(width - 1) == 0 {
            guard device.accepts(offset: offset, width: width) else { return false }
            device.store(offset: offset, width: width, value: value)
            return true
        }
        for byte in 0..<width {
            let at = offset &+ UInt64(byte)
            guard device.accepts(offset: at, width: 1) else { return false }
            device.store(offset: at, width: 1, value: (value >> UInt64(8 * byte)) & 0xFF)
        }
        return true
    }

    /// All ones in the low `width` bytes.
    public static func widthMask(_ width: Int) -> UInt64 {
        width >= 8 ? .max : (UInt64(1) << UInt64(8 * width)) - 1
    }

    /// `raw` (the low `width` bytes) sign- or zero-extended to 64 bits, as a
    /// load writes it to `rd`.
    public static func extend(_ raw: UInt64, width: Int, signExtends: Bool) -> UInt64 {
        switch (width, signExtends) {
        case (1, true): return UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: raw)))
        case (2, true): return UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: raw)))
        case (4, true): return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: raw)))
        case (8, _): return raw
        default: return raw & widthMask(width)
        }
    }
}

/// A guest memory instruction, as far as a device sees it.
public enum DeviceOperation: Equatable, Sendable {
    case load(width: Int, signExtends: Bool)
    case store(width: Int)
    case atomic(AtomicOperation, width: Int)
}

extension AtomicOperation {
    /// The value an AMO stores (unprivileged specification, "Atomic Memory
    /// Operations"), on `width`-byte operands.
    public func combine(_ old: UInt64, _ operand: UInt64, width: Int) -> UInt64 {
        let mask = HostDeviceAccess.widthMask(width)
        let a = old & mask, b = operand & mask
        let sa = signed(a, width: width), sb = signed(b, width: width)
        let result: UInt64
        switch self {
        case .swap: result = b
        case .add: result = a &+ b
        case .xor: result = a ^ b
        case .and: result = a & b
        case .or: result = a | b
        case .min: result = sa < sb ? a : b
        case .max: result = sa > sb ? a : b
        case .minu: result = a < b ? a : b
        case .maxu: result = a > b ? a : b
        case .loadReserved, .storeConditional: result = a
        }
        return result & mask
    }

    private func signed(_ v: UInt64, width: Int) -> Int64 {
        width == 4 ? Int64(Int32(truncatingIfNeeded: v)) : Int64(bitPattern: v)
    }
}

/// A trapped memory instruction reduced to what a device sees: the operation,
/// its effective address, the stored operand and the register that receives
/// the result.
public struct DeviceInstruction: Equatable, Sendable {
    public var operation: DeviceOperation
    /// The effective address: `rs1 + offset` for loads and stores, `rs1` for
    /// AMOs and LR/SC.
    public var address: UInt64
    /// `rs2` for stores, AMOs and `sc`; 0 for loads.
    public var value: UInt64
    /// The destination register (`x0` for stores).
    public var rd: UInt8

    /// `nil` for an instruction that is not a memory access.
    public init?<R: GeneralRegisters>(_ instruction: Instruction, registers: R) {
        switch instruction {
        case .load(let a):
            operation = .load(width: Int(a.width), signExtends: a.signExtends)
            address = registers.get(a.base) &+ UInt64(bitPattern: a.offset)
            value = 0
            rd = a.register
        case .store(let a):
            operation = .store(width: Int(a.width))
            address = registers.get(a.base) &+ UInt64(bitPattern: a.offset)
            value = registers.get(a.register)
            rd = 0
        case .atomic(let a):
            operation = .atomic(a.operation, width: Int(a.width))
            address = registers.get(a.base)
            value = registers.get(a.source)
            rd = a.rd
        default:
            return nil
        }
    }

    /// Whether the instruction writes memory (a store, AMO or `sc`): its
    /// faults are store/AMO faults.
    public var isStore: Bool {
        switch operation {
        case .load, .atomic(.loadReserved, _): return false
        default: return true
        }
    }

    /// The number of bytes the instruction accesses.
    public var width: Int {
        switch operation {
        case .load(let width, _), .store(let width), .atomic(_, let width): return width
        }
    }
}
