import Testing
import VirtCore

/// The firmware's view of the APLIC's machine-level domain: which register
/// an offset names (AIA specification, "Memory-mapped control region for an
/// interrupt domain", offsets written out from its table), how each access
/// is routed, the virtual MSI address registers and their lock, and the MSI
/// address formula ("Addresses and data for outgoing MSIs").
@Suite("Virtual APLIC machine-level domain")
struct VirtualAPLICTests {
    /// QEMU `virt`, `aia=aplic-imsic`: 96 sources, MSI delivery.
    static let msi = VirtualAPLIC(sources: 96, harts: 4, msiMode: true)
    /// QEMU `virt`, `aia=aplic`, 4 harts: direct delivery.
    static let direct = VirtualAPLIC(sources: 96, harts: 4, msiMode: false)

    // MARK: Geometry

    @Test func geometryFollowsTheDeviceTree() {
        #expect(Self.msi.sources == 96)
        #expect(Self.msi.words == 4, "sources 0…96 need four words")
        #expect(Self.msi.harts == 0, "no IDCs in MSI mode")
        #expect(Self.direct.harts == 4)
        #expect(VirtualAPLIC(sources: 5000, harts: 9999, msiMode: false).sources == 1023)
        #expect(VirtualAPLIC(sources: 5000, harts: 9999, msiMode: false).harts == 512, "IDCs that fit in 0x8000")
        #expect(VirtualAPLIC(sources: -1, harts: -1, msiMode: false).sources == 0)
        #expect(VirtualAPLIC(sources: -1, harts: -1, msiMode: false).harts == 0)
    }

    // MARK: Decoding (offsets from the specification's table)

    @Test func registersOfTheFirstSixteenKiB() {
        let aplic = Self.msi
        let table: [(UInt64, APLICRegister)] = [
            (0x0000, .domaincfg),
            (0x0004, .sourcecfg(source: 1)), (0x0008, .sourcecfg(source: 2)), (0x0180, .sourcecfg(source: 96)),
            (0x1BC0, .mmsiaddrcfg), (0x1BC4, .mmsiaddrcfgh), (0x1BC8, .smsiaddrcfg), (0x1BCC, .smsiaddrcfgh),
            (0x1C00, .setip(word: 0)), (0x1C0C, .setip(word: 3)), (0x1CDC, .setipnum),
            (0x1D00, .inClrip(word: 0)), (0x1D0C, .inClrip(word: 3)), (0x1DDC, .clripnum),
            (0x1E00, .setie(word: 0)), (0x1E0C, .setie(word: 3)), (0x1EDC, .setienum),
            (0x1F00, .clrie(word: 0)), (0x1F0C, .clrie(word: 3)), (0x1FDC, .clrienum),
            (0x2000, .setipnumLE), (0x2004, .setipnumBE),
            (0x3000, .genmsi), (0x3004, .target(source: 1)), (0x3180, .target(source: 96)),
        ]
        for (offset, register) in table {
            #expect(aplic.decode(offset: offset) == register, "0x\(String(offset, radix: 16))")
        }
    }

    @Test func theLargestDomainReachesSource1023AndWord31() {
        let aplic = VirtualAPLIC(sources: 1023, harts: 1, msiMode: true)
        #expect(aplic.decode(offset: 0x0FFC) == .sourcecfg(source: 1023))
        #expect(aplic.decode(offset: 0x3FFC) == .target(source: 1023))
        #expect(aplic.decode(offset: 0x1C7C) == .setip(word: 31))
        #expect(aplic.decode(offset: 0x1F7C) == .clrie(word: 31))
        #expect(aplic.decode(offset: 0x1000) == .reserved, "past sourcecfg[1023]")
    }

    @Test func sourcesAndWordsBeyondTheDomainAreReserved() {
        for offset: UInt64 in [0x0184, 0x0FFC, 0x1C10, 0x1C7C, 0x1D10, 0x1E10, 0x1F10, 0x3184, 0x3FFC] {
            #expect(Self.msi.decode(offset: offset) == .reserved, "0x\(String(offset, radix: 16))")
        }
    }

    @Test func gapsAreReserved() {
        for offset: UInt64 in [0x1000, 0x1BBC, 0x1BD0, 0x1BFC, 0x1C80, 0x1CD8, 0x1CE0, 0x1DFC, 0x1FE0, 0x1FFC,
                               0x2008, 0x2FFC] {
            #expect(Self.msi.decode(offset: offset) == .reserved, "0x\(String(offset, radix: 16))")
            #expect(Self.direct.decode(offset: offset) == .reserved, "0x\(String(offset, radix: 16))")
        }
    }

    @Test func msiAddressRegistersExistOnlyInMSIMode() {
        for offset: UInt64 in [0x1BC0, 0x1BC4, 0x1BC8, 0x1BCC] {
            #expect(Self.direct.decode(offset: offset) == .reserved)
        }
    }

    @Test func idcsOfEveryHartInDirectMode() {
        let aplic = Self.direct
        #expect(aplic.decode(offset: 0x4000) == .idelivery(hart: 0))
        #expect(aplic.decode(offset: 0x4004) == .iforce(hart: 0))
        #expect(aplic.decode(offset: 0x4008) == .ithreshold(hart: 0))
        #expect(aplic.decode(offset: 0x4018) == .topi(hart: 0))
        #expect(aplic.decode(offset: 0x401C) == .claimi(hart: 0))
        #expect(aplic.decode(offset: 0x4020) == .idelivery(hart: 1))
        #expect(aplic.decode(offset: 0x407C) == .claimi(hart: 3))
        for offset: UInt64 in [0x400C, 0x4010, 0x4014, 0x402C, 0x4080, 0x409C, 0x7FFC] {
            #expect(aplic.decode(offset: offset) == .reserved, "0x\(String(offset, radix: 16))")
        }
    }

    @Test func noIDCsInMSIMode() {
        for offset: UInt64 in [0x4000, 0x4004, 0x4008, 0x4018, 0x401C, 0x4020] {
            #expect(Self.msi.decode(offset: offset) == .reserved, "0x\(String(offset, radix: 16))")
        }
    }

    @Test func theWindowEndsAt0x8000() {
        let aplic = VirtualAPLIC(sources: 96, harts: 512, msiMode: false)
        #expect(aplic.decode(offset: 0x7FFC) == .claimi(hart: 511))
        for offset: UInt64 in [0x8000, 0x8004, 0xC000, 0x1_0000_0000, UInt64.max - 3] {
            #expect(aplic.decode(offset: offset) == .reserved)
        }
    }

    @Test func misalignedOffsetsNameNoRegister() {
        for offset: UInt64 in [1, 2, 3, 0x5, 0x1BC2, 0x1C01, 0x2002, 0x3006, 0x4001] {
            #expect(Self.direct.decode(offset: offset) == .reserved, "0x\(String(offset, radix: 16))")
        }
    }

    // MARK: Routing

    @Test func msiAddressRegistersAreVirtualInMSIMode() {
        for register: APLICRegister in [.mmsiaddrcfg, .mmsiaddrcfgh, .smsiaddrcfg, .smsiaddrcfgh] {
            #expect(Self.msi.route(register, isStore: false) == .virtual)
            #expect(Self.msi.route(register, isStore: true) == .virtual)
            #expect(Self.direct.route(register, isStore: true) == .none, "not implemented in direct mode")
        }
    }

    @Test func everythingElseIsReal() {
        let msiRegisters: [APLICRegister] = [
            .domaincfg, .sourcecfg(source: 1), .sourcecfg(source: 96), .setip(word: 3), .setipnum, .inClrip(word: 0),
            .clripnum, .setie(word: 1), .setienum, .clrie(word: 2), .clrienum, .setipnumLE, .setipnumBE, .genmsi,
            .target(source: 50),
        ]
        for register in msiRegisters {
            for isStore in [false, true] {
                #expect(Self.msi.route(register, isStore: isStore) == .real, "\(register)")
                #expect(Self.direct.route(register, isStore: isStore) == .real, "\(register)")
            }
        }
        for register: APLICRegister in [.idelivery(hart: 0), .iforce(hart: 1), .ithreshold(hart: 2), .topi(hart: 3),
                                        .claimi(hart: 3)] {
            #expect(Self.direct.route(register, isStore: false) == .real, "\(register)")
            #expect(Self.direct.route(register, isStore: true) == .real, "\(register)")
        }
    }

    @Test func registersTheDomainDoesNotHaveGoNowhere() {
        let missing: [APLICRegister] = [
            .reserved, .sourcecfg(source: 0), .sourcecfg(source: 97), .target(source: 0), .target(source: 1023),
            .setip(word: 4), .clrie(word: -1), .idelivery(hart: 0), .claimi(hart: 4),
        ]
        for register in missing {
            #expect(Self.msi.route(register, isStore: false) == .none, "\(register)")
            #expect(Self.msi.route(register, isStore: true) == .none, "\(register)")
        }
        #expect(Self.direct.route(.claimi(hart: 4), isStore: false) == .none)
        #expect(Self.direct.route(.idelivery(hart: -1), isStore: true) == .none)
    }

    // MARK: The virtual MSI address registers

    @Test func virtualRegistersResetToZero() {
        var aplic = Self.msi
        for register: APLICRegister in [.mmsiaddrcfg, .mmsiaddrcfgh, .smsiaddrcfg, .smsiaddrcfgh] {
            #expect(aplic.readVirtual(register) == 0)
        }
        #expect(aplic.machineMSIAddress == APLICMSIAddressConfiguration(low: 0, high: 0))
    }

    @Test func writableBitsAreQEMUs() {
        var aplic = Self.msi
        aplic.writeVirtual(.mmsiaddrcfg, value: 0xFFFF_FFFF)
        aplic.writeVirtual(.mmsiaddrcfgh, value: 0x7FFF_FFFF)
        aplic.writeVirtual(.smsiaddrcfg, value: 0x1234_5678)
        aplic.writeVirtual(.smsiaddrcfgh, value: 0x7FFF_FFFF)
        #expect(aplic.readVirtual(.mmsiaddrcfg) == 0xFFFF_FFFF)
        #expect(aplic.readVirtual(.mmsiaddrcfgh) == 0x1F77_FFFF, "bits 30:29, 23 and 19 are reserved")
        #expect(aplic.readVirtual(.smsiaddrcfg) == 0x1234_5678)
        #expect(aplic.readVirtual(.smsiaddrcfgh) == 0x1F77_FFFF, "QEMU 7.2 keeps every field here")
    }

    @Test func machineLockFreezesTheMachinePairOnlyAsQEMU72Does() {
        var aplic = Self.msi
        aplic.writeVirtual(.mmsiaddrcfg, value: 0x24000)
        aplic.writeVirtual(.smsiaddrcfg, value: 0x28000)
        aplic.writeVirtual(.mmsiaddrcfgh, value: 0x8000_6000)
        for register: APLICRegister in [.mmsiaddrcfg, .mmsiaddrcfgh, .smsiaddrcfg, .smsiaddrcfgh] {
            aplic.writeVirtual(register, value: 0x1234)
        }
        #expect(aplic.readVirtual(.mmsiaddrcfg) == 0x24000)
        #expect(aplic.readVirtual(.mmsiaddrcfgh) == 0x8000_6000, "locked fields stay visible, as in QEMU 7.2")
        #expect(aplic.readVirtual(.smsiaddrcfg) == 0x1234, "QEMU 7.2's lock, not the specification's")
        #expect(aplic.readVirtual(.smsiaddrcfgh) == 0x1234)
        #expect(aplic.machineMSIAddress.locked)
    }

    @Test func supervisorLockFreezesOnlyTheSupervisorPair() {
        var aplic = Self.msi
        aplic.writeVirtual(.smsiaddrcfgh, value: 0x8000_0000)
        aplic.writeVirtual(.smsiaddrcfg, value: 0x28000)
        aplic.writeVirtual(.smsiaddrcfgh, value: 0)
        aplic.writeVirtual(.mmsiaddrcfg, value: 0x24000)
        #expect(aplic.readVirtual(.smsiaddrcfg) == 0)
        #expect(aplic.readVirtual(.smsiaddrcfgh) == 0x8000_0000)
        #expect(aplic.readVirtual(.mmsiaddrcfg) == 0x24000)
        #expect(aplic.supervisorMSIAddress.locked)
        #expect(!aplic.machineMSIAddress.locked)
    }

    @Test func otherRegistersAndDirectModeHaveNoVirtualState() {
        var aplic = Self.msi
        aplic.writeVirtual(.domaincfg, value: 0x100)
        aplic.writeVirtual(.target(source: 1), value: 7)
        #expect(aplic.readVirtual(.domaincfg) == 0)
        #expect(aplic.readVirtual(.target(source: 1)) == 0)
        var direct = Self.direct
        direct.writeVirtual(.mmsiaddrcfg, value: 0x24000)
        #expect(direct.readVirtual(.mmsiaddrcfg) == 0)
    }

    @Test func decodedConfigurationsFollowTheRegisters() {
        var aplic = Self.msi
        let machine = APLICMSIAddressConfiguration(basePPN: 0x24000, lhxs: 0, lhxw: 2, hhxs: 0, hhxw: 0)
        let supervisor = APLICMSIAddressConfiguration(basePPN: 0x28000, lhxs: 1, lhxw: 2, hhxs: 0, hhxw: 0)
        aplic.writeVirtual(.mmsiaddrcfg, value: machine.registerValues.low)
        aplic.writeVirtual(.mmsiaddrcfgh, value: machine.registerValues.high)
        aplic.writeVirtual(.smsiaddrcfg, value: supervisor.registerValues.low)
        aplic.writeVirtual(.smsiaddrcfgh, value: supervisor.registerValues.high)
        #expect(aplic.machineMSIAddress == machine)
        #expect(aplic.supervisorMSIAddress == supervisor)
    }

    // MARK: The configuration's fields and the address formula

    @Test func fieldsSitWhereTheSpecificationPutsThem() {
        let config = APLICMSIAddressConfiguration(low: 0x8765_4321, high: 0x9A53_7ABC)
        #expect(config.basePPN == 0xABC_8765_4321)
        #expect(config.lhxw == 0x7)
        #expect(config.hhxw == 0x3)
        #expect(config.lhxs == 0x5)
        #expect(config.hhxs == 0x1A)
        #expect(config.locked)
        #expect(config.registerValues == (0x8765_4321, 0x9A53_7ABC))
    }

    @Test func fieldsAreTruncatedToTheirWidths() {
        let config = APLICMSIAddressConfiguration(basePPN: .max, lhxs: 9, lhxw: 17, hhxs: 33, hhxw: 8)
        #expect(config.basePPN == (1 << 44) - 1)
        #expect(config.lhxs == 1)
        #expect(config.lhxw == 1)
        #expect(config.hhxs == 1)
        #expect(config.hhxw == 0)
    }

    /// Two groups of four harts, groups 4 GiB apart (E = 32, so HHXS = 8),
    /// machine-level files 4 KiB apart from A = 0x2400_0000: hart index 5 is
    /// hart 1 of group 1.
    @Test func groupsAndHartsOfTheSpecificationsLayout() {
        let config = APLICMSIAddressConfiguration(basePPN: 0x2_4000, lhxs: 0, lhxw: 2, hhxs: 8, hhxw: 1)
        #expect(config.address(hartIndex: 0) == 0x2400_0000)
        #expect(config.address(hartIndex: 3) == 0x2400_3000)
        #expect(config.address(hartIndex: 5) == 0x1_2400_1000)
        #expect(config.address(group: 1, hart: 1) == 0x1_2400_1000)
        #expect(config.address(hartIndex: 8) == 0x2400_0000, "group 2 does not fit in HHXW = 1")
    }

    /// Supervisor-level files with three guest files each (D = 14, so
    /// LHXS = 2) from B = 0x2800_0000.
    @Test func guestFilesFollowTheirHartsFile() {
        let config = APLICMSIAddressConfiguration(basePPN: 0x2_8000, lhxs: 2, lhxw: 3, hhxs: 0, hhxw: 0)
        #expect(config.address(hartIndex: 3) == 0x2800_C000)
        #expect(config.address(hartIndex: 3, guest: 2) == 0x2800_E000)
        #expect(config.address(hartIndex: 3, guest: 5) == 0x2800_D000, "QEMU 7.2 keeps LHXS bits of the guest index")
    }

    // MARK: The configuration for a run of interrupt files

    /// QEMU `virt`'s machine-level files: 4 KiB each from 0x2400_0000, one
    /// group, 1…64 harts.
    @Test func qemuVirtMachineLevelFiles() throws {
        for harts in 1...64 {
            let config = try #require(APLICMSIAddressConfiguration.forFiles(base: 0x2400_0000, stride: 0x1000, count: harts))
            #expect(config.lhxs == 0 && config.hhxw == 0 && !config.locked)
            #expect(1 << config.lhxw >= harts && (config.lhxw == 0 || 1 << (config.lhxw - 1) < harts), "harts \(harts)")
            for hart in 0..<harts {
                #expect(config.address(hartIndex: UInt64(hart)) == 0x2400_0000 + 0x1000 * UInt64(hart))
            }
        }
        let four = APLICMSIAddressConfiguration.forFiles(base: 0x2400_0000, stride: 0x1000, count: 4)
        #expect(four?.registerValues.low == 0x24000)
        #expect(four?.registerValues.high == 0x2000, "LHXW = 2")
    }

    /// QEMU `virt`'s supervisor-level files from 0x2800_0000: 4 KiB apart
    /// without guests, 4 KiB << guest bits with them.
    @Test(arguments: [0, 1, 2, 3])
    func qemuVirtSupervisorLevelFiles(guestBits: Int) throws {
        let stride = UInt64(0x1000) << UInt64(guestBits)
        for harts in [1, 2, 3, 4, 8, 13, 64] {
            let config = try #require(APLICMSIAddressConfiguration.forFiles(base: 0x2800_0000, stride: stride, count: harts))
            #expect(config.lhxs == guestBits)
            for hart in 0..<UInt64(harts) {
                #expect(config.address(hartIndex: hart) == 0x2800_0000 + stride * hart)
                if guestBits > 0 {
                    #expect(config.address(hartIndex: hart, guest: 1) == 0x2800_1000 + stride * hart)
                }
            }
        }
    }

    @Test func layoutsTheRegistersCannotExpress() {
        #expect(APLICMSIAddressConfiguration.forFiles(base: 0x2400_0000, stride: 0x800, count: 4) == nil, "below 4 KiB")
        #expect(APLICMSIAddressConfiguration.forFiles(base: 0x2400_0000, stride: 0x3000, count: 4) == nil, "not a power of two")
        #expect(APLICMSIAddressConfiguration.forFiles(base: 0x2400_0000, stride: 0x10_0000, count: 4) == nil, "LHXS > 7")
        #expect(APLICMSIAddressConfiguration.forFiles(base: 0x2400_0000, stride: 0x1000, count: 0) == nil)
        #expect(APLICMSIAddressConfiguration.forFiles(base: 0x2400_0000, stride: 0x1000, count: 16385) == nil)
        #expect(APLICMSIAddressConfiguration.forFiles(base: 0x2400_1000, stride: 0x1000, count: 2) == nil, "not aligned")
        #expect(APLICMSIAddressConfiguration.forFiles(base: 0x2400_2000, stride: 0x1000, count: 4) == nil, "OR is not +")
        #expect(APLICMSIAddressConfiguration.forFiles(base: 0x2400_0800, stride: 0x1000, count: 1) == nil)
        #expect(APLICMSIAddressConfiguration.forFiles(base: 1 << 56, stride: 0x1000, count: 1) == nil, "beyond Base PPN")
        #expect(APLICMSIAddressConfiguration.forFiles(base: 0x2400_1000, stride: 0x1000, count: 1) != nil)
        #expect(APLICMSIAddressConfiguration.forFiles(base: 0, stride: 0x8_0000, count: 16384) != nil)
    }
}
