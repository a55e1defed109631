import Testing
import VirtCore

/// Behaviour of the virtual PLIC, one rule of the RISC-V PLIC specification
/// (and of the monitor's split between M and S contexts) per test.
@Suite struct VirtualPLICTests {
    // QEMU virt: riscv,ndev = 95, priorities 0...7.
    static func priority(_ source: Int) -> UInt64 { UInt64(4 * source) }
    static func pending(word: Int) -> UInt64 { 0x1000 + UInt64(4 * word) }
    static func enable(context: Int, word: Int = 0) -> UInt64 { 0x2000 + 0x80 * UInt64(context) + UInt64(4 * word) }
    static func threshold(context: Int) -> UInt64 { 0x20_0000 + 0x1000 * UInt64(context) }
    static func claim(context: Int) -> UInt64 { threshold(context: context) + 4 }

    /// A PLIC where hart 0's M context enables `sources` (all in word 0 or 1)
    /// with the given priorities.
    static func plic(harts: Int = 2, enabling sources: [Int: UInt32]) -> VirtualPLIC {
        var plic = VirtualPLIC(sources: 95, harts: harts)
        var words: [UInt32] = [0, 0, 0]
        for (source, priority) in sources {
            _ = plic.write(offset: Self.priority(source), width: 4, value: priority)
            words[source / 32] |= 1 << UInt32(source % 32)
        }
        for word in 0..<3 where words[word] != 0 {
            _ = plic.write(offset: enable(context: 0, word: word), width: 4, value: words[word])
        }
        return plic
    }

    // MARK: Reset and configuration

    @Test func resetStateIsAllZero() {
        var plic = VirtualPLIC(sources: 95, harts: 4)
        for source in 0...95 {
            #expect(plic.read(offset: Self.priority(source), width: 4) == .value(0))
            #expect(!plic.isPending(source: source) && !plic.isInService(source: source))
        }
        for hart in 0..<4 {
            #expect(plic.read(offset: Self.threshold(context: 2 * hart), width: 4) == .value(0))
            for word in 0..<3 {
                #expect(plic.read(offset: Self.enable(context: 2 * hart, word: word), width: 4) == .value(0))
            }
            #expect(!plic.meip(hart: hart))
            #expect(plic.read(offset: Self.claim(context: 2 * hart), width: 4) == .value(0))
        }
        #expect(plic.meipHarts == 0)
    }

    @Test func configurationIsClamped() {
        let big = VirtualPLIC(sources: 1_000, harts: 100, priorityBits: 40)
        #expect(big.sources == 127 && big.harts == 8 && big.priorityMask == 0xFF && big.words == 4)
        let small = VirtualPLIC(sources: -1, harts: 0, priorityBits: 0)
        #expect(small.sources == 0 && small.harts == 1 && small.priorityMask == 1 && small.words == 1)
        let virt = VirtualPLIC(sources: 95, harts: 8)
        #expect(virt.priorityMask == 7 && virt.words == 3)
        #expect(VirtualPLIC(sources: 31, harts: 1).words == 1)
        #expect(VirtualPLIC(sources: 32, harts: 1).words == 2)
    }

    // MARK: priority

    @Test func priorityIsWARLOverTheImplementedBits() {
        var plic = VirtualPLIC(sources: 95, harts: 1)
        #expect(plic.write(offset: Self.priority(10), width: 4, value: 0xFFFF_FFFF) == .passthroughAndRecord)
        #expect(plic.read(offset: Self.priority(10), width: 4) == .value(7))
        _ = plic.write(offset: Self.priority(10), width: 4, value: 0x1D)
        #expect(plic.priority(source: 10) == 5)
        var twoBits = VirtualPLIC(sources: 95, harts: 1, priorityBits: 2)
        _ = twoBits.write(offset: Self.priority(95), width: 4, value: 0xFF)
        #expect(twoBits.read(offset: Self.priority(95), width: 4) == .value(3))
    }

    @Test func priorityWritesAreRecordedAndPassedThrough() {
        var plic = VirtualPLIC(sources: 95, harts: 1)
        #expect(plic.write(offset: Self.priority(1), width: 4, value: 3) == .passthroughAndRecord)
        #expect(plic.priority(source: 1) == 3)
        // The same value again still reaches the device: the payload may have changed it.
        #expect(plic.write(offset: Self.priority(1), width: 4, value: 3) == .passthroughAndRecord)
    }

    @Test func recordPriorityLegalisesAndIgnoresMissingSources() {
        var plic = VirtualPLIC(sources: 95, harts: 1)
        plic.recordPriority(source: 7, 0xF)
        #expect(plic.priority(source: 7) == 7)
        plic.recordPriority(source: 0, 5)
        plic.recordPriority(source: 96, 5)
        #expect(plic.priority(source: 0) == 0 && plic.priority(source: 96) == 0)
    }

    @Test func sourceZeroPriorityReadsZeroAndIgnoresWrites() {
        var plic = VirtualPLIC(sources: 95, harts: 1)
        #expect(plic.write(offset: 0, width: 4, value: 7) == .done)
        #expect(plic.read(offset: 0, width: 4) == .value(0))
    }

    @Test func priorityZeroNeverInterrupts() {
        var plic = Self.plic(enabling: [5: 0])
        plic.raise(source: 5)
        #expect(plic.isPending(source: 5))
        #expect(!plic.meip(hart: 0))
        // Not even a claim returns it: priority 0 "effectively disables the interrupt".
        #expect(plic.read(offset: Self.claim(context: 0), width: 4) == .value(0))
        #expect(plic.isPending(source: 5))
        _ = plic.write(offset: Self.priority(5), width: 4, value: 1)
        #expect(plic.meip(hart: 0))
    }

    // MARK: threshold and the interrupt line

    @Test func interruptIsSignalledOnlyAboveTheThreshold() {
        var plic = Self.plic(enabling: [9: 3])
        plic.raise(source: 9)
        #expect(plic.meip(hart: 0))
        _ = plic.write(offset: Self.threshold(context: 0), width: 4, value: 2)
        #expect(plic.meip(hart: 0))
        #expect(plic.write(offset: Self.threshold(context: 0), width: 4, value: 3) == .done)
        #expect(!plic.meip(hart: 0))
        _ = plic.write(offset: Self.priority(9), width: 4, value: 4)
        #expect(plic.meip(hart: 0))
    }

    @Test func thresholdIsWARLOverTheImplementedBits() {
        var plic = VirtualPLIC(sources: 95, harts: 2)
        _ = plic.write(offset: Self.threshold(context: 2), width: 4, value: 0xFFFF_FFF9)
        #expect(plic.read(offset: Self.threshold(context: 2), width: 4) == .value(1))
        #expect(plic.threshold(hart: 1) == 1)
        #expect(plic.threshold(hart: 0) == 0)
        #expect(plic.threshold(hart: 2) == 0)
    }

    @Test func interruptReachesOnlyContextsThatEnableTheSource() {
        var plic = VirtualPLIC(sources: 95, harts: 3)
        _ = plic.write(offset: Self.priority(40), width: 4, value: 1)
        _ = plic.write(offset: Self.enable(context: 4, word: 1), width: 4, value: 1 << 8)
        plic.raise(source: 40)
        #expect(!plic.meip(hart: 0) && !plic.meip(hart: 1) && plic.meip(hart: 2))
        #expect(plic.meipHarts == 0b100)
        #expect(!plic.meip(hart: 3) && !plic.meip(hart: -1))
    }

    @Test func aRequestIsSignalledToEveryEnabledContextAndClaimedOnce() {
        var plic = VirtualPLIC(sources: 95, harts: 2)
        _ = plic.write(offset: Self.priority(3), width: 4, value: 2)
        _ = plic.write(offset: Self.enable(context: 0), width: 4, value: 1 << 3)
        _ = plic.write(offset: Self.enable(context: 2), width: 4, value: 1 << 3)
        plic.raise(source: 3)
        #expect(plic.meipHarts == 0b11)
        #expect(plic.read(offset: Self.claim(context: 2), width: 4) == .value(3))
        // The claim on hart 1 lowers hart 0's line too.
        #expect(plic.meipHarts == 0)
        #expect(plic.read(offset: Self.claim(context: 0), width: 4) == .value(0))
    }

    // MARK: claim

    @Test func claimReturnsTheHighestPriorityThenTheLowestID() {
        var plic = Self.plic(enabling: [4: 2, 6: 5, 33: 5, 70: 1])
        for source in [70, 33, 6, 4] { plic.raise(source: source) }
        let order = (0..<5).map { _ in plic.read(offset: Self.claim(context: 0), width: 4) }
        #expect(order == [.value(6), .value(33), .value(4), .value(70), .value(0)])
    }

    @Test func claimIgnoresTheThreshold() {
        var plic = Self.plic(enabling: [12: 1])
        _ = plic.write(offset: Self.threshold(context: 0), width: 4, value: 7)
        plic.raise(source: 12)
        #expect(!plic.meip(hart: 0))
        #expect(plic.read(offset: Self.claim(context: 0), width: 4) == .value(12))
        #expect(plic.isInService(source: 12))
    }

    @Test func claimOnlyConsidersSourcesEnabledInThatContext() {
        var plic = Self.plic(enabling: [2: 1])
        _ = plic.write(offset: Self.priority(3), width: 4, value: 7)
        plic.raise(source: 3)
        #expect(plic.read(offset: Self.claim(context: 0), width: 4) == .value(0))
        plic.raise(source: 2)
        #expect(plic.read(offset: Self.claim(context: 0), width: 4) == .value(2))
        #expect(plic.isPending(source: 3))
    }

    @Test func claimClearsPendingAndCompleteReleases() {
        var plic = Self.plic(enabling: [10: 1])
        plic.raise(source: 10)
        #expect(plic.read(offset: Self.claim(context: 0), width: 4) == .value(10))
        #expect(!plic.isPending(source: 10) && plic.isInService(source: 10))
        #expect(!plic.meip(hart: 0))
        #expect(plic.write(offset: Self.claim(context: 0), width: 4, value: 10) == .completed(source: 10))
        #expect(!plic.isInService(source: 10))
        plic.raise(source: 10)
        #expect(plic.meip(hart: 0))
    }

    @Test func claimReturnsZeroWhenNothingIsPending() {
        var plic = Self.plic(enabling: [10: 1])
        #expect(plic.read(offset: Self.claim(context: 0), width: 4) == .value(0))
        #expect(!plic.isInService(source: 0))
    }

    @Test func aSourceInServiceIsNotClaimedAgainUntilCompleted() {
        var plic = Self.plic(enabling: [10: 1])
        plic.raise(source: 10)
        _ = plic.read(offset: Self.claim(context: 0), width: 4)
        plic.raise(source: 10)
        #expect(plic.isPending(source: 10))
        #expect(!plic.meip(hart: 0))
        #expect(plic.read(offset: Self.claim(context: 0), width: 4) == .value(0))
        _ = plic.write(offset: Self.claim(context: 0), width: 4, value: 10)
        #expect(plic.meip(hart: 0))
        #expect(plic.read(offset: Self.claim(context: 0), width: 4) == .value(10))
    }

    // MARK: complete

    @Test func completeIgnoredWhenSourceNotEnabled() {
        var plic = Self.plic(enabling: [10: 1])
        plic.raise(source: 10)
        _ = plic.read(offset: Self.claim(context: 0), width: 4)
        _ = plic.write(offset: Self.enable(context: 0), width: 4, value: 0)
        #expect(plic.write(offset: Self.claim(context: 0), width: 4, value: 10) == .done)
        #expect(plic.isInService(source: 10))
        // Hart 1's M context does not enable it either.
        #expect(plic.write(offset: Self.claim(context: 2), width: 4, value: 10) == .done)
        #expect(plic.isInService(source: 10))
    }

    @Test func completeIgnoredWhenSourceNotInService() {
        var plic = Self.plic(enabling: [10: 1])
        plic.raise(source: 10)
        #expect(plic.write(offset: Self.claim(context: 0), width: 4, value: 10) == .done)
        #expect(plic.isPending(source: 10) && !plic.isInService(source: 10))
    }

    @Test func completeFromAnotherContextThatEnablesTheSourceReleasesIt() {
        var plic = Self.plic(enabling: [10: 1])
        _ = plic.write(offset: Self.enable(context: 2), width: 4, value: 1 << 10)
        plic.raise(source: 10)
        _ = plic.read(offset: Self.claim(context: 0), width: 4)
        #expect(plic.write(offset: Self.claim(context: 2), width: 4, value: 10) == .completed(source: 10))
        #expect(!plic.isInService(source: 10))
    }

    @Test func completeOfAnIDOutsideTheSourcesIsIgnored() {
        var plic = Self.plic(enabling: [10: 1])
        for id: UInt32 in [0, 96, 127, 128, 0x8000_000A, 0xFFFF_FFFF] {
            #expect(plic.write(offset: Self.claim(context: 0), width: 4, value: id) == .done)
        }
    }

    // MARK: enable

    @Test func enableWritesReportChangesForMirroring() {
        var plic = VirtualPLIC(sources: 95, harts: 2)
        #expect(plic.write(offset: Self.enable(context: 2, word: 1), width: 4, value: 0x8000_0001) == .enablesChanged(hart: 1))
        #expect(plic.enables(hart: 1, word: 1) == 0x8000_0001)
        #expect(plic.write(offset: Self.enable(context: 2, word: 1), width: 4, value: 0x8000_0001) == .done)
        #expect(plic.enables(hart: 0, word: 1) == 0)
        #expect(plic.enables(hart: 1, word: 3) == 0 && plic.enables(hart: 2, word: 0) == 0)
    }

    @Test func enablesOfSourceZeroAndMissingSourcesAreHardwiredToZero() {
        var plic = VirtualPLIC(sources: 95, harts: 1)
        _ = plic.write(offset: Self.enable(context: 0, word: 0), width: 4, value: 0xFFFF_FFFF)
        _ = plic.write(offset: Self.enable(context: 0, word: 2), width: 4, value: 0xFFFF_FFFF)
        #expect(plic.read(offset: Self.enable(context: 0, word: 0), width: 4) == .value(0xFFFF_FFFE))
        #expect(plic.read(offset: Self.enable(context: 0, word: 2), width: 4) == .value(0xFFFF_FFFF))
        var odd = VirtualPLIC(sources: 70, harts: 1)
        #expect(odd.write(offset: Self.enable(context: 0, word: 2), width: 4, value: 0xFFFF_FFF8) == .enablesChanged(hart: 0))
        #expect(odd.enables(hart: 0, word: 2) == 0x78)
        #expect(odd.write(offset: Self.enable(context: 0, word: 2), width: 4, value: 0xFFFF_FF78) == .done)
    }

    // MARK: pending

    @Test func pendingReadsMergeTheRaisedSourcesIntoTheRealWord() {
        var plic = VirtualPLIC(sources: 95, harts: 1)
        plic.raise(source: 1)
        plic.raise(source: 64)
        plic.raise(source: 95)
        #expect(plic.read(offset: Self.pending(word: 0), width: 4) == .passthroughOr(0b10))
        #expect(plic.read(offset: Self.pending(word: 1), width: 4) == .passthroughOr(0))
        #expect(plic.read(offset: Self.pending(word: 2), width: 4) == .passthroughOr(0x8000_0001))
    }

    @Test func pendingIsReadOnly() {
        var plic = VirtualPLIC(sources: 95, harts: 1)
        #expect(plic.write(offset: Self.pending(word: 0), width: 4, value: 0xFFFF_FFFF) == .done)
        #expect(plic.read(offset: Self.pending(word: 0), width: 4) == .passthroughOr(0))
    }

    @Test func raiseIgnoresMissingSources() {
        var plic = VirtualPLIC(sources: 95, harts: 1)
        for source in [-1, 0, 96, 127, 128, Int.max, Int.min] { plic.raise(source: source) }
        for word in 0..<3 {
            #expect(plic.read(offset: Self.pending(word: word), width: 4) == .passthroughOr(0))
        }
    }

    // MARK: S contexts

    @Test func sContextRegistersPassThrough() {
        var plic = VirtualPLIC(sources: 95, harts: 2)
        for context in [1, 3] {
            #expect(plic.read(offset: Self.enable(context: context, word: 2), width: 4) == .passthrough)
            #expect(plic.write(offset: Self.enable(context: context), width: 4, value: 0xFFFF_FFFF) == .passthrough)
            #expect(plic.read(offset: Self.threshold(context: context), width: 4) == .passthrough)
            #expect(plic.write(offset: Self.threshold(context: context), width: 4, value: 1) == .passthrough)
            #expect(plic.read(offset: Self.claim(context: context), width: 4) == .passthrough)
            #expect(plic.write(offset: Self.claim(context: context), width: 4, value: 10) == .passthrough)
        }
        #expect(plic.enables(hart: 0, word: 0) == 0 && plic.threshold(hart: 0) == 0)
    }

    // MARK: Unsupported accesses

    @Test func onlyAligned32BitAccessesAreSupported() {
        var plic = VirtualPLIC(sources: 95, harts: 1)
        for width in [-4, 0, 1, 2, 3, 8, 16] {
            #expect(plic.read(offset: Self.priority(1), width: width) == .fault)
            #expect(plic.write(offset: Self.threshold(context: 0), width: width, value: 1) == .fault)
        }
        for offset in [Self.priority(1) + 1, Self.pending(word: 0) + 2, Self.enable(context: 0) + 3, Self.claim(context: 0) + 2] {
            #expect(plic.read(offset: offset, width: 4) == .fault)
            #expect(plic.write(offset: offset, width: 4, value: 1) == .fault)
        }
        #expect(plic.threshold(hart: 0) == 0 && plic.priority(source: 1) == 0)
    }

    @Test func accessesOutsideTheSourcesAndContextsFault() {
        var plic = VirtualPLIC(sources: 95, harts: 2)
        let outside: [UInt64] = [
            Self.priority(96), Self.priority(1023),
            Self.pending(word: 3), 0x1FFC,
            Self.enable(context: 0, word: 3), Self.enable(context: 3, word: 31), Self.enable(context: 4),
            0x1F_FFFC,
            Self.threshold(context: 0) + 8, Self.threshold(context: 1) + 0xFFC,
            Self.threshold(context: 4), Self.claim(context: 4), Self.claim(context: 15871),
            0x400_0000, 0x1_0000_0000, UInt64.max - 3,
        ]
        for offset in outside {
            #expect(plic.read(offset: offset, width: 4) == .fault, "offset \(offset)")
            #expect(plic.write(offset: offset, width: 4, value: 0xFFFF_FFFF) == .fault, "offset \(offset)")
        }
    }
}
