import Platform
import Testing

/// `PlatformDescription` on QEMU 7.2's AIA machines (`-M virt,aia=aplic-imsic`
/// and `aia=aplic`, `-smp 4 -m 128M`): the devices are found from the
/// `riscv,imsics` and `riscv,aplic` nodes (Linux's bindings), not from fixed
/// addresses.
@Suite("AIA device tree")
struct AIADeviceTreeTests {
    @Test func imsicMachineHasMachineAndSupervisorFilesAndAnMSIDomain() throws {
        let d = try #require(platform(of: Fixture.load("qemu-virt-aplic-imsic-smp4.dtb")))
        #expect(d.hasAIA)
        #expect(d.plic.size == 0)
        #expect(d.aia.hasIMSIC)
        #expect(d.aia.imsicMachine == .init(base: 0x2400_0000, size: 0x4000))
        #expect(d.aia.imsicSupervisor == .init(base: 0x2800_0000, size: 0x4000))
        #expect(d.aia.imsicIdentities == 255)
        #expect(d.aia.machineFile(hart: 3) == 0x2400_3000)
        // The root domain at 0x0c000000 (its msi-parent is the M-level
        // IMSIC), not the S domain at 0x0d000000 that precedes it in the blob.
        #expect(d.aia.aplicMachine == .init(base: 0x0C00_0000, size: 0x8000))
        #expect(d.aia.aplicSources == 96)
        #expect(d.aia.aplicDeliversMSIs)
        #expect(d.clint == .init(base: 0x0200_0000, size: 0x1_0000))
        #expect(d.harts == 4)
    }

    @Test func directMachineHasNoIMSICAndADirectRootDomain() throws {
        let d = try #require(platform(of: Fixture.load("qemu-virt-aplic-smp4.dtb")))
        #expect(d.hasAIA)
        #expect(!d.aia.hasIMSIC)
        #expect(d.aia.imsicSupervisor.size == 0)
        #expect(d.aia.aplicMachine == .init(base: 0x0C00_0000, size: 0x8000))
        #expect(d.aia.aplicSources == 96)
        #expect(!d.aia.aplicDeliversMSIs)
    }

    @Test func plicMachineHasNoAIADevices() throws {
        let d = try #require(platform(of: Fixture.qemuVirtSMP4))
        #expect(!d.hasAIA)
        #expect(d.aia == AIADevices())
    }

    /// One machine-level APLIC domain per socket (direct delivery, MEI in
    /// `interrupts-extended`): the monitor walls one domain, so such a tree
    /// is flagged and the monitor refuses to boot rather than leave one
    /// domain (a bus master) reachable.
    @Test func twoMachineLevelDomainsAreAnUnsupportedLayout() throws {
        func domain(_ t: inout FDTBuilder, _ name: String, _ base: UInt64) {
            t.beginNode(name)
            t.property("compatible", strings: "riscv,aplic")
            t.property("interrupts-extended", cells: [1, 11])
            t.property("riscv,num-sources", cells: [96])
            t.reg(base, 0x8000)
            t.endNode()
        }
        let one = try #require(platform(of: FDTBuilder.machine { domain(&$0, "aplic@c000000", 0x0C00_0000) }.blob()))
        #expect(one.hasAIA && !one.aia.unsupportedLayout)
        let two = try #require(platform(of: FDTBuilder.machine {
            domain(&$0, "aplic@c000000", 0x0C00_0000)
            domain(&$0, "aplic@c100000", 0x0C10_0000)
        }.blob()))
        #expect(two.aia.unsupportedLayout)
    }

    /// An M-level IMSIC node with two `reg` regions (one per group): the
    /// monitor's PMP wall covers one region, so the layout is refused.
    @Test func imsicWithTwoRegionsIsAnUnsupportedLayout() throws {
        let d = try #require(platform(of: FDTBuilder.machine { t in
            t.beginNode("imsics@24000000")
            t.property("compatible", strings: "riscv,imsics")
            t.property("interrupts-extended", cells: [1, 11])
            t.property("riscv,num-ids", cells: [255])
            t.property("reg", cells: [0, 0x2400_0000, 0, 0x1000, 0, 0x2500_0000, 0, 0x1000])
            t.endNode()
        }.blob()))
        #expect(d.aia.hasIMSIC)
        #expect(d.aia.unsupportedLayout)
        let fixture = try #require(platform(of: Fixture.load("qemu-virt-aplic-imsic-smp4.dtb")))
        #expect(!fixture.aia.unsupportedLayout)
    }
}
