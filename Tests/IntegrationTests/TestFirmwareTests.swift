import Foundation
import Testing

/// The project's own M-mode test firmware (guest/testfw, built by
/// `scripts/testfw` into out/testfw.elf, linked at 0x8000_0000): corners OpenSBI does not reach
/// (ecall and illegal-CSR trap values, WARL fields, vectored mtvec, MTI and
/// WFI with MIE = 0, MSI between harts, MEI through the PLIC, the monitor's
/// memory, mret to S-mode, mstatus.MPRV with PMP and with Sv39; with
/// `-M virt,aia=aplic-imsic` or `aia=aplic` the Smaia CSRs, the IMSIC files
/// and the APLIC instead of the PLIC). Hart 0 prints one `TESTFW: PASS|FAIL|SKIP <name>`
/// line per test, `TESTFW: DONE pass=N fail=M ...`, then powers off (QEMU exit
/// 0 when all pass, 1 otherwise).
///
/// Nothing is built here: the tests expect out/testfw.elf (FIRMVISOR_TESTFW
/// overrides the path); run `scripts/testfw` first.
@Suite("Test firmware under QEMU", .serialized,
       .enabled(if: TestEnvironment.canBoot, TestEnvironment.skipReason))
struct TestFirmwareTests {
    static let hardLimit = 30

    static func firmware() throws -> String {
        let path = ProcessInfo.processInfo.environment["FIRMVISOR_TESTFW"].flatMap { $0.isEmpty ? nil : $0 }
            ?? TestEnvironment.root.appendingPathComponent("out/testfw.elf").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestEnvironment.Missing(description: "\(path) is missing: build it with scripts/testfw")
        }
        return path
    }

    /// What one run printed, test by test.
    struct Verdicts {
        var passed: [String] = []
        var failed: [String] = []        // whole FAIL lines
        var skipped: [String] = []
        var done: String? = nil

        init(_ text: String) {
            for raw in text.split(whereSeparator: \.isNewline) {
                let line = String(raw)
                guard let start = line.range(of: "TESTFW: ") else { continue }
                let rest = line[start.upperBound...]
                let words = rest.split(separator: " ").map(String.init)
                guard let kind = words.first else { continue }
                switch kind {
                case "PASS": if words.count > 1 { passed.append(words[1]) }
                case "FAIL": failed.append(String(rest))
                case "SKIP": if words.count > 1 { skipped.append(words[1]) }
                case "DONE": done = String(rest)
                default: break
                }
            }
        }
    }

    /// Boots `arguments`, waits for power-off; returns the verdicts and QEMU's status.
    func boot(name: String, arguments: [String]) async throws -> (Verdicts, Int32, ConsoleSession) {
        let session = try ConsoleSession(name: name, executable: try TestEnvironment.qemu(),
                                         arguments: arguments, hardLimit: Self.hardLimit,
                                         logDirectory: TestEnvironment.logDirectory)
        try await session.expect("TESTFW: DONE", within: Double(Self.hardLimit - 5),
                                 failOn: ["[firmvisor] monitor fault", "qemu-system-riscv64: "])
        let status = try await session.waitForExit(within: 10)
        session.stop()
        return (Verdicts(session.log.text), status, session)
    }

    /// The interrupt controllers of QEMU virt a run gets (`-M virt` or
    /// `-M virt,aia=...`); the firmware finds out from the device tree and
    /// SKIPs the tests of the others.
    enum Machine: String, Sendable, CaseIterable, CustomStringConvertible {
        case plic = "none"
        case aplicIMSIC = "aplic-imsic"
        case aplic = "aplic"

        /// QEMU's -M value.
        var machineOption: String { self == .plic ? "virt" : "virt,aia=\(rawValue)" }
        /// A name for the boot's log file.
        var logSuffix: String { self == .plic ? "" : "-\(rawValue)" }
        var description: String { self == .plic ? "PLIC" : "aia=\(rawValue)" }
    }

    /// Every test in the order the firmware runs (and prints) them.
    static let allTests = ["boot-args", "ecall", "illegal-csr", "warl", "vectored-mtvec", "mti",
                           "harts", "msi", "mei-plic", "monitor-memory", "mret-smode", "mprv-bare", "mprv-sv39",
                           "plic-m-and-s", "plic-pending-before-enable", "plic-claim-right-after-raise",
                           "plic-claim-complete-pending", "plic-claim-threshold", "plic-reserved-offsets",
                           "plic-smode-m-context", "plic-smode-s-context", "plic-smode-pmp",
                           "plic-smode-reserved-offsets", "plic-other-hart", "clint-smode-access", "csr-registers",
                           "trigger-csrs", "trigger-execute", "trigger-load-store", "trigger-smode",
                           "h-vs-ecall", "h-vs-illegal", "h-vs-load-fault", "h-vs-mti",
                           "aia-csrs-presence"] + imsicTests.dropLast() + directTests + aplicTests
        + [imsicTests.last!]

    /// Tests only the PLIC machine runs.
    static let plicTests = ["mei-plic", "plic-m-and-s", "plic-pending-before-enable", "plic-claim-right-after-raise",
                            "plic-claim-complete-pending", "plic-claim-threshold", "plic-reserved-offsets",
                            "plic-smode-m-context", "plic-smode-s-context", "plic-smode-pmp",
                            "plic-smode-reserved-offsets", "plic-other-hart"]
    /// Tests only `aia=aplic-imsic` runs (the MSI-address lock last: it holds until reset).
    static let imsicTests = ["imsic-eip-eie", "imsic-miselect", "aia-iprio", "aia-mtopi", "imsic-eidelivery",
                             "imsic-topei-order", "imsic-threshold", "imsic-mmio", "imsic-ipi", "imsic-s-file",
                             "aplic-msi-registers", "aplic-msi-forward", "aplic-msi-delegation", "aplic-msiaddr-lock"]
    /// Tests only `aia=aplic` runs (APLIC in direct delivery mode).
    static let directTests = ["aplic-direct-registers", "aplic-idc-iforce", "aplic-idc-topi",
                              "aplic-direct-delegation", "aplic-direct-harts"]
    /// Tests both AIA machines run (the UART's interrupt through the APLIC).
    static let aplicTests = ["aplic-uart"]
    /// Tests that need a second hart.
    static let multiHartTests = ["msi", "plic-other-hart", "imsic-ipi", "aplic-direct-harts"]

    /// What SKIPs on `machine` with `smp` harts, in run order: the other
    /// machines' tests, the multi-hart ones with one hart, and natively the
    /// monitor memory test (no monitor at the end of DRAM).
    static func expectedSkips(machine: Machine, smp: Int, native: Bool) -> [String] {
        let otherMachines: [String]
        switch machine {
        case .plic: otherMachines = imsicTests + directTests + aplicTests
        case .aplicIMSIC: otherMachines = plicTests + directTests
        case .aplic: otherMachines = plicTests + imsicTests
        }
        return allTests.filter { name in
            otherMachines.contains(name) || (smp < 2 && multiHartTests.contains(name))
                || (native && name == "monitor-memory")
        }
    }

    /// Boots the firmware under the monitor on `machine` and checks every verdict.
    func checkUnderMonitor(machine: Machine, smp: Int) async throws {
        let image = try TestEnvironment.monitorImage()
        let firmware = try Self.firmware()
        let (verdicts, status, session) = try await boot(
            name: "testfw-monitor\(machine.logSuffix)-smp\(smp)",
            arguments: ["-M", machine.machineOption, "-nographic", "-m", "256M", "-smp", String(smp),
                        "-bios", image] + (try BootCommand.staged(firmware: firmware)))
        #expect(verdicts.failed.isEmpty, "failed under the monitor (\(machine)):\n\(verdicts.failed.joined(separator: "\n"))")
        let expectedSkips = Self.expectedSkips(machine: machine, smp: smp, native: false)
        #expect(verdicts.skipped == expectedSkips, "skipped: \(verdicts.skipped)")
        let expectedPasses = Self.allTests.filter { !expectedSkips.contains($0) }
        #expect(verdicts.passed == expectedPasses, "passed: \(verdicts.passed)\n\(session.log.tail())")
        #expect(verdicts.done?.hasPrefix("DONE pass=\(expectedPasses.count) fail=0") == true,
                "\(verdicts.done ?? "no DONE line")")
        #expect(status == 0, "QEMU exit status \(status)")
    }

    /// Boots the firmware as -bios on `machine` and checks every verdict.
    func checkNatively(machine: Machine, smp: Int) async throws {
        let firmware = try Self.firmware()
        let (verdicts, status, _) = try await boot(
            name: "testfw-native\(machine.logSuffix)-smp\(smp)",
            arguments: ["-M", machine.machineOption, "-nographic", "-m", "256M", "-smp", String(smp),
                        "-bios", firmware])
        #expect(verdicts.failed.isEmpty, "failed natively (\(machine)):\n\(verdicts.failed.joined(separator: "\n"))")
        let expectedSkips = Self.expectedSkips(machine: machine, smp: smp, native: true)
        #expect(verdicts.skipped == expectedSkips, "skipped: \(verdicts.skipped)")
        #expect(verdicts.passed == Self.allTests.filter { !expectedSkips.contains($0) }, "passed: \(verdicts.passed)")
        #expect(status == 0, "QEMU exit status \(status)")
    }

    @Test("Every test passes under the monitor", .timeLimit(.minutes(2)), arguments: [1, 2, 4, 8])
    func underMonitor(smp: Int) async throws {
        try await checkUnderMonitor(machine: .plic, smp: smp)
    }

    /// The AIA machines: `-M virt,aia=aplic-imsic` (APLIC in MSI mode, an
    /// M- and an S-level IMSIC file per hart) and `-M virt,aia=aplic` (APLIC
    /// in direct mode, no IMSIC). The firmware sees them as it would natively.
    @Test("Every test passes under the monitor on the AIA machines", .timeLimit(.minutes(2)),
          arguments: [Machine.aplicIMSIC, .aplic], [1, 2, 4, 8])
    func underMonitorAIA(machine: Machine, smp: Int) async throws {
        try await checkUnderMonitor(machine: machine, smp: smp)
    }

    /// The same firmware file as QEMU's -bios: the reference. Only the
    /// monitor memory test is skipped (there is no monitor at the end of DRAM);
    /// QEMU 7.2's own departures (mstatus.MPP = 2, mepc bit 0, and those of its
    /// AIA devices) are NOTEs.
    @Test("Baseline: every test passes natively (firmware as -bios)", .timeLimit(.minutes(1)),
          arguments: [1, 2])
    func native(smp: Int) async throws {
        try await checkNatively(machine: .plic, smp: smp)
    }

    @Test("Baseline: every test passes natively on the AIA machines", .timeLimit(.minutes(1)),
          arguments: [Machine.aplicIMSIC, .aplic], [1, 2, 4, 8])
    func nativeAIA(machine: Machine, smp: Int) async throws {
        try await checkNatively(machine: machine, smp: smp)
    }
}
