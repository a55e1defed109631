import Testing
import VirtCore

/// V = 1 exactness on a hart with the H extension (privileged specification,
/// "Machine Status Registers": MPV, GVA; "Machine Trap Value 2";
/// "Machine Trap Instruction"; Hypervisor chapter "Trap Entry", "Trap
/// Return"): the virtual hart knows when the payload runs in VS/VU-mode, the
/// monitor's return resumes it there, and traps report what the hardware
/// would.
@Suite struct VirtualizationModeTests {
    static let mpv = MStatus.mpv.rawValue
    static let vsMode = UInt64(PrivilegeMode.supervisor.rawValue) << 11

    static func payloadHart(_ configuration: HartConfiguration = TestHarts.qemu) -> VirtualHart {
        var hart = VirtualHart(configuration: configuration)
        hart.mode = .supervisor
        hart.mtvec = 0x8000_0100
        return hart
    }

    @Test func aTrapFromVSModeMakesTheHartKnowThePayloadRanVirtualized() {
        var hart = Self.payloadHart()
        hart.absorbNativeStatus(Self.vsMode | Self.mpv, installed: .payload)
        #expect(hart.virtualized && hart.mode == .supervisor)
        hart.absorbNativeStatus(Self.vsMode, installed: .payload)
        #expect(!hart.virtualized, "a trap from HS-mode has MPV = 0")
    }

    @Test func theMonitorsReturnResumesAVSGuestWithMPVSet() {
        var hart = Self.payloadHart()
        hart.absorbNativeStatus(Self.vsMode | Self.mpv | MStatus.sie.rawValue, installed: .payload)
        let status = hart.physicalStatus(installed: .payload)
        #expect(status & Self.mpv != 0, "mret sets V <- MPV: the guest stays in VS-mode")
        #expect(status & MStatus.mpp.rawValue == Self.vsMode)
        hart.virtualized = false
        #expect(hart.physicalStatus(installed: .payload) & Self.mpv == 0)
        #expect(hart.physicalStatus(installed: .firmware) & Self.mpv == 0, "the firmware runs with V = 0")
    }

    @Test func theFirmwaresGVARidesAlongIntoThePayloadsWorld() {
        var hart = Self.payloadHart()
        hart.mstatus.insert(.gva)
        #expect(hart.physicalStatus(installed: .payload) & MStatus.gva.rawValue != 0)
        hart.mstatus.remove(.gva)
        #expect(hart.physicalStatus(installed: .payload) & MStatus.gva.rawValue == 0)
    }

    @Test func aHartWithoutHIgnoresMPVAndReturnsExactlyAsBefore() {
        var hart = Self.payloadHart(TestHarts.small)
        hart.absorbNativeStatus(Self.vsMode | Self.mpv, installed: .payload)
        #expect(!hart.virtualized)
        #expect(hart.physicalStatus(installed: .payload) == Self.vsMode)
    }

    @Test func anInterruptInjectedWhileAVSGuestRunsReportsMPVAndNoGuestAddress() {
        var hart = Self.payloadHart()
        hart.virtualized = true
        hart.mstatus.insert(.gva)
        hart.mtinst = 0x77
        hart.mtval2 = 0x99
        hart.mie = [.mtip]
        hart.mipDevices = [.mtip]
        let next = hart.prepareReturn(to: 0x1000)
        #expect(next.injected == .machineTimer && next.world == .firmware)
        #expect(hart.mstatus.contains(.mpv) && hart.mstatus.mpp == .supervisor)
        #expect(!hart.mstatus.contains(.gva) && hart.mtinst == 0 && hart.mtval2 == 0)
        #expect(!hart.virtualized && hart.mode == .machine && hart.mepc == 0x1000)
    }

    @Test func aForwardedPayloadExceptionReportsTheRealTrapsGVAMtinstAndMtval2() {
        var hart = Self.payloadHart()
        hart.virtualized = true
        let real = HypervisorTrapValues(physicalStatus: Self.vsMode | Self.mpv | MStatus.gva.rawValue,
                                        mtinst: 0x2503, mtval2: 0x200)
        #expect(real == HypervisorTrapValues(gva: true, mtinst: 0x2503, mtval2: 0x200))
        let pc = hart.takeException(code: Exception.loadAccessFault.rawValue, value: 0x800, pc: 0x8000_0040,
                                    hypervisor: real)
        #expect(pc == 0x8000_0100)
        #expect(hart.mstatus.contains(.mpv) && hart.mstatus.contains(.gva))
        #expect(hart.mtinst == 0x2503 && hart.mtval2 == 0x200 && hart.mtval == 0x800)
        #expect(hart.mcause == Exception.loadAccessFault.rawValue && hart.mstatus.mpp == .supervisor)
    }

    @Test func aTrapTheFirmwareRaisesItselfReportsMPVAndGVAZero() {
        var hart = VirtualHart(configuration: TestHarts.qemu)
        hart.mstatus.formUnion([.mpv, .gva])
        hart.mtinst = 5
        hart.mtval2 = 6
        _ = hart.takeTrap(.exception(.environmentCallFromM), value: 0, pc: 0x8000_0000)
        #expect(!hart.mstatus.contains(.mpv) && !hart.mstatus.contains(.gva))
        #expect(hart.mtinst == 0 && hart.mtval2 == 0)
    }

    @Test func theFirmwaresMretWithMPVEntersVSMode() {
        var f = HartFixture()
        f.hart.mstatus.mpp = .supervisor
        f.hart.mstatus.insert(.mpv)
        f.hart.mepc = 0x8020_0000
        let result = f.run(Encode.mret)
        #expect(result == .resume(pc: 0x8020_0000))
        #expect(f.hart.mode == .supervisor && f.hart.virtualized, "V <- MPV")
        #expect(!f.hart.mstatus.contains(.mpv), "mret clears MPV")
        #expect(f.hart.world == .payload && f.hart.physicalStatus(installed: .payload) & Self.mpv != 0)
    }

    @Test func theFirmwaresMretToMachineModeIgnoresMPV() {
        var f = HartFixture()
        f.hart.mstatus.mpp = .machine
        f.hart.mstatus.insert(.mpv)
        f.run(Encode.mret)
        #expect(f.hart.mode == .machine && !f.hart.virtualized && !f.hart.mstatus.contains(.mpv))
    }

    @Test func theFirmwaresMretWithoutMPVEntersHSMode() {
        var f = HartFixture()
        f.hart.mstatus.mpp = .user
        f.run(Encode.mret)
        #expect(f.hart.mode == .user && !f.hart.virtualized)
    }

    @Test func theFirmwaresSretWithHstatusSPVEntersVSModeAndClearsSPV() {
        var f = HartFixture()
        let spv: UInt64 = 1 << 7, spvp: UInt64 = 1 << 8
        f.env.passthrough[CSR.hstatus.rawValue] = spv | spvp
        f.hart.mstatus.spp = .supervisor
        f.hart.sepc = 0x8020_1000
        let result = f.run(Encode.sret)
        #expect(result == .resume(pc: 0x8020_1000))
        #expect(f.hart.mode == .supervisor && f.hart.virtualized)
        #expect(f.env.passthrough[CSR.hstatus.rawValue] == spvp, "SPV <- 0, SPVP kept")
    }

    @Test func theFirmwaresSretWithoutSPVEntersHSMode() {
        var f = HartFixture()
        f.hart.mstatus.spp = .supervisor
        f.run(Encode.sret)
        #expect(f.hart.mode == .supervisor && !f.hart.virtualized)
        #expect(f.env.passthroughWrites.isEmpty, "hstatus is only written when SPV changes")
    }

    @Test func aDelegatedExceptionFromVSGoesToVSModeWhenHedelegDelegatesIt() {
        var hart = Self.payloadHart()
        hart.virtualized = true
        hart.medeleg = 1 << 5
        var env = FakeEnvironment()
        env.passthrough[CSR.hedeleg.rawValue] = 1 << 5
        env.passthrough[CSR.vsstatus.rawValue] = MStatus.sie.rawValue
        env.passthrough[CSR.vstvec.rawValue] = 0x9000_0001
        let (pc, target) = hart.takeDelegatedException(code: 5, value: 0x800, pc: 0x4000, hypervisor: .none,
                                                       environment: &env)
        #expect(pc == 0x9000_0000 && target == .virtualSupervisor)
        #expect(env.passthrough[CSR.vsstatus.rawValue] == MStatus([.spie, .spp]).rawValue)
        #expect(env.passthrough[CSR.vsepc.rawValue] == 0x4000 && env.passthrough[CSR.vscause.rawValue] == 5)
        #expect(env.passthrough[CSR.vstval.rawValue] == 0x800)
        #expect(hart.virtualized && hart.mode == .supervisor)
    }

    @Test func aDelegatedExceptionFromVSGoesToHSModeWithSPVSPVPAndTheRealTrapValues() {
        var hart = Self.payloadHart()
        hart.virtualized = true
        hart.medeleg = 1 << 5
        hart.stvec = 0xA000_0000
        hart.mstatus.insert(.sie)
        var env = FakeEnvironment()
        let values = HypervisorTrapValues(gva: true, mtinst: 0x2503, mtval2: 0x200)
        let (pc, target) = hart.takeDelegatedException(code: 5, value: 0x800, pc: 0x4000, hypervisor: values,
                                                       environment: &env)
        #expect(pc == 0xA000_0000 && target == .supervisor)
        #expect(env.passthrough[CSR.hstatus.rawValue] == HypervisorStatus.spv | HypervisorStatus.spvp
            | HypervisorStatus.gva)
        #expect(env.passthrough[CSR.htval.rawValue] == 0x200 && env.passthrough[CSR.htinst.rawValue] == 0x2503)
        #expect(hart.sepc == 0x4000 && hart.scause == 5 && hart.stval == 0x800)
        #expect(hart.mstatus.spp == .supervisor && hart.mstatus.contains(.spie) && !hart.mstatus.contains(.sie))
        #expect(!hart.virtualized && hart.mode == .supervisor)
    }

    @Test func aDelegatedExceptionFromHSClearsSPV() {
        var hart = Self.payloadHart()
        hart.medeleg = 1 << 7
        var env = FakeEnvironment()
        env.passthrough[CSR.hstatus.rawValue] = HypervisorStatus.spv | HypervisorStatus.gva
        let (_, target) = hart.takeDelegatedException(code: 7, value: 0, pc: 0x4000, hypervisor: .none,
                                                      environment: &env)
        #expect(target == .supervisor && env.passthrough[CSR.hstatus.rawValue] == 0)
    }
}
