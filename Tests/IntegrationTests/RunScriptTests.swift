import Foundation
import Testing

/// `scripts/run`'s command line and its checks, without booting anything.
@Suite("scripts/run",
       .enabled(if: TestEnvironment.canBoot, TestEnvironment.skipReason))
struct RunScriptTests {
    /// Runs `scripts/run arguments...` to completion; returns its status and
    /// its stdout and stderr together.
    func runScript(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let session = try ConsoleSession(name: "scripts-run", executable: try TestEnvironment.runScript(),
                                         arguments: arguments, hardLimit: 60)
        defer { session.stop() }
        let status = try await session.waitForExit(within: 50)
        session.stop()
        return (status, session.log.text)
    }

    @Test("--print-command prints exactly what the boot tests run",
          arguments: [(1, "rv64"), (4, "rv64,sstc=false"), (8, "rv64,h=false")])
    func printCommandMatchesTheBootTests(smp: Int, cpu: String) async throws {
        let image = try TestEnvironment.monitorImage()
        let result = try await runScript(["--print-command", "--smp", String(smp), "--cpu", cpu])
        #expect(result.status == 0, "\(result.output)")
        let words = result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        let expected = try BootCommand.underMonitor(image: image, firmware: TestEnvironment.opensbiDynamic,
                                                kernel: TestEnvironment.ubootELF, smp: smp, cpu: cpu)
        #expect(words.first?.hasSuffix("qemu-system-riscv64") == true, "\(result.output)")
        #expect(Array(words.dropFirst()) == expected)
    }

    @Test("--print-command: --native, --icount, --kernel none, --append and extra arguments")
    func printCommandOptions() async throws {
        let native = try await runScript(["--print-command", "--native", "--icount", "--memory", "512M",
                                          "--", "-s", "-S"])
        #expect(native.status == 0, "\(native.output)")
        #expect(native.output.contains("-bios \(TestEnvironment.opensbiDirectory)/fw_dynamic.elf"))
        #expect(!native.output.contains("loader"))
        #expect(native.output.contains("-m 512M"))
        #expect(native.output.contains("-icount shift=0 -s -S"))

        let bare = try await runScript(["--print-command", "--kernel", "none"])
        #expect(bare.status == 0, "\(bare.output)")
        #expect(!bare.output.contains("-kernel"))

        let traced = try await runScript(["--print-command", "--no-offload", "--trace", "csr,world",
                                          "--trace-rate", "50"])
        #expect(traced.status == 0, "\(traced.output)")
        // Bit 0: no offload; bit 8: csr; bit 12: world. The rate follows.
        let options = 1 | 1 << 8 | 1 << 12
        #expect(traced.output.contains("/out/boot/descriptor-"), "\(traced.output)")
        let staged = try BootCommand.staged(firmware: TestEnvironment.opensbiDynamic, options: UInt32(options), rate: 50)
        #expect(traced.output.contains(staged[1]), "\(traced.output)\nexpected \(staged[1])")

        let append = try await runScript(["--print-command", "--append", "console=ttyS0 quiet"])
        #expect(append.status == 0, "\(append.output)")
        #expect(append.output.contains("-append 'console=ttyS0 quiet'"))
    }

    @Test("A missing firmware or kernel file is refused with the reason")
    func refusesMissingFiles() async throws {
        let firmware = try await runScript(["--print-command", "--firmware", "/no/such/firmware.elf"])
        #expect(firmware.status != 0)
        #expect(firmware.output.contains("--firmware /no/such/firmware.elf: no such file"), "\(firmware.output)")
        let kernel = try await runScript(["--print-command", "--kernel", "/no/such/Image"])
        #expect(kernel.status != 0)
        #expect(kernel.output.contains("--kernel /no/such/Image: no such file"), "\(kernel.output)")
        #expect(!kernel.output.contains("u-boot-qemu"), "\(kernel.output)")
    }

    @Test("Invalid options are refused", arguments: [
        ["--smp", "0"], ["--smp", "513"], ["--smp", "two"], ["--memory", "lots"],
        ["--kernel", "none", "--append", "x"], ["--bogus"], ["--cpu"], ["--trace", "everything"],
        ["--trace-rate", "0"], ["--native", "--trace", "csr"],
    ])
    func refusesInvalidOptions(arguments: [String]) async throws {
        let result = try await runScript(["--print-command"] + arguments)
        #expect(result.status != 0, "\(arguments) accepted: \(result.output)")
        #expect(result.output.contains("error:"), "\(result.output)")
    }

    @Test("--help documents every option")
    func helpDocumentsEveryOption() async throws {
        let result = try await runScript(["--help"])
        #expect(result.status == 0)
        for option in ["--firmware", "--kernel", "--initrd", "--append", "--smp", "--cpu", "--memory",
                       "--native", "--no-offload", "--trace", "--trace-rate", "--icount", "--no-build",
                       "--print-command", "--"] {
            #expect(result.output.contains("  \(option) "), "--help does not mention \(option)")
        }
    }
}
