/// What `scripts/run` hands the monitor besides QEMU's own boot arguments:
/// the firmware file and the boot options, staged by QEMU's generic loader
/// (`-device loader,file=…,force-raw=on`) in the second bank of the `virt`
/// machine's CFI flash, which nothing else uses at boot. The monitor copies
/// the firmware from there to where `-bios` would have put it; nothing is
/// ever staged in DRAM, so the firmware and the payload find memory exactly
/// as QEMU leaves it.
///
/// Layout at the start of the bank (little-endian): magic `"FVBOOT\0\1"`
/// (8 bytes), firmware offset in the bank (8), firmware size (8), option
/// bits (4), trace lines per second (4).
public struct BootDescriptor: Equatable, Sendable {
    public static var magic: UInt64 { 0x0100_544F_4F42_5646 }   // "FVBOOT\0\1"
    public static var size: Int { 32 }

    public var firmwareOffset: UInt64
    public var firmwareSize: UInt64
    public var options: UInt32
    public var traceRate: UInt32

    public init(firmwareOffset: UInt64, firmwareSize: UInt64, options: UInt32, traceRate: UInt32) {
        self.firmwareOffset = firmwareOffset
        self.firmwareSize = firmwareSize
        self.options = options
        self.traceRate = traceRate
    }

    /// Reads the descriptor at the start of a bank of `bank.count` bytes;
    /// `nil` without the magic, or when the firmware does not lie inside
    /// the bank.
    public init?(bank: UnsafeRawBufferPointer) {
        guard bank.count >= BootDescriptor.size else { return nil }
        func le(_ offset: Int, _ width: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in (0..<width).reversed() { value = value << 8 | UInt64(bank[offset + i]) }
            return value
        }
        guard le(0, 8) == BootDescriptor.magic else { return nil }
        firmwareOffset = le(8, 8)
        firmwareSize = le(16, 8)
        options = UInt32(le(24, 4))
        traceRate = UInt32(le(28, 4))
        guard firmwareOffset >= UInt64(BootDescriptor.size), firmwareOffset <= UInt64(bank.count),
              firmwareSize <= UInt64(bank.count) - firmwareOffset else { return nil }
    }
}
