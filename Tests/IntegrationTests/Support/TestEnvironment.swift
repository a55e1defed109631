import Foundation
import Testing

/// What the integration tests need from the machine, with the reason when
/// something is missing.
///
/// One switch decides whether they run at all: FIRMVISOR_IMAGE. Without it
/// (a plain `swift test` on a fresh clone) every integration suite is skipped
/// with `skipReason` (the `.enabled(if: TestEnvironment.canBoot, ...)` trait
/// on each suite). With it (scripts/test exports it) they all run, and any
/// missing piece (the image itself, QEMU, OpenSBI, U-Boot, a test firmware)
/// fails the test with the reason: it never skips.
enum TestEnvironment {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    static let runHint = """
        run the tests with scripts/test (it installs QEMU, OpenSBI and U-Boot, builds \
        out/firmvisor.elf and exports FIRMVISOR_IMAGE and FIRMVISOR_ROOT), or by hand: \
        scripts/build && FIRMVISOR_IMAGE=$PWD/out/firmvisor.elf swift test --filter IntegrationTests
        """

    /// Whether the integration tests run: FIRMVISOR_IMAGE is set (to anything;
    /// whether it exists is checked by the tests, which then fail).
    static var canBoot: Bool {
        guard let image = environment["FIRMVISOR_IMAGE"] else { return false }
        return !image.isEmpty
    }

    /// Whether the heavy boots run too (`scripts/test --extended` sets
    /// FIRMVISOR_EXTENDED).
    static var extended: Bool { !(environment["FIRMVISOR_EXTENDED"] ?? "").isEmpty }

    /// Why they are skipped otherwise (one line in swift test's report).
    static let skipReason: Comment = "FIRMVISOR_IMAGE is not set: run scripts/test"

    static let opensbiDirectory = "/usr/lib/riscv64-linux-gnu/opensbi/generic"
    /// The firmware the monitor runs deprivileged by default: the same file
    /// a native boot gives QEMU as -bios.
    static let opensbiDynamic = opensbiDirectory + "/fw_dynamic.elf"
    static let opensbiJump = opensbiDirectory + "/fw_jump.elf"
    static let ubootELF = "/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf"
    /// M-mode U-Boot, a raw binary linked at 0x80000000 (CONFIG_TEXT_BASE).
    static let ubootMachineMode = "/usr/lib/u-boot/qemu-riscv64/u-boot.bin"

    private static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The repository: FIRMVISOR_ROOT, else found from this file's path.
    static var root: URL {
        if let root = environment["FIRMVISOR_ROOT"], !root.isEmpty {
            return URL(fileURLWithPath: root)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()   // Support
            .deletingLastPathComponent()   // IntegrationTests
            .deletingLastPathComponent()   // Tests
            .deletingLastPathComponent()
    }

    /// Where each boot's console is saved.
    static var logDirectory: URL {
        root.appendingPathComponent("out/integration")
    }

    /// The monitor image to boot: FIRMVISOR_IMAGE, which must exist.
    static func monitorImage() throws -> String {
        guard let image = environment["FIRMVISOR_IMAGE"], !image.isEmpty else {
            throw Missing(description: "FIRMVISOR_IMAGE is not set: \(runHint)")
        }
        guard FileManager.default.fileExists(atPath: image) else {
            throw Missing(description: "FIRMVISOR_IMAGE=\(image) does not exist: \(runHint)")
        }
        return image
    }

    /// A file a boot needs, from a Debian package.
    static func requireFile(_ path: String, package: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(description: "\(path) is missing (Debian package \(package)): \(runHint)")
        }
        return path
    }

    /// An executable from PATH (or an absolute path).
    static func executable(named name: String) throws -> String {
        if name.hasPrefix("/") {
            if FileManager.default.isExecutableFile(atPath: name) { return name }
        } else {
            let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
            for directory in path.split(separator: ":") {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        throw Missing(description: "\(name) not found in PATH: \(runHint)")
    }

    static func qemu() throws -> String {
        try executable(named: environment["QEMU"] ?? "qemu-system-riscv64")
    }

    /// scripts/run in the repository.
    static func runScript() throws -> String {
        let path = root.appendingPathComponent("scripts/run").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Missing(description: "\(path) is missing or not executable (FIRMVISOR_ROOT=\(root.path)): \(runHint)")
        }
        return path
    }
}
