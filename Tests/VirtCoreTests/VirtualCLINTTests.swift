import Testing
import VirtCore

/// Behaviour of the virtual CLINT, one rule of the ACLINT specification
/// (MSWI and MTIMER in the SiFive CLINT layout) per test.
@Suite struct VirtualCLINTTests {
    let mtimecmp0: UInt64 = 0x4000
    let mtime: UInt64 = 0xBFF8

    // MARK: Reset and configuration

    @Test func resetClearsMSIPAndSetsMTimeCmpToAllOnes() {
        let clint = VirtualCLINT(harts: 4)
        for hart in 0..<4 {
            #expect(!clint.msip(hart: hart))
            #expect(clint.mtimecmp(hart: hart) == UInt64.max)
            #expect(clint.read(offset: UInt64(4 * hart), width: 4, time: 0) == 0)
            #expect(clint.read(offset: mtimecmp0 + UInt64(8 * hart), width: 8, time: 0) == UInt64.max)
        }
    }

    @Test func noTimerInterruptBeforeTheFirmwareProgramsOne() {
        let clint = VirtualCLINT(harts: 1)
        #expect(!clint.mtip(hart: 0, time: 0))
        #expect(!clint.mtip(hart: 0, time: UInt64.max - 1))
    }

    @Test func hartCountIsClampedToOneThroughEight() {
        #expect(VirtualCLINT(harts: 0).harts == 1)
        #expect(VirtualCLINT(harts: -3).harts == 1)
        #expect(VirtualCLINT(harts: 5).harts == 5)
        #expect(VirtualCLINT(harts: 100).harts == VirtualCLINT.maximumHarts)
    }

    // MARK: msip

    @Test func msipKeepsBitZeroAndReadsUpperBitsAsZero() {
        var clint = VirtualCLINT(harts: 2)
        #expect(clint.write(offset: 4, width: 4, value: 0xFFFF_FFFF) == .msip(hart: 1))
        #expect(clint.read(offset: 4, width: 4, time: 0) == 1)
        #expect(clint.msip(hart: 1))
        #expect(!clint.msip(hart: 0))
        #expect(clint.write(offset: 4, width: 4, value: 0) == .msip(hart: 1))
        #expect(clint.read(offset: 4, width: 4, time: 0) == 0)
    }

    @Test func msipWriteOfOnlyReadOnlyZeroBitsChangesNothing() {
        var clint = VirtualCLINT(harts: 1)
        #expect(clint.write(offset: 0, width: 4, value: 0xFFFF_FFFE) == .unchanged)
        #expect(!clint.msip(hart: 0))
        #expect(clint.write(offset: 0, width: 4, value: 1) == .msip(hart: 0))
        #expect(clint.write(offset: 0, width: 4, value: 3) == .unchanged)
        #expect(clint.msip(hart: 0))
    }

    @Test func msipAcceptsOnlyAligned32BitAccesses() {
        var clint = VirtualCLINT(harts: 2)
        #expect(clint.read(offset: 0, width: 8, time: 0) == nil)
        #expect(clint.write(offset: 0, width: 8, value: 1) == nil)
        #expect(clint.read(offset: 2, width: 4, time: 0) == nil)
        #expect(clint.write(offset: 6, width: 4, value: 1) == nil)
        #expect(!clint.msip(hart: 0) && !clint.msip(hart: 1))
    }

    /// QEMU's MSWI: `msip` of a hart that does not exist reads 0 and ignores
    /// writes (issue 9, K1).
    @Test func msipOfAMissingHartReadsZeroAndIgnoresWrites() {
        var clint = VirtualCLINT(harts: 2)
        #expect(clint.read(offset: 8, width: 4, time: 0) == 0)
        #expect(clint.write(offset: 8, width: 4, value: 1) == .unchanged)
        #expect(clint.read(offset: 8, width: 4, time: 0) == 0)
        #expect(clint.read(offset: 0x3FFC, width: 4, time: 0) == 0)
        #expect(clint.write(offset: 0x3FFC, width: 4, value: ~0) == .unchanged)
        #expect(!clint.msip(hart: 0) && !clint.msip(hart: 1) && !clint.msip(hart: 2))
    }

    @Test func setMSIPIsDirectAndIgnoresMissingHarts() {
        var clint = VirtualCLINT(harts: 2)
        clint.setMSIP(hart: 1, true)
        #expect(clint.msip(hart: 1))
        #expect(clint.read(offset: 4, width: 4, time: 0) == 1)
        clint.setMSIP(hart: 1, false)
        #expect(!clint.msip(hart: 1))
        clint.setMSIP(hart: 2, true)
        clint.setMSIP(hart: -1, true)
        #expect(!clint.msip(hart: 2) && !clint.msip(hart: -1))
        #expect(!clint.msip(hart: 0))
    }

    // MARK: mtimecmp

    @Test func mtimecmpHalvesComposeA64BitDeadline() {
        var clint = VirtualCLINT(harts: 2)
        let hart1 = mtimecmp0 + 8
        #expect(clint.write(offset: hart1, width: 4, value: 0x1234_5678) == .mtimecmp(hart: 1))
        #expect(clint.mtimecmp(hart: 1) == 0xFFFF_FFFF_1234_5678)
        #expect(clint.write(offset: hart1 + 4, width: 4, value: 0x9ABC_DEF0) == .mtimecmp(hart: 1))
        #expect(clint.mtimecmp(hart: 1) == 0x9ABC_DEF0_1234_5678)
        #expect(clint.read(offset: hart1, width: 4, time: 0) == 0x1234_5678)
        #expect(clint.read(offset: hart1 + 4, width: 4, time: 0) == 0x9ABC_DEF0)
        #expect(clint.read(offset: hart1, width: 8, time: 0) == 0x9ABC_DEF0_1234_5678)
        #expect(clint.mtimecmp(hart: 0) == UInt64.max)
    }

    @Test func mtimecmp32BitWritesIgnoreTheUpperBitsOfTheValue() {
        var clint = VirtualCLINT(harts: 1)
        _ = clint.write(offset: mtimecmp0, width: 8, value: 0)
        #expect(clint.write(offset: mtimecmp0, width: 4, value: 0xDEAD_BEEF_0000_0001) == .mtimecmp(hart: 0))
        #expect(clint.mtimecmp(hart: 0) == 1)
        #expect(clint.write(offset: mtimecmp0 + 4, width: 4, value: 0xFFFF_FFFF_0000_0002) == .mtimecmp(hart: 0))
        #expect(clint.mtimecmp(hart: 0) == 0x2_0000_0001)
    }

    @Test func mtimecmp64BitWriteReplacesTheDeadline() {
        var clint = VirtualCLINT(harts: 8)
        let hart7 = mtimecmp0 + 7 * 8
        #expect(clint.write(offset: hart7, width: 8, value: 0x0123_4567_89AB_CDEF) == .mtimecmp(hart: 7))
        #expect(clint.mtimecmp(hart: 7) == 0x0123_4567_89AB_CDEF)
        #expect(clint.write(offset: hart7, width: 8, value: 0x0123_4567_89AB_CDEF) == .unchanged)
    }

    @Test func mtimecmpRejectsA64BitAccessToTheUpperHalf() {
        var clint = VirtualCLINT(harts: 1)
        #expect(clint.read(offset: mtimecmp0 + 4, width: 8, time: 0) == nil)
        #expect(clint.write(offset: mtimecmp0 + 4, width: 8, value: 0) == nil)
        #expect(clint.mtimecmp(hart: 0) == UInt64.max)
    }

    @Test func mtimecmpOfAMissingHartReadsZeroAndIgnoresWrites() {
        var clint = VirtualCLINT(harts: 2)
        #expect(clint.read(offset: mtimecmp0 + 16, width: 8, time: 0) == 0)
        #expect(clint.read(offset: mtimecmp0 + 20, width: 4, time: 0) == 0)
        #expect(clint.write(offset: mtimecmp0 + 16, width: 4, value: 0) == .unchanged)
        #expect(clint.write(offset: mtimecmp0 + 16, width: 8, value: 5) == .unchanged)
        #expect(clint.read(offset: mtimecmp0 + 16, width: 8, time: 0) == 0)
        #expect(clint.read(offset: 0xBFF0, width: 8, time: 0) == 0)
        #expect(clint.mtimecmp(hart: 2) == UInt64.max)
        #expect(clint.mtimecmp(hart: -1) == UInt64.max)
        #expect(clint.mtimecmp(hart: 0) == UInt64.max && clint.mtimecmp(hart: 1) == UInt64.max)
    }

    @Test func mtipIsTimeAtOrPastMTimeCmpUnsigned() {
        var clint = VirtualCLINT(harts: 2)
        _ = clint.write(offset: mtimecmp0, width: 8, value: 1000)
        #expect(!clint.mtip(hart: 0, time: 999))
        #expect(clint.mtip(hart: 0, time: 1000))
        #expect(clint.mtip(hart: 0, time: 1001))
        // Unsigned: a deadline above Int64.max is later than any small time.
        _ = clint.write(offset: mtimecmp0 + 8, width: 8, value: 0x8000_0000_0000_0000)
        #expect(!clint.mtip(hart: 1, time: 0x7FFF_FFFF_FFFF_FFFF))
        #expect(clint.mtip(hart: 1, time: 0x8000_0000_0000_0000))
        _ = clint.write(offset: mtimecmp0, width: 8, value: 0)
        #expect(clint.mtip(hart: 0, time: 0))
        #expect(!clint.mtip(hart: 5, time: UInt64.max))
        #expect(!clint.mtip(hart: -1, time: UInt64.max))
    }

    @Test func writingAFutureDeadlineClearsMTIP() {
        var clint = VirtualCLINT(harts: 1)
        _ = clint.write(offset: mtimecmp0, width: 8, value: 10)
        #expect(clint.mtip(hart: 0, time: 50))
        _ = clint.write(offset: mtimecmp0, width: 8, value: 51)
        #expect(!clint.mtip(hart: 0, time: 50))
    }

    // MARK: mtime

    @Test func mtimeReadsTheRealTimeWholeOrInHalves() {
        let clint = VirtualCLINT(harts: 1)
        let time: UInt64 = 0x1122_3344_5566_7788
        #expect(clint.read(offset: mtime, width: 8, time: time) == time)
        #expect(clint.read(offset: mtime, width: 4, time: time) == 0x5566_7788)
        #expect(clint.read(offset: mtime + 4, width: 4, time: time) == 0x1122_3344)
        #expect(clint.read(offset: mtime + 4, width: 8, time: time) == nil)
    }

    @Test func mtimeWritesAreReportedButNotStored() {
        var clint = VirtualCLINT(harts: 1)
        #expect(clint.write(offset: mtime, width: 8, value: 42) == .mtime)
        #expect(clint.write(offset: mtime, width: 4, value: 42) == .mtime)
        #expect(clint.write(offset: mtime + 4, width: 4, value: 42) == .mtime)
        #expect(clint.write(offset: mtime + 4, width: 8, value: 42) == nil)
        #expect(clint.read(offset: mtime, width: 8, time: 7) == 7)
        #expect(clint.mtimecmp(hart: 0) == UInt64.max)
    }

    // MARK: Unsupported accesses

    @Test func unsupportedWidthsAreRejected() {
        var clint = VirtualCLINT(harts: 1)
        for width in [-1, 0, 1, 2, 3, 5, 16, Int.max, Int.min] {
            #expect(clint.read(offset: mtime, width: width, time: 0) == nil)
            #expect(clint.write(offset: mtimecmp0, width: width, value: 0) == nil)
            #expect(clint.write(offset: 0, width: width, value: 1) == nil)
        }
        #expect(!clint.msip(hart: 0))
        #expect(clint.mtimecmp(hart: 0) == UInt64.max)
    }

    /// Inside the MSWI and MTIMER, offsets that name no register read 0 and
    /// ignore writes; nothing is mapped at or above 0xC000.
    @Test func reservedOffsetsReadZeroAndIgnoreWrites() {
        var clint = VirtualCLINT(harts: 8)
        for offset: UInt64 in [0x20, 0x24, 0x3FF8, 0x3FFC, 0x4040, 0x4048, 0xBFF0] {
            #expect(clint.read(offset: offset, width: 4, time: 7) == 0, "0x\(String(offset, radix: 16))")
            #expect(clint.write(offset: offset, width: 4, value: ~0) == .unchanged)
            #expect(clint.read(offset: offset, width: 4, time: 7) == 0)
        }
        for offset: UInt64 in [0x4040, 0x7FF8, 0xBFF0] {
            #expect(clint.read(offset: offset, width: 8, time: 7) == 0, "0x\(String(offset, radix: 16))")
            #expect(clint.write(offset: offset, width: 8, value: ~0) == .unchanged)
        }
        for hart in 0..<8 {
            #expect(!clint.msip(hart: hart))
            #expect(clint.mtimecmp(hart: hart) == UInt64.max)
        }
    }

    @Test func offsetsPastTheMappedDevicesAreRefused() {
        var clint = VirtualCLINT(harts: 8)
        for offset: UInt64 in [0xC000, 0xC004, 0xFFF8, 0xFFFC, 0x1_0000, 0x1_4000, UInt64.max - 7] {
            #expect(clint.read(offset: offset, width: 4, time: 0) == nil, "0x\(String(offset, radix: 16))")
            #expect(clint.read(offset: offset, width: 8, time: 0) == nil)
            #expect(clint.write(offset: offset, width: 4, value: 1) == nil)
            #expect(clint.write(offset: offset, width: 8, value: 1) == nil)
        }
    }

    @Test func msipOf64BitWidthIsRefusedEvenAtAReservedOffset() {
        var clint = VirtualCLINT(harts: 1)
        #expect(clint.read(offset: 0x20, width: 8, time: 0) == nil)
        #expect(clint.write(offset: 0x3FF8, width: 8, value: 1) == nil)
    }

    // MARK: accepts(offset:width:)

    @Test func acceptsFollowsQEMUsValidSizes() {
        let clint = VirtualCLINT(harts: 2)
        // MSWI: 4 bytes, aligned, anywhere in 0…0x3FFF, existing hart or not.
        for offset: UInt64 in [0, 4, 8, 0x3FFC] {
            #expect(clint.accepts(offset: offset, width: 4))
            #expect(!clint.accepts(offset: offset, width: 8))
            #expect(!clint.accepts(offset: offset, width: 1))
            #expect(!clint.accepts(offset: offset, width: 2))
        }
        // MTIMER: 4 or 8 bytes, naturally aligned, 0x4000…0xBFFF.
        for offset: UInt64 in [0x4000, 0x4008, 0x4010, 0x7FF8, 0xBFF8] {
            #expect(clint.accepts(offset: offset, width: 4))
            #expect(clint.accepts(offset: offset, width: 8))
            #expect(clint.accepts(offset: offset + 4, width: 4))
            #expect(!clint.accepts(offset: offset + 4, width: 8))
            #expect(!clint.accepts(offset: offset, width: 2))
            #expect(!clint.accepts(offset: offset, width: 1))
        }
        // Misaligned, odd widths, unmapped.
        #expect(!clint.accepts(offset: 2, width: 4))
        #expect(!clint.accepts(offset: 0x4002, width: 4))
        #expect(!clint.accepts(offset: 0x4004, width: 8))
        for width in [0, 3, 5, 16, -4] {
            #expect(!clint.accepts(offset: 0x4000, width: width))
        }
        #expect(!clint.accepts(offset: 0xC000, width: 4))
        #expect(!clint.accepts(offset: 0xC000, width: 8))
        #expect(!clint.accepts(offset: 0xFFF8, width: 8))
        #expect(!clint.accepts(offset: UInt64.max - 3, width: 4))
    }

    @Test func readAndWriteAreNilExactlyWhenRefused() {
        var clint = VirtualCLINT(harts: 3)
        var wrong: [(UInt64, Int)] = []
        for offset in stride(from: UInt64(0), to: 0x1_0010, by: 2) {
            for width in [1, 2, 4, 8] {
                let accepted = clint.accepts(offset: offset, width: width)
                if (clint.read(offset: offset, width: width, time: 1) != nil) != accepted
                    || (clint.write(offset: offset, width: width, value: 0) != nil) != accepted {
                    wrong.append((offset, width))
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}
