/// The firmware's view of the physical memory protection registers
/// (privileged specification, "Physical Memory Protection").
///
/// Only the first `entries` entries exist; the rest are read-only zero. An
/// entry whose `L` bit is set ignores writes to its configuration and address
/// until reset, and a locked TOR entry also locks the address register below.
public struct PMPFile: Sendable {
    /// The number of implemented entries (at most 64).
    public let entries: Int
    /// One configuration byte per entry.
    public private(set) var configuration: InlineArray<64, UInt8>
    /// `pmpaddr` registers: bits 55:2 of the physical address.
    public private(set) var address: InlineArray<64, UInt64>

    /// `pmpcfg` byte fields.
    public enum Bits {
        public static let read: UInt8 = 1 << 0
        public static let write: UInt8 = 1 << 1
        public static let execute: UInt8 = 1 << 2
        public static let addressMatching: UInt8 = 3 << 3
        public static let lock: UInt8 = 1 << 7
        /// `A` = TOR (top of range).
        public static let tor: UInt8 = 1 << 3
        /// The bits a write may set: bits 6:5 are reserved and read as zero.
        public static let writable: UInt8 = 0x9F
    }

    /// `pmpaddr` keeps PA[55:2] on RV64: 54 bits.
    public static let addressMask: UInt64 = (1 << 54) - 1

    public init(entries: Int) {
        self.entries = min(max(entries, 0), 64)
        self.configuration = InlineArray(repeating: 0)
        self.address = InlineArray(repeating: 0)
    }

    @inlinable func isLocked(_ i: Int) -> Bool {
        i < entries && configuration[i] & Bits.lock != 0
    }

    /// Reads `pmpcfg<register>` (an even register number on RV64).
    public func readConfiguration(register: Int) -> UInt64 {
        var value: UInt64 = 0
        let first = register * 4
        for byte in 0..<8 where first + byte < entries {
            value |= UInt64(configuration[first + byte]) << (UInt64(byte) * 8)
        }
        return value
    }

    /// Writes `pmpcfg<register>` with the WARL rules: reserved bits cleared,
    /// the reserved R=0 W=1 combination turned into no access, locked
    /// entries unchanged.
    public mutating func writeConfiguration(register: Int, _ value: UInt64) {
        let first = register * 4
        for byte in 0..<8 where first + byte < entries {
            let i = first + byte
            if isLocked(i) { continue }
            var cfg = UInt8(truncatingIfNeeded: value >> (UInt64(byte) * 8)) & Bits.writable
            if cfg & (Bits.read | Bits.write) == Bits.write {
                cfg &= ~(Bits.read | Bits.write | Bits.execute)
            }
            configuration[i] = cfg
        }
    }

    /// Reads `pmpaddr<i>`.
    public func readAddress(_ i: Int) -> UInt64 {
        i < entries ? address[i] : 0
    }

    /// Writes `pmpaddr<i>` unless entry i is locked, or entry i+1 is a locked TOR entry.
    public mutating func writeAddress(_ i: Int, _ value: UInt64) {
        guard i < entries, !isLocked(i) else { return }
        if i + 1 < entries, isLocked(i + 1),
           configuration[i + 1] & Bits.addressMatching == Bits.tor {
            return
        }
        address[i] = value & PMPFile.addressMask
    }
}
