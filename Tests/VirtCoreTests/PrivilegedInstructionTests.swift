import Testing
import VirtCore

/// mret, sret, wfi, ecall, ebreak, fences, loads/stores, and trap and
/// interrupt entry (privileged specification, "Machine-Mode Privileged
/// Instructions", "Supervisor Instructions", "Machine Trap Handling").
@Suite("Privileged instructions, traps and interrupt injection")
struct PrivilegedInstructionTests {
    // MARK: mret

    @Test func mretRestoresMIEFromMPIEAndSetsMPPToU() {
        var f = HartFixture()
        f.write(N.mstatus, B.mpie | (1 << B.mppShift))
        f.write(N.mepc, 0x8020_0000)
        let result = f.run(Encode.mret)
        #expect(result == .resume(pc: 0x8020_0000))
        #expect(f.hart.mode == .supervisor)
        let s = f.machineRead(N.mstatus)!
        #expect(s & B.mie != 0, "MIE <- MPIE")
        #expect(s & B.mpie != 0, "MPIE <- 1")
        #expect(s & B.mpp == 0, "MPP <- U")
    }

    @Test func mretWithMPIEClearClearsMIE() {
        var f = HartFixture()
        f.write(N.mstatus, B.mie | (3 << B.mppShift))
        f.run(Encode.mret)
        #expect(f.hart.mode == .machine)
        let s = f.read(N.mstatus)!
        #expect(s & B.mie == 0)
        #expect(s & B.mpie != 0)
    }

    @Test(arguments: [UInt64(0), 1])
    func mretBelowMClearsMPRV(mpp: UInt64) {
        var f = HartFixture()
        f.write(N.mstatus, B.mprv | (mpp << B.mppShift))
        f.run(Encode.mret)
        #expect(f.machineRead(N.mstatus)! & B.mprv == 0)
    }

    @Test func mretToMKeepsMPRV() {
        var f = HartFixture()
        f.write(N.mstatus, B.mprv | (3 << B.mppShift))
        f.run(Encode.mret)
        #expect(f.read(N.mstatus)! & B.mprv != 0)
    }

    @Test func mretToUMode() {
        var f = HartFixture()
        f.write(N.mepc, 0x1000)
        f.run(Encode.mret)
        #expect(f.hart.mode == .user)
    }

    @Test(arguments: [PrivilegeMode.supervisor, .user])
    func mretBelowMIsIllegal(mode: PrivilegeMode) {
        var f = HartFixture(mode: mode)
        f.expectIllegal(Encode.mret)
        #expect(f.hart.mtval == UInt64(Encode.mret))
        #expect(f.hart.mstatus.mpp == mode)
    }

    @Test func mretFromSModeIsIllegal() {
        var f = HartFixture(mode: .supervisor)
        f.expectIllegal(Encode.mret)
        #expect(f.hart.mode == .machine)
    }

    // MARK: sret

    @Test func sretFromMReturnsToSPPAndClearsMPRV() {
        var f = HartFixture()
        f.write(N.mstatus, B.spp | B.spie | B.mprv)
        f.write(N.sepc, 0x8040_0000)
        #expect(f.run(Encode.sret) == .resume(pc: 0x8040_0000))
        #expect(f.hart.mode == .supervisor)
        let s = f.machineRead(N.mstatus)!
        #expect(s & B.sie != 0, "SIE <- SPIE")
        #expect(s & B.spie != 0, "SPIE <- 1")
        #expect(s & B.spp == 0, "SPP <- U")
        #expect(s & B.mprv == 0, "MPRV <- 0")
    }

    @Test func sretFromSModeWithoutTSR() {
        var f = HartFixture(mode: .supervisor)
        f.machineWrite(N.sepc, 0x4000)
        #expect(f.run(Encode.sret) == .resume(pc: 0x4000))
        #expect(f.hart.mode == .user)
    }

    @Test func sretFromSModeWithTSRIsIllegal() {
        var f = HartFixture(mode: .supervisor)
        f.machineWrite(N.mstatus, B.tsr)
        f.expectIllegal(Encode.sret)
    }

    @Test func sretFromUModeIsIllegal() {
        var f = HartFixture(mode: .user)
        f.expectIllegal(Encode.sret)
    }

    // MARK: ecall / ebreak

    @Test(arguments: [(PrivilegeMode.machine, UInt64(11)), (.supervisor, 9), (.user, 8)] as [(PrivilegeMode, UInt64)])
    func ecallCauseFollowsTheMode(mode: PrivilegeMode, cause: UInt64) {
        var f = HartFixture(mode: mode)
        f.machineWrite(N.mtvec, 0x8000_9000)
        let result = f.run(Encode.ecall)
        #expect(result == .resume(pc: 0x8000_9000))
        #expect(f.hart.mcause == cause)
        #expect(f.hart.mepc == f.pc, "mepc is the ecall itself")
        #expect(f.hart.mtval == 0)
        #expect(f.hart.mstatus.mpp == mode)
    }

    @Test func ecallFromVirtualMIsCause11() {
        var f = HartFixture()
        f.run(Encode.ecall)
        #expect(f.hart.mcause == 11)
    }

    @Test func ebreakIsCause3WithPcInMtval() {
        var f = HartFixture()
        f.run(Encode.ebreak)
        #expect(f.hart.mcause == 3)
        #expect(f.hart.mtval == f.pc)
        #expect(f.hart.mepc == f.pc)
        f.run(UInt32(Encode.cEBREAK) | 0xFFFF_0000)
        #expect(f.hart.mcause == 3)
        #expect(f.hart.mepc == f.pc, "c.ebreak: mepc is its own address")
    }

    // MARK: wfi

    @Test func wfiCompletesWhenPendingAndEnabledEvenWithMIEClear() {
        var f = HartFixture()
        f.write(N.mie, B.mti)
        f.hart.mipDevices = [.mtip]
        #expect(f.run(Encode.wfi) == .resume(pc: f.pc + 4))
    }

    @Test func wfiCompletesForADelegatedInterrupt() {
        var f = HartFixture()
        f.write(N.mie, B.ssi)
        f.write(N.mip, B.ssi)
        #expect(f.run(Encode.wfi) == .resume(pc: f.pc + 4), "mideleg does not matter to wfi")
    }

    @Test func wfiWaitsWhenNothingPending() {
        var f = HartFixture()
        f.write(N.mie, ~0)
        #expect(f.run(Encode.wfi) == .waitForInterrupt(pc: f.pc + 4))
    }

    @Test func wfiWaitsWhenPendingButNotEnabled() {
        var f = HartFixture()
        f.write(N.mstatus, B.mie)
        f.hart.mipDevices = [.msip]
        f.write(N.mie, B.mti)
        #expect(f.run(Encode.wfi) == .waitForInterrupt(pc: f.pc + 4))
    }

    @Test func uModeWfiIsIllegal() {
        var f = HartFixture(mode: .user)
        f.expectIllegal(Encode.wfi)
        #expect(f.hart.mtval == UInt64(Encode.wfi))
    }

    @Test func sModeWfiIsIllegalWithTW() {
        var f = HartFixture(mode: .supervisor)
        #expect(f.run(Encode.wfi) == .waitForInterrupt(pc: f.pc + 4))
        f.machineWrite(N.mstatus, B.tw)
        f.expectIllegal(Encode.wfi)
    }

    // MARK: Fences

    @Test func sfenceVMAReportsItsOperands() {
        var f = HartFixture()
        f.regs[10] = 0x4000_1000
        f.regs[11] = 7
        #expect(f.run(Encode.sfenceVMA(rs1: 10, rs2: 11))
                == .fence(.sfenceVMA(address: 0x4000_1000, asid: 7), pc: f.pc + 4))
        #expect(f.run(Encode.sfenceVMA(rs1: 0, rs2: 0)) == .fence(.sfenceVMA(address: nil, asid: nil), pc: f.pc + 4))
    }

    @Test func sfenceVMAFromSModeIsIllegalUnderTVM() {
        var f = HartFixture(mode: .supervisor)
        #expect(f.run(Encode.sfenceVMA(rs1: 0, rs2: 0)) == .fence(.sfenceVMA(address: nil, asid: nil), pc: f.pc + 4))
        f.machineWrite(N.mstatus, B.tvm)
        f.expectIllegal(Encode.sfenceVMA(rs1: 0, rs2: 0))
    }

    @Test func sfenceVMAFromUModeIsIllegal() {
        var f = HartFixture(mode: .user)
        f.expectIllegal(Encode.sfenceVMA(rs1: 1, rs2: 2))
    }

    @Test func hfenceGVMAFromHSModeIsIllegalUnderTVM() {
        var f = HartFixture(mode: .supervisor)
        f.regs[3] = 0x10
        #expect(f.run(Encode.hfenceGVMA(rs1: 3, rs2: 0)) == .fence(.hfenceGVMA(address: 0x10, vmid: nil), pc: f.pc + 4))
        f.machineWrite(N.mstatus, B.tvm)
        f.expectIllegal(Encode.hfenceGVMA(rs1: 3, rs2: 0))
        #expect(f.run(Encode.hfenceVVMA(rs1: 0, rs2: 3)) == .fence(.hfenceVVMA(address: nil, asid: 0x10), pc: f.pc + 4),
                "TVM does not affect hfence.vvma")
    }

    @Test func hfenceIsIllegalWithoutHOrFromU() {
        var f = HartFixture(TestHarts.small)
        f.expectIllegal(Encode.hfenceVVMA(rs1: 0, rs2: 0))
        f.expectIllegal(Encode.hfenceGVMA(rs1: 0, rs2: 0))
        var g = HartFixture(mode: .user)
        g.expectIllegal(Encode.hfenceVVMA(rs1: 0, rs2: 0))
    }

    // MARK: Loads and stores

    @Test func loadsAndStoresAreHandedToThePlatform() {
        var f = HartFixture()
        #expect(f.run(Encode.lw(rd: 10, rs1: 11, imm: -8))
                == .memoryAccess(MemoryAccess(width: 4, signExtends: true, register: 10, base: 11, offset: -8),
                                 isStore: false, pc: f.pc + 4))
        #expect(f.run(Encode.sd(rs2: 12, rs1: 2, imm: 2040))
                == .memoryAccess(MemoryAccess(width: 8, signExtends: false, register: 12, base: 2, offset: 2040),
                                 isStore: true, pc: f.pc + 4))
        #expect(f.run(UInt32(Encode.cSW(rs2: 9, rs1: 8, offset: 124)))
                == .memoryAccess(MemoryAccess(width: 4, signExtends: false, register: 9, base: 8, offset: 124),
                                 isStore: true, pc: f.pc + 2), "a compressed access resumes at pc + 2")
    }

    @Test func illegalCompressedInstructionReportsSixteenBits() {
        var f = HartFixture()
        let result = f.run(0xABCD_0000)  // low parcel 0x0000: the all-zero illegal instruction
        #expect(f.trapped(result, length: 2))
        #expect(f.hart.mtval == 0)
        f.run(0x1234_4001)  // c.addi: not emulated
        #expect(f.hart.mtval == 0x4001, "only the 16 instruction bits")
    }

    // MARK: Trap entry

    @Test func trapEntrySavesMIEIntoMPIEAndPreviousModeIntoMPP() {
        var f = HartFixture()
        f.hart.mode = .supervisor
        f.hart.mstatus = [.mie]
        f.hart.mtvec = 0x9000
        let pc = f.hart.takeTrap(.exception(.loadAccessFault), value: 0x1234, pc: 0x8000_0102)
        #expect(pc == 0x9000)
        #expect(f.hart.mode == .machine)
        #expect(f.hart.mstatus.contains(.mpie))
        #expect(!f.hart.mstatus.contains(.mie))
        #expect(f.hart.mstatus.mpp == .supervisor)
        #expect(f.hart.mcause == 5)
        #expect(f.hart.mtval == 0x1234)
        #expect(f.hart.mepc == 0x8000_0102)
    }

    @Test func trapEntryClearsMPVAndGVAWithH() {
        var f = HartFixture()
        f.hart.mstatus = [.mpv, .gva]
        f.hart.mtinst = 5
        f.hart.mtval2 = 6
        _ = f.hart.takeTrap(.exception(.illegalInstruction), value: 0, pc: 0)
        #expect(!f.hart.mstatus.contains(.mpv))
        #expect(!f.hart.mstatus.contains(.gva))
        #expect(f.hart.mtinst == 0)
        #expect(f.hart.mtval2 == 0)
    }

    // MARK: Interrupt injection

    @Test func vectoredMtvecSendsInterruptsToBasePlus4Cause() {
        var f = HartFixture()
        f.write(N.mtvec, 0x8000_0001)
        f.write(N.mie, B.mti)
        f.write(N.mstatus, B.mie)
        f.hart.mipDevices = [.mtip]
        #expect(f.hart.injectPendingInterrupt(pc: 0x8000_1234) == 0x8000_0000 + 4 * 7)
        #expect(f.hart.mcause == (1 as UInt64) << 63 | 7)
        #expect(f.hart.mepc == 0x8000_1234)
        #expect(f.hart.mtval == 0)
    }

    @Test func vectoredMtvecSendsExceptionsToBase() {
        var f = HartFixture()
        f.write(N.mtvec, 0x8000_0001)
        #expect(f.run(Encode.ecall) == .resume(pc: 0x8000_0000))
    }

    @Test func directMtvecSendsInterruptsToBase() {
        var f = HartFixture()
        f.write(N.mtvec, 0x8000_0100)
        f.write(N.mie, B.mei)
        f.hart.mode = .supervisor
        f.hart.mipDevices = [.meip]
        #expect(f.hart.injectPendingInterrupt(pc: 0x10) == 0x8000_0100)
        #expect(f.hart.mcause == (1 as UInt64) << 63 | 11)
    }

    @Test func machineInterruptWaitsForMIEInMMode() {
        var f = HartFixture()
        f.write(N.mie, B.msi)
        f.hart.mipDevices = [.msip]
        #expect(f.hart.pendingMachineInterrupt == nil, "MIE = 0 in M-mode")
        #expect(f.hart.injectPendingInterrupt(pc: 0x44) == 0x44)
        f.write(N.mstatus, B.mie)
        #expect(f.hart.pendingMachineInterrupt == .machineSoftware)
    }

    @Test(arguments: [PrivilegeMode.supervisor, .user])
    func machineInterruptIsTakenBelowMWhateverMIE(mode: PrivilegeMode) {
        var f = HartFixture()
        f.write(N.mie, B.mti)
        f.hart.mipDevices = [.mtip]
        f.hart.mode = mode
        #expect(f.hart.pendingMachineInterrupt == .machineTimer)
        _ = f.hart.injectPendingInterrupt(pc: 0x2000)
        #expect(f.hart.mode == .machine)
        #expect(f.hart.mstatus.mpp == mode)
    }

    @Test func machineInterruptPriorityIsMEIThenMSIThenMTI() {
        var f = HartFixture()
        f.write(N.mie, ~0)
        f.write(N.mstatus, B.mie)
        f.hart.mipDevices = [.msip, .mtip, .meip]
        #expect(f.hart.pendingMachineInterrupt == .machineExternal)
        f.hart.mipDevices = [.msip, .mtip]
        #expect(f.hart.pendingMachineInterrupt == .machineSoftware)
        f.hart.mipDevices = [.mtip]
        #expect(f.hart.pendingMachineInterrupt == .machineTimer)
    }

    @Test func interruptNotEnabledInMieIsNotTaken() {
        var f = HartFixture()
        f.write(N.mstatus, B.mie)
        f.write(N.mie, B.msi)
        f.hart.mipDevices = [.mtip]
        #expect(f.hart.pendingMachineInterrupt == nil)
    }

    @Test func delegatedInterruptNeverTargetsM() {
        var f = HartFixture()
        f.write(N.mstatus, B.mie)
        f.write(N.mie, B.ssi | B.sti | B.sei)
        f.write(N.mip, B.ssi | B.sti | B.sei)
        #expect(f.hart.pendingMachineInterrupt == nil)
        f.hart.mode = .user
        #expect(f.hart.pendingMachineInterrupt == nil, "S-level interrupts go to S, never to vM")
    }

    @Test func mretReenablesAPendingInterrupt() {
        var f = HartFixture()
        f.write(N.mie, B.mti)
        f.hart.mipDevices = [.mtip]
        f.write(N.mstatus, B.mpie | (3 << B.mppShift))
        #expect(f.hart.pendingMachineInterrupt == nil)
        f.run(Encode.mret)
        #expect(f.hart.pendingMachineInterrupt == .machineTimer, "re-evaluated after the xRET")
    }

    /// The specification takes an exception raised in S- or U-mode in S-mode
    /// when its `medeleg` bit is set.
    @Test func delegatedIllegalInstructionFromSModeGoesToS() {
        var f = HartFixture(mode: .supervisor)
        f.machineWrite(N.medeleg, 1 << 2)
        f.machineWrite(N.stvec, 0x8030_0000)
        let result = f.run(Encode.csrrs(rd: 5, csr: N.mstatus, rs1: 0))
        #expect(result == .resume(pc: 0x8030_0000))
        #expect(f.hart.mode == .supervisor)
        #expect(f.hart.scause == 2)
    }
}
