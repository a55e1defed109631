import Platform
import Testing
import VirtCore

/// The sandbox policy's firmware-world PMP (`PMPLayout.sandboxedFirmwareConfiguration`),
/// checked with the specification's PMP (``SpecPMP``, U-mode: the firmware
/// runs in real U-mode) on QEMU `virt` with OpenSBI 1.1's entries.
@Suite("Sandbox PMP")
struct SandboxPMPTests {
    static let platform = Fixture.expectedPlatform
    /// The monitor at the end of DRAM, as `MonitorPlacement` puts it.
    static let monitor = PlatformDescription.Region(base: 0x87E0_0000, size: 0x20_0000)
    static let layout = PMPLayout(monitor: monitor, platform: platform)
    static let memory = PlatformDescription.Region(base: 0x8000_0000, size: 0x7E0_0000)

    /// OpenSBI 1.1: entry 0 its 512 KiB at DRAM's base with no S/U
    /// permission, entry 8 everything RWX.
    static var openSBI: PMPFile {
        var pmp = PMPFile(entries: PMPLayout.virtualEntries)
        pmp.writeAddress(0, PMPLayout.napotAddress(base: 0x8000_0000, size: 0x8_0000))
        pmp.writeAddress(8, PMPLayout.everything)
        pmp.writeConfiguration(register: 0, UInt64(PMPLayout.napot))
        pmp.writeConfiguration(register: 2, UInt64(PMPLayout.napot | 7) << 0)
        return pmp
    }

    static func world(_ pmp: PMPFile, mprv: Bool) -> SpecPMP? {
        guard let c = layout.sandboxedFirmwareConfiguration(pmp, mprv: mprv, memory: memory) else { return nil }
        return SpecPMP(addresses: PMPLayoutTests.addresses(pmp, catchAll: c.catchAll, layout: layout),
                       cfg0: c.configuration.0, cfg2: c.configuration.1)
    }

    @Test func openSBIsMemoryAndTheDevicesStayTheFirmwaresTheRestOfDRAMDoesNot() throws {
        let w = try #require(Self.world(Self.openSBI, mprv: false))
        for a: UInt64 in [0x8000_0000, 0x8004_0000, 0x8007_FFF8] {
            #expect(w.allows(.read, at: a, width: 8) && w.allows(.write, at: a, width: 8) && w.allows(.execute, at: a))
        }
        // UART, flash, virtio: everything below DRAM but the walled devices.
        for a: UInt64 in [0x1000_0000, 0x2200_0000, 0x1000_1000, 0x3000_0000] {
            #expect(w.allows(.read, at: a) && w.allows(.write, at: a))
        }
        // The payload's memory: U-Boot, the kernel, the device tree.
        for a: UInt64 in [0x8008_0000, 0x8020_0000, 0x8400_0000, 0x87DF_FFF8] {
            #expect(!w.allows(.read, at: a) && !w.allows(.write, at: a) && !w.allows(.execute, at: a), "\(a)")
        }
        // The walls still deny: the monitor, the CLINT, the PLIC, the test device.
        for a: UInt64 in [0x87E0_0000, 0x0200_0000, 0x0C00_0000, 0x10_0000] {
            #expect(!w.allows(.read, at: a) && !w.allows(.write, at: a))
        }
        // A straddling access is refused.
        #expect(!w.allows(.read, at: 0x8007_FFFC, width: 8))
    }

    @Test func underMPRVEveryDataAccessTrapsAndTheFirmwareStillExecutes() throws {
        let w = try #require(Self.world(Self.openSBI, mprv: true))
        #expect(w.allows(.execute, at: 0x8000_1000))
        #expect(!w.allows(.read, at: 0x8000_1000) && !w.allows(.write, at: 0x1000_0000))
        #expect(!w.allows(.read, at: 0x8020_0000) && !w.allows(.execute, at: 0x8020_0000))
    }

    @Test func withoutAnEntryThatGrantsThePayloadAnythingThereIsNoSandbox() {
        #expect(Self.layout.sandboxedFirmwareConfiguration(PMPFile(entries: PMPLayout.virtualEntries),
                                                          mprv: false, memory: Self.memory).map { _ in true } == nil)
        var pmp = PMPFile(entries: PMPLayout.virtualEntries)
        pmp.writeAddress(0, PMPLayout.everything)
        pmp.writeConfiguration(register: 0, UInt64(PMPLayout.napot))
        #expect(Self.layout.sandboxedFirmwareConfiguration(pmp, mprv: false, memory: Self.memory).map { _ in true } == nil)
    }

    @Test func aLockedEntryStaysAsItIs() throws {
        var pmp = Self.openSBI
        // Entry 1: locked, read-only over 1 MiB of DRAM (binds M-mode natively).
        pmp.writeAddress(1, PMPLayout.napotAddress(base: 0x8010_0000, size: 0x10_0000))
        pmp.writeConfiguration(register: 0, UInt64(PMPLayout.napot) | UInt64(0x80 | PMPLayout.napot | 1) << 8)
        let w = try #require(Self.world(pmp, mprv: false))
        #expect(w.allows(.read, at: 0x8010_0000) && !w.allows(.write, at: 0x8010_0000))
        #expect(!w.allows(.read, at: 0x8020_0000))
    }

    @Test func theFirmwaresPMPChangeMovesItsMemory() throws {
        var pmp = Self.openSBI
        pmp.writeAddress(0, PMPLayout.napotAddress(base: 0x8000_0000, size: 0x20_0000))
        let w = try #require(Self.world(pmp, mprv: false))
        #expect(w.allows(.read, at: 0x801F_F000))
        #expect(!w.allows(.read, at: 0x8020_0000))
    }
}

/// ``PayloadSandbox``: what the firmware sees of the payload's registers.
@Suite("Sandbox registers")
struct PayloadSandboxTests {
    @Test func anSBICallShowsA0ToA7AndTakesBackA0A1() {
        let call = PayloadSandbox(cause: Exception.environmentCallFromS.rawValue)
        for i in 1..<32 {
            #expect((call.hiddenRegisters >> UInt32(i)) & 1 == ((10...17).contains(i) ? 0 : 1), "x\(i)")
        }
        #expect(call.hiddenRegisters & 1 == 0)
        #expect(call.returnedRegisters == 1 << 10 | 1 << 11)
        #expect(call.resumeOffset == 4)
        #expect(!call.permitsMPRV)
    }

    @Test func emulatedTrapsSeeEverythingAndMayUseMPRV() {
        for cause in [Exception.illegalInstruction, .loadAddressMisaligned, .storeAddressMisaligned] {
            let rule = PayloadSandbox(cause: cause.rawValue)
            #expect(rule.hiddenRegisters == 0 && rule.resumeOffset == nil && rule.permitsMPRV)
        }
        for cause in [Exception.loadAccessFault, .storeAccessFault, .breakpoint, .instructionPageFault] {
            let rule = PayloadSandbox(cause: cause.rawValue)
            #expect(rule.hiddenRegisters == 0 && !rule.permitsMPRV)
        }
    }

    @Test func anInterruptHidesEverythingAndGivesEverythingBack() {
        let rule = PayloadSandbox(cause: 1 << 63 | 7)
        #expect(rule.hiddenRegisters == ~UInt32(1))
        #expect(rule.resumeOffset == 0 && rule.returnedRegisters == 0 && !rule.permitsMPRV)
    }
}
