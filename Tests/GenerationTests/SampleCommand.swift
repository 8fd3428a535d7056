import Foundation
import Glibc
import Testing

/// Runs the built `sample` executable (next to the test bundle in .build/<config>).
enum SampleCommand {
    static let executable: String? = {
        var candidates: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for directory in candidates {
            let path = directory.appendingPathComponent("sample").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs with stdin from `stdin` (or /dev/null), stdout and stderr captured.
    static func run(_ arguments: [String], stdin: String? = nil) throws -> Output {
        let binary = try #require(executable, "the sample executable was not found next to the test bundle")
        let scratch = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outPath = scratch + "/stdout", errPath = scratch + "/stderr"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        if let stdin {
            let inPath = scratch + "/stdin"
            try stdin.write(toFile: inPath, atomically: true, encoding: .utf8)
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: try String(contentsOfFile: outPath, encoding: .utf8),
                      stderr: try String(contentsOfFile: errPath, encoding: .utf8))
    }
}

/// `sample` on a pseudo-terminal: openpty, then the child runs under `setsid --ctty` so the terminal is its
/// controlling terminal and a Ctrl-C byte written to the master raises SIGINT in it, as a user's would.
final class TerminalSession {
    let process = Process()
    private let master: Int32
    private(set) var transcript = ""

    init(arguments: [String]) throws {
        let binary = try #require(SampleCommand.executable)
        var masterFD: Int32 = -1, slaveFD: Int32 = -1
        #expect(openpty(&masterFD, &slaveFD, nil, nil, nil) == 0)
        master = masterFD
        let slave = FileHandle(fileDescriptor: slaveFD, closeOnDealloc: true)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["--ctty", binary] + arguments
        process.standardInput = slave
        process.standardOutput = slave
        process.standardError = slave
        try process.run()
        close(slaveFD)
    }

    deinit {
        if process.isRunning { process.terminate() }
        close(master)
    }

    func send(_ text: String) {
        _ = text.withCString { write(master, $0, strlen($0)) }
    }

    /// Reads until the transcript (after `from`) contains `text`, or `timeout` seconds pass.
    @discardableResult
    func waitFor(_ text: String, after from: String.Index? = nil, timeout: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let from, transcript[from...].contains(text) { return true }
            if from == nil, transcript.contains(text) { return true }
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, 100) > 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { return false }
                transcript += String(decoding: buffer[0..<n], as: UTF8.self)
            }
        }
        return false
    }

    /// Reads until at least `count` characters follow `from`.
    func waitFor(count: Int, after from: String.Index, timeout: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if transcript[from...].count >= count { return true }
            waitFor("\u{0}", timeout: 0.05)
        }
        return false
    }

    /// Waits for the child to exit (reading what it still prints) and returns its status, or nil on timeout.
    func waitForExit(timeout: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { waitFor("\u{0}", timeout: 0.2) }
        if process.isRunning { return nil }
        return process.terminationStatus
    }
}
