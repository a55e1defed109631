import Foundation
import Testing

/// The kernel and initramfs `scripts/linux` built, when the extended test
/// command exported them.
enum LinuxArtifacts {
    static var paths: (image: String, initrd: String)? {
        let env = ProcessInfo.processInfo.environment
        guard let image = env["FIRMVISOR_LINUX_IMAGE"], !image.isEmpty,
              let initrd = env["FIRMVISOR_LINUX_INITRD"], !initrd.isEmpty else { return nil }
        return (image, initrd)
    }
}

/// Linux SMP under OpenSBI under the monitor (issue #5), to the verdict of
/// our `/init` (guest/init): on every CPU repeated short sleeps (timer
/// interrupts), cross-CPU wake-ups (IPIs) and TLB shoot-downs (remote
/// fences), then one `FIRMVISOR-INIT: PASS|FAIL` line and an SBI power-off.
///
/// The extended test command (`scripts/test --extended`) builds the kernel
/// and initramfs with `scripts/linux` and exports FIRMVISOR_LINUX_IMAGE and
/// FIRMVISOR_LINUX_INITRD; the default command leaves them unset and these
/// heavy boots do not run.
@Suite("Linux under the monitor", .serialized,
       .enabled(if: TestEnvironment.canBoot, TestEnvironment.skipReason),
       .enabled(if: LinuxArtifacts.paths != nil, "extended tests: run scripts/test --extended"))
struct LinuxBootTests {
    static var artifacts: (image: String, initrd: String)? { LinuxArtifacts.paths }

    static let hardLimit = 600

    struct Configuration: CustomTestStringConvertible, Sendable {
        var smp: Int
        var cpu: String
        /// Debian's OpenSBI, the file a native boot gives QEMU as -bios.
        var firmware = "fw_dynamic.elf"
        /// `firmvisor.kvm=1`: /init also runs VS-mode guests through /dev/kvm.
        var kvm = false
        /// Boot option bits for the monitor (``BootCommand/sandbox``: `--policy offload,sandbox`).
        var options: UInt32 = 0
        var testDescription: String {
            "\(firmware) -smp \(smp) -cpu \(cpu)\(kvm ? " firmvisor.kvm=1" : "")\(options & BootCommand.sandbox != 0 ? " --policy offload,sandbox" : "")"
        }
    }

    static let configurations: [Configuration] = [1, 4, 8].flatMap { smp in
        ["rv64", "rv64,sstc=false"].map { Configuration(smp: smp, cpu: $0) }
    } + [Configuration(smp: 4, cpu: "rv64", firmware: "fw_jump.elf"),
         Configuration(smp: 1, cpu: "rv64,sstc=false", firmware: "fw_jump.elf"),
         Configuration(smp: 16, cpu: "rv64")]

    /// Linux as a hypervisor (issue #12): with `firmvisor.kvm=1` /init runs,
    /// on every CPU and alongside its timer/IPI/fence workload, small
    /// VS-mode guests through /dev/kvm (guest/init/init.c, "KVM phase") and
    /// prints a `FIRMVISOR-KVM: PASS|FAIL` verdict after its own. With Sstc
    /// the guests' timer is `vstimecmp`; without it KVM injects `hvip.VSTIP`
    /// from host hrtimers, and the host's own timer is the firmware's (SBI
    /// set_timer, machine timer interrupts reaching the monitor while a VS
    /// guest runs).
    static let kvmConfigurations: [Configuration] = [1, 4].flatMap { smp in
        ["rv64", "rv64,sstc=false"].map { Configuration(smp: smp, cpu: $0, kvm: true) }
    }

    /// Boots once; returns the verdict line, QEMU's exit status, the console,
    /// and with `c.kvm` the FIRMVISOR-KVM verdict line ("" without).
    func boot(_ c: Configuration, attempt: Int, monitor: Bool) async throws -> (String, Int32, String) {
        let (verdict, status, console, _) = try await bootWithKVM(c, attempt: attempt, monitor: monitor)
        return (verdict, status, console)
    }

    func bootWithKVM(_ c: Configuration, attempt: Int, monitor: Bool) async throws -> (String, Int32, String, String) {
        guard let (image, initrd) = Self.artifacts else {
            throw TestEnvironment.Missing(description: "FIRMVISOR_LINUX_IMAGE/INITRD are not set: run scripts/test --extended")
        }
        var arguments = ["-M", "virt", "-nographic", "-m", "512M", "-smp", String(c.smp), "-cpu", c.cpu,
                         "-kernel", image, "-initrd", initrd,
                         "-append", c.kvm ? "console=ttyS0 firmvisor.kvm=1" : "console=ttyS0"]
        if monitor {
            arguments += ["-bios", try TestEnvironment.monitorImage()]
                + (try BootCommand.staged(firmware: TestEnvironment.opensbiDirectory + "/" + c.firmware, options: c.options))
        } else {
            arguments += ["-bios", TestEnvironment.opensbiDirectory + "/" + c.firmware]
        }
        let name = "linux-\(monitor ? "monitor" : "native")-\(c.firmware)-smp\(c.smp)-\(c.cpu.replacingOccurrences(of: ",", with: "_"))\(c.kvm ? "-kvm" : "")\(c.options & BootCommand.sandbox != 0 ? "-sandbox" : "")-\(attempt)"
        let session = try ConsoleSession(name: name, executable: try TestEnvironment.qemu(), arguments: arguments,
                                         hardLimit: Self.hardLimit, logDirectory: TestEnvironment.logDirectory)
        defer { session.stop() }
        let failOn = ["[firmvisor] monitor fault", "Kernel panic"]
        let (start, _) = try await session.expect("FIRMVISOR-INIT: start", within: Double(Self.hardLimit - 20),
                                                  failOn: failOn)
        let (range, _) = try await session.expect("FIRMVISOR-INIT: ", after: start.upperBound,
                                                  within: Double(Self.hardLimit - 20), failOn: failOn)
        _ = try await session.expect("\n", after: range.upperBound, within: 10)
        let text = session.log.text(from: range.lowerBound)
        let verdict = String(text.prefix { $0 != "\n" && $0 != "\r" })
        var kvmVerdict = ""
        if c.kvm && verdict.contains("PASS") {
            let (kvmRange, _) = try await session.expect("FIRMVISOR-KVM: ", after: range.upperBound,
                                                         within: Double(Self.hardLimit - 20), failOn: failOn)
            _ = try await session.expect("\n", after: kvmRange.upperBound, within: 10)
            kvmVerdict = String(session.log.text(from: kvmRange.lowerBound).prefix { $0 != "\n" && $0 != "\r" })
        }
        let status = try await session.waitForExit(within: 30)
        return (verdict, status, session.log.text, kvmVerdict)
    }

    /// The sandbox policy (`--policy offload,sandbox`): the firmware cannot
    /// reach the kernel's memory and sees only an SBI call's registers.
    static let sandboxConfigurations: [Configuration] = [1, 4, 8].flatMap { smp in
        ["rv64", "rv64,sstc=false"].map { Configuration(smp: smp, cpu: $0, options: BootCommand.sandbox) }
    }

    @Test("Linux reaches PASS with --policy offload,sandbox", .timeLimit(.minutes(12)),
          arguments: sandboxConfigurations)
    func sandboxed(_ c: Configuration) async throws {
        let (verdict, status, console, _) = try await bootUnderMonitor(c)
        #expect(verdict.hasPrefix("FIRMVISOR-INIT: PASS cpus=\(c.smp) "), "verdict: \(verdict)")
        #expect(status == 0, "QEMU exit status \(status)")
        #expect(console.contains("sandbox on"), "the banner does not say the sandbox is on")
    }

    /// Boots under the monitor. OpenSBI 1.1's HSM start race
    /// (shared/riscv-facts.md) strands a secondary hart in a few percent of
    /// native SMP boots as well; the kernel then reports it and init counts
    /// too few CPUs. One retry for that signature alone, and it is recorded.
    func bootUnderMonitor(_ c: Configuration) async throws -> (String, Int32, String, String) {
        let first = try await bootWithKVM(c, attempt: 1, monitor: true)
        guard !first.0.contains("PASS"), first.2.contains("failed to come online") else { return first }
        print("[integration] linux \(c.testDescription): retry after the known OpenSBI 1.1 HSM race")
        return try await bootWithKVM(c, attempt: 2, monitor: true)
    }

    @Test("Linux reaches PASS with every CPU", .timeLimit(.minutes(12)), arguments: configurations)
    func underMonitor(_ c: Configuration) async throws {
        let (verdict, status, console, _) = try await bootUnderMonitor(c)
        #expect(verdict.hasPrefix("FIRMVISOR-INIT: PASS cpus=\(c.smp) "), "verdict: \(verdict)")
        #expect(status == 0, "QEMU exit status \(status)")
        #expect(console.contains("[firmvisor] summary:"), "the monitor printed no power-off summary")
    }

    @Test("Linux runs KVM guests (VS-mode) to PASS", .timeLimit(.minutes(12)), arguments: kvmConfigurations)
    func kvmUnderMonitor(_ c: Configuration) async throws {
        let (verdict, status, console, kvmVerdict) = try await bootUnderMonitor(c)
        #expect(verdict.hasPrefix("FIRMVISOR-INIT: PASS cpus=\(c.smp) "), "verdict: \(verdict)")
        #expect(kvmVerdict.hasPrefix("FIRMVISOR-KVM: PASS vms="), "KVM verdict: \(kvmVerdict)")
        #expect(kvmVerdict.contains(" cpus=\(c.smp) "), "KVM verdict: \(kvmVerdict)")
        #expect(status == 0, "QEMU exit status \(status)")
        #expect(console.contains("[firmvisor] summary:"), "the monitor printed no power-off summary")
    }

    @Test("Baseline: KVM guests natively", .timeLimit(.minutes(6)),
          arguments: [Configuration(smp: 1, cpu: "rv64", kvm: true), Configuration(smp: 4, cpu: "rv64", kvm: true)])
    func kvmNative(_ c: Configuration) async throws {
        let (verdict, status, _, kvmVerdict) = try await bootWithKVM(c, attempt: 1, monitor: false)
        #expect(verdict.hasPrefix("FIRMVISOR-INIT: PASS cpus=\(c.smp) "), "verdict: \(verdict)")
        #expect(kvmVerdict.hasPrefix("FIRMVISOR-KVM: PASS vms="), "KVM verdict: \(kvmVerdict)")
        #expect(status == 0)
    }

    @Test("Baseline: the same kernel natively", .timeLimit(.minutes(6)),
          arguments: [Configuration(smp: 4, cpu: "rv64")])
    func native(_ c: Configuration) async throws {
        let (verdict, status, _) = try await boot(c, attempt: 1, monitor: false)
        #expect(verdict.hasPrefix("FIRMVISOR-INIT: PASS cpus=\(c.smp) "), "verdict: \(verdict)")
        #expect(status == 0)
    }
}
