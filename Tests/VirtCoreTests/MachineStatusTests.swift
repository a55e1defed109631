import Testing
import VirtCore

/// `mstatus` and `sstatus` (privileged specification, "Machine Status
/// Register (mstatus)" and "Supervisor Status Register (sstatus)").
@Suite("mstatus and sstatus")
struct MachineStatusTests {
    @Test func mstatusResetShowsOnlyUXLAndSXL() {
        var f = HartFixture()
        #expect(f.read(N.mstatus) == B.xl64)
    }

    @Test func mstatusMPPRejectsReservedValue2() {
        var f = HartFixture()
        f.write(N.mstatus, 1 << B.mppShift)
        f.write(N.mstatus, 2 << B.mppShift)
        #expect((f.read(N.mstatus)! & B.mpp) >> B.mppShift == 1, "MPP = 2 keeps the old legal value")
        f.write(N.mstatus, 3 << B.mppShift)
        f.set(N.mstatus, 2 << B.mppShift)  // csrrs turns 3 into 3, not 2
        f.clear(N.mstatus, 1 << B.mppShift)  // 3 & ~1 = 2: reserved, keeps 3
        #expect((f.read(N.mstatus)! & B.mpp) >> B.mppShift == 3)
    }

    @Test(arguments: [UInt64(0), 1, 3])
    func mstatusMPPAcceptsLegalModes(mpp: UInt64) {
        var f = HartFixture()
        f.write(N.mstatus, mpp << B.mppShift)
        #expect((f.read(N.mstatus)! & B.mpp) >> B.mppShift == mpp)
    }

    @Test func mstatusUXLAndSXLReadOnlyTwo() {
        var f = HartFixture()
        f.write(N.mstatus, B.uxl | B.sxl)
        #expect(f.read(N.mstatus)! & (B.uxl | B.sxl) == B.xl64)
        f.write(N.mstatus, 0)
        #expect(f.read(N.mstatus)! & (B.uxl | B.sxl) == B.xl64)
        f.write(N.mstatus, 1 << 32 | 1 << 34)
        #expect(f.read(N.mstatus)! & (B.uxl | B.sxl) == B.xl64)
    }

    @Test func mstatusEndiannessBitsReadOnlyZero() {
        var f = HartFixture()
        f.write(N.mstatus, B.ube | B.sbe | B.mbe)
        #expect(f.read(N.mstatus)! & (B.ube | B.sbe | B.mbe) == 0)
    }

    @Test func mstatusXSReadOnlyZero() {
        var f = HartFixture()
        f.write(N.mstatus, B.xs)
        #expect(f.read(N.mstatus)! & B.xs == 0)
    }

    @Test func mstatusSDIsDerivedFromDirtyFS() {
        var f = HartFixture()
        f.write(N.mstatus, B.sd)
        #expect(f.read(N.mstatus)! & B.sd == 0, "SD is read-only")
        f.write(N.mstatus, 3 << 13)
        #expect(f.read(N.mstatus)! & B.sd != 0, "FS = Dirty sets SD")
        #expect(f.read(N.sstatus)! & B.sd != 0, "sstatus shows SD too")
        f.write(N.mstatus, 2 << 13)
        #expect(f.read(N.mstatus)! & B.sd == 0, "FS = Clean leaves SD clear")
    }

    @Test func mstatusFSReadOnlyZeroWithoutFloatingPoint() {
        var f = HartFixture(TestHarts.small)
        f.write(N.mstatus, B.fs)
        #expect(f.read(N.mstatus)! & (B.fs | B.sd) == 0)
    }

    /// "If S-mode is implemented but the V extension is not, VS may
    /// optionally be read-only zero": the virtual hart follows the real
    /// hart's choice, probed at boot (QEMU 7.2: writable).
    @Test func mstatusVSWithoutVectorFollowsTheRealHartsChoice() {
        var readOnly = TestHarts.qemu
        readOnly.mstatusVSWritable = false
        var f = HartFixture(readOnly)
        f.write(N.mstatus, B.vs)
        #expect(f.read(N.mstatus)! & B.vs == 0)
        var g = HartFixture()
        g.write(N.mstatus, B.vs)
        #expect(g.read(N.mstatus)! & B.vs == B.vs, "qemuRV64: writable, as on QEMU 7.2")
        #expect(g.read(N.mstatus)! & B.sd != 0, "VS = Dirty sets SD")
    }

    @Test func mstatusWritingAllOnesKeepsOnlyImplementedFields() {
        var f = HartFixture()
        f.write(N.mstatus, ~0)
        // SIE MIE SPIE MPIE SPP VS=3 MPP=3 FS=3 MPRV SUM MXR TVM TW TSR GVA MPV, UXL = SXL = 2, SD.
        #expect(f.read(N.mstatus) == 0x8000_00CA_007E_7FAA)
        var g = HartFixture(TestHarts.small)
        g.write(N.mstatus, ~0)
        #expect(g.read(N.mstatus) == 0xA_007E_19AA, "no FS, no GVA/MPV without F/D and H")
    }

    @Test func mstatusMPVAndGVAExistOnlyWithHypervisor() {
        var f = HartFixture()
        f.write(N.mstatus, B.mpv | B.gva)
        #expect(f.read(N.mstatus)! & (B.mpv | B.gva) == B.mpv | B.gva)
        var g = HartFixture(TestHarts.small)
        g.write(N.mstatus, B.mpv | B.gva)
        #expect(g.read(N.mstatus)! & (B.mpv | B.gva) == 0)
    }

    @Test func sstatusIsARestrictedViewOfMstatus() {
        var f = HartFixture()
        f.write(N.mstatus, B.mie | B.mpie | (3 << B.mppShift) | B.mprv | B.tvm | B.tw | B.tsr | B.sie)
        let s = f.read(N.sstatus)!
        #expect(s & (B.mie | B.mpie | B.mpp | B.mprv | B.tvm | B.tw | B.tsr) == 0, "M-level fields are hidden")
        #expect(s & B.sie != 0)
        #expect(s & B.uxl == 2 << 32, "sstatus shows UXL")
        #expect(s & B.sxl == 0, "sstatus does not show SXL")
    }

    @Test func sstatusWriteChangesOnlySupervisorFields() {
        var f = HartFixture()
        f.write(N.mstatus, B.mie | (3 << B.mppShift) | B.tvm)
        f.write(N.sstatus, ~0)
        // SIE SPIE SPP VS FS SUM MXR set; MIE, MPP, TVM untouched; nothing else.
        let expected = B.mie | (3 << B.mppShift) | B.tvm
            | B.sie | B.spie | B.spp | B.vs | B.fs | B.sum | B.mxr | B.xl64 | B.sd
        #expect(f.read(N.mstatus) == expected)
        #expect(f.read(N.sstatus) == 0x8000_0002_000C_6722)
        f.write(N.sstatus, 0)
        #expect(f.read(N.mstatus) == B.mie | (3 << B.mppShift) | B.tvm | B.xl64)
    }

    @Test func sstatusIsNotAccessibleFromUMode() {
        var f = HartFixture(mode: .user)
        #expect(f.read(N.sstatus) == nil)
        f.mode = .supervisor
        #expect(f.read(N.sstatus) == B.xl64 & B.uxl)
    }
}
