import TestSupport
import Foundation
import Glibc
import Testing

/// The built `sample` executable.
let SampleCommand = BuiltExecutable("sample")

/// `sample` on a pseudo-terminal: openpty, then the child runs under `setsid --ctty` so the terminal is its
/// controlling terminal and a Ctrl-C byte written to the master raises SIGINT in it, as a user's would.
final class TerminalSession {
    let process = Process()
    private let master: Int32
    private(set) var transcript = ""

    /// `stdout`: where sample's standard output goes instead of the terminal (a log of the session). `program`:
    /// another program to run on the terminal in sample's place (a shell, to start sample as a job).
    init(program: String? = nil, arguments: [String], stdout: FileHandle? = nil) throws {
        let binary = try program ?? #require(SampleCommand.path)
        var masterFD: Int32 = -1, slaveFD: Int32 = -1
        #expect(openpty(&masterFD, &slaveFD, nil, nil, nil) == 0)
        master = masterFD
        let slave = FileHandle(fileDescriptor: slaveFD, closeOnDealloc: true)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        // --wait: setsid forks when it leads a process group, and its own exit then says nothing of sample's.
        process.arguments = ["--ctty", "--wait", binary] + arguments
        process.standardInput = slave
        process.standardOutput = stdout ?? slave
        process.standardError = slave
        // The child starts with no signal blocked, as from a user's shell: it inherits this thread's mask, in which
        // the test runner blocks some (SIGTSTP among them, so a job never stopped).
        var none = sigset_t(), saved = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        try process.run()
        close(slaveFD)
    }

    deinit {
        if process.isRunning { process.terminate() }
        close(master)
    }

    /// The process id of `sample` itself: `setsid` runs it in a child of its own when it must fork to leave its
    /// process group (then the child's parent is the process started here).
    var samplePid: pid_t {
        let parent = process.processIdentifier
        let children = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for name in children {
            guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // "pid (comm) state ppid ...": the fields after the command name.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, pid_t(fields[1]) == parent { return pid }
        }
        return parent
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
