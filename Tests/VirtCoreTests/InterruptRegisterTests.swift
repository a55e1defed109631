import Testing
import VirtCore

/// `mip`, `mie`, `sip`, `sie`, `hip`, `hie` (privileged specification,
/// "Machine Interrupt Registers (mip and mie)", "Supervisor Interrupt
/// Registers", the hypervisor chapter's `hip`/`hie`, and Sstc).
@Suite("Interrupt pending and enable registers")
struct InterruptRegisterTests {
    @Test func mieKeepsOnlyImplementedBits() {
        var f = HartFixture()
        f.write(N.mie, ~0)
        #expect(f.read(N.mie) == B.ssi | B.vssi | B.msi | B.sti | B.vsti | B.mti | B.sei | B.vsei | B.mei | B.sgei)
        var g = HartFixture(TestHarts.small)
        g.write(N.mie, ~0)
        #expect(g.read(N.mie) == 0x2AAA, "S and M bits plus LCOFIE (Sscofpmf)")
    }

    @Test func mipMachineBitsAreReadOnly() {
        var f = HartFixture()
        f.write(N.mip, B.msi | B.mti | B.mei)
        #expect(f.read(N.mip) == 0, "MSIP, MTIP, MEIP cannot be set by a CSR write")
        f.hart.mipDevices = [.msip, .mtip, .meip]
        #expect(f.read(N.mip) == B.msi | B.mti | B.mei)
        f.write(N.mip, 0)
        #expect(f.read(N.mip) == B.msi | B.mti | B.mei, "nor cleared by one")
    }

    @Test func mipSupervisorBitsAreWritable() {
        var f = HartFixture()
        f.write(N.mip, B.ssi | B.sti | B.sei)
        #expect(f.read(N.mip) == B.ssi | B.sti | B.sei)
        f.clear(N.mip, B.sti)
        #expect(f.read(N.mip) == B.ssi | B.sei)
    }

    @Test func lcofipIsWritableOnlyWithSscofpmf() {
        var f = HartFixture()
        f.write(N.mip, B.lcofi)
        #expect(f.read(N.mip) == 0)
        var g = HartFixture(TestHarts.small)
        g.write(N.mip, B.lcofi)
        #expect(g.read(N.mip) == B.lcofi)
        #expect(g.read(N.sip) == B.lcofi, "LCOFI is delegated, so sip shows it")
    }

    @Test func sipShowsOnlyDelegatedBits() {
        var f = HartFixture()
        f.write(N.mip, B.ssi | B.sti | B.sei)
        f.hart.mipDevices = [.msip, .mtip, .meip]
        f.env.passthrough[N.hvip] = B.vssi
        #expect(f.read(N.sip) == B.ssi | B.sti | B.sei, "no M bits, no VS bits")
    }

    @Test func sipWritesOnlySSIP() {
        var f = HartFixture()
        f.write(N.sip, ~0)
        #expect(f.read(N.mip) == B.ssi, "STIP and SEIP are read-only in sip")
        f.write(N.mip, B.sti | B.sei | B.ssi)
        f.write(N.sip, 0)
        #expect(f.read(N.mip) == B.sti | B.sei)
    }

    @Test func sieIsMieMaskedByMideleg() {
        var f = HartFixture()
        f.write(N.mie, B.msi | B.mti | B.mei | B.sti | B.vssi)
        #expect(f.read(N.sie) == B.sti)
        f.write(N.sie, ~0)
        #expect(f.read(N.mie) == B.msi | B.mti | B.mei | B.ssi | B.sti | B.sei | B.vssi,
                "sie writes reach only the delegated S bits")
        f.write(N.sie, 0)
        #expect(f.read(N.mie) == B.msi | B.mti | B.mei | B.vssi)
    }

    @Test func seipReadsAsLatchOrExternalLine() {
        var f = HartFixture()
        f.env.supervisorExternalLine = true
        #expect(f.read(N.mip) == B.sei)
        #expect(f.read(N.sip) == B.sei)
        f.env.supervisorExternalLine = false
        #expect(f.read(N.mip) == 0)
    }

    @Test func seipReadModifyWriteUsesLatchAlone() {
        var f = HartFixture()
        // Latch B = 0, line E = 1: csrrs t0, mip, SSIP returns B|E but leaves B = 0.
        f.env.supervisorExternalLine = true
        #expect(f.set(N.mip, B.ssi) == B.sei)
        f.env.supervisorExternalLine = false
        #expect(f.read(N.mip) == B.ssi, "the line's SEIP was not copied into the latch")
        // Latch B = 1, line E = 1: csrrc of SEIP clears B although reads show E.
        f.set(N.mip, B.sei)
        f.env.supervisorExternalLine = true
        f.clear(N.mip, B.sei)
        #expect(f.read(N.mip) == B.ssi | B.sei, "the line still shows")
        f.env.supervisorExternalLine = false
        #expect(f.read(N.mip) == B.ssi, "but the latch is clear")
    }

    @Test func seipCsrrwWritesTheLatch() {
        var f = HartFixture()
        f.env.supervisorExternalLine = true
        #expect(f.write(N.mip, B.sei) == B.sei)
        f.env.supervisorExternalLine = false
        #expect(f.read(N.mip) == B.sei)
        f.env.supervisorExternalLine = true
        f.write(N.mip, 0)
        f.env.supervisorExternalLine = false
        #expect(f.read(N.mip) == 0)
    }

    @Test func stipReadOnlyWhenStimecmpDrivesIt() {
        var f = HartFixture()
        f.write(N.menvcfg, B.stce)
        f.env.time = 1_000
        f.write(N.stimecmp, 2_000)
        f.write(N.mip, B.sti)
        #expect(f.read(N.mip)! & B.sti == 0, "a CSR write cannot set STIP")
        f.env.time = 2_000
        #expect(f.read(N.mip)! & B.sti != 0, "time >= stimecmp asserts STIP")
        f.clear(N.mip, B.sti)
        #expect(f.read(N.mip)! & B.sti != 0, "nor clear it")
        f.write(N.stimecmp, ~0)
        #expect(f.read(N.mip)! & B.sti == 0, "a later stimecmp clears it")
        #expect(f.read(N.sip)! & B.sti == 0)
    }

    @Test func stipComparisonIsUnsigned() {
        var f = HartFixture()
        f.write(N.menvcfg, B.stce)
        f.env.time = 0x8000_0000_0000_0000
        f.write(N.stimecmp, 1)
        #expect(f.read(N.mip)! & B.sti != 0)
    }

    @Test func stipIsWritableWhenSTCEIsClear() {
        var f = HartFixture()
        f.write(N.stimecmp, 0)
        f.write(N.mip, B.sti)
        #expect(f.read(N.mip) == B.sti, "STCE = 0: STIP reverts to an ordinary writable bit")
        f.write(N.mip, 0)
        #expect(f.read(N.mip) == 0, "and stimecmp has no effect on it")
        var g = HartFixture(TestHarts.small)
        g.write(N.mip, B.sti)
        #expect(g.read(N.mip) == B.sti, "without Sstc STIP is writable")
    }

    @Test func stipRevertsToTheSoftwareBitWhenSTCEIsCleared() {
        var f = HartFixture()
        f.write(N.mip, B.sti)
        f.write(N.menvcfg, B.stce)
        #expect(f.read(N.mip)! & B.sti == 0, "stimecmp = ~0 is in the future")
        f.write(N.menvcfg, 0)
        #expect(f.read(N.mip)! & B.sti != 0)
    }

    @Test func hipVSSIPIsAnAliasOfHvip() {
        var f = HartFixture()
        f.write(N.hip, ~0)
        #expect(f.env.passthrough[N.hvip] == B.vssi, "only VSSIP is writable in hip")
        #expect(f.read(N.hip) == B.vssi)
        #expect(f.read(N.mip) == B.vssi)
        f.write(N.mip, 0)
        #expect(f.env.passthrough[N.hvip] == 0, "mip.VSSIP is the same bit")
    }

    @Test func hipShowsTheRealHartsVSBits() {
        var f = HartFixture()
        f.env.passthrough[N.hip] = B.vsti | B.vsei | B.sgei
        #expect(f.read(N.hip) == B.vsti | B.vsei | B.sgei)
        #expect(f.read(N.mip) == B.vsti | B.vsei | B.sgei)
        #expect(f.read(N.sip) == 0)
    }

    @Test func hieBitsAreAliasesOfMie() {
        var f = HartFixture()
        f.write(N.hie, ~0)
        #expect(f.read(N.hie) == B.vssi | B.vsti | B.vsei | B.sgei)
        #expect(f.read(N.mie) == B.vssi | B.vsti | B.vsei | B.sgei)
        f.write(N.mie, B.sgei)
        #expect(f.read(N.hie) == B.sgei)
        f.clear(N.hie, B.sgei)
        #expect(f.read(N.mie) == 0)
    }

    @Test func vsBitsAreAbsentFromSipAndSie() {
        var f = HartFixture()
        f.write(N.mie, B.vssi | B.vsti | B.vsei)
        #expect(f.read(N.sie) == 0)
        f.write(N.sie, B.vssi)
        #expect(f.read(N.mie) == B.vssi | B.vsti | B.vsei)
    }
}
