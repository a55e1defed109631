#if arch(riscv64)
import CShim

/// The real memory bus: each access is one volatile load or store.
public struct PhysicalBus: MMIOBus {
    public init() {}
    @inline(__always) public mutating func load32(_ a: UInt64) -> UInt32 { mmio_read32(UInt(a)) }
    @inline(__always) public mutating func store32(_ a: UInt64, _ v: UInt32) { mmio_write32(UInt(a), v) }
    @inline(__always) public mutating func load64(_ a: UInt64) -> UInt64 { mmio_read64(UInt(a)) }
    @inline(__always) public mutating func store64(_ a: UInt64, _ v: UInt64) { mmio_write64(UInt(a), v) }
    @inline(__always) public mutating func load8(_ a: UInt64) -> UInt8 { mmio_read8(UInt(a)) }
    @inline(__always) public mutating func store8(_ a: UInt64, _ v: UInt8) { mmio_write8(UInt(a), v) }
    @inline(__always) public mutating func load16(_ a: UInt64) -> UInt16 { mmio_read16(UInt(a)) }
    @inline(__always) public mutating func store16(_ a: UInt64, _ v: UInt16) { mmio_write16(UInt(a), v) }
}
#endif
