import Testing
import VirtCore

/// The six Zicsr instructions as instructions: which ones read, which ones
/// write, what reaches `rd`, and the illegal-instruction trap they raise
/// (unprivileged "Zicsr" chapter; privileged "CSR Address Mapping Conventions").
@Suite("Zicsr instructions")
struct CSRInstructionTests {
    @Test func csrrwReturnsOldValueAndWrites() {
        var f = HartFixture()
        f.write(N.mscratch, 0x1111)
        #expect(f.write(N.mscratch, 0x2222) == 0x1111)
        #expect(f.read(N.mscratch) == 0x2222)
    }

    @Test func csrrsSetsAndCsrrcClearsBits() {
        var f = HartFixture()
        f.write(N.mscratch, 0b1010)
        #expect(f.set(N.mscratch, 0b0101) == 0b1010)
        #expect(f.read(N.mscratch) == 0b1111)
        #expect(f.clear(N.mscratch, 0b0110) == 0b1111)
        #expect(f.read(N.mscratch) == 0b1001)
    }

    @Test func csrrsWithX0DoesNotWrite() {
        var f = HartFixture()
        f.write(N.mscratch, 0xABCD)
        f.regs[0] = 0  // x0 stays zero whatever
        #expect(f.csr(.csrrs, N.mscratch, source: 0) == 0xABCD)
        #expect(f.csr(.csrrc, N.mscratch, source: 0) == 0xABCD)
        #expect(f.read(N.mscratch) == 0xABCD)
        // Not even a write attempt: a read-only CSR does not trap.
        #expect(f.csr(.csrrs, N.mhartid, source: 0) == 0)
        #expect(f.csr(.csrrc, N.cycle, source: 0) != nil)
    }

    @Test func csrrsiAndCsrrciWithZeroDoNotWrite() {
        var f = HartFixture()
        f.write(N.mscratch, 0xABCD)
        #expect(f.csr(.csrrsi, N.mscratch, source: 0) == 0xABCD)
        #expect(f.csr(.csrrci, N.mscratch, source: 0) == 0xABCD)
        #expect(f.read(N.mscratch) == 0xABCD)
        #expect(f.csr(.csrrsi, N.mhartid, source: 0) == 0, "no write, no trap on a read-only CSR")
        #expect(f.csr(.csrrci, N.time, source: 0) != nil)
    }

    @Test func csrrsWithNonZeroRegisterHoldingZeroOnReadOnlyCSRIsIllegal() {
        var f = HartFixture()
        #expect(f.set(N.mhartid, 0) == nil, "rs1 != x0 is a write attempt, whatever it holds")
        #expect(f.clear(N.cycle, 0) == nil)
        #expect(f.csr(.csrrsi, N.mhartid, source: 1) == nil)
    }

    @Test func csrrwToReadOnlyCSRIsIllegal() {
        var f = HartFixture()
        #expect(f.csr(.csrrw, N.mhartid, source: 0) == nil, "csrrw with rs1 = x0 still writes zero")
        #expect(f.csr(.csrrwi, N.mhartid, source: 0) == nil, "csrrwi always writes")
        #expect(f.csr(.csrrw, N.time, source: 6) == nil)
    }

    @Test func immediateFormsZeroExtendFiveBits() {
        var f = HartFixture()
        #expect(f.csr(.csrrwi, N.mscratch, source: 0x1F) == 0)
        #expect(f.read(N.mscratch) == 0x1F, "uimm is zero-extended, not sign-extended")
        f.write(N.mscratch, ~0)
        f.csr(.csrrci, N.mscratch, source: 0x11)
        #expect(f.read(N.mscratch) == ~UInt64(0x11))
        f.csr(.csrrsi, N.mscratch, source: 0x10)
        #expect(f.read(N.mscratch) == ~UInt64(0x01))
    }

    @Test func csrrwWithRdX0StillWritesAndNeverTouchesX0() {
        var f = HartFixture()
        f.regs[6] = 0x5A5A
        f.run(Encode.csrrw(rd: 0, csr: N.mscratch, rs1: 6))
        #expect(f.read(N.mscratch) == 0x5A5A)
        #expect(f.regs[0] == 0)
        #expect(!f.regs.wroteX0)
    }

    @Test func rdEqualToRs1SwapsThroughTheOldValue() {
        var f = HartFixture()
        f.write(N.mscratch, 0x1)
        f.regs[7] = 0x2
        f.run(Encode.csrrw(rd: 7, csr: N.mscratch, rs1: 7))
        #expect(f.regs[7] == 0x1)
        #expect(f.read(N.mscratch) == 0x2)
    }

    @Test func successfulCSRInstructionResumesAtTheNextInstruction() {
        var f = HartFixture()
        let result = f.run(Encode.csrrs(rd: 5, csr: N.mscratch, rs1: 0))
        #expect(result == .resume(pc: f.pc + 4))
        #expect(f.hart.mode == .machine)
    }

    @Test func illegalCSRInstructionTrapsFaithfully() {
        var f = HartFixture()
        f.write(N.mtvec, 0x8000_4001)  // vectored: exceptions still go to BASE
        f.write(N.mstatus, B.mie)
        f.regs[5] = 0x77
        let bits = Encode.csrrs(rd: 5, csr: N.tselect, rs1: 0)
        let result = f.run(bits)
        #expect(result == .resume(pc: 0x8000_4000))
        #expect(f.hart.mcause == 2)
        #expect(f.hart.mtval == UInt64(bits), "mtval holds the instruction bits")
        #expect(f.hart.mepc == f.pc)
        #expect(f.hart.mode == .machine)
        #expect(f.regs[5] == 0x77, "rd is not written")
        let mstatus = f.read(N.mstatus)!
        #expect(mstatus & B.mie == 0)
        #expect(mstatus & B.mpie != 0, "MPIE <- MIE")
        #expect(mstatus & B.mpp == B.mpp, "MPP <- M")
    }

    @Test func illegalCSRInstructionFromUModeRecordsMPPAsU() {
        var f = HartFixture(mode: .user)
        f.hart.mstatus = [.mpp]
        #expect(f.read(N.mscratch) == nil)
        #expect(f.hart.mode == .machine)
        #expect(f.hart.mstatus.mpp == .user)
    }

    @Test(arguments: [N.mstatus, N.mscratch, N.mip, N.pmpcfg0, N.mcycle, N.mhartid])
    func machineCSRsAreIllegalBelowM(csr: UInt16) {
        var s = HartFixture(mode: .supervisor)
        #expect(s.read(csr) == nil)
        var u = HartFixture(mode: .user)
        #expect(u.read(csr) == nil)
    }

    @Test(arguments: [N.sstatus, N.sie, N.stvec, N.sscratch, N.sepc, N.sip, N.satp])
    func supervisorCSRsAreAccessibleFromSButNotU(csr: UInt16) {
        var s = HartFixture(mode: .supervisor)
        #expect(s.read(csr) != nil)
        var u = HartFixture(mode: .user)
        #expect(u.read(csr) == nil)
    }

    @Test func supervisorWritesReachTheSharedState() {
        var f = HartFixture(mode: .supervisor)
        f.write(N.sscratch, 9)
        f.write(N.sstatus, B.sie)
        #expect(f.machineRead(N.sscratch) == 9)
        #expect(f.machineRead(N.mstatus)! & B.sie != 0)
    }
}
