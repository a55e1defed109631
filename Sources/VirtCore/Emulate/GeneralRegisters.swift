/// The guest's integer registers `x0`…`x31`, wherever the platform keeps them
/// (the trap frame in the monitor, a plain struct in tests).
public protocol GeneralRegisters {
    /// Register `index` (0…31). Reading `x0` yields 0; writing it is ignored
    /// by ``GeneralRegisters/set(_:_:)``.
    subscript(index: Int) -> UInt64 { get set }
}

extension GeneralRegisters {
    /// Reads `x<index>`, with `x0` hardwired to zero.
    @inlinable
    public func get(_ index: UInt8) -> UInt64 {
        index == 0 ? 0 : self[Int(index & 31)]
    }

    /// Writes `x<index>`; writes to `x0` are discarded.
    @inlinable
    public mutating func set(_ index: UInt8, _ value: UInt64) {
        if index != 0 { self[Int(index & 31)] = value }
    }
}
