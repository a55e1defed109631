import Platform

/// One access the monitor performed on the simulated machine's devices.
public struct BusAccess: Equatable, Sendable, CustomStringConvertible {
    public var isStore: Bool
    public var address: UInt64
    public var width: Int
    public var value: UInt64

    public init(isStore: Bool, address: UInt64, width: Int, value: UInt64) {
        self.isStore = isStore
        self.address = address
        self.width = width
        self.value = value
    }

    public var description: String {
        "\(isStore ? "store" : "load")\(width * 8) 0x\(String(address, radix: 16))"
            + (isStore ? " = 0x\(String(value, radix: 16))" : " -> 0x\(String(value, radix: 16))")
    }
}

/// The "real" device registers of the simulated machine: little-endian bytes
/// in a dictionary, and a log of every access made through ``MMIOBus``.
/// Platform's drivers (`Clint`, `Plic`) and `PLICRegisters` run on it as
/// they would on the monitor's physical bus.
public struct RecordingBus: MMIOBus, Sendable {
    public private(set) var bytes: [UInt64: UInt8] = [:]
    public private(set) var log: [BusAccess] = []

    public init() {}

    /// Reads without logging: what the simulated hardware itself looks at.
    public func peek(_ address: UInt64, width: Int) -> UInt64 {
        (0..<width).reduce(0) { $0 | UInt64(bytes[address + UInt64($1), default: 0]) << (8 * UInt64($1)) }
    }

    /// Writes without logging: the simulated hardware's own state changes.
    public mutating func poke(_ address: UInt64, width: Int, _ value: UInt64) {
        for i in 0..<width { bytes[address + UInt64(i)] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    private mutating func load(_ address: UInt64, _ width: Int) -> UInt64 {
        let value = peek(address, width: width)
        log.append(BusAccess(isStore: false, address: address, width: width, value: value))
        return value
    }

    private mutating func store(_ address: UInt64, _ width: Int, _ value: UInt64) {
        poke(address, width: width, value)
        log.append(BusAccess(isStore: true, address: address, width: width, value: value))
    }

    public mutating func load32(_ address: UInt64) -> UInt32 { UInt32(load(address, 4)) }
    public mutating func store32(_ address: UInt64, _ value: UInt32) { store(address, 4, UInt64(value)) }
    public mutating func load64(_ address: UInt64) -> UInt64 { load(address, 8) }
    public mutating func store64(_ address: UInt64, _ value: UInt64) { store(address, 8, value) }
    public mutating func load8(_ address: UInt64) -> UInt8 { UInt8(load(address, 1)) }
    public mutating func store8(_ address: UInt64, _ value: UInt8) { store(address, 1, UInt64(value)) }
}
