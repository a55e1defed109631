/// One machine-level IMSIC interrupt file written from the AIA
/// specification's text ("Incoming MSI Controller") as plain lists: one
/// pending and one enable flag per identity, linear scans, and the
/// `miselect` numbers spelled out as a table. Independent of
/// `VirtualIMSICFile`'s words and masks; it shares no code with it.
///
/// RV64. Where the specification leaves a choice or QEMU 7.2 departs from
/// it, the reference takes the project's documented choice:
///
/// - reset: everything 0;
/// - `eidelivery` keeps bit 0 only; `eithreshold` keeps bits 10:0;
/// - `mireg` with a reserved `miselect` (0x71, 0x73…0x7F), an odd `eip`k or
///   `eie`k, or one that covers no implemented identity is an illegal
///   instruction (`nil`), as in QEMU 7.2;
/// - a claim happens only through `claim()`.
struct ReferenceIMSIC {
    enum Register: Equatable {
        case eidelivery, eithreshold
        /// `eip`k: identities 32k…32k+63.
        case eip(Int)
        /// `eie`k.
        case eie(Int)
    }

    /// N: identities 1…N are implemented.
    let identities: Int
    /// `pending[i]`, `enabled[i]` for i in 0…N; index 0 stays false.
    var pending: [Bool]
    var enabled: [Bool]
    var eidelivery: UInt64 = 0
    var eithreshold: UInt64 = 0
    /// Every `miselect` value with a register behind it.
    let table: [UInt64: Register]

    init(identities: Int) {
        self.identities = identities
        pending = Array(repeating: false, count: identities + 1)
        enabled = Array(repeating: false, count: identities + 1)
        var table: [UInt64: Register] = [0x70: .eidelivery, 0x72: .eithreshold]
        for k in stride(from: 0, through: 62, by: 2) {
            // eipk exists when one of identities 32k…32k+63 is implemented.
            let covers = (32 * k...32 * k + 63).contains { $0 >= 1 && $0 <= identities }
            if covers {
                table[0x80 + UInt64(k)] = .eip(k)
                table[0xC0 + UInt64(k)] = .eie(k)
            }
        }
        self.table = table
    }

    func isImplemented(_ identity: Int) -> Bool {
        identity >= 1 && identity <= identities
    }

    func read(select: UInt64) -> UInt64? {
        switch table[select] {
        case nil: return nil
        case .eidelivery: return eidelivery
        case .eithreshold: return eithreshold
        case .eip(let k): return bits(of: pending, register: k)
        case .eie(let k): return bits(of: enabled, register: k)
        }
    }

    mutating func write(select: UInt64, value: UInt64) -> Bool {
        switch table[select] {
        case nil: return false
        case .eidelivery: eidelivery = value % 2
        case .eithreshold: eithreshold = value % 2048
        case .eip(let k): set(&pending, register: k, value)
        case .eie(let k): set(&enabled, register: k, value)
        }
        return true
    }

    private func bits(of array: [Bool], register k: Int) -> UInt64 {
        var value: UInt64 = 0
        for bit in 0..<64 where isImplemented(32 * k + bit) && array[32 * k + bit] {
            value += UInt64(1) << UInt64(bit)
        }
        return value
    }

    private func set(_ array: inout [Bool], register k: Int, _ value: UInt64) {
        for bit in 0..<64 where isImplemented(32 * k + bit) {
            array[32 * k + bit] = (value >> UInt64(bit)) & 1 == 1
        }
    }

    /// "the interrupt file's current highest-priority pending-and-enabled
    /// interrupt that also exceeds the priority threshold ... if eithreshold
    /// is not zero. Interrupts with lower identity numbers have higher
    /// priorities."
    func top() -> Int {
        for identity in 1...identities where pending[identity] && enabled[identity] {
            if eithreshold == 0 || UInt64(identity) < eithreshold { return identity }
        }
        return 0
    }

    func topei() -> UInt64 {
        UInt64(top()) * 65536 + UInt64(top())
    }

    mutating func claim() -> UInt64 {
        let value = topei()
        let identity = top()
        if identity != 0 { pending[identity] = false }
        return value
    }

    mutating func seteipnumLE(_ value: UInt64) {
        if value <= UInt64(identities), isImplemented(Int(value)) { pending[Int(value)] = true }
    }

    func interruptPending() -> Bool {
        eidelivery == 1 && top() != 0
    }
}
