import Testing
import VirtCore

/// The PMP CSRs (privileged specification, "Physical Memory Protection CSRs"
/// and "Locking and Privilege Mode").
@Suite("Physical memory protection CSRs")
struct PMPTests {
    static let r: UInt64 = 1, w: UInt64 = 2, x: UInt64 = 4, tor: UInt64 = 1 << 3, na4: UInt64 = 2 << 3
    static let napot: UInt64 = 3 << 3, lock: UInt64 = 1 << 7

    @Test func pmpcfgRoundTripsLegalBytes() {
        var f = HartFixture()
        let cfg: UInt64 = 0x1F_1D_1B_19_0F_0D_0B_09
        f.write(N.pmpcfg0, cfg)
        #expect(f.read(N.pmpcfg0) == cfg)
        f.write(N.pmpcfg2, 0x0000_0000_0000_1800 | Self.napot | Self.r)
        #expect(f.read(N.pmpcfg2) == 0x1800 | Self.napot | Self.r)
    }

    @Test func pmpcfgReservedBitsReadZero() {
        var f = HartFixture()
        f.write(N.pmpcfg0, 0x60 | Self.r)
        #expect(f.read(N.pmpcfg0) == Self.r, "bits 6:5 of each byte are read-only zero")
    }

    @Test func pmpReservedWriteOnlyBecomesNoAccess() {
        var f = HartFixture()
        f.write(N.pmpcfg0, Self.w | Self.x | Self.tor)
        #expect(f.read(N.pmpcfg0) == Self.tor, "R=0 W=1 is reserved; the entry keeps A and grants nothing")
    }

    @Test func pmpLockedEntryIgnoresWrites() {
        var f = HartFixture()
        f.write(N.pmpaddr(0), 0x2000_0000)
        f.write(N.pmpcfg0, Self.lock | Self.napot | Self.r | Self.x)
        f.write(N.pmpcfg0, 0)
        #expect(f.read(N.pmpcfg0) == Self.lock | Self.napot | Self.r | Self.x, "cfg of a locked entry")
        f.write(N.pmpaddr(0), 0x1234)
        #expect(f.read(N.pmpaddr(0)) == 0x2000_0000, "address of a locked entry")
    }

    @Test func pmpLockIsPerEntry() {
        var f = HartFixture()
        f.write(N.pmpcfg0, Self.lock << 8)  // entry 1 locked, OFF
        f.write(N.pmpcfg0, ~0)
        // Entry 1 unchanged; every other byte takes ~0 legalised (0x9F).
        #expect(f.read(N.pmpcfg0) == 0x9F9F_9F9F_9F9F_809F)
    }

    @Test func pmpLockedTorLocksPreviousAddress() {
        var f = HartFixture()
        f.write(N.pmpaddr(2), 0x100)
        f.write(N.pmpaddr(3), 0x200)
        f.write(N.pmpcfg0, (Self.lock | Self.tor | Self.r) << 24)  // entry 3: locked TOR
        f.write(N.pmpaddr(2), 0x999)
        #expect(f.read(N.pmpaddr(2)) == 0x100, "pmpaddr2 is the bottom of a locked TOR range")
        f.write(N.pmpaddr(1), 0x999)
        #expect(f.read(N.pmpaddr(1)) == 0x999, "only the entry right below is locked")
    }

    @Test func pmpLockedNonTorEntryDoesNotLockPreviousAddress() {
        var f = HartFixture()
        f.write(N.pmpcfg0, (Self.lock | Self.napot | Self.r) << 8)
        f.write(N.pmpaddr(0), 0x777)
        #expect(f.read(N.pmpaddr(0)) == 0x777)
    }

    @Test func pmpLockedOffEntryIsStillLocked() {
        var f = HartFixture()
        f.write(N.pmpcfg0, Self.lock)
        f.write(N.pmpcfg0, Self.r)
        f.write(N.pmpaddr(0), 5)
        #expect(f.read(N.pmpcfg0) == Self.lock)
        #expect(f.read(N.pmpaddr(0)) == 0)
    }

    @Test(arguments: [N.pmpcfg1, N.pmpcfg1 + 2, N.pmpcfg1 + 14])
    func oddPmpcfgIsIllegalOnRV64(csr: UInt16) {
        var f = HartFixture()
        #expect(f.read(csr) == nil)
        #expect(f.hart.mcause == 2)
    }

    @Test func pmpaddrHolds54Bits() {
        var f = HartFixture()
        f.write(N.pmpaddr(5), ~0)
        #expect(f.read(N.pmpaddr(5)) == (1 << 54) - 1, "PA[55:2]")
    }

    @Test func pmpEntriesBeyondTheOfferedCountReadZero() {
        var f = HartFixture()  // 16 entries
        #expect(f.write(N.pmpcfg4, ~0) == 0)
        #expect(f.read(N.pmpcfg4) == 0)
        #expect(f.write(N.pmpaddr(16), ~0) == 0)
        #expect(f.read(N.pmpaddr(16)) == 0)
        #expect(f.read(N.pmpaddr(63)) == 0)
        var g = HartFixture(TestHarts.small)  // 8 entries: pmpcfg2 is entirely beyond
        g.write(N.pmpcfg0, ~0)
        #expect(g.read(N.pmpcfg0) == 0x9F9F_9F9F_9F9F_9F9F)
        g.write(N.pmpcfg2, ~0)
        #expect(g.read(N.pmpcfg2) == 0)
        g.write(N.pmpaddr(8), 1)
        #expect(g.read(N.pmpaddr(8)) == 0)
    }

    @Test func pmpCSRsAreIllegalWithoutEntries() {
        var c = TestHarts.small
        c.pmpEntries = 0
        var f = HartFixture(c)
        #expect(f.read(N.pmpcfg0) == nil)
        #expect(f.read(N.pmpaddr(0)) == nil)
    }

    @Test func pmpCSRsAreMachineOnly() {
        var f = HartFixture(mode: .supervisor)
        #expect(f.read(N.pmpcfg0) == nil)
        #expect(f.read(N.pmpaddr(0)) == nil)
    }
}
