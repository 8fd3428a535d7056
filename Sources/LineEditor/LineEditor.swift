import CLineEdit
import Glibc

/// Reads lines from the user: with line editing and history (libedit) when the input is a terminal, plain
/// line reading otherwise (a pipe or a file: no prompt is printed, so piped output stays clean).
///
/// On a terminal, Ctrl-C while editing cancels the line and `readLine` returns `.interrupted` (the caller
/// re-prompts); Ctrl-D on an empty line returns `.endOfInput`. libedit turns the terminal's ISIG off only
/// while a line is being edited, so Ctrl-C during generation still raises SIGINT for the caller's handler.
public final class LineEditor {
    public enum Input: Equatable {
        case line(String)
        /// A line whose bytes are not valid UTF-8 (it is consumed; the next call reads the line after it).
        case invalidUTF8
        case interrupted
        case endOfInput
    }

    public let isInteractive: Bool
    private let editor: OpaquePointer?
    private let historyFile: String?
    private let inputFD: Int32
    private var buffer: [UInt8] = []
    private var reachedEnd = false

    /// `historyFile`, when given, is loaded now (a missing file is fine) and rewritten after every line.
    public init(program: String = "swiftlet", input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO,
                historyFile: String? = nil, historySize: Int = 1000) {
        inputFD = input
        self.historyFile = historyFile
        if isatty(input) == 1, let editor = swiftlet_le_open(program, input, output, Int32(historySize)) {
            self.editor = editor
            isInteractive = true
            if let historyFile { _ = swiftlet_le_load_history(editor, historyFile) }
        } else {
            editor = nil
            isInteractive = false
        }
    }

    deinit { swiftlet_le_close(editor) }

    /// Reads one line (without its newline) after showing `prompt` (terminal only).
    public func readLine(prompt: String) -> Input {
        guard let editor else { return readPlainLine() }
        var text: UnsafePointer<CChar>?
        var length: Int32 = 0
        switch swiftlet_le_read(editor, prompt, &text, &length) {
        case Int32(SWIFTLET_LE_LINE):
            guard let text else { return .line("") }
            guard let line = String(validating: UnsafeBufferPointer(start: UnsafeRawPointer(text)
                .assumingMemoryBound(to: UInt8.self), count: Int(length)), as: UTF8.self) else { return .invalidUTF8 }
            if line.contains(where: { !$0.isWhitespace }) {
                swiftlet_le_add_history(editor, text)
                if let historyFile { _ = swiftlet_le_save_history(editor, historyFile) }
            }
            return .line(line)
        case Int32(SWIFTLET_LE_INTERRUPTED):
            return .interrupted
        default:
            return .endOfInput
        }
    }

    /// Buffered reading of a line from a pipe or file; a final line without newline still counts;
    /// a trailing "\r" (CRLF input) is dropped.
    private func readPlainLine() -> Input {
        func decoded(_ bytes: ArraySlice<UInt8>) -> Input {
            String(validating: bytes, as: UTF8.self).map(Input.line) ?? .invalidUTF8
        }
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var bytes = buffer[..<newline]
                buffer.removeSubrange(...newline)
                if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
                return decoded(bytes)
            }
            if reachedEnd {
                if buffer.isEmpty { return .endOfInput }
                defer { buffer.removeAll() }
                return decoded(buffer[...])
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(inputFD, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
            } else if n == 0 || errno != EINTR {
                reachedEnd = true
            }
        }
    }
}
