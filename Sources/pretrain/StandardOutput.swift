import Foundation
import Glibc
import Tokenizer

/// Standard output for `tokenize` and `decode`: bytes are written as they come, and a write that fails (a full
/// disk) ends the command with an error instead of leaving a short file behind a zero exit status. (A closed pipe
/// ends the process with SIGPIPE first, as for any filter.)
struct StandardOutput {
    private var failure: Int32?

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, bytes.count > 0 else { return }
        if fwrite(bytes.baseAddress, 1, bytes.count, stdout) != bytes.count { failure = errno }
    }

    mutating func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Flushes; throws the first write error.
    mutating func finish() throws {
        if failure == nil && fflush(stdout) != 0 { failure = errno }
        if let failure { throw TokenizerError.cannotWrite(path: "stdout", reason: String(cString: strerror(failure))) }
    }
}
