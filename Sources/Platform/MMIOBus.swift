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
}
