/// The one choke point through which the platform touches device registers.
///
/// Device drivers (``Clint``, ``Plic``, ``Uart16550``) are generic over the
/// bus, so the monitor's `PhysicalBus` (compiled for `riscv64` only)
/// specialises into plain volatile loads and stores while tests record every
/// access with a recording bus.
public protocol MMIOBus {
    mutating func load32(_ address: UInt64) -> UInt32
    mutating func store32(_ address: UInt64, _ value: UInt32)
    mutating func load64(_ address: UInt64) -> UInt64
    mutating func store64(_ address: UInt64, _ value: UInt64)
    mutating func load8(_ address: UInt64) -> UInt8
    mutating func store8(_ address: UInt64, _ value: UInt8)
    /// A 16-bit access. Few devices take one (QEMU's fw_cfg selector does);
    /// the default composes it from two 8-bit accesses, so a bus that
    /// reaches such a device must provide a single 16-bit access.
    mutating func load16(_ address: UInt64) -> UInt16
    mutating func store16(_ address: UInt64, _ value: UInt16)
}

extension MMIOBus {
    public mutating func load16(_ address: UInt64) -> UInt16 {
        UInt16(load8(address)) | UInt16(load8(address &+ 1)) << 8
    }
    public mutating func store16(_ address: UInt64, _ value: UInt16) {
        store8(address, UInt8(truncatingIfNeeded: value))
        store8(address &+ 1, UInt8(truncatingIfNeeded: value >> 8))
    }
}
