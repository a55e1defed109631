/// The firmware's view of the physical memory protection registers
/// (privileged specification, "Physical Memory Protection").
///
/// Only the first `entries` entries exist; the rest are read-only zero. An
/// entry whose `L` bit is set ignores writes to its configuration and address
/// until reset, and a locked TOR entry also locks the address register below.
public struct PMPFile: Sendable {
    /// The number of implemented entries (at most 64).
    public let entries: Int
    /// The configuration bytes packed as the RV64 `pmpcfg` registers hold
    /// them: word w carries entries 8w…8w+7 (`pmpcfg<2w>`), so reading a
    /// register is one load, which the world switch does on every entry.
    @usableFromInline var words: InlineArray<8, UInt64>
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
        self.words = InlineArray(repeating: 0)
        self.address = InlineArray(repeating: 0)
    }

    /// The configuration byte of entry `i` (0 for an entry that does not exist).
    @inlinable public func configuration(_ i: Int) -> UInt8 {
        guard i >= 0, i < entries else { return 0 }
        return UInt8(truncatingIfNeeded: words[i >> 3] >> (UInt64(i & 7) * 8))
    }

    @inlinable func isLocked(_ i: Int) -> Bool {
        configuration(i) & Bits.lock != 0
    }

    /// Reads `pmpcfg<register>` (an even register number on RV64).
    public func readConfiguration(register: Int) -> UInt64 {
        guard register >= 0, register < 16 else { return 0 }
        return words[register >> 1]
    }

    /// Writes `pmpcfg<register>` with the WARL rules: reserved bits cleared,
    /// the reserved R=0 W=1 combination turned into no access, locked
    /// entries unchanged, entries that do not exist read-only zero.
    public mutating func writeConfiguration(register: Int, _ value: UInt64) {
        guard register >= 0, register < 16 else { return }
        let first = (register >> 1) * 8
        var word = words[register >> 1]
        for byte in 0..<8 where first + byte < entries {
            let i = first + byte
            if isLocked(i) { continue }
            let shift = UInt64(byte) * 8
            var cfg = UInt8(truncatingIfNeeded: value >> shift) & Bits.writable
            if cfg & (Bits.read | Bits.write) == Bits.write {
                cfg &= ~(Bits.read | Bits.write | Bits.execute)
            }
            word = (word & ~(0xFF << shift)) | (UInt64(cfg) << shift)
        }
        words[register >> 1] = word
    }

    /// Reads `pmpaddr<i>`.
    public func readAddress(_ i: Int) -> UInt64 {
        i >= 0 && i < entries ? address[i] : 0
    }

    /// Writes `pmpaddr<i>` unless entry i is locked, or entry i+1 is a locked TOR entry.
    public mutating func writeAddress(_ i: Int, _ value: UInt64) {
        guard i >= 0, i < entries, !isLocked(i) else { return }
        if i + 1 < entries, isLocked(i + 1),
           configuration(i + 1) & Bits.addressMatching == Bits.tor {
            return
        }
        address[i] = value & PMPFile.addressMask
    }

    /// The byte range `[low, high)` entry `i` matches, or `nil` when it is OFF
    /// (privileged specification, "Address Matching": TOR from the previous
    /// entry's address, or 0 for entry 0; NA4; NAPOT from the trailing ones).
    public func range(_ i: Int) -> (low: UInt64, high: UInt64)? {
        withUnsafePointer(to: address) { range(i, addresses: UnsafeRawPointer($0).assumingMemoryBound(to: UInt64.self)) }
    }

    /// ``range(_:)`` with the address registers read through `addresses`:
    /// a loop over the entries takes the table's address once (reading the
    /// 64-entry inline array by subscript copies all of it each time in an
    /// Embedded build: measured, 390,000 instructions of a Linux boot).
    func range(_ i: Int, addresses: UnsafePointer<UInt64>) -> (low: UInt64, high: UInt64)? {
        guard i >= 0, i < entries else { return nil }
        let a = addresses[i]
        switch configuration(i) & Bits.addressMatching {
        case 1 << 3:
            return ((i == 0 ? 0 : addresses[i - 1]) << 2, a << 2)
        case 2 << 3:
            return (a << 2, (a << 2) &+ 4)
        case 3 << 3:
            let ones = UInt64((~a).trailingZeroBitCount)
            guard ones < 54 else { return (0, 1 << 56) }
            let size = UInt64(1) << (ones + 3)
            let low = (a << 2) & ~(size - 1)
            return (low, low &+ size)
        default:
            return nil
        }
    }

    /// Whether an S- or U-mode access of `size` bytes at `address` needing
    /// the permissions `needs` (``Bits/read``, ``Bits/write``) passes this
    /// PMP ("Priority and Matching Logic"): the lowest-numbered entry that
    /// matches any byte decides and must match every byte; when no entry
    /// matches, the access fails if any entry is implemented, and succeeds
    /// on a hart without PMP.
    public func permitsLowerPrivilege(address: UInt64, size: UInt64, needs: UInt8) -> Bool {
        if entries == 0 { return true }
        let end = address &+ size
        return withUnsafePointer(to: self.address) { table in
            let addresses = UnsafeRawPointer(table).assumingMemoryBound(to: UInt64.self)
            for i in 0..<entries {
                guard let (low, high) = range(i, addresses: addresses), low < high, address < high, end > low else { continue }
                guard address >= low, end <= high else { return false }
                return configuration(i) & needs == needs
            }
            return false
        }
    }
}
