import VirtCore

/// A reference model of one RISC-V hart's M/S/U CSR file and trap behaviour,
/// written from the privileged specification (v1.12/1.13 text: "Machine-Level
/// ISA", "Supervisor-Level ISA", "Hypervisor Extension", "Sstc", "Zicsr") and
/// not from the code under test: it shares only plain data types with it
/// (``HartConfiguration`` as the description of the hart, ``PrivilegeMode``,
/// ``ExecutionResult`` as the result vocabulary).
///
/// The state is kept the way the specification describes it (a stored
/// `mstatus` plus derived fields, a software `mip` latch plus device lines,
/// PMP bytes and addresses, counters as "value written plus cycles since"),
/// and every WARL choice is listed here. Where the specification leaves a
/// choice and the project documents its own (``VirtualHart``'s doc comment,
/// `PMPFile`, `TrapVector`), the reference follows the project:
///
/// - `mideleg` is read-only: S-level bits (SSI, STI, SEI, LCOFI with
///   Sscofpmf) one, M-level bits zero; with H also VSSI, VSTI, VSEI and SGEI
///   one (the hypervisor chapter makes the VS bits read-only one).
/// - `mhpmcounter3..31`, `hpmcounter3..31`, `mhpmevent3..31` and
///   `mcountinhibit` exist and are read-only zero; `misa` ignores writes.
/// - `mtvec`/`stvec` writes with MODE 2 or 3 are dropped whole.
/// - `MPP = 2` keeps the old MPP; `menvcfg`/`senvcfg.CBIE = 0b10` (reserved)
///   keeps the old CBIE.
/// - PMP: the reserved R=0 W=1 combination becomes "no access" (R, W, X
///   cleared); bits 6:5 of a cfg byte read zero; no PMP entries means no
///   PMP CSRs (illegal); `pmpaddr` holds 54 bits (PA[55:2]), granularity 4.
/// - `mcounteren`/`scounteren`: all 32 bits writable.
/// - `mcause`/`scause` are WLRL and store what is written; `mtval`,
///   `mtinst`, `mtval2` store what is written.
/// - reset: every register zero except `stimecmp`, which resets to all ones.
/// - `ebreak` writes the pc into `mtval` (the specification allows 0 or pc).
/// - `wfi` in U-mode is always illegal, in S-mode with TW=1 illegal at once
///   (the specification's bounded time limit chosen as zero).
/// - `fflags`/`frm`/`fcsr` are executed by the real hart and only reach the
///   emulator when they are illegal there: modelled as not emulated.
/// - the H extension's registers other than `hie`/`hip` (and the `mip` VS
///   bits) live on the real hart: reads and writes go to the environment
///   unchanged.
///
/// Exceptions raised in S- or U-mode whose `medeleg` bit is set are taken in
/// S-mode as the specification says; the code under test always traps into
/// vM-mode, so ``lastTrapWasDelegated`` lets tests tell the cases apart.
struct ReferenceHart {
    // MARK: Configuration (data only)

    let hartID: UInt64
    let misa: UInt64
    let mvendorid, marchid, mimpid, mconfigptr: UInt64
    let hasS, hasH, hasC, hasFP, hasV: Bool
    let hasSstc, hasSscofpmf, hasSvpbmt, hasZicbom, hasZicboz: Bool
    let pmpEntries: Int
    let satpModes: UInt16
    let asidBits: Int

    init(_ c: HartConfiguration) {
        hartID = c.hartID
        misa = c.misa
        mvendorid = c.mvendorid
        marchid = c.marchid
        mimpid = c.mimpid
        mconfigptr = c.mconfigptr
        func ext(_ letter: Character) -> Bool {
            let index = UInt64(letter.asciiValue! - Character("A").asciiValue!)
            return (c.misa >> index) & 1 == 1
        }
        hasS = ext("S")
        hasH = ext("H")
        hasC = ext("C")
        hasFP = ext("F") || ext("D")
        // VS is writable with V, and optionally without it when S exists.
        hasV = ext("V") || (hasS && c.mstatusVSWritable)
        hasSstc = c.hasSstc
        hasSscofpmf = c.hasSscofpmf
        hasSvpbmt = c.hasSvpbmt
        hasZicbom = c.hasZicbom
        hasZicboz = c.hasZicboz
        pmpEntries = min(max(c.pmpEntries, 0), 64)
        satpModes = c.satpModes
        asidBits = c.asidBits
    }

    // MARK: Architectural state

    var mode: PrivilegeMode = .machine
    /// The stored fields of `mstatus` (UXL, SXL and SD are derived on read).
    var mstatus: UInt64 = 0
    var medeleg: UInt64 = 0
    var mie: UInt64 = 0
    /// Software-writable pending bits: SSIP, STIP (when not from stimecmp), the SEIP latch, LCOFIP.
    var mipLatch: UInt64 = 0
    /// Device lines: MSIP, MTIP, MEIP.
    var mipLines: UInt64 = 0
    var mtvec: UInt64 = 0
    var mscratch: UInt64 = 0
    var mepc: UInt64 = 0
    var mcause: UInt64 = 0
    var mtval: UInt64 = 0
    var mtinst: UInt64 = 0
    var mtval2: UInt64 = 0
    var mcounteren: UInt64 = 0
    var menvcfg: UInt64 = 0
    /// `mcycle` = `cycleWritten` + (real cycles since `cycleAtWrite`).
    var cycleWritten: UInt64 = 0
    var cycleAtWrite: UInt64 = 0
    var instretWritten: UInt64 = 0
    var instretAtWrite: UInt64 = 0
    var pmpcfg: [UInt8] = Array(repeating: 0, count: 64)
    var pmpaddr: [UInt64] = Array(repeating: 0, count: 64)
    var stvec: UInt64 = 0
    var sscratch: UInt64 = 0
    var sepc: UInt64 = 0
    var scause: UInt64 = 0
    var stval: UInt64 = 0
    var satp: UInt64 = 0
    var scounteren: UInt64 = 0
    var senvcfg: UInt64 = 0
    var stimecmp: UInt64 = ~0

    /// True when the last trap went to S-mode through `medeleg`.
    var lastTrapWasDelegated = false

    // MARK: Bit names (privileged specification figures)

    static func bit(_ n: Int) -> UInt64 { 1 << UInt64(n) }

    enum Status {
        static let sie = bit(1), mie = bit(3), spie = bit(5), ube = bit(6), mpie = bit(7), spp = bit(8)
        static let vs: UInt64 = 3 << 9, mpp: UInt64 = 3 << 11, fs: UInt64 = 3 << 13, xs: UInt64 = 3 << 15
        static let mprv = bit(17), sum = bit(18), mxr = bit(19), tvm = bit(20), tw = bit(21), tsr = bit(22)
        static let uxl: UInt64 = 3 << 32, sxl: UInt64 = 3 << 34, sbe = bit(36), mbe = bit(37)
        static let gva = bit(38), mpv = bit(39), sd = bit(63)
    }

    enum Irq {
        static let ssi = 1, vssi = 2, msi = 3, sti = 5, vsti = 6, mti = 7
        static let sei = 9, vsei = 10, mei = 11, sgei = 12, lcofi = 13
    }

    static let hypervisorInterrupts = bit(Irq.vssi) | bit(Irq.vsti) | bit(Irq.vsei) | bit(Irq.sgei)

    // MARK: Derived masks

    /// `mstatus` fields that hold state.
    var mstatusWritable: UInt64 {
        var m = Status.mie | Status.mpie | Status.mpp | Status.mprv
        if hasS { m |= Status.sie | Status.spie | Status.spp | Status.sum | Status.mxr | Status.tvm | Status.tw | Status.tsr }
        if hasFP { m |= Status.fs }
        if hasV { m |= Status.vs }
        if hasH { m |= Status.gva | Status.mpv }
        return m
    }

    /// The fields `sstatus` shows ("Supervisor Status Register").
    static let sstatusVisible = Status.sie | Status.spie | Status.ube | Status.spp | Status.vs | Status.fs
        | Status.xs | Status.sum | Status.mxr | Status.uxl | Status.sd

    var implementedInterrupts: UInt64 {
        var m = Self.bit(Irq.msi) | Self.bit(Irq.mti) | Self.bit(Irq.mei)
        if hasS { m |= Self.bit(Irq.ssi) | Self.bit(Irq.sti) | Self.bit(Irq.sei) }
        if hasSscofpmf { m |= Self.bit(Irq.lcofi) }
        if hasH { m |= Self.hypervisorInterrupts }
        return m
    }

    var mideleg: UInt64 {
        guard hasS else { return 0 }
        var m = Self.bit(Irq.ssi) | Self.bit(Irq.sti) | Self.bit(Irq.sei)
        if hasSscofpmf { m |= Self.bit(Irq.lcofi) }
        if hasH { m |= Self.hypervisorInterrupts }
        return m
    }

    /// The bits `sip`/`sie` show: delegated, S-level (VS bits belong to `hip`/`hie`).
    var supervisorInterrupts: UInt64 { mideleg & implementedInterrupts & ~Self.hypervisorInterrupts }

    var medelegWritable: UInt64 {
        // 0-9, 12, 13, 15 (11 = ecall from M and 16 are read-only zero; 14 reserved).
        var m: UInt64 = 0
        for cause in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 15] { m |= Self.bit(cause) }
        if hasH { for cause in [10, 20, 21, 22, 23] { m |= Self.bit(cause) } }
        return m
    }

    /// `xepc`: bit 0 always zero; bit 1 too when IALIGN = 32 (no C).
    var epcMask: UInt64 { hasC ? ~UInt64(1) : ~UInt64(3) }

    enum Envcfg {
        static let fiom = bit(0), cbie: UInt64 = 3 << 4, cbcfe = bit(6), cbze = bit(7)
        static let pbmte = bit(62), stce = bit(63)
    }

    var senvcfgWritable: UInt64 {
        var m = Envcfg.fiom
        if hasZicbom { m |= Envcfg.cbie | Envcfg.cbcfe }
        if hasZicboz { m |= Envcfg.cbze }
        return m
    }

    var menvcfgWritable: UInt64 {
        var m = senvcfgWritable
        if hasSvpbmt { m |= Envcfg.pbmte }
        if hasSstc { m |= Envcfg.stce }
        return m
    }

    /// Sstc with `menvcfg.STCE = 1`: STIP follows `time >= stimecmp` and is read-only.
    var stimecmpDrivesSTIP: Bool { hasSstc && menvcfg & Envcfg.stce != 0 }

    /// H-extension CSRs held by the real hart (hypervisor CSR listing).
    static let hypervisorHeld: Set<UInt16> = [
        0x600, 0x602, 0x603, 0x605, 0x606, 0x607, 0x60A, 0x643, 0x645, 0x64A, 0x680, 0xE12,
        0x200, 0x204, 0x205, 0x240, 0x241, 0x242, 0x243, 0x244, 0x280,
    ]
    static let vstimecmp: UInt16 = 0x24D

    // MARK: Register views

    var mstatusValue: UInt64 {
        var v = mstatus
        if hasS { v |= 2 << 34 }  // SXL = 2
        v |= 2 << 32  // UXL = 2
        let fs = (v >> 13) & 3, vs = (v >> 9) & 3, xs = (v >> 15) & 3
        if fs == 3 || vs == 3 || xs == 3 { v |= Status.sd }
        return v
    }

    func mip(_ env: inout FakeEnvironment) -> UInt64 {
        var v = mipLatch | mipLines
        if stimecmpDrivesSTIP {
            v &= ~Self.bit(Irq.sti)
            if env.readTime() >= stimecmp { v |= Self.bit(Irq.sti) }
        }
        if env.supervisorExternalInterruptLine() { v |= Self.bit(Irq.sei) }
        if hasH {
            v &= ~Self.hypervisorInterrupts
            v |= env.readPassthroughCSR(CSR(0x644)) & Self.hypervisorInterrupts
        }
        return v & implementedInterrupts
    }

    func pmpcfgRegister(_ r: Int) -> UInt64 {
        var v: UInt64 = 0
        for byte in 0..<8 where r * 4 + byte < pmpEntries {
            v |= UInt64(pmpcfg[r * 4 + byte]) << UInt64(8 * byte)
        }
        return v
    }

    // MARK: CSR existence and privilege ("CSR Address Mapping Conventions")

    /// Reads CSR `n` as M-mode would; `nil` when this hart does not have it.
    func read(_ n: UInt16, _ env: inout FakeEnvironment) -> UInt64? {
        switch n {
        case 0xF11: return mvendorid
        case 0xF12: return marchid
        case 0xF13: return mimpid
        case 0xF14: return hartID
        case 0xF15: return mconfigptr
        case 0x300: return mstatusValue
        case 0x301: return misa
        case 0x302: return hasS ? medeleg : nil
        case 0x303: return hasS ? mideleg : nil
        case 0x304: return mie
        case 0x305: return mtvec
        case 0x306: return mcounteren
        case 0x30A: return menvcfg
        case 0x320: return 0
        case 0x323...0x33F: return 0
        case 0x340: return mscratch
        case 0x341: return mepc
        case 0x342: return mcause
        case 0x343: return mtval
        case 0x344: return mip(&env)
        case 0x34A: return hasH ? mtinst : nil
        case 0x34B: return hasH ? mtval2 : nil
        case 0x3A0...0x3AF:
            let r = Int(n - 0x3A0)
            guard pmpEntries > 0, r % 2 == 0 else { return nil }  // odd pmpcfg illegal on RV64
            return pmpcfgRegister(r)
        case 0x3B0...0x3EF:
            guard pmpEntries > 0 else { return nil }
            let i = Int(n - 0x3B0)
            return i < pmpEntries ? pmpaddr[i] : 0
        case 0xB00, 0xC00: return cycleWritten &+ (env.readCycle() &- cycleAtWrite)
        case 0xB02, 0xC02: return instretWritten &+ (env.readInstret() &- instretAtWrite)
        case 0xC01: return env.readTime()
        case 0xB03...0xB1F, 0xC03...0xC1F: return 0
        default: break
        }
        guard hasS else { return nil }
        switch n {
        case 0x100: return mstatusValue & Self.sstatusVisible
        case 0x104: return mie & supervisorInterrupts
        case 0x105: return stvec
        case 0x106: return scounteren
        case 0x10A: return senvcfg
        case 0x140: return sscratch
        case 0x141: return sepc
        case 0x142: return scause
        case 0x143: return stval
        case 0x144: return mip(&env) & supervisorInterrupts
        case 0x14D: return hasSstc ? stimecmp : nil
        case 0x180: return satp
        default: break
        }
        guard hasH else { return nil }
        switch n {
        case 0x604: return mie & Self.hypervisorInterrupts
        case 0x644: return mip(&env) & Self.hypervisorInterrupts
        case Self.vstimecmp: return hasSstc ? env.readPassthroughCSR(CSR(n)) : nil
        default:
            return Self.hypervisorHeld.contains(n) ? env.readPassthroughCSR(CSR(n)) : nil
        }
    }

    func exists(_ n: UInt16) -> Bool {
        var scratch = FakeEnvironment()
        return read(n, &scratch) != nil
    }

    /// Whether the current mode may access CSR `n` at all (existence aside).
    func permits(_ n: UInt16, writes: Bool) -> Bool {
        // Bits 11:10 = 11: read-only; a write attempt is illegal.
        if writes && (n >> 10) & 3 == 3 { return false }
        // Bits 9:8: lowest privilege (0 U, 1 S, 2 HS, 3 M).
        let level = (n >> 8) & 3
        let current: UInt16 = mode == .machine ? 3 : (mode == .supervisor ? 1 : 0)
        let needed: UInt16 = level == 2 ? 1 : level
        if current < needed { return false }
        if mode == .machine { return true }
        // Gates below M.
        if (0xC00...0xC1F).contains(n) {
            let bit = Self.bit(Int(n - 0xC00))
            if mcounteren & bit == 0 { return false }
            if mode == .user && scounteren & bit == 0 { return false }
        }
        if n == 0x14D {
            // Sstc: STCE and mcounteren.TM gate S-mode access.
            if menvcfg & Envcfg.stce == 0 || mcounteren & Self.bit(1) == 0 { return false }
        }
        if (n == 0x180 || n == 0x680) && mode == .supervisor && mstatus & Status.tvm != 0 {
            return false  // satp, and hgatp from HS-mode, trap under TVM
        }
        return true
    }

    // MARK: Zicsr

    /// Executes the CSR part of a Zicsr instruction; `nil` = illegal instruction.
    mutating func csr(_ n: UInt16, kind: Encode.CSRKind, source: UInt8, registerValue: UInt64,
                      _ env: inout FakeEnvironment) -> UInt64? {
        let operand = kind.isImmediate ? UInt64(source) : registerValue
        // csrrw/csrrwi always write; the others only with a non-zero rs1/uimm field.
        let writes = kind == .csrrw || kind == .csrrwi || source != 0
        guard permits(n, writes: writes), let old = read(n, &env) else { return nil }
        if writes {
            var base = old
            if n == 0x344 || n == 0x144 {
                // Only the software SEIP bit takes part in a read-modify-write.
                let sei = Self.bit(Irq.sei)
                base = (base & ~sei) | (mipLatch & sei)
            }
            let new: UInt64
            switch kind {
            case .csrrw, .csrrwi: new = operand
            case .csrrs, .csrrsi: new = base | operand
            case .csrrc, .csrrci: new = base & ~operand
            }
            write(n, new, &env)
        }
        return old
    }

    static func merge(_ old: UInt64, _ new: UInt64, _ mask: UInt64) -> UInt64 {
        (old & ~mask) | (new & mask)
    }

    mutating func writeStatus(_ value: UInt64, mask: UInt64) {
        var new = Self.merge(mstatus, value, mask)
        if (new >> 11) & 3 == 2 { new = (new & ~Status.mpp) | (mstatus & Status.mpp) }
        mstatus = new
    }

    mutating func writeEnvcfg(_ old: UInt64, _ value: UInt64, mask: UInt64) -> UInt64 {
        var new = Self.merge(old, value, mask)
        if (new & Envcfg.cbie) >> 4 == 0b10 { new = (new & ~Envcfg.cbie) | (old & Envcfg.cbie) }
        return new
    }

    mutating func writePending(_ value: UInt64, mask: UInt64, _ env: inout FakeEnvironment) {
        var m = mask
        if stimecmpDrivesSTIP { m &= ~Self.bit(Irq.sti) }
        let vssi = Self.bit(Irq.vssi)
        if hasH && m & vssi != 0 {
            let hvip = env.readPassthroughCSR(CSR(0x645))
            env.writePassthroughCSR(CSR(0x645), Self.merge(hvip, value, vssi))
            m &= ~vssi
        }
        mipLatch = Self.merge(mipLatch, value, m)
    }

    static func legalTrapVector(old: UInt64, new: UInt64) -> UInt64 {
        new & 3 >= 2 ? old : new
    }

    mutating func write(_ n: UInt16, _ value: UInt64, _ env: inout FakeEnvironment) {
        switch n {
        case 0x300: writeStatus(value, mask: mstatusWritable)
        case 0x100: writeStatus(value, mask: mstatusWritable & Self.sstatusVisible)
        case 0x302: medeleg = value & medelegWritable
        case 0x304: mie = Self.merge(mie, value, implementedInterrupts)
        case 0x104: mie = Self.merge(mie, value, supervisorInterrupts)
        case 0x604: mie = Self.merge(mie, value, Self.hypervisorInterrupts & implementedInterrupts)
        case 0x344:
            var m = Self.bit(Irq.ssi) | Self.bit(Irq.sti) | Self.bit(Irq.sei)
            if hasSscofpmf { m |= Self.bit(Irq.lcofi) }
            if hasH { m |= Self.bit(Irq.vssi) }
            writePending(value, mask: m & implementedInterrupts, &env)
        case 0x144:
            writePending(value, mask: supervisorInterrupts & (Self.bit(Irq.ssi) | Self.bit(Irq.lcofi)), &env)
        case 0x644:
            writePending(value, mask: Self.bit(Irq.vssi), &env)
        case 0x305: mtvec = Self.legalTrapVector(old: mtvec, new: value)
        case 0x105: stvec = Self.legalTrapVector(old: stvec, new: value)
        case 0x306: mcounteren = value & 0xFFFF_FFFF
        case 0x106: scounteren = value & 0xFFFF_FFFF
        case 0x30A: menvcfg = writeEnvcfg(menvcfg, value, mask: menvcfgWritable)
        case 0x10A: senvcfg = writeEnvcfg(senvcfg, value, mask: senvcfgWritable)
        case 0x340: mscratch = value
        case 0x140: sscratch = value
        case 0x341: mepc = value & epcMask
        case 0x141: sepc = value & epcMask
        case 0x342: mcause = value
        case 0x142: scause = value
        case 0x343: mtval = value
        case 0x143: stval = value
        case 0x34A: mtinst = value
        case 0x34B: mtval2 = value
        case 0x180:
            // Unsupported MODE: the whole write has no effect.
            let m = value >> 60
            guard m == 0 || (satpModes >> UInt16(m)) & 1 == 1 else { return }
            let asidField: UInt64 = 0xFFFF << 44
            let asidKept: UInt64 = ((1 << UInt64(asidBits)) - 1) << 44
            satp = (value & ~asidField) | (value & asidKept)
        case 0x14D: stimecmp = value
        case 0xB00:
            cycleWritten = value
            cycleAtWrite = env.readCycle()
        case 0xB02:
            instretWritten = value
            instretAtWrite = env.readInstret()
        case 0x3A0...0x3AF:
            let r = Int(n - 0x3A0)
            for byte in 0..<8 {
                let i = r * 4 + byte
                guard i < pmpEntries, pmpcfg[i] & 0x80 == 0 else { continue }
                var cfg = UInt8(truncatingIfNeeded: value >> UInt64(8 * byte)) & 0b1001_1111
                if cfg & 0b11 == 0b10 { cfg &= ~0b111 }  // R=0 W=1 reserved: no access
                pmpcfg[i] = cfg
            }
        case 0x3B0...0x3EF:
            let i = Int(n - 0x3B0)
            guard i < pmpEntries, pmpcfg[i] & 0x80 == 0 else { return }
            if i + 1 < pmpEntries, pmpcfg[i + 1] & 0x80 != 0, (pmpcfg[i + 1] >> 3) & 3 == 1 { return }
            pmpaddr[i] = value & ((1 << 54) - 1)
        default:
            if hasH && (Self.hypervisorHeld.contains(n) || n == Self.vstimecmp) {
                env.writePassthroughCSR(CSR(n), value)
            }
            // Everything else that exists here is read-only or read-only zero.
        }
    }

    // MARK: Traps ("Machine Trap Handling", "Supervisor Trap Handling")

    /// Takes a trap; `cause` is the `xcause` value (bit 63 for interrupts).
    /// Returns the new pc.
    mutating func trap(cause: UInt64, value: UInt64, pc: UInt64) -> UInt64 {
        let isInterrupt = cause >> 63 == 1
        let code = cause & ~(1 << 63)
        let delegated = hasS && mode != .machine
            && (isInterrupt ? mideleg : medeleg) & Self.bit(Int(code)) != 0
        lastTrapWasDelegated = delegated
        if delegated {
            scause = cause
            sepc = pc & epcMask
            stval = value
            let sie = mstatus & Status.sie != 0
            mstatus = (mstatus & ~Status.spie) | (sie ? Status.spie : 0)
            mstatus &= ~Status.sie
            mstatus = (mstatus & ~Status.spp) | (mode == .supervisor ? Status.spp : 0)
            mode = .supervisor
            return vectorTarget(stvec, isInterrupt: isInterrupt, code: code)
        }
        mcause = cause
        mepc = pc & epcMask
        mtval = value
        if hasH {
            mstatus &= ~(Status.mpv | Status.gva)
            mtval2 = 0
            mtinst = 0
        }
        let mie = mstatus & Status.mie != 0
        mstatus = (mstatus & ~Status.mpie) | (mie ? Status.mpie : 0)
        mstatus &= ~Status.mie
        mstatus = (mstatus & ~Status.mpp) | (UInt64(mode.rawValue) << 11)
        mode = .machine
        return vectorTarget(mtvec, isInterrupt: isInterrupt, code: code)
    }

    func vectorTarget(_ tvec: UInt64, isInterrupt: Bool, code: UInt64) -> UInt64 {
        let base = tvec & ~3
        return (tvec & 3 == 1 && isInterrupt) ? base &+ 4 &* code : base
    }

    /// `mret`: MIE <- MPIE, MPIE <- 1, mode <- MPP, MPP <- U, MPRV <- 0 if MPP != M.
    mutating func mret() -> UInt64 {
        let mpp = (mstatus >> 11) & 3
        let target: PrivilegeMode = mpp == 3 ? .machine : (mpp == 1 ? .supervisor : .user)
        let mpie = mstatus & Status.mpie != 0
        mstatus = (mstatus & ~Status.mie) | (mpie ? Status.mie : 0)
        mstatus |= Status.mpie
        mstatus &= ~Status.mpp
        if target != .machine { mstatus &= ~Status.mprv }
        if hasH { mstatus &= ~Status.mpv }
        mode = target
        return mepc
    }

    /// `sret`: SIE <- SPIE, SPIE <- 1, mode <- SPP, SPP <- U, MPRV <- 0.
    /// With H, executed with V = 0 (Hypervisor chapter, "Trap Return": "SRET
    /// then sets hstatus.SPV=0, and in sstatus sets SPP=0, SIE=SPIE, and
    /// SPIE=1"); `hstatus` is held by the real hart.
    mutating func sret<E: HartEnvironment>(_ env: inout E) -> UInt64 {
        if hasH {
            // Only a set SPV changes hstatus (the harness records writes).
            let hstatus = env.readPassthroughCSR(CSR(0x600))
            if hstatus & (1 << 7) != 0 { env.writePassthroughCSR(CSR(0x600), hstatus & ~(1 << 7)) }
        }
        let target: PrivilegeMode = mstatus & Status.spp != 0 ? .supervisor : .user
        let spie = mstatus & Status.spie != 0
        mstatus = (mstatus & ~Status.sie) | (spie ? Status.sie : 0)
        mstatus |= Status.spie
        mstatus &= ~Status.spp
        mstatus &= ~Status.mprv
        mode = target
        return sepc
    }

    /// The interrupt M-mode takes now: `(mode < M or MIE) and mip[i] and
    /// mie[i] and not mideleg[i]`, in the order MEI, MSI, MTI, SEI, SSI, STI, LCOFI.
    func pendingMachineInterrupt(_ env: inout FakeEnvironment) -> UInt64? {
        guard mode != .machine || mstatus & Status.mie != 0 else { return nil }
        let ready = mip(&env) & mie & ~mideleg
        for i in [Irq.mei, Irq.msi, Irq.mti, Irq.sei, Irq.ssi, Irq.sti, Irq.lcofi] where ready & Self.bit(i) != 0 {
            return UInt64(i)
        }
        return nil
    }

    // MARK: Instruction execution

    /// Executes one trapped instruction the way the specification defines it.
    mutating func execute(_ bits: UInt32, pc: UInt64, registers: inout TestRegisters,
                          _ env: inout FakeEnvironment) -> ExecutionResult {
        let (decoded, length) = ReferenceDecoder.decode(bits)
        let next = pc &+ length
        let instructionBits = length == 2 ? UInt64(bits & 0xFFFF) : UInt64(bits)
        func reg(_ r: UInt8) -> UInt64 { r == 0 ? 0 : registers.values[Int(r)] }
        func illegal() -> ExecutionResult { .resume(pc: trap(cause: 2, value: instructionBits, pc: pc)) }

        switch decoded {
        case .csr(let kind, let rd, let source, let n):
            guard let old = csr(n, kind: kind, source: source, registerValue: reg(source), &env) else {
                return illegal()
            }
            if rd != 0 { registers.values[Int(rd)] = old }
            return .resume(pc: next)
        case .mret:
            guard mode == .machine else { return illegal() }
            return .resume(pc: mret())
        case .sret:
            guard hasS else { return illegal() }
            guard mode == .machine || (mode == .supervisor && mstatus & Status.tsr == 0) else { return illegal() }
            return .resume(pc: sret(&env))
        case .wfi:
            guard mode == .machine || (mode == .supervisor && mstatus & Status.tw == 0) else { return illegal() }
            return mip(&env) & mie != 0 ? .resume(pc: next) : .waitForInterrupt(pc: next)
        case .sfenceVMA(let rs1, let rs2):
            guard hasS, mode == .machine || (mode == .supervisor && mstatus & Status.tvm == 0) else { return illegal() }
            return .fence(.sfenceVMA(address: rs1 == 0 ? nil : reg(rs1), asid: rs2 == 0 ? nil : reg(rs2)), pc: next)
        case .hfenceVVMA(let rs1, let rs2):
            guard hasH, mode != .user else { return illegal() }
            return .fence(.hfenceVVMA(address: rs1 == 0 ? nil : reg(rs1), asid: rs2 == 0 ? nil : reg(rs2)), pc: next)
        case .hfenceGVMA(let rs1, let rs2):
            guard hasH, mode == .machine || (mode == .supervisor && mstatus & Status.tvm == 0) else { return illegal() }
            return .fence(.hfenceGVMA(address: rs1 == 0 ? nil : reg(rs1), vmid: rs2 == 0 ? nil : reg(rs2)), pc: next)
        case .ecall:
            let cause: UInt64 = mode == .machine ? 11 : (mode == .supervisor ? 9 : 8)
            return .resume(pc: trap(cause: cause, value: 0, pc: pc))
        case .ebreak:
            return .resume(pc: trap(cause: 3, value: pc, pc: pc))
        case .load(let width, let signed, let rd, let rs1, let offset):
            return .memoryAccess(MemoryAccess(width: width, signExtends: signed, register: rd, base: rs1, offset: offset),
                                 isStore: false, pc: next)
        case .store(let width, let rs2, let rs1, let offset):
            return .memoryAccess(MemoryAccess(width: width, signExtends: false, register: rs2, base: rs1, offset: offset),
                                 isStore: true, pc: next)
        case .atomic:
            // Not a privileged instruction: it reaches the emulator only as
            // an illegal-instruction trap the hart raised, reported as such.
            return illegal()
        case .other:
            return illegal()
        }
    }
}
