import Foundation
import Testing

/// The QEMU command lines the tests boot; the same as `scripts/run` builds
/// (``RunScriptTests`` checks that).
enum BootCommand {
    static let memory = "256M"
    /// Boot option bits (Sources/Monitor/Offload.swift, `BootOptions`): bit 0
    /// no offload, bit 1 the sandbox policy (`--policy offload,sandbox`).
    static let noOffload: UInt32 = 1
    static let sandbox: UInt32 = 2

    /// A firmware (the file one gives QEMU as -bios) deprivileged under the
    /// monitor, U-Boot as the payload. Arguments after the QEMU binary.
    static func underMonitor(image: String, firmware: String, kernel: String, smp: Int, cpu: String,
                             options: UInt32 = 0) throws -> [String] {
        ["-M", "virt", "-nographic", "-m", memory, "-smp", String(smp), "-cpu", cpu,
         "-bios", image] + (try staged(firmware: firmware, options: options)) + ["-kernel", kernel]
    }

    /// The QEMU arguments that stage `firmware` and the boot options for the
    /// monitor in the second flash bank, as `scripts/run` does
    /// (`monitor_firmware_args` in scripts/lib/qemu.sh; the descriptor is
    /// Platform's `BootDescriptor`: magic "FVBOOT\0\1", firmware offset 0x1000,
    /// firmware size, option bits, trace rate, little-endian). The
    /// descriptor goes under out/boot, named by its content as the script
    /// names it.
    static func staged(firmware: String, options: UInt32 = 0, rate: UInt32 = 0) throws -> [String] {
        let size = try FileManager.default.attributesOfItem(atPath: firmware)[.size] as? UInt64 ?? 0
        var bytes = Array("FVBOOT".utf8) + [0, 1]
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
        }
        append(UInt64(0x1000))
        append(size)
        append(options)
        append(rate)
        let directory = TestEnvironment.root.appendingPathComponent("out/boot")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let descriptor = directory.appendingPathComponent("descriptor-\(size)-\(options)-\(rate).bin")
        if !FileManager.default.fileExists(atPath: descriptor.path) {
            try Data(bytes).write(to: descriptor, options: .atomic)
        }
        func escaped(_ path: String) -> String { path.replacingOccurrences(of: ",", with: ",,") }
        return ["-device", "loader,file=\(escaped(descriptor.path)),addr=0x22000000,force-raw=on",
                "-device", "loader,file=\(escaped(firmware)),addr=0x22001000,force-raw=on"]
    }
}

/// Drives OpenSBI + U-Boot through the serial console, step by step, and
/// records what a test checks and what it measured.
struct UBootConsole {
    let session: ConsoleSession
    let underMonitor: Bool
    /// Whether OpenSBI runs first (false: U-Boot itself is the M-mode firmware).
    let openSBI: Bool
    /// Scales every wait: dozens of harts on a 2-core host boot slowly.
    let patience: Double

    /// Text that means the boot went wrong: fail at once instead of waiting.
    static let bootFailures = [
        "[firmvisor] monitor fault", "Unhandled exception", "sbi_trap_error", "qemu-system-riscv64: ",
    ]
    /// U-Boot's reaction to a failed power-off: an exception, then a reset loop.
    static let powerOffFailures = bootFailures + ["resetting ..."]

    static let prompt = "=> "

    /// Seconds since QEMU started, per milestone, for the log line.
    var milestones: [(String, Double)] = []
    /// End of the last prompt seen: where the next command's output starts.
    var offset = 0

    init(session: ConsoleSession, underMonitor: Bool, openSBI: Bool = true, patience: Double = 1) {
        self.session = session
        self.underMonitor = underMonitor
        self.openSBI = openSBI
        self.patience = patience
    }

    /// Monitor banner (under the monitor), OpenSBI's banner and U-Boot's
    /// first prompt (after its 2 s autoboot countdown and boot scan).
    mutating func bootToPrompt() async throws {
        if underMonitor {
            let banner = try await session.expect("[firmvisor]", within: 30 * patience, failOn: Self.bootFailures)
            milestones.append(("monitor", session.elapsed(until: banner.time)))
        }
        var start = 0
        if openSBI {
            let opensbi = try await session.expect("OpenSBI v1.1", within: 60 * patience, failOn: Self.bootFailures)
            milestones.append(("OpenSBI", session.elapsed(until: opensbi.time)))
            start = opensbi.range.upperBound
        }
        if !underMonitor {
            #expect(session.log.find("[firmvisor]", from: 0) == nil, "a native boot printed a monitor line")
        }
        let uboot = try await session.expect("U-Boot 20", after: start, within: 60 * patience,
                                             failOn: Self.bootFailures)
        milestones.append(("U-Boot", session.elapsed(until: uboot.time)))
        let prompt = try await session.expect(Self.prompt, after: uboot.range.upperBound, within: 120 * patience,
                                              failOn: Self.bootFailures)
        milestones.append(("prompt", session.elapsed(until: prompt.time)))
        offset = prompt.range.upperBound
    }

    /// A `Name : value` line of OpenSBI's boot report.
    func openSBIField(_ name: String) -> String? {
        for line in session.log.text.split(whereSeparator: \.isNewline) where line.hasPrefix(name) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// OpenSBI's view of the machine: hart count, and the H and Sstc
    /// extensions exactly when QEMU's -cpu has them.
    func checkOpenSBIReport(smp: Int, cpu: String) {
        let options = cpu.split(separator: ",").dropFirst().map(String.init)
        let sstc = !options.contains("sstc=false")
        let h = !options.contains("h=false")

        let harts = openSBIField("Platform HART Count")
        #expect(harts == String(smp), "OpenSBI's Platform HART Count: \(harts ?? "<missing>"), expected \(smp)")

        let baseISA = openSBIField("Boot HART Base ISA")
        #expect(baseISA?.hasPrefix("rv64imafdc") == true, "Boot HART Base ISA: \(baseISA ?? "<missing>")")
        let letters = baseISA.map { $0.dropFirst(4) } ?? ""
        #expect(letters.contains("h") == h,
                "Boot HART Base ISA \(baseISA ?? "<missing>") \(h ? "lacks" : "has") h with -cpu \(cpu)")

        let extensions = openSBIField("Boot HART ISA Extensions")
        #expect(extensions != nil, "no Boot HART ISA Extensions line")
        let names = (extensions ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(names.contains("sstc") == sstc,
                "Boot HART ISA Extensions \(extensions ?? "<missing>") \(sstc ? "lacks" : "has") sstc with -cpu \(cpu)")
    }

    /// Sends `command` and waits for the next prompt; returns the output
    /// between them and the seconds from sending to the prompt's arrival.
    mutating func run(_ command: String, within seconds: Double) async throws -> (output: String, seconds: Double) {
        let start = session.log.count
        let sent = ContinuousClock.now
        try session.send(command + "\r")
        // The echo ends with a newline; the prompt comes after it.
        let echo = try await session.expect("\n", after: start, within: 10, failOn: Self.bootFailures)
        let prompt = try await session.expect(Self.prompt, after: echo.range.upperBound, within: seconds,
                                              failOn: Self.bootFailures)
        offset = prompt.range.upperBound
        let output = session.log.text(from: start)
        return (output, (prompt.time - sent).seconds)
    }

    /// `poweroff`: under the monitor, its summary, then QEMU's exit status.
    mutating func powerOff() async throws -> Int32 {
        let start = session.log.count
        try session.send("poweroff\r")
        if underMonitor {
            let summary = try await session.expect("[firmvisor] summary:", after: start, within: 30 * patience,
                                                   failOn: Self.powerOffFailures)
            milestones.append(("summary", session.elapsed(until: summary.time)))
        }
        let status = try await session.waitForExit(within: 30 * patience, after: start, failOn: Self.powerOffFailures)
        milestones.append(("exit", session.elapsed()))
        return status
    }

    var milestoneSummary: String {
        milestones.map { "\($0.0) \(String(format: "%.1f", $0.1)) s" }.joined(separator: ", ")
    }
}
