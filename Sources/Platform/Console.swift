/// Formatted output for the monitor's messages, over any byte sink.
///
/// No `print`, no `String` building: Embedded Swift's `print` needs runtime
/// support the monitor does not carry, and the trap path must not allocate.
public protocol ByteSink {
    mutating func put(_ byte: UInt8)
}

extension Uart16550: ByteSink {}

extension ByteSink {
    /// Writes a static string.
    public mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { for byte in $0 { put(byte) } }
    }

    /// Writes `value` in decimal.
    public mutating func write(decimal value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            put(UInt8(truncatingIfNeeded: rest / divisor) + 0x30)
            rest %= divisor
            divisor /= 10
        }
    }

    /// Writes `value` as `0x` and 16 hexadecimal digits.
    public mutating func write(hex value: UInt64) {
        write("0x")
        var shift: UInt64 = 64
        while shift > 0 {
            shift -= 4
            let nibble = UInt8(truncatingIfNeeded: (value >> shift) & 0xF)
            put(nibble < 10 ? 0x30 + nibble : 0x57 + nibble)
        }
    }
}
