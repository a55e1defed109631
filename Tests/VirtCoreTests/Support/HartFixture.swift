import Testing
import VirtCore

/// One virtual hart with its environment and registers, and short helpers
/// that run real encoded instructions through ``VirtualHart/execute``.
///
/// Every helper runs in ``mode`` (the hart's mode is set before each
/// instruction), so a test can read state after a trap and keep going.
struct HartFixture {
    var hart: VirtualHart
    var env = FakeEnvironment()
    var regs = TestRegisters()
    /// The mode each helper executes in.
    var mode: PrivilegeMode
    /// The pc of the next instruction; advanced by 0x10 per instruction.
    var pc: UInt64 = 0x8000_0000

    /// Scratch registers used by the helpers.
    static let rd: UInt8 = 5
    static let rs: UInt8 = 6

    init(_ configuration: HartConfiguration = TestHarts.qemu, mode: PrivilegeMode = .machine) {
        hart = VirtualHart(configuration: configuration)
        self.mode = mode
    }

    /// Runs one instruction at ``pc`` in ``mode``.
    @discardableResult
    mutating func run(_ bits: UInt32) -> ExecutionResult {
        pc += 0x10
        hart.mode = mode
        return hart.execute(bits, pc: pc, registers: &regs, environment: &env)
    }

    /// True when the last instruction at `pc` took an illegal-instruction trap.
    func trapped(_ result: ExecutionResult, length: UInt64 = 4) -> Bool {
        result != .resume(pc: pc + length) && hart.mcause == 2 && hart.mepc == pc
    }

    /// Runs one instruction; true when it took an illegal-instruction trap.
    mutating func traps(_ bits: UInt32) -> Bool {
        let result = run(bits)
        return trapped(result, length: bits & 3 == 3 ? 4 : 2)
    }

    /// Runs one instruction and expects a faithful illegal-instruction trap.
    mutating func expectIllegal(_ bits: UInt32, sourceLocation: SourceLocation = #_sourceLocation) {
        let from = mode
        let trapped = traps(bits)
        let value = bits & 3 == 3 ? UInt64(bits) : UInt64(bits & 0xFFFF)
        #expect(trapped && hart.mtval == value && hart.mode == .machine && hart.mstatus.mpp == from,
                "expected an illegal-instruction trap for \(hex(bits))", sourceLocation: sourceLocation)
    }

    /// Runs a CSR instruction; returns the value written to rd, or nil on a trap.
    mutating func csr(_ kind: Encode.CSRKind, _ n: UInt16, source: UInt8) -> UInt64? {
        regs[Int(HartFixture.rd)] = 0xBAD0_BAD0
        let result = run(Encode.csr(kind, rd: HartFixture.rd, csr: n, source: source))
        return trapped(result) ? nil : regs[Int(HartFixture.rd)]
    }

    /// `csrrs x5, n, x0`.
    mutating func read(_ n: UInt16) -> UInt64? { csr(.csrrs, n, source: 0) }

    /// `csrrw x5, n, x6` with x6 = value; returns the old value or nil.
    @discardableResult
    mutating func write(_ n: UInt16, _ value: UInt64) -> UInt64? {
        regs[Int(HartFixture.rs)] = value
        return csr(.csrrw, n, source: HartFixture.rs)
    }

    /// `csrrs x5, n, x6` with x6 = bits.
    @discardableResult
    mutating func set(_ n: UInt16, _ bits: UInt64) -> UInt64? {
        regs[Int(HartFixture.rs)] = bits
        return csr(.csrrs, n, source: HartFixture.rs)
    }

    /// `csrrc x5, n, x6` with x6 = bits.
    @discardableResult
    mutating func clear(_ n: UInt16, _ bits: UInt64) -> UInt64? {
        regs[Int(HartFixture.rs)] = bits
        return csr(.csrrc, n, source: HartFixture.rs)
    }

    /// Writes a CSR from vM-mode whatever ``mode`` is.
    mutating func machineWrite(_ n: UInt16, _ value: UInt64) {
        let saved = mode
        mode = .machine
        write(n, value)
        mode = saved
    }

    /// Reads a CSR from vM-mode whatever ``mode`` is.
    mutating func machineRead(_ n: UInt16) -> UInt64? {
        let saved = mode
        mode = .machine
        defer { mode = saved }
        return read(n)
    }
}

/// CSR numbers used by the behaviour tests (privileged specification, "CSR Listing").
enum N {
    static let fflags: UInt16 = 0x001
    static let sstatus: UInt16 = 0x100, sie: UInt16 = 0x104, stvec: UInt16 = 0x105, scounteren: UInt16 = 0x106
    static let senvcfg: UInt16 = 0x10A, sscratch: UInt16 = 0x140, sepc: UInt16 = 0x141, scause: UInt16 = 0x142
    static let stval: UInt16 = 0x143, sip: UInt16 = 0x144, stimecmp: UInt16 = 0x14D, satp: UInt16 = 0x180
    static let vsstatus: UInt16 = 0x200
    static let mstatus: UInt16 = 0x300, misa: UInt16 = 0x301, medeleg: UInt16 = 0x302, mideleg: UInt16 = 0x303
    static let mie: UInt16 = 0x304, mtvec: UInt16 = 0x305, mcounteren: UInt16 = 0x306, menvcfg: UInt16 = 0x30A
    static let mstatush: UInt16 = 0x310
    static let mcountinhibit: UInt16 = 0x320, mhpmevent3: UInt16 = 0x323
    static let mscratch: UInt16 = 0x340, mepc: UInt16 = 0x341, mcause: UInt16 = 0x342, mtval: UInt16 = 0x343
    static let mip: UInt16 = 0x344, mtinst: UInt16 = 0x34A, mtval2: UInt16 = 0x34B
    static let pmpcfg0: UInt16 = 0x3A0, pmpcfg1: UInt16 = 0x3A1, pmpcfg2: UInt16 = 0x3A2, pmpcfg4: UInt16 = 0x3A4
    static func pmpaddr(_ i: UInt16) -> UInt16 { 0x3B0 + i }
    static let hstatus: UInt16 = 0x600, hie: UInt16 = 0x604, hip: UInt16 = 0x644, hvip: UInt16 = 0x645
    static let hgatp: UInt16 = 0x680, hgeip: UInt16 = 0xE12
    static let tselect: UInt16 = 0x7A0, mseccfg: UInt16 = 0x747, dcsr: UInt16 = 0x7B0
    static let mcycle: UInt16 = 0xB00, minstret: UInt16 = 0xB02, mhpmcounter3: UInt16 = 0xB03, mcycleh: UInt16 = 0xB80
    static let cycle: UInt16 = 0xC00, time: UInt16 = 0xC01, instret: UInt16 = 0xC02, hpmcounter3: UInt16 = 0xC03
    static let cycleh: UInt16 = 0xC80
    static let mvendorid: UInt16 = 0xF11, marchid: UInt16 = 0xF12, mimpid: UInt16 = 0xF13, mhartid: UInt16 = 0xF14
    static let mconfigptr: UInt16 = 0xF15
}

/// Bit values from the specification's register figures, for readable expectations.
enum B {
    static func bit(_ n: UInt64) -> UInt64 { 1 << n }
    // mstatus
    static let sie = bit(1), mie = bit(3), spie = bit(5), ube = bit(6), mpie = bit(7), spp = bit(8)
    static let mppShift: UInt64 = 11, mpp: UInt64 = 3 << 11
    static let fs: UInt64 = 3 << 13, xs: UInt64 = 3 << 15, vs: UInt64 = 3 << 9
    static let mprv = bit(17), sum = bit(18), mxr = bit(19), tvm = bit(20), tw = bit(21), tsr = bit(22)
    static let uxl: UInt64 = 3 << 32, sxl: UInt64 = 3 << 34, sbe = bit(36), mbe = bit(37)
    static let gva = bit(38), mpv = bit(39), sd = bit(63)
    static let xl64: UInt64 = 2 << 32 | 2 << 34
    // interrupts
    static let ssi = bit(1), vssi = bit(2), msi = bit(3), sti = bit(5), vsti = bit(6), mti = bit(7)
    static let sei = bit(9), vsei = bit(10), mei = bit(11), sgei = bit(12), lcofi = bit(13)
    // menvcfg
    static let fiom = bit(0), cbie: UInt64 = 3 << 4, cbcfe = bit(6), cbze = bit(7), pbmte = bit(62), stce = bit(63)
}
