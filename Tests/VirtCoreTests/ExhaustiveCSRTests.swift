import Testing
import VirtCore

/// Every one of the 4096 CSR numbers through all six Zicsr instructions,
/// with a zero and a non-zero `rs1`/`uimm`, executed by ``VirtualHart/execute``
/// and by the reference model side by side.
@Suite("Exhaustive CSR walk")
struct ExhaustiveCSRTests {
    /// Register operands, chosen per CSR number so every CSR sees several.
    static let patterns: [UInt64] = [
        ~0, 0x5555_5555_5555_5555, 0xAAAA_AAAA_AAAA_AAAA, 0x8000_0000_0000_1002,
        0x1234_5678_9ABC_DEF0, 0x0000_0000_0000_1806, 0xF000_0000_0000_00A3,
    ]
    /// Non-zero immediates.
    static let immediates: [UInt8] = [0x1F, 0x15, 0x0A, 0x02, 0x08, 0x01]

    static func operand(_ n: Int, _ kind: Encode.CSRKind) -> UInt64 {
        patterns[(n &* 7 &+ kind.hashValue & 0xFF) % patterns.count]
    }

    /// The expected mtvec target of an exception.
    static func exceptionTarget(_ mtvec: UInt64) -> UInt64 { mtvec & ~3 }

    /// One walk over all CSR numbers in `mode`; returns the first failures.
    static func walk(_ ls: inout Lockstep, mode: PrivilegeMode, fullCheckEvery: Int) -> [String] {
        var failures: [String] = []
        func fail(_ s: String) { if failures.count < 40 { failures.append(s) } }
        for n in 0...0xFFF {
            for (k, kind) in Encode.CSRKind.allCases.enumerated() {
                for nonzero in [false, true] {
                    let source: UInt8 = nonzero
                        ? (kind.isImmediate ? immediates[(n + k) % immediates.count] : 6) : 0
                    ls.setRegister(6, patterns[(n * 7 + k) % patterns.count])
                    ls.setRegister(5, 0xDEAD_BEEF)
                    ls.mode = mode
                    let bits = Encode.csr(kind, rd: 5, csr: UInt16(n), source: source)
                    let pc = 0x8000_0000 + UInt64(n * 12 + k * 2 + (nonzero ? 1 : 0)) * 4
                    let writes = kind == .csrrw || kind == .csrrwi || source != 0
                    let legal = ls.ref.exists(UInt16(n)) && ls.ref.permits(UInt16(n), writes: writes)
                    let mtvecBefore = ls.hart.mtvec
                    let (actual, expected) = ls.step(bits, pc: pc)
                    let what = "\(kind) \(hex(n)) \(nonzero ? "non-zero" : "zero") in \(mode)"
                    if actual != expected { fail("\(what): result \(actual) != reference \(expected)") }
                    if legal {
                        if actual != .resume(pc: pc + 4) { fail("\(what): expected to complete, got \(actual)") }
                    } else {
                        // The faithful illegal-instruction trap into vM-mode.
                        let h = ls.hart
                        if h.mcause != 2 || h.mtval != UInt64(bits) || h.mepc != pc || h.mode != .machine
                            || actual != .resume(pc: exceptionTarget(mtvecBefore))
                            || ls.regs[5] != 0xDEAD_BEEF {
                            fail("\(what): not a faithful illegal-instruction trap: mcause \(h.mcause) mtval \(hex(h.mtval)) mepc \(hex(h.mepc)) mode \(h.mode) result \(actual)")
                        }
                    }
                    let (a, e) = ls.readBoth(UInt16(n))
                    if a != e { fail("\(what): value after \(a.map(hex) ?? "absent") != reference \(e.map(hex) ?? "absent")") }
                    for d in ls.differences([]) { fail("\(what): \(d)") }
                }
            }
            if n % fullCheckEvery == fullCheckEvery - 1 {
                for d in ls.allDifferences() { fail("after \(hex(n)) in \(mode): \(d)") }
            }
        }
        return failures
    }

    /// Sets a CSR on both models through `csrrw` executed in vM-mode.
    static func set(_ ls: inout Lockstep, _ n: UInt16, _ value: UInt64) {
        let saved = ls.mode
        ls.mode = .machine
        ls.setRegister(7, value)
        _ = ls.step(Encode.csrrw(rd: 0, csr: n, rs1: 7), pc: 0x1000)
        ls.mode = saved
    }

    @Test("every CSR x six instructions in virtual M-mode", arguments: TestHarts.all)
    func everyCSRInVirtualMachineMode(configuration: HartConfiguration) {
        var ls = Lockstep(configuration)
        ls.setEnvironment {
            $0.time = 1_000_000
            $0.cycle = 5_000
            $0.instret = 4_000
            $0.passthrough = [0x600: 0x2_0000_0000, 0x644: 1 << 12]
        }
        let failures = Self.walk(&ls, mode: .machine, fullCheckEvery: 128)
        #expect(failures.isEmpty, "\(TestHarts.name(configuration)):\n\(failures.joined(separator: "\n"))")
    }

    @Test("every CSR x six instructions in virtual S- and U-mode, gates closed and open",
          arguments: TestHarts.all, [PrivilegeMode.supervisor, .user])
    func everyCSRBelowMachineMode(configuration: HartConfiguration, mode: PrivilegeMode) {
        for open in [false, true] {
            var ls = Lockstep(configuration)
            ls.setEnvironment { $0.time = 77; $0.cycle = 88; $0.instret = 99 }
            let enables: UInt64 = open ? 0xFFFF_FFFF : 0
            Self.set(&ls, 0x306, enables)  // mcounteren
            Self.set(&ls, 0x106, enables)  // scounteren
            Self.set(&ls, 0x30A, open ? ~0 : 0)  // menvcfg (STCE)
            Self.set(&ls, 0x300, open ? 0 : 1 << 20)  // mstatus.TVM
            let failures = Self.walk(&ls, mode: mode, fullCheckEvery: 512)
            #expect(failures.isEmpty, "\(TestHarts.name(configuration)) gates \(open ? "open" : "closed"):\n\(failures.joined(separator: "\n"))")
        }
    }
}
