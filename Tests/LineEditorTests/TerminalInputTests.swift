import Foundation
import Glibc
import Testing
@testable import LineEditor

/// LineEditor on a pseudo-terminal, keys typed from another thread while it waits for a line.
@Suite struct TerminalInputTests {
    @Test func editingHistoryInterruptAndEndOfInputOnATerminal() throws {
        // A new pseudo-terminal pair: unlock the master (TIOCSPTLCK), ask its number (TIOCGPTN).
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        try #require(master >= 0)
        defer { close(master) }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        #expect(ioctl(master, UInt(0x4004_5431), &unlock) == 0)
        #expect(ioctl(master, UInt(0x8004_5430), &number) == 0)
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        try #require(slave >= 0)
        defer { close(slave) }

        // Drain what the editor writes (prompt, echo) so the terminal never blocks it.
        let output = OutputCollector()
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 1024)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                output.append(buffer[0..<n])
            }
        }

        let history = NSTemporaryDirectory() + "swiftlet-history-\(UUID().uuidString)"
        defer { unlink(history) }
        let editor = LineEditor(input: slave, output: slave, historyFile: history)
        #expect(editor.isInteractive)

        /// Types `keys` once the editor has had time to switch the terminal to editing mode.
        func type(_ keys: String) -> LineEditor.Input {
            let typed = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                usleep(300_000)
                _ = keys.utf8CString.withUnsafeBytes { write(master, $0.baseAddress, $0.count - 1) }
                typed.signal()
            }
            let result = editor.readLine(prompt: "> ")
            typed.wait()
            return result
        }

        #expect(type("hello wrld\u{1B}[D\u{1B}[D\u{1B}[Do\r") == .line("hello world")) // arrows edit the line
        #expect(type("abc\u{03}") == .interrupted)                                      // Ctrl-C cancels it
        #expect(type("\u{1B}[A\r") == .line("hello world"))                             // history recall
        #expect(type("\u{04}") == .endOfInput)                                          // Ctrl-D leaves
        #expect(output.text.contains("> abc^C"))
        let saved = (try? String(contentsOfFile: history, encoding: .utf8)) ?? ""
        #expect(saved.contains("hello"))
    }
}

final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    func append(_ more: ArraySlice<UInt8>) { lock.lock(); bytes.append(contentsOf: more); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: bytes, as: UTF8.self) }
}
