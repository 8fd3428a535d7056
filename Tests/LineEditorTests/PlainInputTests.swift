import Testing
import Glibc
@testable import LineEditor

@Suite struct PlainInputTests {
    /// Input from a pipe: no editing, lines as written, CRLF tolerated, a last line without newline kept.
    @Test func readsLinesFromAPipe() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let text = "first line\r\nsecond ✓\n\nlast without newline"
        let written = text.utf8CString.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count - 1) }
        #expect(written == text.utf8.count)
        close(fds[1])
        defer { close(fds[0]) }
        let editor = LineEditor(input: fds[0])
        #expect(!editor.isInteractive)
        #expect(editor.readLine(prompt: "> ") == .line("first line"))
        #expect(editor.readLine(prompt: "> ") == .line("second ✓"))
        #expect(editor.readLine(prompt: "> ") == .line(""))
        #expect(editor.readLine(prompt: "> ") == .line("last without newline"))
        #expect(editor.readLine(prompt: "> ") == .endOfInput)
        #expect(editor.readLine(prompt: "> ") == .endOfInput)
    }

    /// A line that is not UTF-8 is reported as such (not patched with U+FFFD); the lines around it read as usual.
    @Test func invalidUTF8IsReported() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let bytes: [UInt8] = Array("ok\n".utf8) + [0x63, 0x61, 0x66, 0xE9, 0x0A] + Array("next\n".utf8) + [0xFF]
        #expect(bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) } == bytes.count)
        close(fds[1])
        defer { close(fds[0]) }
        let editor = LineEditor(input: fds[0])
        #expect(editor.readLine(prompt: "") == .line("ok"))
        #expect(editor.readLine(prompt: "") == .invalidUTF8)
        #expect(editor.readLine(prompt: "") == .line("next"))
        #expect(editor.readLine(prompt: "") == .invalidUTF8)
        #expect(editor.readLine(prompt: "") == .endOfInput)
    }
}
