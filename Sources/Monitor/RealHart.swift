#if arch(riscv64)
import CShim
import VirtCore

/// The guest's registers as the trap entry saved them in the frame.
struct FrameRegisters: GeneralRegisters {
    let frame: UnsafeMutablePointer<firmvisor_frame>

    subscript(index: Int) -> UInt64 {
        get {
            withUnsafePointer(to: &frame.pointee.x) {
                UnsafeRawPointer($0).load(fromByteOffset: (index & 31) * 8, as: UInt64.self)
            }
        }
        nonmutating set {
            withUnsafeMutablePointer(to: &frame.pointee.x) {
                UnsafeMutableRawPointer($0).storeBytes(of: newValue, toByteOffset: (index & 31) * 8, as: UInt64.self)
            }
        }
    }
}

/// The real hart, as ``VirtualHart`` needs it: counters, the SEIP line and
/// the H extension's CSRs. Each method is one CSR instruction.
struct RealHart: HartEnvironment {
    mutating func readTime() -> UInt64 { csr_read_time() }
    mutating func readCycle() -> UInt64 { csr_read_mcycle() }
    mutating func readInstret() -> UInt64 { csr_read_minstret() }

    /// While the firmware runs the real SEIP latch is kept clear, so the real
    /// `mip.SEIP` is the PLIC's S-context line alone.
    mutating func supervisorExternalInterruptLine() -> Bool {
        csr_read_mip() & InterruptBits.seip.rawValue != 0
    }

    mutating func readPassthroughCSR(_ csr: CSR) -> UInt64 {
        switch csr.rawValue {
        case 0x600: return csr_read_hstatus()
        case 0x602: return csr_read_hedeleg()
        case 0x603: return csr_read_hideleg()
        case 0x604: return csr_read_hie()
        case 0x605: return csr_read_htimedelta()
        case 0x606: return csr_read_hcounteren()
        case 0x607: return csr_read_hgeie()
        case 0x60A: return csr_read_henvcfg()
        case 0x643: return csr_read_htval()
        case 0x644: return csr_read_hip()
        case 0x645: return csr_read_hvip()
        case 0x64A: return csr_read_htinst()
        case 0x680: return csr_read_hgatp()
        case 0xE12: return csr_read_hgeip()
        case 0x200: return csr_read_vsstatus()
        case 0x204: return csr_read_vsie()
        case 0x205: return csr_read_vstvec()
        case 0x240: return csr_read_vsscratch()
        case 0x241: return csr_read_vsepc()
        case 0x242: return csr_read_vscause()
        case 0x243: return csr_read_vstval()
        case 0x244: return csr_read_vsip()
        case 0x24D: return csr_read_vstimecmp()
        case 0x280: return csr_read_vsatp()
        default: return 0
        }
    }

    mutating func readGuardedCSR(_ csr: CSR) -> UInt64? {
        var value: UInt64 = 0
        let ok: UInt64
        switch csr.rawValue {
        case 0x150: ok = firmvisor_guarded_read_siselect(&value)
        case 0x151: ok = firmvisor_guarded_read_sireg(&value)
        case 0x15C: ok = firmvisor_guarded_read_stopei(&value)
        case 0xDB0: ok = firmvisor_guarded_read_stopi(&value)
        case 0x608: ok = firmvisor_guarded_read_hvien(&value)
        case 0x609: ok = firmvisor_guarded_read_hvictl(&value)
        case 0x646: ok = firmvisor_guarded_read_hviprio1(&value)
        case 0x647: ok = firmvisor_guarded_read_hviprio2(&value)
        case 0x250: ok = firmvisor_guarded_read_vsiselect(&value)
        case 0x251: ok = firmvisor_guarded_read_vsireg(&value)
        case 0x25C: ok = firmvisor_guarded_read_vstopei(&value)
        case 0xEB0: ok = firmvisor_guarded_read_vstopi(&value)
        default: ok = 0
        }
        return ok == 1 ? value : nil
    }

    mutating func writeGuardedCSR(_ csr: CSR, _ v: UInt64) {
        switch csr.rawValue {
        case 0x150: _ = firmvisor_guarded_write_siselect(v)
        case 0x151: _ = firmvisor_guarded_write_sireg(v)
        case 0x15C: _ = firmvisor_guarded_write_stopei(v)
        case 0x608: _ = firmvisor_guarded_write_hvien(v)
        case 0x609: _ = firmvisor_guarded_write_hvictl(v)
        case 0x646: _ = firmvisor_guarded_write_hviprio1(v)
        case 0x647: _ = firmvisor_guarded_write_hviprio2(v)
        case 0x250: _ = firmvisor_guarded_write_vsiselect(v)
        case 0x251: _ = firmvisor_guarded_write_vsireg(v)
        case 0x25C: _ = firmvisor_guarded_write_vstopei(v)
        default: break
        }
    }

    mutating func writePassthroughCSR(_ csr: CSR, _ v: UInt64) {
        switch csr.rawValue {
        case 0x600: csr_write_hstatus(v)
        case 0x602: csr_write_hedeleg(v)
        case 0x603: csr_write_hideleg(v)
        case 0x604: csr_write_hie(v)
        case 0x605: csr_write_htimedelta(v)
        case 0x606: csr_write_hcounteren(v)
        case 0x607: csr_write_hgeie(v)
        case 0x60A: csr_write_henvcfg(v)
        case 0x643: csr_write_htval(v)
        case 0x644: csr_write_hip(v)
        case 0x645: csr_write_hvip(v)
        case 0x64A: csr_write_htinst(v)
        case 0x680: csr_write_hgatp(v)
        case 0x200: csr_write_vsstatus(v)
        case 0x204: csr_write_vsie(v)
        case 0x205: csr_write_vstvec(v)
        case 0x240: csr_write_vsscratch(v)
        case 0x241: csr_write_vsepc(v)
        case 0x242: csr_write_vscause(v)
        case 0x243: csr_write_vstval(v)
        case 0x244: csr_write_vsip(v)
        case 0x24D: csr_write_vstimecmp(v)
        case 0x280: csr_write_vsatp(v)
        default: break
        }
    }
}
#endif
