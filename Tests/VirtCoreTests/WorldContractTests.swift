import Testing
import VirtCore

/// The world-switch and guest-return decisions a monitor takes from
/// `VirtualHart` (WorldContract.swift), one rule per test.
@Suite struct WorldContractTests {
    static func hart(mode: PrivilegeMode = .machine) -> VirtualHart {
        var hart = VirtualHart(configuration: TestHarts.qemu)
        hart.mode = mode
        return hart
    }

    /// From the payload's world the real `mstatus` carries the payload's
    /// native fields and its mode (MPP); nothing else changes.
    @Test func absorbingFromThePayloadTakesItsNativeFieldsAndMode() {
        var hart = Self.hart(mode: .supervisor)
        hart.mstatus = MStatus([.mie, .tsr])
        let physical = MStatus([.sie, .spp, .sum, .mpie]).rawValue | UInt64(PrivilegeMode.user.rawValue) << 11
        hart.absorbNativeStatus(physical, installed: .payload)
        #expect(hart.mstatus == MStatus([.mie, .tsr, .sie, .spp, .sum]), "MPIE is not a payload field")
        #expect(hart.mode == .user)
    }

    /// From the firmware's world only FS/VS are native: the mode stays M.
    @Test func absorbingFromTheFirmwareTakesFSAndVSOnly() {
        var hart = Self.hart()
        hart.mstatus = MStatus([.mie])
        let physical = MStatus([.sie, .fs]).rawValue
        hart.absorbNativeStatus(physical, installed: .firmware)
        #expect(hart.mstatus.contains(.mie) && !hart.mstatus.contains(.sie))
        #expect(hart.mstatus.rawValue & MStatus.fs.rawValue == MStatus.fs.rawValue && hart.mode == .machine)
    }

    /// The payload's `sie`/`sip` writes (through `mideleg`) come back from the
    /// real `mie`/`mip`; M-level enables and the firmware's bits stay.
    @Test func supervisorInterruptStateComesBackFromTheRealRegisters() {
        var hart = Self.hart(mode: .supervisor)
        hart.mie = [.mtip, .stip, .seip]
        hart.mipSoftware = [.stip]
        hart.absorbSupervisorInterrupts(realEnables: [.msip, .ssip], realPending: [.ssip, .mtip])
        #expect(hart.mie == [.mtip, .ssip], "the payload cleared STIE/SEIE and set SSIE")
        #expect(hart.mipSoftware == [.stip, .ssip], "SSIP set natively; STIP is the firmware's latch")
    }

    /// An exception the firmware delegated goes into the live S CSRs only
    /// while the payload's world is installed.
    @Test func delegatedExceptionsGoToTheLiveSupervisorOnlyFromThePayload() {
        var hart = Self.hart(mode: .supervisor)
        hart.medeleg = 1 << 5 | 1 << 13
        #expect(hart.exceptionGoesToLiveSupervisor(code: 5, installed: .payload))
        #expect(!hart.exceptionGoesToLiveSupervisor(code: 7, installed: .payload))
        #expect(!hart.exceptionGoesToLiveSupervisor(code: 5, installed: .firmware))
        hart.mode = .machine
        #expect(!hart.exceptionGoesToLiveSupervisor(code: 5, installed: .payload), "traps never go down")
    }

    /// The real `medeleg` of the payload's world never delegates access faults.
    @Test func accessFaultsAreNeverDelegatedByTheRealMedeleg() {
        var hart = Self.hart()
        hart.medeleg = 0xB1FF
        #expect(hart.physicalExceptionDelegation == 0xB1FF & ~UInt64(1 << 5 | 1 << 7))
    }

    /// With H the load and store/AMO guest-page faults stay with the monitor
    /// too (QEMU 7.2 reports a VS/VU access the PMP refuses as one); the
    /// instruction guest-page fault and the virtual-instruction exception
    /// are delegated as the firmware says. Without H nothing changes.
    @Test func guestPageFaultsOfDataAccessesAreNeverDelegatedWithH() {
        var hart = Self.hart()
        hart.medeleg = 0xF0B1FF
        #expect(hart.physicalExceptionDelegation == 0xF0B1FF & ~UInt64(1 << 5 | 1 << 7 | 1 << 21 | 1 << 23))
        var small = VirtualHart(configuration: TestHarts.small)
        small.medeleg = 0xB1FF
        #expect(small.physicalExceptionDelegation == 0xB1FF & ~UInt64(1 << 5 | 1 << 7))
        #expect(VirtualHart.monitoredHypervisorExceptions & VirtualHart.monitoredExceptions
                == VirtualHart.monitoredExceptions)
    }

    /// The real `mstatus`: MPP = U and FS/VS for the firmware; the payload's
    /// mode and its native and control fields for the payload; never MIE,
    /// MPIE or MPRV.
    @Test func physicalStatusPerWorld() {
        var hart = Self.hart(mode: .supervisor)
        hart.mstatus = MStatus([.mie, .mpie, .mprv, .sie, .sum, .tvm, .fs])
        let fs = MStatus.fs.rawValue
        #expect(hart.physicalStatus(installed: .firmware) == fs)
        let payload = hart.physicalStatus(installed: .payload)
        #expect(payload == MStatus([.sie, .sum, .tvm, .fs]).rawValue | 1 << 11)
    }

    /// Counter enables: the firmware's grant for the payload; for the
    /// firmware, `time` always, `cycle`/`instret` unless their offsets moved.
    @Test func counterEnablesPerWorld() {
        var hart = Self.hart()
        hart.mcounteren = 0b101
        #expect(hart.physicalCounterEnables(for: .payload) == 0b101)
        #expect(hart.physicalCounterEnables(for: .firmware) == 0b111)
    }

    /// The return injects the pending M-level interrupt (MEI before MTI)
    /// and says the firmware runs next; with nothing pending, the pc and the
    /// world stay.
    @Test func returnInjectsThePendingInterruptAndPicksTheWorld() {
        var hart = Self.hart(mode: .supervisor)
        hart.mtvec = 0x8000_0400
        #expect(hart.prepareReturn(to: 0x8020_0000)
                == VirtualHart.GuestReturn(pc: 0x8020_0000, injected: nil, world: .payload))
        hart.mie = [.mtip, .meip]
        hart.mipDevices = [.mtip, .meip]
        let next = hart.prepareReturn(to: 0x8020_0004)
        #expect(next == VirtualHart.GuestReturn(pc: 0x8000_0400, injected: .machineExternal, world: .firmware))
        #expect(hart.mepc == 0x8020_0004 && hart.mstatus.mpp == .supervisor)
    }

    /// A firmware `wfi` must wake for every interrupt that can complete it:
    /// with Sstc driving STIP from the payload's `stimecmp` (which stays in
    /// the real register while the firmware runs) and `vmie.STIE` set, the
    /// monitor's real `wfi` waits with STIE too; without Sstc STIP is a
    /// software bit, pending or not before the wait, and needs no real line.
    @Test func wfiWakesForThePayloadsSstcTimer() {
        var configuration = TestHarts.qemu
        configuration.hasSstc = true
        var hart = VirtualHart(configuration: configuration)
        hart.mie = [.stip, .seip]
        #expect(!hart.wakeUpEnables.contains(.stip), "menvcfg.STCE = 0: STIP is software-written")
        var env = FakeEnvironment()
        _ = hart.accessCSR(.menvcfg, operation: .readSet, operand: EnvironmentConfiguration.stce, writes: true,
                           environment: &env)
        #expect(hart.stimecmpDrivesSTIP)
        #expect(hart.wakeUpEnables.isSuperset(of: [.stip, .seip, .msip]))
        hart.mie = [.seip]
        #expect(!hart.wakeUpEnables.contains(.stip))
    }
}
