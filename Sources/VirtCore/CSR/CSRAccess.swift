/// The three read-modify-write operations of the Zicsr extension.
public enum CSROperation: UInt8, Sendable, CaseIterable {
    /// `csrrw`/`csrrwi`: write the operand.
    case readWrite
    /// `csrrs`/`csrrsi`: set the operand's bits.
    case readSet
    /// `csrrc`/`csrrci`: clear the operand's bits.
    case readClear

    /// The value the CSR is written with.
    @inlinable
    public func apply(old: UInt64, operand: UInt64) -> UInt64 {
        switch self {
        case .readWrite: return operand
        case .readSet: return old | operand
        case .readClear: return old & ~operand
        }
    }
}

extension VirtualHart {
    /// Performs one CSR instruction in the current virtual mode.
    ///
    /// `writes` is the Zicsr rule already applied: `csrrw` always writes,
    /// `csrrs`/`csrrc` only when `rs1` is not `x0`, the immediate forms only
    /// when `uimm` is not zero. Returns the old value for `rd`, or `nil` when
    /// the access must raise an illegal-instruction exception: the CSR does not
    /// exist on this hart, the current mode is not privileged enough, or a
    /// write targets a read-only CSR (privileged specification, "CSR Address
    /// Mapping Conventions").
    public mutating func accessCSR<E: HartEnvironment>(
        _ csr: CSR, operation: CSROperation, operand: UInt64, writes: Bool,
        environment env: inout E
    ) -> UInt64? {
        guard isAccessible(csr, writes: writes),
              let old = readInPlace(csr, environment: &env) else { return nil }
        // QEMU 7.2 claims through mtopei only when the write mask is
        // nonzero: `csrrs`/`csrrc` of a zero register read without claiming
        // (the AIA specification counts any rs1 other than x0 as a write).
        if writes && !(csr == .mtopei && operation != .readWrite && operand == 0) {
            let base = csr == .mip || csr == .sip ? readForModify(csr, environment: &env) : old
            write(csr, operation.apply(old: base, operand: operand), environment: &env)
        }
        return old
    }

    /// The privilege rules that do not depend on the CSR's value.
    @inline(__always)
    mutating func isAccessible(_ csr: CSR, writes: Bool) -> Bool {
        if writes && csr.isReadOnly { return false }
        if mode < csr.minimumPrivilege { return false }
        if mode == .machine { return true }
        // Below M: the extra gates of individual CSRs.
        switch csr.rawValue {
        case CSR.satp.rawValue, 0x680:
            // satp, and hgatp (0x680) from HS-mode: illegal while mstatus.TVM = 1.
            return !(mode == .supervisor && mstatus.contains(.tvm))
        case CSR.stimecmp.rawValue:
            return menvcfg & EnvironmentConfiguration.stce != 0 && mcounteren & 2 != 0
        case CSR.cycle.rawValue...CSR.hpmcounter31.rawValue:
            let bit: UInt64 = 1 << UInt64(csr.rawValue - CSR.cycle.rawValue)
            if mcounteren & bit == 0 { return false }
            return mode == .supervisor || scounteren & bit != 0
        default:
            return true
        }
    }

    /// `mip`/`sip` in a read-modify-write use the SEIP latch alone, not the
    /// external line ("Machine Interrupt Registers": "the software-writable
    /// SEIP bit").
    mutating func readForModify<E: HartEnvironment>(_ csr: CSR, environment env: inout E) -> UInt64 {
        var bits = currentMIP(environment: &env)
        if !mipSoftware.contains(.seip) { bits.remove(.seip) }
        if csr == .sip { bits.formIntersection(supervisorInterruptView) }
        return bits.rawValue
    }

    /// The interrupts `sip`/`sie` show: the delegated S-level ones (the H
    /// extension's VS bits are read-only zero there).
    @inlinable var supervisorInterruptView: InterruptBits {
        mideleg.intersection(masks.implementedInterrupts).subtracting(.hypervisorLevel)
    }

    /// Reads a CSR, or returns `nil` when this hart does not implement it.
    public func read<E: HartEnvironment>(_ csr: CSR, environment env: inout E) -> UInt64? {
        var copy = self
        return copy.readInPlace(csr, environment: &env)
    }

    /// ``read(_:environment:)`` on the hart in place: a non-mutating method
    /// would pass the whole (large, loadable) hart by value, a copy of about
    /// a kilobyte on every emulated CSR access.
    mutating func readInPlace<E: HartEnvironment>(_ csr: CSR, environment env: inout E) -> UInt64? {
        let c = configuration
        let n = csr.rawValue
        switch n {
        // Machine information, read-only.
        case CSR.mvendorid.rawValue: return c.mvendorid
        case CSR.marchid.rawValue: return c.marchid
        case CSR.mimpid.rawValue: return c.mimpid
        case CSR.mhartid.rawValue: return c.hartID
        case CSR.mconfigptr.rawValue: return c.mconfigptr

        // Machine trap setup and handling.
        case CSR.mstatus.rawValue: return mstatusValue
        case CSR.misa.rawValue: return c.misa
        case CSR.medeleg.rawValue: return medeleg
        case CSR.mideleg.rawValue: return mideleg.rawValue
        case CSR.mie.rawValue: return mie.rawValue
        case CSR.mip.rawValue: return currentMIP(environment: &env).rawValue
        case CSR.mtvec.rawValue: return mtvec
        case CSR.mcounteren.rawValue: return mcounteren
        case CSR.menvcfg.rawValue: return menvcfg
        case CSR.mcountinhibit.rawValue: return 0
        case CSR.mhpmevent3.rawValue...CSR.mhpmevent31.rawValue: return 0
        case CSR.mscratch.rawValue: return mscratch
        case CSR.mepc.rawValue: return mepc & masks.epcWritable
        case CSR.mcause.rawValue: return mcause
        case CSR.mtval.rawValue: return mtval
        case CSR.mtinst.rawValue, CSR.mtval2.rawValue:
            guard c.hasHypervisor else { return nil }
            return n == CSR.mtinst.rawValue ? mtinst : mtval2

        // Memory protection: even pmpcfg registers only on RV64.
        case CSR.pmpcfg0.rawValue...CSR.pmpcfg15.rawValue:
            guard pmp.entries > 0, n & 1 == 0 else { return nil }
            return pmp.readConfiguration(register: Int(n - CSR.pmpcfg0.rawValue))
        case CSR.pmpaddr0.rawValue...CSR.pmpaddr63.rawValue:
            guard pmp.entries > 0 else { return nil }
            return pmp.readAddress(Int(n - CSR.pmpaddr0.rawValue))

        // Debug triggers (Sdtrig), when the real hart has them.
        case CSR.tselect.rawValue...0x7AF:
            return triggers.read(csr)

        // Advanced Interrupt Architecture, machine level (Smaia).
        case CSR.miselect.rawValue:
            guard c.smaia.isImplemented else { return nil }
            return aia.miselect
        case CSR.mireg.rawValue:
            guard c.smaia.isImplemented else { return nil }
            return readIndirect()
        case CSR.mtopei.rawValue:
            guard c.smaia.isImplemented, c.smaia.imsicIdentities > 0 else { return nil }
            return aia.imsic.topei()
        case CSR.mtopi.rawValue:
            guard c.smaia.isImplemented else { return nil }
            return machineTopInterrupt(environment: &env)
        case CSR.mvien.rawValue, CSR.mvip.rawValue:
            // QEMU 7.2 implements both as read-only zero (no virtual
            // supervisor-level interrupts from M-mode). Documented
            // difference: the specification's minimal mvip aliases mip's
            // SSIP, STIP and SEIP; the firmware sees the hart it runs on.
            guard c.smaia.isImplemented else { return nil }
            return 0

        // Counters.
        case CSR.mcycle.rawValue, CSR.cycle.rawValue: return env.readCycle() &+ cycleOffset
        case CSR.minstret.rawValue, CSR.instret.rawValue: return env.readInstret() &+ instretOffset
        case CSR.time.rawValue: return env.readTime()
        case CSR.mhpmcounter3.rawValue...CSR.mhpmcounter31.rawValue: return 0
        case CSR.hpmcounter3.rawValue...CSR.hpmcounter31.rawValue: return 0

        // Supervisor.
        case CSR.sstatus.rawValue: return mstatusValue & masks.sstatusReadable
        case CSR.sie.rawValue: return mie.intersection(supervisorInterruptView).rawValue
        case CSR.sip.rawValue: return currentMIP(environment: &env).intersection(supervisorInterruptView).rawValue
        case CSR.stvec.rawValue: return stvec
        case CSR.scounteren.rawValue: return scounteren
        case CSR.senvcfg.rawValue: return senvcfg
        case CSR.sscratch.rawValue: return sscratch
        case CSR.sepc.rawValue: return sepc & masks.epcWritable
        case CSR.scause.rawValue: return scause
        case CSR.stval.rawValue: return stval
        case CSR.satp.rawValue: return satp
        case CSR.stimecmp.rawValue:
            guard c.hasSstc else { return nil }
            return stimecmp

        // Hypervisor extension.
        case CSR.hie.rawValue:
            guard c.hasHypervisor else { return nil }
            return mie.intersection(.hypervisorLevel).rawValue
        case CSR.hip.rawValue:
            guard c.hasHypervisor else { return nil }
            return currentMIP(environment: &env).intersection(.hypervisorLevel).rawValue
        default:
            if VirtualHart.isAIAPassthrough(n) {
                guard c.smaia.isImplemented, n & 0x200 == 0 || c.hasHypervisor else { return nil }
                return env.readGuardedCSR(csr)
            }
            guard c.hasHypervisor, VirtualHart.isHypervisorPassthrough(n) else { return nil }
            if n == 0x24D && !c.hasSstc { return nil }
            return env.readPassthroughCSR(csr)
        }
    }

    /// The S- and VS-level AIA CSRs and the hypervisor's AIA CSRs (Ssaia):
    /// they hold only the payload's state (its `siselect`, its S-level and
    /// guest IMSIC files), so the firmware's accesses go to the real hart,
    /// through a guarded access: whether `sireg` or `stopei` trap depends on
    /// the real state (the selected register, `hstatus.VGEIN`), and a trap
    /// there is the firmware's illegal instruction.
    @inlinable
    static func isAIAPassthrough(_ n: UInt16) -> Bool {
        switch n {
        case 0x150, 0x151, 0x15C, 0xDB0, 0x608, 0x609, 0x646, 0x647, 0x250, 0x251, 0x25C, 0xEB0:
            return true
        default:
            return false
        }
    }

    /// The H extension's CSRs that hold only the payload's state (hypervisor
    /// and VS-level registers): the firmware's accesses go to the real hart.
    @inlinable
    static func isHypervisorPassthrough(_ n: UInt16) -> Bool {
        switch n {
        case 0x600, 0x602, 0x603, 0x605, 0x606, 0x607, 0x60A, 0x643, 0x645, 0x64A, 0x680, 0xE12,
             0x200, 0x204, 0x205, 0x240, 0x241, 0x242, 0x243, 0x244, 0x24D, 0x280:
            return true
        default:
            return false
        }
    }

    /// Writes a CSR that ``read(_:environment:)`` found, applying its mask and
    /// WARL legalisation. Writes to read-only-zero registers are dropped.
    public mutating func write<E: HartEnvironment>(_ csr: CSR, _ value: UInt64, environment env: inout E) {
        let m = masks
        switch csr.rawValue {
        case CSR.mstatus.rawValue:
            writeMStatus(value, writable: m.mstatusWritable)
        case CSR.sstatus.rawValue:
            writeMStatus(value, writable: m.sstatusWritable)
        case CSR.medeleg.rawValue:
            medeleg = merge(medeleg, value, m.medelegWritable)
        case CSR.mie.rawValue:
            mie = InterruptBits(rawValue: merge(mie.rawValue, value, m.implementedInterrupts.rawValue))
        case CSR.sie.rawValue:
            mie = InterruptBits(rawValue: merge(mie.rawValue, value, supervisorInterruptView.rawValue))
        case CSR.hie.rawValue:
            // hie's bits are aliases of mie's VSSIE, VSTIE, VSEIE and SGEIE: the same bits are writable.
            let writable = InterruptBits.hypervisorLevel.intersection(m.implementedInterrupts)
            mie = InterruptBits(rawValue: merge(mie.rawValue, value, writable.rawValue))
        case CSR.mip.rawValue:
            writePending(value, writable: m.mipWritable, environment: &env)
        case CSR.sip.rawValue:
            writePending(value, writable: supervisorInterruptView.intersection([.ssip, .lcofip]), environment: &env)
        case CSR.hip.rawValue:
            writePending(value, writable: m.mipWritable.intersection(.vssip), environment: &env)
        case CSR.mtvec.rawValue:
            mtvec = TrapVector.legalize(old: mtvec, new: value)
        case CSR.stvec.rawValue:
            stvec = TrapVector.legalize(old: stvec, new: value)
        case CSR.mcounteren.rawValue:
            mcounteren = value & m.counterEnableWritable
        case CSR.scounteren.rawValue:
            scounteren = value & m.counterEnableWritable
        case CSR.menvcfg.rawValue:
            menvcfg = EnvironmentConfiguration.legalize(old: menvcfg, new: value & m.menvcfgWritable)
        case CSR.senvcfg.rawValue:
            senvcfg = EnvironmentConfiguration.legalize(old: senvcfg, new: value & m.senvcfgWritable)
        case CSR.mscratch.rawValue: mscratch = value
        case CSR.sscratch.rawValue: sscratch = value
        case CSR.mepc.rawValue: mepc = value & m.epcWritable
        case CSR.sepc.rawValue: sepc = value & m.epcWritable
        case CSR.mcause.rawValue: mcause = value
        case CSR.scause.rawValue: scause = value
        case CSR.mtval.rawValue: mtval = value
        case CSR.stval.rawValue: stval = value
        case CSR.mtinst.rawValue: mtinst = value
        case CSR.mtval2.rawValue: mtval2 = value
        case CSR.satp.rawValue:
            satp = AddressTranslation.legalize(old: satp, new: value,
                                               modes: configuration.satpModes, asidBits: configuration.asidBits)
        case CSR.stimecmp.rawValue: stimecmp = value
        case CSR.mcycle.rawValue: cycleOffset = value &- env.readCycle()
        case CSR.minstret.rawValue: instretOffset = value &- env.readInstret()
        case CSR.pmpcfg0.rawValue...CSR.pmpcfg15.rawValue:
            pmp.writeConfiguration(register: Int(csr.rawValue - CSR.pmpcfg0.rawValue), value)
        case CSR.pmpaddr0.rawValue...CSR.pmpaddr63.rawValue:
            pmp.writeAddress(Int(csr.rawValue - CSR.pmpaddr0.rawValue), value)
        case CSR.tselect.rawValue...0x7AF:
            triggers.write(csr, value)
        case CSR.miselect.rawValue:
            aia.miselect = value & configuration.smaia.miselectWritable
        case CSR.mireg.rawValue:
            writeIndirect(value)
        case CSR.mtopei.rawValue:
            // Any write claims the top identity; the value is ignored.
            aia.imsic.claim()
            refreshIMSICLine()
        case CSR.misa.rawValue, CSR.mideleg.rawValue, CSR.mcountinhibit.rawValue, CSR.mvien.rawValue, CSR.mvip.rawValue,
             CSR.mhpmevent3.rawValue...CSR.mhpmevent31.rawValue,
             CSR.mhpmcounter3.rawValue...CSR.mhpmcounter31.rawValue:
            // WARL registers this hart implements as read-only: writes are ignored.
            break
        default:
            if VirtualHart.isAIAPassthrough(csr.rawValue) {
                env.writeGuardedCSR(csr, value)
            } else if VirtualHart.isHypervisorPassthrough(csr.rawValue) {
                env.writePassthroughCSR(csr, value)
            }
        }
    }

    /// `mstatus`/`sstatus` write: the masked merge, then `MPP` legalised
    /// (WARL over U, S, M: the reserved value 2 keeps the old `MPP`).
    mutating func writeMStatus(_ value: UInt64, writable: UInt64) {
        var new = MStatus(rawValue: merge(mstatus.rawValue, value, writable))
        if (new.rawValue >> 11) & 3 == 2 { new.mpp = mstatus.mpp }
        mstatus = MStatus(rawValue: new.rawValue & ~(MStatus.sd.rawValue | MStatus.xlen64))
    }

    /// `mip`/`sip`/`hip` write of the writable software bits. STIP is
    /// read-only while `stimecmp` drives it; VSSIP is stored in the real
    /// `hvip`, its alias.
    mutating func writePending<E: HartEnvironment>(_ value: UInt64, writable: InterruptBits, environment env: inout E) {
        var w = writable
        if stimecmpDrivesSTIP { w.remove(.stip) }
        if w.contains(.vssip) {
            let hvip = env.readPassthroughCSR(.hvip)
            env.writePassthroughCSR(.hvip, (hvip & ~InterruptBits.vssip.rawValue) | (value & InterruptBits.vssip.rawValue))
            w.remove(.vssip)
        }
        mipSoftware = InterruptBits(rawValue: merge(mipSoftware.rawValue, value, w.rawValue))
    }
}

/// `(old & ~mask) | (new & mask)`: the write rule of every masked CSR.
@inlinable
func merge(_ old: UInt64, _ new: UInt64, _ mask: UInt64) -> UInt64 {
    (old & ~mask) | (new & mask)
}
