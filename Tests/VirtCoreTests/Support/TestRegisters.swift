import VirtCore

/// The guest's integer registers as a plain array, for tests.
///
/// The subscript stores whatever it is given (the protocol's `get`/`set`
/// helpers own the `x0` rule); a raw write to index 0 is remembered in
/// ``wroteX0`` so a test can prove the emulator never bypasses that rule.
struct TestRegisters: GeneralRegisters, Equatable {
    var values: [UInt64] = Array(repeating: 0, count: 32)
    private(set) var wroteX0 = false

    init() {}

    /// Registers with `x<i>` set to each given value.
    init(_ assignments: [Int: UInt64]) {
        for (index, value) in assignments where index != 0 {
            values[index] = value
        }
    }

    subscript(index: Int) -> UInt64 {
        get { values[index] }
        set {
            if index == 0 { wroteX0 = true; return }
            values[index] = newValue
        }
    }
}
