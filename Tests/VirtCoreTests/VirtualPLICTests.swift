import Testing
import VirtCore

/// The firmware's PLIC as a view over the real one: which register an offset
/// names (RISC-V PLIC specification 1.0.0, "Memory Map"), and how each
/// access is routed. Offsets are written out from the specification's table,
/// not computed the way `VirtualPLIC` computes them.
@Suite("Virtual PLIC view")
struct VirtualPLICTests {
    /// QEMU `virt` with 4 harts: `riscv,ndev` = 95, contexts 0…7.
    static let virt = VirtualPLIC(sources: 95, harts: 4)

    // MARK: Geometry

    @Test func geometryFollowsTheDeviceTree() {
        let plic = Self.virt
        #expect(plic.sources == 95)
        #expect(plic.harts == 4)
        #expect(plic.contexts == 8)
        #expect(plic.words == 3, "sources 0…95 need three 32-bit words")
    }

    @Test(arguments: [(0, 1), (1, 1), (30, 1), (31, 1), (32, 2), (63, 2), (64, 3), (95, 3), (96, 4), (1023, 32)])
    func wordsCoverSourceZeroThroughTheLastSource(sources: Int, words: Int) {
        #expect(VirtualPLIC(sources: sources, harts: 1).words == words)
    }

    @Test func geometryIsClampedToTheSpecification() {
        #expect(VirtualPLIC(sources: -5, harts: 1).sources == 0)
        #expect(VirtualPLIC(sources: 5000, harts: 1).sources == 1023)
        #expect(VirtualPLIC(sources: 5000, harts: 1).words == 32)
        #expect(VirtualPLIC(sources: 1, harts: 0).harts == 1)
        #expect(VirtualPLIC(sources: 1, harts: -2).contexts == 2)
        #expect(VirtualPLIC(sources: 1, harts: 100_000).contexts == 15872)
    }

    @Test func contextsOfAHartAreTwoHAndTwoHPlusOne() {
        #expect(VirtualPLIC.machineContext(hart: 0) == 0)
        #expect(VirtualPLIC.supervisorContext(hart: 0) == 1)
        #expect(VirtualPLIC.machineContext(hart: 5) == 10)
        #expect(VirtualPLIC.supervisorContext(hart: 5) == 11)
    }

    @Test func offsetHelpersMatchTheMemoryMap() {
        #expect(VirtualPLIC.thresholdOffset(context: 0) == 0x20_0000)
        #expect(VirtualPLIC.thresholdOffset(context: 3) == 0x20_3000)
        #expect(VirtualPLIC.thresholdOffset(context: 15871) == 0x3FF_F000)
        #expect(VirtualPLIC.enableOffset(context: 0, word: 0) == 0x2000)
        #expect(VirtualPLIC.enableOffset(context: 3, word: 2) == 0x2188)
        #expect(VirtualPLIC.enableOffset(context: 15871, word: 31) == 0x1F_1FFC)
        #expect(VirtualPLIC.reevaluateOffset == 0, "priority[0]")
        #expect(VirtualPLIC.size == 0x400_0000)
    }

    // MARK: Decoding: priorities (0x000000 + 4 * source)

    @Test func prioritiesOfEverySource() {
        #expect(Self.virt.decode(offset: 0x4) == .priority(source: 1))
        #expect(Self.virt.decode(offset: 0x28) == .priority(source: 10))
        #expect(Self.virt.decode(offset: 0x17C) == .priority(source: 95))
    }

    @Test func sourceZeroPriorityIsReserved() {
        #expect(Self.virt.decode(offset: 0) == .reserved)
    }

    @Test func prioritiesBeyondRiscvNdevAreReserved() {
        #expect(Self.virt.decode(offset: 0x180) == .reserved, "source 96")
        #expect(Self.virt.decode(offset: 0xFFC) == .reserved, "source 1023")
        #expect(VirtualPLIC(sources: 1023, harts: 1).decode(offset: 0xFFC) == .priority(source: 1023))
        #expect(VirtualPLIC(sources: 0, harts: 1).decode(offset: 4) == .reserved, "no source at all")
    }

    // MARK: Pending (0x001000 + 4 * word)

    @Test func pendingWordsThatExist() {
        #expect(Self.virt.decode(offset: 0x1000) == .pending(word: 0))
        #expect(Self.virt.decode(offset: 0x1008) == .pending(word: 2))
    }

    @Test func pendingWordsBeyondTheSourcesAreReserved() {
        #expect(Self.virt.decode(offset: 0x100C) == .reserved)
        #expect(Self.virt.decode(offset: 0x107C) == .reserved, "word 31")
        #expect(Self.virt.decode(offset: 0x1080) == .reserved, "past the 32 words")
        #expect(Self.virt.decode(offset: 0x1FFC) == .reserved)
        #expect(VirtualPLIC(sources: 1023, harts: 1).decode(offset: 0x107C) == .pending(word: 31))
    }

    // MARK: Enables (0x002000 + 0x80 * context + 4 * word)

    @Test func enableWordsOfEveryContext() {
        #expect(Self.virt.decode(offset: 0x2000) == .enable(context: 0, word: 0))
        #expect(Self.virt.decode(offset: 0x2084) == .enable(context: 1, word: 1))
        #expect(Self.virt.decode(offset: 0x2388) == .enable(context: 7, word: 2))
    }

    @Test func enableWordsBeyondTheSourcesAreReserved() {
        #expect(Self.virt.decode(offset: 0x200C) == .reserved, "context 0, word 3")
        #expect(Self.virt.decode(offset: 0x207C) == .reserved, "context 0, word 31")
        #expect(Self.virt.decode(offset: 0x238C) == .reserved, "context 7, word 3")
    }

    @Test func enablesOfContextsThatDoNotExistAreReserved() {
        #expect(Self.virt.decode(offset: 0x2400) == .reserved, "context 8")
        #expect(Self.virt.decode(offset: 0x1F_1FFC) == .reserved, "context 15871, word 31")
        #expect(Self.virt.decode(offset: 0x1F_2000) == .reserved, "past the last context")
        #expect(Self.virt.decode(offset: 0x1F_FFFC) == .reserved, "just before the context blocks")
    }

    // MARK: Context blocks (0x200000 + 0x1000 * context: threshold, +4 claim/complete)

    @Test func thresholdAndClaimOfEveryContext() {
        #expect(Self.virt.decode(offset: 0x20_0000) == .threshold(context: 0))
        #expect(Self.virt.decode(offset: 0x20_0004) == .claimComplete(context: 0))
        #expect(Self.virt.decode(offset: 0x20_3000) == .threshold(context: 3))
        #expect(Self.virt.decode(offset: 0x20_7004) == .claimComplete(context: 7))
    }

    @Test(arguments: [UInt64(8), 0xC, 0x10, 0x100, 0x800, 0xFF8, 0xFFC])
    func theRestOfAContextBlockIsReserved(within: UInt64) {
        #expect(Self.virt.decode(offset: 0x20_0000 + within) == .reserved)
        #expect(Self.virt.decode(offset: 0x20_5000 + within) == .reserved)
    }

    @Test func contextBlocksOfContextsThatDoNotExistAreReserved() {
        #expect(Self.virt.decode(offset: 0x20_8000) == .reserved, "context 8 threshold")
        #expect(Self.virt.decode(offset: 0x20_8004) == .reserved, "context 8 claim")
        #expect(Self.virt.decode(offset: 0x3FF_F004) == .reserved, "context 15871 claim")
        let largest = VirtualPLIC(sources: 95, harts: 7936)
        #expect(largest.decode(offset: 0x3FF_F004) == .claimComplete(context: 15871))
    }

    @Test func offsetsBeyondTheWindowAreReserved() {
        for offset: UInt64 in [0x400_0000, 0x400_0004, 0x420_0000, 0x1_0000_0000, UInt64.max - 3] {
            #expect(Self.virt.decode(offset: offset) == .reserved, "0x\(String(offset, radix: 16))")
        }
        let largest = VirtualPLIC(sources: 1023, harts: 7936)
        #expect(largest.decode(offset: 0x400_0000) == .reserved)
        #expect(largest.decode(offset: 0x400_0004) == .reserved)
    }

    @Test func misalignedOffsetsNameNoRegister() {
        for offset: UInt64 in [1, 2, 3, 0x29, 0x1002, 0x2001, 0x20_0002, 0x20_0005, 0x20_0007] {
            #expect(Self.virt.decode(offset: offset) == .reserved, "0x\(String(offset, radix: 16))")
        }
    }

    @Test func contextOfARegister() {
        #expect(PLICRegister.enable(context: 3, word: 1).context == 3)
        #expect(PLICRegister.threshold(context: 4).context == 4)
        #expect(PLICRegister.claimComplete(context: 5).context == 5)
        #expect(PLICRegister.priority(source: 5).context == nil)
        #expect(PLICRegister.pending(word: 0).context == nil)
        #expect(PLICRegister.reserved.context == nil)
    }

    // MARK: Routing

    @Test func loadsOfEveryRegisterAreRealExceptReserved() {
        let plic = Self.virt
        for register: PLICRegister in [.priority(source: 1), .pending(word: 0), .enable(context: 0, word: 0),
                                       .threshold(context: 1), .claimComplete(context: 6)] {
            #expect(plic.route(register, isStore: false) == .real, "\(register)")
        }
        #expect(plic.route(.reserved, isStore: false) == .none)
    }

    @Test func storesToPriorityThresholdAndCompleteAreReal() {
        let plic = Self.virt
        #expect(plic.route(.priority(source: 95), isStore: true) == .real)
        #expect(plic.route(.threshold(context: 0), isStore: true) == .real)
        #expect(plic.route(.threshold(context: 7), isStore: true) == .real)
        #expect(plic.route(.claimComplete(context: 2), isStore: true) == .real)
    }

    /// QEMU 7.2 does not re-evaluate its lines after an enable store: the
    /// monitor follows every enable store, M or S context, with a store of 0
    /// to `priority[0]`.
    @Test func enableStoresAreFollowedByAReevaluation() {
        for context in 0..<8 {
            #expect(Self.virt.route(.enable(context: context, word: 2), isStore: true) == .realThenReevaluate)
        }
    }

    @Test func pendingIsReadOnly() {
        #expect(Self.virt.route(.pending(word: 1), isStore: true) == .none)
    }

    @Test func reservedStoresAreDropped() {
        #expect(Self.virt.route(.reserved, isStore: true) == .none)
    }

    /// The reevaluation store goes to a reserved register: routed there from
    /// a guest, it would itself touch nothing.
    @Test func theReevaluationTargetIsReservedForTheGuest() {
        let plic = Self.virt
        #expect(plic.route(plic.decode(offset: VirtualPLIC.reevaluateOffset), isStore: true) == .none)
    }
}
