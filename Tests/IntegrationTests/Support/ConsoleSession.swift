import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A failed wait or an unexpected line on a guest console.
struct ConsoleError: Error, CustomStringConvertible {
    var description: String
}

/// Everything a QEMU process printed (stdout and stderr together), with the
/// time each chunk arrived, so a test can time what the guest printed
/// independently of how often it polls.
final class ConsoleLog: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    /// (end offset of a chunk, its arrival time), in order.
    private var arrivals: [(end: Int, time: ContinuousClock.Instant)] = []
    private var isClosed = false

    func append(_ chunk: UnsafeBufferPointer<UInt8>) {
        let now = ContinuousClock.now
        lock.withLock {
            bytes.append(contentsOf: chunk)
            arrivals.append((bytes.count, now))
        }
    }

    func close() { lock.withLock { isClosed = true } }

    var closed: Bool { lock.withLock { isClosed } }

    var count: Int { lock.withLock { bytes.count } }

    /// The whole log as text (invalid UTF-8 repaired).
    var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }

    /// The text from `offset` on.
    func text(from offset: Int) -> String {
        lock.withLock { String(decoding: bytes[min(offset, bytes.count)...], as: UTF8.self) }
    }

    /// The last `limit` bytes, for failure messages.
    func tail(_ limit: Int = 2000) -> String {
        lock.withLock { String(decoding: bytes.suffix(limit), as: UTF8.self) }
    }

    /// The first occurrence of `needle` starting at or after `offset`.
    func find(_ needle: String, from offset: Int) -> Range<Int>? {
        let pattern = Array(needle.utf8)
        return lock.withLock {
            guard !pattern.isEmpty, bytes.count >= pattern.count else { return nil }
            var i = max(0, offset)
            let last = bytes.count - pattern.count
            while i <= last {
                if bytes[i] == pattern[0] && bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                    return i..<(i + pattern.count)
                }
                i += 1
            }
            return nil
        }
    }

    /// When the byte at `offset` arrived.
    func arrival(ofByteAt offset: Int) -> ContinuousClock.Instant {
        lock.withLock {
            arrivals.first(where: { $0.end > offset })?.time ?? .now
        }
    }
}

/// One process (QEMU, or scripts/run which becomes QEMU) driven through its
/// console: stdin is the console's input, stdout and stderr its output.
///
/// QEMU is started under `timeout(1)`, which makes itself a process-group
/// leader: ``stop()`` signals the whole group, and even if the test process
/// dies, the hard limit ends QEMU. Every session must end in ``stop()``
/// (also called on deinit), so no QEMU outlives its test.
final class ConsoleSession: @unchecked Sendable {
    let name: String
    let log = ConsoleLog()
    let started: ContinuousClock.Instant
    let logFile: URL?
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var stopped = false
    private let stopLock = NSLock()

    /// Starts `executable arguments...` under `timeout hardLimit`.
    /// `logDirectory`: where the console is saved as `<name>.log` on stop.
    init(name: String, executable: String, arguments: [String], hardLimit: Int = 240,
         environment: [String: String]? = nil, logDirectory: URL? = nil) throws {
        signal(SIGPIPE, SIG_IGN)   // a write to a QEMU that died must not kill the tests
        self.name = name
        self.logFile = logDirectory.map { $0.appendingPathComponent(Self.fileName(name) + ".log") }
        let timeout = try TestEnvironment.executable(named: "timeout")
        process.executableURL = URL(fileURLWithPath: timeout)
        process.arguments = ["--kill-after=5", String(hardLimit), executable] + arguments
        if let environment { process.environment = environment }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        started = .now
        try process.run()

        let fd = output.fileHandleForReading.fileDescriptor
        let log = self.log
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    buffer.withUnsafeBufferPointer { log.append(UnsafeBufferPointer(rebasing: $0[0..<n])) }
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            log.close()
        }
        reader.name = "console reader: \(name)"
        reader.start()
    }

    deinit { stop() }

    private static func fileName(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    var isRunning: Bool { process.isRunning }

    /// Types `text` on the console.
    func send(_ text: String) throws {
        do {
            try input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        } catch {
            throw failure("could not type \(text.debugDescription): \(error)")
        }
    }

    /// Waits until `needle` appears at or after `offset`; returns its range
    /// and the time its last byte arrived. Throws when `failOn` text appears
    /// first, when QEMU's output ends, or after `seconds`.
    @discardableResult
    func expect(_ needle: String, after offset: Int = 0, within seconds: Double,
                failOn: [String] = []) async throws -> (range: Range<Int>, time: ContinuousClock.Instant) {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            if let range = log.find(needle, from: offset) {
                return (range, log.arrival(ofByteAt: range.upperBound - 1))
            }
            for bad in failOn {
                if log.find(bad, from: offset) != nil {
                    throw failure("\(bad.debugDescription) appeared while waiting for \(needle.debugDescription)")
                }
            }
            if log.closed {
                throw failure("QEMU's output ended (\(exitDescription)) while waiting for \(needle.debugDescription)")
            }
            if ContinuousClock.now >= deadline {
                throw failure("no \(needle.debugDescription) within \(seconds) s")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits for the process to exit; returns its status (timeout(1) passes
    /// QEMU's on). Throws when `failOn` text appears after `offset` first, or
    /// after `seconds`.
    func waitForExit(within seconds: Double, after offset: Int = 0, failOn: [String] = []) async throws -> Int32 {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while process.isRunning {
            for bad in failOn where log.find(bad, from: offset) != nil {
                throw failure("\(bad.debugDescription) appeared while waiting for QEMU to exit")
            }
            if ContinuousClock.now >= deadline {
                throw failure("still running after \(seconds) s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    private var exitDescription: String {
        process.isRunning ? "still running" : "exit status \(process.terminationStatus)"
    }

    /// Seconds since the session started.
    func elapsed(until time: ContinuousClock.Instant = .now) -> Double {
        (time - started).seconds
    }

    func failure(_ message: String) -> ConsoleError {
        let where_ = logFile.map { " (full console: \($0.path))" } ?? ""
        return ConsoleError(description: """
            [\(name)] \(message) after \(String(format: "%.1f", elapsed())) s\(where_)
            --- last console output ---
            \(log.tail())
            ---------------------------
            """)
    }

    /// Ends QEMU if it still runs (SIGTERM to the process group, then
    /// SIGKILL), reaps it and saves the console log. Idempotent.
    func stop() {
        let first = stopLock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        let pgid = process.processIdentifier
        if pgid > 0 && process.isRunning {
            // timeout(1) leads the group; QEMU is in it.
            kill(-pgid, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(3)
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            kill(-pgid, SIGKILL)
            if process.isRunning { process.waitUntilExit() }
        }
        try? input.fileHandleForWriting.close()
        // The reader sees EOF once every writer (QEMU) is gone.
        let deadline = ContinuousClock.now + .seconds(2)
        while !log.closed && ContinuousClock.now < deadline { usleep(10_000) }
        if let logFile {
            try? FileManager.default.createDirectory(at: logFile.deletingLastPathComponent(),
                                                     withIntermediateDirectories: true)
            try? Data(log.text.utf8).write(to: logFile)
        }
    }
}

extension Duration {
    var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
