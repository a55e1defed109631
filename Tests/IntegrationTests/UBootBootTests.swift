import Foundation
import Testing

/// Whole-machine boots: QEMU virt, Debian's OpenSBI 1.1 (fw_dynamic) and
/// U-Boot 2023.01 (qemu-riscv64_smode), driven through the serial console.
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

    @Test("OpenSBI + U-Boot under the monitor: report, version, sleep 1, poweroff",
          .timeLimit(.minutes(5)),
          arguments: [1, 2, 4, 8], ["rv64", "rv64,sstc=false", "rv64,h=false"])
    func uBootUnderMonitor(smp: Int, cpu: String) async throws {
        let image = try TestEnvironment.monitorImage()
        let firmware = try TestEnvironment.requireFile(TestEnvironment.opensbiDynamicBinary, package: "opensbi")
        let kernel = try TestEnvironment.requireFile(TestEnvironment.ubootELF, package: "u-boot-qemu")
        let session = try ConsoleSession(
            name: "monitor-smp\(smp)-\(cpu)",
            executable: try TestEnvironment.qemu(),
            arguments: BootCommand.underMonitor(image: image, firmware: firmware, kernel: kernel, smp: smp, cpu: cpu),
            logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        try await exercise(session, underMonitor: true, smp: smp, cpu: cpu)
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
    func exercise(_ session: ConsoleSession, underMonitor: Bool, smp: Int, cpu: String) async throws {
        var console = UBootConsole(session: session, underMonitor: underMonitor)
        var sleepSeconds: Double? = nil
        defer {
            let sleep = sleepSeconds.map { String(format: "%.3f s", $0) } ?? "-"
            print("[integration] \(session.name): \(console.milestoneSummary); sleep 1 took \(sleep)")
        }

        try await console.bootToPrompt()
        console.checkOpenSBIReport(smp: smp, cpu: cpu)

        let version = try await console.run("version", within: 10)
        #expect(version.output.contains("U-Boot 2023.01"), "version printed: \(version.output)")

        let sleep = try await console.run("sleep 1", within: 15)
        sleepSeconds = sleep.seconds
        #expect(Self.sleepBounds.contains(sleep.seconds),
                "sleep 1 took \(String(format: "%.3f", sleep.seconds)) s, outside \(Self.sleepBounds)")

        let status = try await console.powerOff()
        #expect(status == 0, "QEMU exited with status \(status) after poweroff")
    }
}
