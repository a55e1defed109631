import Testing
import VirtCore

/// The two test configurations.
enum TestHarts {
    /// QEMU 7.2's default `rv64` hart: RV64IMAFDCSUH, Sstc, Zicbom, Zicboz,
    /// Svpbmt, 16 PMP entries.
    static let qemu = HartConfiguration.qemuRV64()

    /// A different hart: RV64IMASU (no C, no F/D, no H), no Sstc, with
    /// Sscofpmf and Zicboz, 8 PMP entries, Sv39 only, 9 ASID bits and
    /// non-zero identity registers.
    static let small: HartConfiguration = {
        var c = HartConfiguration(hartID: 3, misa: (2 << 62) | HartConfiguration.extensionBits("IMASU"))
        c.mvendorid = 0x489
        c.marchid = 0x8000_0000_0000_0007
        c.mimpid = 0x2024_0101
        c.mconfigptr = 0x1000
        c.hasSscofpmf = true
        c.hasZicboz = true
        c.pmpEntries = 8
        c.satpModes = 1 << 8
        c.asidBits = 9
        return c
    }()

    static let all: [HartConfiguration] = [qemu, small]

    static func name(_ c: HartConfiguration) -> String {
        c.hasHypervisor ? "qemuRV64" : "RV64IMASU"
    }
}

/// The hart under test and the reference model side by side, each with its
/// own environment and registers, fed the same inputs.
struct Lockstep {
    var hart: VirtualHart
    var ref: ReferenceHart
    var env = FakeEnvironment()
    var refEnv = FakeEnvironment()
    var regs = TestRegisters()
    var refRegs = TestRegisters()

    init(_ configuration: HartConfiguration) {
        hart = VirtualHart(configuration: configuration)
        ref = ReferenceHart(configuration)
    }

    var mode: PrivilegeMode {
        get { hart.mode }
        set { hart.mode = newValue; ref.mode = newValue }
    }

    mutating func setRegister(_ r: Int, _ value: UInt64) {
        regs[r] = value
        refRegs[r] = value
    }

    /// Sets the device-driven M-level pending bits (MSIP, MTIP, MEIP).
    mutating func setDeviceLines(_ bits: UInt64) {
        hart.mipDevices = InterruptBits(rawValue: bits)
        ref.mipLines = bits
    }

    mutating func setEnvironment(_ change: (inout FakeEnvironment) -> Void) {
        change(&env)
        change(&refEnv)
    }

    /// Runs one instruction on both; returns (hart, reference) results.
    mutating func step(_ bits: UInt32, pc: UInt64) -> (ExecutionResult, ExecutionResult) {
        let actual = hart.execute(bits, pc: pc, registers: &regs, environment: &env)
        let expected = ref.execute(bits, pc: pc, registers: &refRegs, &refEnv)
        return (actual, expected)
    }

    /// Reads CSR `n` from both in M-mode terms.
    mutating func readBoth(_ n: UInt16) -> (UInt64?, UInt64?) {
        (hart.read(CSR(n), environment: &env), ref.read(n, &refEnv))
    }

    /// CSRs whose value most instructions can change, checked after every step.
    static let core: [UInt16] = [
        0x300, 0x302, 0x303, 0x304, 0x305, 0x306, 0x30A, 0x340, 0x341, 0x342, 0x343, 0x344, 0x34A, 0x34B,
        0x100, 0x104, 0x105, 0x106, 0x10A, 0x140, 0x141, 0x142, 0x143, 0x144, 0x14D, 0x180,
        0x3A0, 0x3A2, 0x3B0, 0x3B1, 0x3B7, 0x3B8, 0xB00, 0xB02, 0xC00, 0x604, 0x644, 0x645,
    ]

    /// Differences in mode, registers, passthrough state and the given CSRs.
    mutating func differences(_ csrs: [UInt16] = Lockstep.core) -> [String] {
        var out: [String] = []
        if hart.mode != ref.mode { out.append("mode \(hart.mode) != reference \(ref.mode)") }
        if regs.values != refRegs.values { out.append("registers differ: \(diffRegisters())") }
        if regs.wroteX0 { out.append("x0 was written") }
        if env.passthrough != refEnv.passthrough {
            out.append("passthrough \(hex(env.passthrough)) != reference \(hex(refEnv.passthrough))")
        }
        for n in csrs {
            let (a, e) = readBoth(n)
            if a != e { out.append("csr \(hex(n)): \(a.map(hex) ?? "absent") != reference \(e.map(hex) ?? "absent")") }
        }
        return out
    }

    /// Every one of the 4096 CSR numbers.
    mutating func allDifferences() -> [String] {
        differences(Array(0...0xFFF))
    }

    func diffRegisters() -> String {
        (0..<32).filter { regs.values[$0] != refRegs.values[$0] }
            .map { "x\($0): \(hex(regs.values[$0])) != \(hex(refRegs.values[$0]))" }
            .joined(separator: ", ")
    }
}

func hex<T: BinaryInteger>(_ v: T) -> String { "0x" + String(v, radix: 16) }
func hex(_ d: [UInt16: UInt64]) -> String {
    "[" + d.sorted { $0.key < $1.key }.map { "\(hex($0.key)): \(hex($0.value))" }.joined(separator: ", ") + "]"
}

extension HartConfiguration: CustomTestStringConvertible {
    public var testDescription: String { TestHarts.name(self) }
}
