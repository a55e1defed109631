import Foundation
import Testing

/// Whole-machine boots: QEMU virt, Debian's OpenSBI 1.1 (`fw_dynamic.elf`,
/// `fw_jump.elf`) and U-Boot 2023.01 (qemu-riscv64_smode), and M-mode U-Boot
/// (qemu-riscv64) alone, driven through the serial console. Every firmware
/// is the file a user gives QEMU as -bios, at its own link address.
///
/// One QEMU at a time (`.serialized`): parallel QEMUs on a 2-core host make
/// the timing checks flaky. SMP boots run without -icount (QEMU 7.2's
/// multi-hart icount can starve harts). Each console is saved in
/// out/integration/<test>.log.
@Suite("Boots under QEMU", .serialized,
       .enabled(if: TestEnvironment.canBoot, TestEnvironment.skipReason))
struct UBootBootTests {
    /// `sleep 1` must take this long, prompt to prompt. The upper bound is
    /// generous: a loaded 2-core host delays timer interrupts.
    static let sleepBounds = 0.9...3.0

    /// Every pairing of 1, 4 and 8 harts with `-cpu` rv64, without Sstc and
    /// without H.
    static let machines: [(smp: Int, cpu: String)] = [1, 4, 8].flatMap { smp in
        ["rv64", "rv64,sstc=false", "rv64,h=false"].map { (smp, $0) }
    }

    @Test("OpenSBI (fw_dynamic.elf, fw_jump.elf) + U-Boot under the monitor: report, version, sleep 1, poweroff",
          .timeLimit(.minutes(5)),
          arguments: ["fw_dynamic.elf", "fw_jump.elf"], UBootBootTests.machines)
    func uBootUnderMonitor(firmwareName: String, machine: (smp: Int, cpu: String)) async throws {
        let image = try TestEnvironment.monitorImage()
        let firmware = try TestEnvironment.requireFile(TestEnvironment.opensbiDirectory + "/" + firmwareName,
                                                       package: "opensbi")
        let kernel = try TestEnvironment.requireFile(TestEnvironment.ubootELF, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "monitor-\(firmwareName)-smp\(machine.smp)-\(machine.cpu)",
            executable: try TestEnvironment.qemu(),
            arguments: try BootCommand.underMonitor(image: image, firmware: firmware, kernel: kernel,
                                                    smp: machine.smp, cpu: machine.cpu),
            logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        try await exercise(session, underMonitor: true, smp: machine.smp, cpu: machine.cpu)
    }

    /// The AIA machines (`-M virt,aia=aplic-imsic`: APLIC in MSI mode and
    /// IMSIC files, OpenSBI's IPIs through the M-level files; `aia=aplic`:
    /// APLIC with direct delivery, IPIs on the CLINT) at 1, 2, 4 and 8 harts.
    static let aiaMachines: [(aia: String, smp: Int, cpu: String)] = ["aplic-imsic", "aplic"].flatMap { aia in
        [1, 2, 4, 8].flatMap { smp in ["rv64", "rv64,sstc=false", "rv64,h=false"].map { (aia, smp, $0) } }
    }

    @Test("OpenSBI + U-Boot under the monitor on the AIA machines: report (IPI device, aia extension), version, sleep 1, poweroff",
          .timeLimit(.minutes(5)), arguments: UBootBootTests.aiaMachines)
    func uBootUnderMonitorWithAIA(machine: (aia: String, smp: Int, cpu: String)) async throws {
        let image = try TestEnvironment.monitorImage()
        let firmware = try TestEnvironment.requireFile(TestEnvironment.opensbiDirectory + "/fw_dynamic.elf",
                                                       package: "opensbi")
        let kernel = try TestEnvironment.requireFile(TestEnvironment.ubootELF, package: "u-boot-qemu")
        let arguments = try BootCommand.underMonitor(image: image, firmware: firmware, kernel: kernel,
                                                     smp: machine.smp, cpu: machine.cpu)
            .map { $0 == "virt" ? "virt,aia=\(machine.aia)" : $0 }
        let session = try ConsoleSession(
            name: "monitor-aia-\(machine.aia)-smp\(machine.smp)-\(machine.cpu)",
            executable: try TestEnvironment.qemu(), arguments: arguments,
            logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        try await exercise(session, underMonitor: true, smp: machine.smp, cpu: machine.cpu, aia: machine.aia)
    }

    @Test("Baseline: OpenSBI + U-Boot natively on the AIA machines", .timeLimit(.minutes(3)),
          arguments: ["aplic-imsic", "aplic"])
    func uBootNativeWithAIA(aia: String) async throws {
        let firmware = try TestEnvironment.requireFile(TestEnvironment.opensbiDirectory + "/fw_dynamic.elf",
                                                       package: "opensbi")
        let kernel = try TestEnvironment.requireFile(TestEnvironment.ubootELF, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "native-aia-\(aia)-smp4",
            executable: try TestEnvironment.qemu(),
            arguments: ["-M", "virt,aia=\(aia)", "-nographic", "-m", BootCommand.memory, "-smp", "4", "-cpu", "rv64",
                        "-bios", firmware, "-kernel", kernel],
            logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        try await exercise(session, underMonitor: false, smp: 4, cpu: "rv64", aia: aia)
    }

    /// The sandbox policy (`scripts/run --policy offload,sandbox`, boot option
    /// bits 0 clear and 1 set): OpenSBI + U-Boot boot and run as without it,
    /// on 1, 4 and 8 harts, with and without Sstc.
    @Test("OpenSBI + U-Boot under the monitor with --policy offload,sandbox", .timeLimit(.minutes(5)),
          arguments: [1, 4, 8], ["rv64", "rv64,sstc=false"])
    func uBootSandboxed(smp: Int, cpu: String) async throws {
        let image = try TestEnvironment.monitorImage()
        let firmware = try TestEnvironment.requireFile(TestEnvironment.opensbiDynamic,
                                                       package: "opensbi")
        let kernel = try TestEnvironment.requireFile(TestEnvironment.ubootELF, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "monitor-sandbox-smp\(smp)-\(cpu)",
            executable: try TestEnvironment.qemu(),
            arguments: try BootCommand.underMonitor(image: image, firmware: firmware, kernel: kernel, smp: smp, cpu: cpu,
                                                    options: BootCommand.sandbox),
            logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        try await exercise(session, underMonitor: true, smp: smp, cpu: cpu)
        #expect(session.log.text.contains("sandbox on"), "the banner does not say the sandbox is on")
    }

    /// A payload trap that needs the firmware's MPRV under the sandbox: a
    /// misaligned `lr.d` of U-Boot (`go` to three instructions written with
    /// `mw.l`: `addi a1, a1, 1; lr.d a0, (a1); ret`). QEMU 7.2 performs
    /// misaligned loads and stores in hardware; only LR/SC and AMOs trap
    /// (cause 4/6). OpenSBI's misaligned-load handler reads the instruction
    /// through MPRV, finds no load it emulates, and redirects the trap to
    /// U-Boot, which reports "Load address misaligned". Had the monitor
    /// refused that MPRV read, OpenSBI would redirect the access fault of
    /// its read instead ("Load access fault").
    @Test("A misaligned lr.d reaches U-Boot through OpenSBI's MPRV instruction read, with and without the sandbox",
          .timeLimit(.minutes(3)), arguments: [UInt32(0), BootCommand.sandbox])
    func misalignedThroughFirmware(options: UInt32) async throws {
        let image = try TestEnvironment.monitorImage()
        let firmware = try TestEnvironment.requireFile(TestEnvironment.opensbiDynamic,
                                                       package: "opensbi")
        let kernel = try TestEnvironment.requireFile(TestEnvironment.ubootELF, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "monitor-misaligned-lr-options\(options)",
            executable: try TestEnvironment.qemu(),
            arguments: try BootCommand.underMonitor(image: image, firmware: firmware, kernel: kernel, smp: 1, cpu: "rv64",
                                                    options: options),
            logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        var console = UBootConsole(session: session, underMonitor: true, openSBI: true, patience: 1)
        try await console.bootToPrompt()
        for (address, word) in [("0x84000000", "0x00158593"), ("0x84000004", "0x1005b52f"), ("0x84000008", "0x00008067")] {
            _ = try await console.run("mw.l \(address) \(word)", within: 10)
        }
        let start = session.log.count
        try session.send("go 0x84000000\r")
        try await session.expect("Unhandled exception: Load address misaligned", after: start, within: 20,
                                 failOn: ["Load access fault", "[firmvisor] monitor fault", "sbi_trap_error"])
        let (epc, _) = try await session.expect("EPC: ", after: start, within: 10)
        let line = session.log.text(from: epc.upperBound).prefix { $0 != "\n" && $0 != "\r" }
        #expect(line.hasPrefix("0000000084000004"), "the fault's EPC line: \(line)")
    }

    /// M-mode U-Boot (`qemu-riscv64/u-boot.bin`, linked at 0x80000000 and not
    /// relocatable before its own relocation) is the firmware itself: it
    /// runs in virtual M-mode, drives the CLINT for its timer and its
    /// secondary harts, and powers off through the test device.
    @Test("M-mode U-Boot under the monitor: prompt, version, sleep 1, poweroff", .timeLimit(.minutes(5)),
          arguments: UBootBootTests.machines)
    func machineModeUBootUnderMonitor(machine: (smp: Int, cpu: String)) async throws {
        let image = try TestEnvironment.monitorImage()
        let firmware = try TestEnvironment.requireFile(TestEnvironment.ubootMachineMode, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "monitor-mmode-uboot-smp\(machine.smp)-\(machine.cpu)",
            executable: try TestEnvironment.qemu(),
            arguments: ["-M", "virt", "-nographic", "-m", BootCommand.memory, "-smp", String(machine.smp),
                        "-cpu", machine.cpu, "-bios", image] + (try BootCommand.staged(firmware: firmware)),
            logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        try await exercise(session, underMonitor: true, openSBI: false, smp: machine.smp, cpu: machine.cpu)
    }

    /// The same M-mode U-Boot as -bios: the reference.
    @Test("Baseline: M-mode U-Boot natively", .timeLimit(.minutes(3)))
    func machineModeUBootNative() async throws {
        let firmware = try TestEnvironment.requireFile(TestEnvironment.ubootMachineMode, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "native-mmode-uboot-smp2",
            executable: try TestEnvironment.qemu(),
            arguments: ["-M", "virt", "-nographic", "-m", BootCommand.memory, "-smp", "2", "-bios", firmware],
            logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        try await exercise(session, underMonitor: false, openSBI: false, smp: 2, cpu: "rv64")
    }

    /// OpenSBI + U-Boot on many harts: every hart the device tree lists
    /// runs (64 at most; see ``manyHartsBeyondTheLimit()``).
    @Test("OpenSBI + U-Boot under the monitor on 16, 32 and 64 harts", .timeLimit(.minutes(10)),
          .enabled(if: TestEnvironment.extended, "extended tests only (scripts/test --extended)"),
          arguments: [16, 32, 64])
    func manyHarts(smp: Int) async throws {
        let image = try TestEnvironment.monitorImage()
        let firmware = try TestEnvironment.requireFile(TestEnvironment.opensbiDynamic, package: "opensbi")
        let kernel = try TestEnvironment.requireFile(TestEnvironment.ubootELF, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "monitor-smp\(smp)-rv64",
            executable: try TestEnvironment.qemu(),
            arguments: try BootCommand.underMonitor(image: image, firmware: firmware, kernel: kernel, smp: smp, cpu: "rv64"),
            hardLimit: 540, logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        try await exercise(session, underMonitor: true, smp: smp, cpu: "rv64", patience: 6)
    }

    /// Beyond the monitor's 64 harts: the rest are marked unavailable in the
    /// device tree and said so at boot, and OpenSBI sees 64.
    @Test("On 72 harts the monitor runs 64 and marks 8 unavailable, said at boot", .timeLimit(.minutes(10)),
          .enabled(if: TestEnvironment.extended, "extended tests only (scripts/test --extended)"))
    func manyHartsBeyondTheLimit() async throws {
        let image = try TestEnvironment.monitorImage()
        let firmware = try TestEnvironment.requireFile(TestEnvironment.opensbiDynamic, package: "opensbi")
        let kernel = try TestEnvironment.requireFile(TestEnvironment.ubootELF, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "monitor-smp72-rv64",
            executable: try TestEnvironment.qemu(),
            arguments: try BootCommand.underMonitor(image: image, firmware: firmware, kernel: kernel, smp: 72, cpu: "rv64"),
            hardLimit: 540, logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        var console = UBootConsole(session: session, underMonitor: true, patience: 6)
        try await console.bootToPrompt()
        #expect(session.log.text.contains("64 harts (of 72 listed: the monitor runs at most 64; the rest are marked status=\"fail\""),
                "\(session.log.tail())")
        #expect(console.openSBIField("Platform HART Count") == "64")
        let status = try await console.powerOff()
        #expect(status == 0, "QEMU exited with status \(status) after poweroff")
    }

    /// The same machine without the monitor, through `scripts/run --native`:
    /// checks the harness and the script (QEMU's exit status reaches the
    /// caller through its `exec`), and gives the reference timings.
    @Test("Baseline: scripts/run --native boots the same machine without the monitor",
          .timeLimit(.minutes(3)))
    func uBootNativeThroughRunScript() async throws {
        _ = try TestEnvironment.requireFile(TestEnvironment.ubootELF, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "native-smp2-rv64",
            executable: try TestEnvironment.runScript(),
            arguments: ["--no-build", "--native", "--smp", "2", "--cpu", "rv64"],
            logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        try await exercise(session, underMonitor: false, smp: 2, cpu: "rv64")
    }

    /// `scripts/run --trace csr,device,sbi`: the monitor prints the
    /// firmware's CSR accesses (OpenSBI's probes among them: `misa`, the PMP
    /// probe under a temporary `mtvec`) and its CLINT/PLIC accesses, each with
    /// hart and pc, and the boot still reaches U-Boot and powers off.
    @Test("A traced boot shows OpenSBI's CSR probes and device accesses with pcs", .timeLimit(.minutes(3)))
    func tracedBoot() async throws {
        _ = try TestEnvironment.monitorImage()
        _ = try TestEnvironment.requireFile(TestEnvironment.ubootELF, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "traced-smp1-rv64",
            executable: try TestEnvironment.runScript(),
            arguments: ["--no-build", "--smp", "1", "--trace", "csr,device,sbi", "--trace-rate", "100000"],
            logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        var console = UBootConsole(session: session, underMonitor: true)
        try await console.bootToPrompt()
        let status = try await console.powerOff()
        #expect(status == 0, "QEMU exited with status \(status) after poweroff")
        let lines = session.log.text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("[trace] h0 pc=0x") }
        for what in ["csr misa 0x301 csrrs old=0x", "csr mtvec 0x305 csrrw old=0x", "csr pmpaddr 0x3b0",
                     "csr mscratch 0x340", "device fw plic+0x", "device fw clint+0x"] {
            #expect(lines.contains { $0.contains(what) }, "no trace line with '\(what)'")
        }
        #expect(lines.count > 100, "only \(lines.count) trace lines")
    }

    /// The console script shared by every boot.
    func exercise(_ session: ConsoleSession, underMonitor: Bool, openSBI: Bool = true, smp: Int, cpu: String,
                  patience: Double = 1, aia: String = "none") async throws {
        var console = UBootConsole(session: session, underMonitor: underMonitor, openSBI: openSBI, patience: patience)
        var sleepSeconds: Double? = nil
        defer {
            let sleep = sleepSeconds.map { String(format: "%.3f s", $0) } ?? "-"
            print("[integration] \(session.name): \(console.milestoneSummary); sleep 1 took \(sleep)")
        }

        try await console.bootToPrompt()
        if openSBI {
            console.checkOpenSBIReport(smp: smp, cpu: cpu)
            checkInterruptReport(console, aia: aia)
        }

        let version = try await console.run("version", within: 10)
        #expect(version.output.contains("U-Boot 2023.01"), "version printed: \(version.output)")

        let sleep = try await console.run("sleep 1", within: 15 * patience)
        sleepSeconds = sleep.seconds
        // Dozens of harts on a 2-core host slow the boot hart down: the upper
        // bound grows with the patience.
        let bounds = Self.sleepBounds.lowerBound...(Self.sleepBounds.upperBound * patience)
        #expect(bounds.contains(sleep.seconds),
                "sleep 1 took \(String(format: "%.3f", sleep.seconds)) s, outside \(bounds)")

        let status = try await console.powerOff()
        #expect(status == 0, "QEMU exited with status \(status) after poweroff")
    }

    /// What OpenSBI 1.1 reports of the interrupt controllers, as natively
    /// (checked on QEMU 7.2): with IMSIC files its IPIs go through them
    /// (`aia-imsic`) and it finds Smaia (`aia` in the extensions, from its
    /// `mtopi` probe); otherwise IPIs stay on the CLINT's MSWI and there is
    /// no Smaia (QEMU 7.2 enables it only with an IMSIC).
    func checkInterruptReport(_ console: UBootConsole, aia: String) {
        let ipi = console.openSBIField("Platform IPI Device")
        let expected = aia == "aplic-imsic" ? "aia-imsic" : "aclint-mswi"
        #expect(ipi == expected, "OpenSBI's Platform IPI Device: \(ipi ?? "<missing>"), expected \(expected)")
        let extensions = (console.openSBIField("Boot HART ISA Extensions") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(extensions.contains("aia") == (aia == "aplic-imsic"),
                "Boot HART ISA Extensions \(extensions) with aia=\(aia)")
    }
}
