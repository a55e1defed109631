import Testing
import VirtCore

/// Trap setup, trap handling, identification, environment and translation
/// CSRs (privileged specification, "Machine-Level CSRs" and "Supervisor CSRs").
@Suite("Trap setup, identification and configuration CSRs")
struct TrapSetupCSRTests {
    // MARK: mtvec / stvec

    @Test(arguments: [N.mtvec, N.stvec])
    func trapVectorReservedModeWriteIsDropped(csr: UInt16) {
        var f = HartFixture()
        f.write(csr, 0x8000_1001)
        f.write(csr, 0x8000_2002)
        #expect(f.read(csr) == 0x8000_1001, "MODE 2 is reserved: the write is dropped whole")
        f.write(csr, 0x8000_3003)
        #expect(f.read(csr) == 0x8000_1001, "MODE 3 is reserved: the write is dropped whole")
    }

    @Test func mtvecReservedModeWriteIsDropped() {
        var f = HartFixture(TestHarts.small)
        f.write(N.mtvec, 0x8020_0000)
        f.set(N.mtvec, 2)
        #expect(f.read(N.mtvec) == 0x8020_0000)
    }

    @Test func mtvecDirectAndVectoredModesAreKept() {
        var f = HartFixture()
        f.write(N.mtvec, 0x8000_0100)
        #expect(f.read(N.mtvec) == 0x8000_0100)
        f.write(N.mtvec, 0x8000_0201)
        #expect(f.read(N.mtvec) == 0x8000_0201)
    }

    // MARK: mepc / sepc

    @Test(arguments: [N.mepc, N.sepc])
    func epcBit0IsAlwaysZero(csr: UInt16) {
        var f = HartFixture()
        f.write(csr, 0x8000_0007)
        #expect(f.read(csr) == 0x8000_0006, "with C, bit 1 is kept and bit 0 is zero")
    }

    @Test(arguments: [N.mepc, N.sepc])
    func epcBits1And0AreZeroWithoutC(csr: UInt16) {
        var f = HartFixture(TestHarts.small)
        f.write(csr, 0x8000_0007)
        #expect(f.read(csr) == 0x8000_0004)
    }

    // MARK: Delegation

    @Test func medelegBit11And16ReadOnlyZero() {
        var f = HartFixture()
        f.write(N.medeleg, ~0)
        let v = f.read(N.medeleg)!
        #expect(v & (1 << 11) == 0, "ecall from M is never delegated")
        #expect(v & (1 << 16) == 0)
        #expect(v == 0xF0_B7FF, "0-10, 12, 13, 15 and the H causes 20-23")
        var g = HartFixture(TestHarts.small)
        g.write(N.medeleg, ~0)
        #expect(g.read(N.medeleg) == 0xB3FF, "without H: 0-9, 12, 13, 15")
    }

    @Test func medelegKeepsOpenSBIsValue() {
        var f = HartFixture()
        f.write(N.medeleg, 0xB109)
        #expect(f.read(N.medeleg) == 0xB109)
    }

    @Test func midelegSupervisorBitsReadOnlyOne() {
        var f = HartFixture()
        #expect(f.read(N.mideleg) == B.ssi | B.sti | B.sei | B.vssi | B.vsti | B.vsei | B.sgei)
        f.write(N.mideleg, 0)
        #expect(f.read(N.mideleg) == 0x1666, "a write cannot clear them (and does not trap)")
        var g = HartFixture(TestHarts.small)
        #expect(g.read(N.mideleg) == B.ssi | B.sti | B.sei | B.lcofi, "LCOFI with Sscofpmf")
        g.clear(N.mideleg, ~0)
        #expect(g.read(N.mideleg) == 0x2222)
    }

    @Test func midelegMachineBitsReadOnlyZero() {
        var f = HartFixture()
        f.write(N.mideleg, B.msi | B.mti | B.mei)
        #expect(f.read(N.mideleg)! & (B.msi | B.mti | B.mei) == 0)
    }

    // MARK: Identification

    @Test func identityCSRsReadTheConfiguration() {
        var f = HartFixture(TestHarts.small)
        #expect(f.read(N.mvendorid) == 0x489)
        #expect(f.read(N.marchid) == 0x8000_0000_0000_0007)
        #expect(f.read(N.mimpid) == 0x2024_0101)
        #expect(f.read(N.mhartid) == 3)
        #expect(f.read(N.mconfigptr) == 0x1000)
        #expect(f.read(N.misa) == TestHarts.small.misa)
    }

    @Test(arguments: [N.mvendorid, N.marchid, N.mimpid, N.mhartid, N.mconfigptr])
    func identityCSRsRejectWrites(csr: UInt16) {
        var f = HartFixture()
        #expect(f.write(csr, 0) == nil, "bits 11:10 = 3: read-only, a write is illegal")
        #expect(f.csr(.csrrwi, csr, source: 0) == nil)
        #expect(f.read(csr) != nil)
    }

    @Test func misaIgnoresWrites() {
        var f = HartFixture()
        let misa = f.read(N.misa)!
        #expect(misa == (2 << 62) | HartConfiguration.extensionBits("IMAFDCSUH"))
        #expect(f.write(N.misa, 0) == misa, "WARL: a write is legal and ignored")
        #expect(f.read(N.misa) == misa)
    }

    @Test(arguments: [N.mscratch, N.mcause, N.mtval, N.sscratch, N.scause, N.stval, N.mtinst, N.mtval2])
    func plainRegistersHoldAnyValue(csr: UInt16) {
        var f = HartFixture()
        f.write(csr, 0xFEDC_BA98_7654_3211)
        #expect(f.read(csr) == 0xFEDC_BA98_7654_3211)
    }

    @Test func mtinstAndMtval2ExistOnlyWithHypervisor() {
        var f = HartFixture(TestHarts.small)
        #expect(f.read(N.mtinst) == nil)
        #expect(f.read(N.mtval2) == nil)
    }

    // MARK: Environment configuration

    @Test func menvcfgWritableBitsFollowExtensions() {
        var f = HartFixture()
        f.write(N.menvcfg, ~0)
        #expect(f.read(N.menvcfg) == B.fiom | B.cbie | B.cbcfe | B.cbze | B.pbmte | B.stce)
        var g = HartFixture(TestHarts.small)
        g.write(N.menvcfg, ~0)
        #expect(g.read(N.menvcfg) == B.fiom | B.cbze, "no Zicbom, Svpbmt or Sstc")
    }

    @Test func senvcfgHasNoPBMTEOrSTCE() {
        var f = HartFixture()
        f.write(N.senvcfg, ~0)
        #expect(f.read(N.senvcfg) == B.fiom | B.cbie | B.cbcfe | B.cbze)
    }

    @Test(arguments: [N.menvcfg, N.senvcfg])
    func envcfgReservedCBIEValueKeepsOld(csr: UInt16) {
        var f = HartFixture()
        f.write(csr, 1 << 4)
        f.write(csr, 2 << 4)
        #expect(f.read(csr)! & B.cbie == 1 << 4, "CBIE = 0b10 is reserved (WARL)")
        f.write(csr, 3 << 4)
        f.clear(csr, 1 << 4)
        #expect(f.read(csr)! & B.cbie == 3 << 4)
    }

    // MARK: satp

    @Test func satpUnsupportedModeWriteIsIgnored() {
        var f = HartFixture()
        let sv39: UInt64 = 8 << 60 | 0x1234 << 44 | 0x8_0000
        f.write(N.satp, sv39)
        #expect(f.read(N.satp) == sv39)
        for mode: UInt64 in [1, 2, 7, 11, 12, 15] {
            f.write(N.satp, mode << 60 | 0x55)
            #expect(f.read(N.satp) == sv39, "MODE \(mode) is not implemented: no field changes")
        }
        f.write(N.satp, 0)
        #expect(f.read(N.satp) == 0, "Bare is always supported")
        var g = HartFixture(TestHarts.small)
        g.write(N.satp, 9 << 60 | 1)
        #expect(g.read(N.satp) == 0, "Sv48 is not implemented on the small hart")
    }

    @Test func satpKeepsOnlyImplementedASIDBits() {
        var f = HartFixture(TestHarts.small)
        f.write(N.satp, 8 << 60 | 0xFFFF << 44 | 0xABC)
        #expect(f.read(N.satp) == (8 as UInt64) << 60 | 0x1FF << 44 | 0xABC)
    }

    @Test func satpFromSModeIsIllegalUnderTVM() {
        var f = HartFixture(mode: .supervisor)
        #expect(f.read(N.satp) == 0)
        f.machineWrite(N.mstatus, B.tvm)
        #expect(f.read(N.satp) == nil)
        #expect(f.write(N.satp, 0) == nil)
    }

    @Test func hgatpFromHSModeIsIllegalUnderTVM() {
        var f = HartFixture(mode: .supervisor)
        #expect(f.read(N.hgatp) != nil)
        f.machineWrite(N.mstatus, B.tvm)
        #expect(f.read(N.hgatp) == nil)
        f.mode = .machine
        #expect(f.read(N.hgatp) != nil, "M-mode is not affected by TVM")
    }

    // MARK: Counters

    @Test func mcycleWriteIsVisibleOnRead() {
        var f = HartFixture()
        f.env.cycle = 1_000
        f.write(N.mcycle, 42)
        #expect(f.read(N.mcycle) == 42)
        #expect(f.read(N.cycle) == 42, "cycle shadows mcycle")
        f.env.cycle += 10
        #expect(f.read(N.mcycle) == 52, "it keeps counting from the written value")
    }

    @Test func minstretWriteIsVisibleOnRead() {
        var f = HartFixture()
        f.env.instret = 77
        f.write(N.minstret, ~0)
        #expect(f.read(N.minstret) == ~0)
        f.env.instret += 2
        #expect(f.read(N.instret) == 1, "the counter wraps")
    }

    @Test func timeReadsThePlatformTimerAndIsReadOnly() {
        var f = HartFixture()
        f.env.time = 123_456
        #expect(f.read(N.time) == 123_456)
        #expect(f.write(N.time, 0) == nil)
        #expect(f.set(N.time, 0) == nil, "rs1 != x0 is a write attempt even when it holds 0")
    }

    @Test(arguments: [N.mhpmcounter3, N.mhpmcounter3 + 28, N.mhpmevent3, N.mhpmevent3 + 28, N.mcountinhibit])
    func performanceCountersAreReadOnlyZero(csr: UInt16) {
        var f = HartFixture()
        #expect(f.write(csr, ~0) == 0, "a write is legal")
        #expect(f.read(csr) == 0, "and ignored")
    }

    @Test func counterEnablesHoldLow32Bits() {
        var f = HartFixture()
        f.write(N.mcounteren, ~0)
        f.write(N.scounteren, ~0)
        #expect(f.read(N.mcounteren) == 0xFFFF_FFFF)
        #expect(f.read(N.scounteren) == 0xFFFF_FFFF)
    }

    @Test(arguments: [(N.cycle, UInt64(0)), (N.time, UInt64(1)), (N.instret, UInt64(2)), (N.hpmcounter3, UInt64(3))] as [(UInt16, UInt64)])
    func counterReadFromSModeNeedsMcounteren(csr: UInt16, bit: UInt64) {
        var f = HartFixture(mode: .supervisor)
        #expect(f.read(csr) == nil)
        f.machineWrite(N.mcounteren, 1 << bit)
        #expect(f.read(csr) != nil)
    }

    @Test func counterReadFromUModeNeedsBothEnables() {
        var f = HartFixture(mode: .user)
        f.env.time = 99
        f.machineWrite(N.mcounteren, 2)
        #expect(f.read(N.time) == nil, "scounteren.TM is clear")
        f.machineWrite(N.mcounteren, 0)
        f.machineWrite(N.scounteren, 2)
        #expect(f.read(N.time) == nil, "mcounteren.TM is clear")
        f.machineWrite(N.mcounteren, 2)
        #expect(f.read(N.time) == 99)
        #expect(f.read(N.cycle) == nil, "CY is clear in both")
    }

    // MARK: stimecmp (Sstc)

    @Test func stimecmpResetsToAllOnesAndHoldsValues() {
        var f = HartFixture()
        #expect(f.read(N.stimecmp) == ~0)
        f.write(N.stimecmp, 5)
        #expect(f.read(N.stimecmp) == 5)
    }

    @Test func stimecmpIsIllegalWithoutSstc() {
        var f = HartFixture(TestHarts.small)
        #expect(f.read(N.stimecmp) == nil)
    }

    @Test func stimecmpFromSModeNeedsSTCEAndTM() {
        var f = HartFixture(mode: .supervisor)
        #expect(f.read(N.stimecmp) == nil)
        f.machineWrite(N.menvcfg, B.stce)
        #expect(f.read(N.stimecmp) == nil, "mcounteren.TM still clear")
        f.machineWrite(N.mcounteren, 2)
        #expect(f.read(N.stimecmp) == ~0)
        f.machineWrite(N.menvcfg, 0)
        #expect(f.read(N.stimecmp) == nil, "STCE = 0")
        f.mode = .machine
        #expect(f.read(N.stimecmp) == ~0, "M-mode ignores both gates")
    }

    // MARK: CSRs this hart does not have

    @Test(arguments: [N.mstatush, N.cycleh, N.mcycleh, N.mseccfg, N.tselect, N.dcsr, N.fflags,
                      UInt16(0xB01), UInt16(0x7C0), UInt16(0x5C0), UInt16(0x8FF), UInt16(0xFFF)])
    func unimplementedCSRIsIllegal(csr: UInt16) {
        var f = HartFixture()
        #expect(f.read(csr) == nil)
        #expect(f.hart.mcause == 2)
    }

    @Test(arguments: [N.hstatus, N.hie, N.hip, N.hgatp, N.vsstatus, N.hgeip, UInt16(0x24D)])
    func hypervisorCSRsAreIllegalWithoutH(csr: UInt16) {
        var f = HartFixture(TestHarts.small)
        #expect(f.read(csr) == nil)
    }

    @Test func hypervisorCSRsPassThroughToTheRealHart() {
        var f = HartFixture()
        f.env.passthrough[N.hstatus] = 0x2_0000_0080
        #expect(f.read(N.hstatus) == 0x2_0000_0080)
        f.write(N.vsstatus, 0x1234)
        #expect(f.env.passthrough[N.vsstatus] == 0x1234)
        #expect(f.write(N.hgeip, 0) == nil, "hgeip is read-only")
    }
}
