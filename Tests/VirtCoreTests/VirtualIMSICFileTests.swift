import Testing
import VirtCore

/// One hart's machine-level IMSIC interrupt file through `miselect`/`mireg`,
/// `mtopei` and `seteipnum` (AIA specification, "Incoming MSI Controller").
/// `miselect` numbers are written out from the specification's table.
@Suite("Virtual IMSIC interrupt file")
struct VirtualIMSICFileTests {
    /// QEMU `virt`: `riscv,num-ids` = 255.
    static func virt() -> VirtualIMSICFile { VirtualIMSICFile(identities: 255) }

    static let eidelivery: UInt64 = 0x70
    static let eithreshold: UInt64 = 0x72
    static func eip(_ k: UInt64) -> UInt64 { 0x80 + k }
    static func eie(_ k: UInt64) -> UInt64 { 0xC0 + k }

    /// Sets identity `i` pending and enabled.
    static func arm(_ file: inout VirtualIMSICFile, _ identities: UInt64...) {
        for i in identities {
            file.setPending(identity: i)
            let k = 2 * (i / 64)
            let old = file.peek(eie(k))!
            file.write(select: eie(k), value: old | 1 << (i % 64))
        }
    }

    // MARK: Geometry and reset

    @Test func identitiesAreClampedToTheSpecificationsRange() {
        #expect(VirtualIMSICFile(identities: 255).identities == 255)
        #expect(VirtualIMSICFile(identities: 0).identities == 63)
        #expect(VirtualIMSICFile(identities: -1).identities == 63)
        #expect(VirtualIMSICFile(identities: 5000).identities == 2047)
        #expect(VirtualIMSICFile.maximumIdentities == 2047)
    }

    @Test func everyRegisterIsZeroAfterReset() {
        var file = Self.virt()
        #expect(file.peek(Self.eidelivery) == 0)
        #expect(file.peek(Self.eithreshold) == 0)
        for k: UInt64 in [0, 2, 4, 6] {
            #expect(file.peek(Self.eip(k)) == 0)
            #expect(file.peek(Self.eie(k)) == 0)
        }
        #expect(file.peekTopei() == 0)
        #expect(!file.peekLine())
    }

    // MARK: Which miselect values have a register

    @Test func theSpecificationsRegisterNumbers() {
        #expect(VirtualIMSICFile.register(select: 0x70, identities: 255) == .eidelivery)
        #expect(VirtualIMSICFile.register(select: 0x72, identities: 255) == .eithreshold)
        #expect(VirtualIMSICFile.register(select: 0x80, identities: 255) == .eip(0))
        #expect(VirtualIMSICFile.register(select: 0x86, identities: 255) == .eip(6))
        #expect(VirtualIMSICFile.register(select: 0xC0, identities: 255) == .eie(0))
        #expect(VirtualIMSICFile.register(select: 0xC6, identities: 255) == .eie(6))
        #expect(VirtualIMSICFile.register(select: 0xBE, identities: 2047) == .eip(62))
        #expect(VirtualIMSICFile.register(select: 0xFE, identities: 2047) == .eie(62))
    }

    @Test(arguments: [UInt64(0x81), 0x83, 0x85, 0xBF, 0xC1, 0xC7, 0xFF])
    func oddEipAndEieDoNotExistOnRV64(select: UInt64) {
        var file = VirtualIMSICFile(identities: 2047)
        #expect(VirtualIMSICFile.register(select: select, identities: 2047) == nil)
        #expect(file.peek(select) == nil)
        let written = file.write(select: select, value: .max)
        #expect(!written)
    }

    /// QEMU 7.2: `-EINVAL`, an illegal instruction (the specification says
    /// they read 0 and ignore writes).
    @Test(arguments: [UInt64(0x71), 0x73, 0x7F])
    func reservedNumbersAreIllegalAsInQEMU(select: UInt64) {
        var file = Self.virt()
        #expect(file.peek(select) == nil)
        let written = file.write(select: select, value: 1)
        #expect(!written)
    }

    @Test(arguments: [UInt64(0x00), 0x30, 0x3E, 0x6F, 0x100, 0x170, 0x1FF, .max])
    func numbersOutsideTheIMSICRangeHaveNoRegister(select: UInt64) {
        #expect(VirtualIMSICFile.register(select: select, identities: 2047) == nil)
    }

    @Test func wordsBeyondTheImplementedIdentitiesDoNotExist() {
        #expect(VirtualIMSICFile.register(select: 0x88, identities: 255) == nil, "eip8: identities 256…319")
        #expect(VirtualIMSICFile.register(select: 0xC8, identities: 255) == nil)
        #expect(VirtualIMSICFile.register(select: 0x82, identities: 63) == nil, "eip2 with 63 identities")
        #expect(VirtualIMSICFile.register(select: 0x80, identities: 63) == .eip(0))
        #expect(VirtualIMSICFile.register(select: 0xBE, identities: 1983) == nil)
        #expect(VirtualIMSICFile.register(select: 0xBC, identities: 1983) == .eip(60))
    }

    // MARK: Writable bits

    @Test func bitZeroOfEip0AndEie0IsReadOnlyZero() {
        var file = Self.virt()
        let wrotePending = file.write(select: Self.eip(0), value: .max)
        let wroteEnables = file.write(select: Self.eie(0), value: .max)
        #expect(wrotePending && wroteEnables)
        #expect(file.peek(Self.eip(0)) == UInt64.max - 1)
        #expect(file.peek(Self.eie(0)) == UInt64.max - 1)
        file.write(select: Self.eip(2), value: .max)
        #expect(file.peek(Self.eip(2)) == .max, "only word 0 has identity 0")
    }

    @Test func bitsAboveTheIdentitiesReadZero() {
        var file = VirtualIMSICFile(identities: 100)
        let written = file.write(select: Self.eip(2), value: .max)
        #expect(written)
        #expect(file.peek(Self.eip(2)) == (1 << 37) - 1, "identities 64…100")
    }

    @Test func eideliveryHoldsBitZeroOnly() {
        var file = Self.virt()
        file.write(select: Self.eidelivery, value: 0x4000_0001)
        #expect(file.peek(Self.eidelivery) == 1)
        file.write(select: Self.eidelivery, value: 0x4000_0000)
        #expect(file.peek(Self.eidelivery) == 0, "0x40000000 (PLIC/APLIC delivery) is not supported")
    }

    @Test func eithresholdHoldsElevenBits() {
        var file = Self.virt()
        file.write(select: Self.eithreshold, value: 0xFFFF_F812)
        #expect(file.peek(Self.eithreshold) == 0x012)
        file.write(select: Self.eithreshold, value: 2047)
        #expect(file.peek(Self.eithreshold) == 2047, "beyond the identities, as QEMU 7.2 keeps it")
    }

    // MARK: mtopei

    @Test func topeiReportsTheLowestPendingAndEnabledIdentity() {
        var file = Self.virt()
        Self.arm(&file, 200, 70, 9)
        #expect(file.peekTopei() == 9 << 16 | 9)
        file.setPending(identity: 3)
        #expect(file.peekTopei() == 9 << 16 | 9, "3 is pending but not enabled")
    }

    @Test func topeiFindsIdentitiesInTheHighestWord() {
        var file = VirtualIMSICFile(identities: 2047)
        Self.arm(&file, 2047)
        #expect(file.peekTopei() == 2047 << 16 | 2047)
        Self.arm(&file, 1024)
        #expect(file.peekTopei() == 1024 << 16 | 1024)
    }

    @Test func thresholdHidesIdentitiesAtOrAboveIt() {
        var file = Self.virt()
        Self.arm(&file, 70, 200)
        file.write(select: Self.eithreshold, value: 70)
        #expect(file.peekTopei() == 0, "70 is not below the threshold")
        file.write(select: Self.eithreshold, value: 71)
        #expect(file.peekTopei() == 70 << 16 | 70)
        file.write(select: Self.eithreshold, value: 0)
        #expect(file.peekTopei() == 70 << 16 | 70)
        file.setPending(identity: 70)
        file.claim()
        file.write(select: Self.eithreshold, value: 200)
        #expect(file.peekTopei() == 0)
        file.write(select: Self.eithreshold, value: 256)
        #expect(file.peekTopei() == 200 << 16 | 200)
        file.write(select: Self.eithreshold, value: 2000)
        #expect(file.peekTopei() == 200 << 16 | 200, "a threshold above the identities hides nothing")
    }

    @Test func topeiDoesNotDependOnEidelivery() {
        var file = Self.virt()
        Self.arm(&file, 5)
        #expect(file.peek(Self.eidelivery) == 0)
        #expect(file.peekTopei() == 5 << 16 | 5)
    }

    @Test func claimClearsOnlyTheTopIdentity() {
        var file = Self.virt()
        Self.arm(&file, 4, 64, 130)
        let first = file.claim()
        #expect(first == 4 << 16 | 4)
        #expect(file.peek(Self.eip(0)) == 0)
        #expect(file.peek(Self.eip(2)) == 1, "64 stays pending")
        #expect(file.peek(Self.eip(4)) == 1 << 2, "130 stays pending")
        #expect(file.peek(Self.eie(0)) == 1 << 4, "the enable bit stays")
        let second = file.claim(), third = file.claim(), none = file.claim()
        #expect(second == 64 << 16 | 64)
        #expect(third == 130 << 16 | 130)
        #expect(none == 0)
    }

    @Test func claimWithNothingPendingChangesNothing() {
        var file = Self.virt()
        file.setPending(identity: 9)
        file.write(select: Self.eie(0), value: 1 << 9)
        file.write(select: Self.eithreshold, value: 9)
        let claimed = file.claim()
        #expect(claimed == 0)
        #expect(file.peek(Self.eip(0)) == 1 << 9)
    }

    // MARK: seteipnum and the interrupt line

    @Test func seteipnumSetsImplementedIdentitiesOnly() {
        var file = Self.virt()
        file.setPending(identity: 0)
        file.setPending(identity: 256)
        file.setPending(identity: 0x1_0000_0001)
        file.setPending(identity: .max)
        for k: UInt64 in [0, 2, 4, 6] { #expect(file.peek(Self.eip(k)) == 0) }
        file.setPending(identity: 255)
        file.setPending(identity: 1)
        #expect(file.peek(Self.eip(6)) == 1 << 63)
        #expect(file.peek(Self.eip(0)) == 1 << 1)
    }

    @Test func theLineFollowsEideliveryAndTopei() {
        var file = Self.virt()
        Self.arm(&file, 12)
        #expect(!file.peekLine(), "eidelivery is 0")
        file.write(select: Self.eidelivery, value: 1)
        #expect(file.peekLine())
        file.write(select: Self.eithreshold, value: 12)
        #expect(!file.peekLine())
        file.write(select: Self.eithreshold, value: 0)
        file.claim()
        #expect(!file.peekLine())
    }

    // MARK: The page

    @Test func pageRegisters() {
        #expect(VirtualIMSICFile.pageRegister(offset: 0x000) == .seteipnumLE)
        #expect(VirtualIMSICFile.pageRegister(offset: 0x004) == .seteipnumBE)
        #expect(VirtualIMSICFile.pageRegister(offset: 0x3000) == .seteipnumLE, "any page")
        #expect(VirtualIMSICFile.pageRegister(offset: 0x3004) == .seteipnumBE)
        for offset: UInt64 in [0x001, 0x002, 0x003, 0x008, 0x00C, 0x100, 0xFFC, 0x1008] {
            #expect(VirtualIMSICFile.pageRegister(offset: offset) == .reserved, "0x\(String(offset, radix: 16))")
        }
    }
}

/// Observations for `#expect`, which cannot call mutating methods: each reads
/// a copy of the file (a test-only cost).
extension VirtualIMSICFile {
    func peek(_ select: UInt64) -> UInt64? {
        var copy = self
        return copy.read(select: select)
    }

    func peekTopei() -> UInt64 {
        var copy = self
        return copy.topei()
    }

    func peekLine() -> Bool {
        var copy = self
        return copy.interruptPending()
    }
}
