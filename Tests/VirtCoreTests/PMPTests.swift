import PropertyBased
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

    // MARK: range(_:) and permitsLowerPrivilege (privileged specification, "Address Matching")

    static func file(_ entries: [(cfg: UInt64, address: UInt64)], count: Int = 16) -> PMPFile {
        var pmp = PMPFile(entries: count)
        var words: [UInt64] = [0, 0]
        for (i, entry) in entries.enumerated() {
            pmp.writeAddress(i, entry.address)
            words[i / 8] |= entry.cfg << (UInt64(i % 8) * 8)
        }
        pmp.writeConfiguration(register: 0, words[0])
        pmp.writeConfiguration(register: 2, words[1])
        return pmp
    }

    static let rw = PMPFile.Bits.read | PMPFile.Bits.write

    @Test func rangeOfEachAddressMatchingMode() {
        let pmp = Self.file([
            (Self.tor | Self.r, 0x8000_0000 >> 2),                   // 0: TOR from 0
            (Self.tor | Self.r, 0x8000_1000 >> 2),                   // 1: TOR from entry 0's address
            (Self.na4 | Self.r, 0x1000 >> 2),                        // 2: NA4
            (Self.napot | Self.r, (0x2000 >> 2) | 0x1FF),            // 3: NAPOT 4 KiB at 0x2000
            (Self.napot | Self.r, 0x3000 >> 2),                      // 4: NAPOT, no trailing one: 8 bytes
            (0, 0x4000 >> 2),                                        // 5: OFF
            (Self.napot | Self.r, PMPFile.addressMask),              // 6: NAPOT, all ones
        ])
        func span(_ i: Int) -> [UInt64]? { pmp.range(i).map { [$0.low, $0.high] } }
        #expect(span(0) == [0, 0x8000_0000])
        #expect(span(1) == [0x8000_0000, 0x8000_1000])
        #expect(span(2) == [0x1000, 0x1004])
        #expect(span(3) == [0x2000, 0x3000])
        #expect(span(4) == [0x3000, 0x3008])
        #expect(span(5) == nil)
        #expect(span(6)?[0] == 0 && span(6)![1] >= 1 << 56)
    }

    @Test func accessInsideATORRangeUsesItsPermissions() {
        let pmp = Self.file([(0, 0x8000_0000 >> 2), (Self.tor | Self.r, 0x8000_1000 >> 2)])
        #expect(pmp.permitsLowerPrivilege(address: 0x8000_0000, size: 0x1000, needs: PMPFile.Bits.read))
        #expect(!pmp.permitsLowerPrivilege(address: 0x8000_0000, size: 4, needs: Self.rw), "no W")
        #expect(!pmp.permitsLowerPrivilege(address: 0x7FFF_FFFC, size: 4, needs: PMPFile.Bits.read), "below")
        #expect(!pmp.permitsLowerPrivilege(address: 0x8000_1000, size: 4, needs: PMPFile.Bits.read), "at the top")
    }

    @Test func torEntryZeroStartsAtZero() {
        let pmp = Self.file([(Self.tor | Self.r | Self.w, 0x1000 >> 2)])
        #expect(pmp.permitsLowerPrivilege(address: 0, size: 0x1000, needs: Self.rw))
        #expect(!pmp.permitsLowerPrivilege(address: 0xFFC, size: 8, needs: Self.rw), "straddles the top")
    }

    @Test func torWithTheBottomAtOrAboveTheTopMatchesNothing() {
        let pmp = Self.file([(0, 0x2000 >> 2), (Self.tor | Self.r | Self.w, 0x1000 >> 2),
                             (Self.napot | Self.r, PMPFile.addressMask)])
        #expect(!pmp.permitsLowerPrivilege(address: 0x1800, size: 4, needs: Self.rw),
                "entry 1 matches nothing; entry 2 decides (read only)")
        #expect(pmp.permitsLowerPrivilege(address: 0x1800, size: 4, needs: PMPFile.Bits.read))
    }

    @Test func na4MatchesFourBytes() {
        let pmp = Self.file([(Self.na4 | Self.r | Self.w, 0x0C20_1004 >> 2)])
        #expect(pmp.permitsLowerPrivilege(address: 0x0C20_1004, size: 4, needs: Self.rw))
        #expect(pmp.permitsLowerPrivilege(address: 0x0C20_1006, size: 2, needs: Self.rw))
        #expect(!pmp.permitsLowerPrivilege(address: 0x0C20_1000, size: 8, needs: Self.rw), "partly outside")
        #expect(!pmp.permitsLowerPrivilege(address: 0x0C20_1008, size: 4, needs: Self.rw), "no match")
    }

    @Test func napotMatchesItsNaturallyAlignedRegion() {
        // 0x0C20_1000, 4 KiB: yyyy…y0111111111.
        let pmp = Self.file([(Self.napot | Self.r | Self.w, (0x0C20_1000 >> 2) | 0x1FF)])
        #expect(pmp.permitsLowerPrivilege(address: 0x0C20_1000, size: 0x1000, needs: Self.rw))
        #expect(pmp.permitsLowerPrivilege(address: 0x0C20_1FFC, size: 4, needs: Self.rw))
        #expect(!pmp.permitsLowerPrivilege(address: 0x0C20_0000, size: 0x2000, needs: Self.rw), "partial overlap")
        #expect(!pmp.permitsLowerPrivilege(address: 0x0C20_1FFC, size: 8, needs: Self.rw), "straddles the end")
        #expect(!pmp.permitsLowerPrivilege(address: 0x0C20_0FFC, size: 8, needs: Self.rw), "straddles the start")
    }

    /// "The lowest-numbered PMP entry that matches any byte of an access
    /// determines whether the access succeeds or fails. The matching PMP
    /// entry must match all bytes of an access, or the access fails,
    /// irrespective of the L, R, W, and X bits."
    @Test func lowestEntryMatchingAnyByteDecidesAndMustMatchEveryByte() {
        let pmp = Self.file([
            (Self.napot | Self.r, (0x1000 >> 2) | 0x1),              // 0: 16 bytes at 0x1000, read
            (Self.napot | Self.r | Self.w, (0x1000 >> 2) | 0x1FF),   // 1: 4 KiB at 0x1000, read/write
        ])
        #expect(!pmp.permitsLowerPrivilege(address: 0x1000, size: 4, needs: Self.rw), "entry 0 decides")
        #expect(pmp.permitsLowerPrivilege(address: 0x1010, size: 4, needs: Self.rw), "entry 1 decides")
        #expect(!pmp.permitsLowerPrivilege(address: 0x1000, size: 0x1000, needs: PMPFile.Bits.read),
                "entry 0 matches some bytes only: fails although entry 1 would allow it")
        #expect(!pmp.permitsLowerPrivilege(address: 0x100C, size: 8, needs: PMPFile.Bits.read))
    }

    @Test func noMatchingEntryFails() {
        let pmp = Self.file([(Self.napot | Self.r | Self.w | Self.x, (0x8000_0000 >> 2) | 0x3FF)])
        #expect(!pmp.permitsLowerPrivilege(address: 0x1000, size: 4, needs: PMPFile.Bits.read))
        #expect(!PMPFile(entries: 16).permitsLowerPrivilege(address: 0, size: 1, needs: 0),
                "entries are implemented but all OFF")
    }

    @Test func needingNothingStillNeedsAFullMatch() {
        let pmp = Self.file([(Self.napot, (0x1000 >> 2) | 0x1)])
        #expect(pmp.permitsLowerPrivilege(address: 0x1000, size: 16, needs: 0))
        #expect(!pmp.permitsLowerPrivilege(address: 0x1008, size: 16, needs: 0))
    }

    /// "If no PMP entry matches an S-mode or U-mode access, but at least one
    /// PMP entry is implemented, the access fails": with no entry
    /// implemented, S and U accesses succeed.
    @Test func withoutImplementedEntriesLowerPrivilegeAccessesSucceed() {
        do {
            #expect(PMPFile(entries: 0).permitsLowerPrivilege(address: 0x1000, size: 4, needs: Self.rw))
        }
    }

    /// Random PMP files (TOR, NA4, NAPOT and OFF entries clustered in a small
    /// window so that they overlap) and random accesses, against
    /// `ReferencePMPMatcher`.
    @Test func permitsLowerPrivilegeAgreesWithAByteByByteMatcher() async {
        let entry = zip(Gen.int(in: 0...3), Gen.uint8(), Gen.uint64(in: 0...0x3FF), Gen.int(in: 0...9))
        let access = zip(Gen.uint64(in: 0...0x1200), Gen.int(in: 0...7), Gen.uint64(in: 1...0x400), Gen.uint8())
        await propertyCheck(count: 300, input: Gen.int(in: 1...16), entry.array(of: 16), access.array(of: 40)) {
            count, entries, accesses in
            let base: UInt64 = 0x0C20_0000
            var pmp = PMPFile(entries: count)
            var words: [UInt64] = [0, 0]
            for (i, (mode, permissions, offset, napotOnes)) in entries.enumerated() {
                var address = (base >> 2) + offset
                if mode == 3 {
                    address = (address & ~((1 << UInt64(napotOnes + 1)) - 1)) | ((1 << UInt64(napotOnes)) - 1)
                }
                pmp.writeAddress(i, address)
                words[i / 8] |= UInt64(UInt8(mode) << 3 | permissions & 7) << (UInt64(i % 8) * 8)
            }
            pmp.writeConfiguration(register: 0, words[0])
            pmp.writeConfiguration(register: 2, words[1])
            let reference = ReferencePMPMatcher(pmp)
            for (offset, sizeKind, anySize, needs) in accesses {
                let size: UInt64 = [1, 2, 4, 8, 16, 0x1000, anySize, 4][sizeKind]
                let address = base + (sizeKind == 7 ? offset & ~3 : offset)
                let needed = needs & 3
                let want = reference.permits(address: address, size: size, needs: needed)
                let got = pmp.permitsLowerPrivilege(address: address, size: size, needs: needed)
                #expect(got == want, "0x\(String(address, radix: 16)) +\(size) needs \(needed)")
                if got != want { return }
            }
        }
    }
}

/// PMP matching for S- and U-mode written from the privileged specification
/// ("Address Matching", "Priority and Matching Logic"), byte by byte: each
/// byte's word address is compared with the entry the way the
/// specification's table states it, independent of `PMPFile.range`.
struct ReferencePMPMatcher {
    let entries: Int
    let configurations: [UInt8]
    let addresses: [UInt64]

    init(_ pmp: PMPFile) {
        entries = pmp.entries
        configurations = (0..<pmp.entries).map { pmp.configuration($0) }
        addresses = (0..<pmp.entries).map { pmp.readAddress($0) }
    }

    /// Whether entry `i` matches the bytes of the 4-byte word `word`
    /// (address bits 55:2, as `pmpaddr` holds them; the PMP granularity is
    /// at least 4 bytes, so the bytes of a word match alike).
    func matches(_ i: Int, word: UInt64) -> Bool {
        switch (configurations[i] >> 3) & 3 {
        case 1:  // TOR: pmpaddr[i-1] <= y < pmpaddr[i]
            let bottom = i == 0 ? 0 : addresses[i - 1]
            return bottom <= word && word < addresses[i]
        case 2:  // NA4: exactly one word
            return word == addresses[i]
        case 3:  // NAPOT: k trailing ones, 2^(k+1) words; the high bits compare equal
            let k = (~addresses[i]).trailingZeroBitCount
            let shift = k + 1
            return shift >= 64 || word >> UInt64(shift) == addresses[i] >> UInt64(shift)
        default:
            return false
        }
    }

    func permits(address: UInt64, size: UInt64, needs: UInt8) -> Bool {
        if entries == 0 { return true }
        let words = Array((address >> 2)...((address + size - 1) >> 2))
        let first = words.compactMap { word in (0..<entries).first { matches($0, word: word) } }.min()
        guard let decider = first else { return false }
        guard words.allSatisfy({ matches(decider, word: $0) }) else { return false }
        return configurations[decider] & needs == needs
    }
}
