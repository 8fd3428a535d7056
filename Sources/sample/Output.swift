import ArgumentParser
import Foundation
import Generation
import Sampling
import Glibc
import TerminalUI

/// Streamed text goes to stdout unbuffered (each piece is visible at once); notes go to stderr.
enum Output {
    /// Whether the streamed text so far ends inside a line: when stdout and stderr lead to the same place (a
    /// terminal, or one file as with `> log 2>&1`) a note then starts on a line of its own instead of running
    /// into the text.
    nonisolated(unsafe) private static var midLine = false

    /// Whether stdout and stderr are the same terminal, file or pipe.
    private static let sharedDestination: Bool = {
        var out = stat(), err = stat()
        guard fstat(STDOUT_FILENO, &out) == 0, fstat(STDERR_FILENO, &err) == 0 else { return false }
        return out.st_dev == err.st_dev && out.st_ino == err.st_ino
    }()

    /// The error number of the first write to stdout that failed (a full disk, /dev/full, a closed pipe), nil while
    /// every write succeeded. Later text is not written; `checkStdout()` reports it.
    nonisolated(unsafe) private(set) static var stdoutError: Int32?

    static func write(_ text: String) {
        guard stdoutError == nil else { return }
        if !writeText(text, to: stdout) || fflush(stdout) != 0 { stdoutError = errno }
        if let last = text.last { midLine = last != "\n" }
    }

    /// Throws once stdout could not be written (flushing it first): `error: stdout: <reason>` and exit status 1, so
    /// that `sample ... > file && next` does not go on with a lost output. A closed pipe (`sample ... | head`) ends
    /// the run without a message with status 141, as SIGPIPE's default action does when it is not ignored.
    static func checkStdout() throws {
        if stdoutError == nil && fflush(stdout) != 0 { stdoutError = errno }
        guard let stdoutError else { return }
        if stdoutError == EPIPE { throw ExitCode(128 + SIGPIPE) }
        throw UserError("stdout: \(String(cString: strerror(stdoutError)))")
    }

    static func note(_ text: String) {
        let breakLine = midLine && sharedDestination
        writeText((breakLine ? "\n" : "") + text + "\n", to: stderr)
        midLine = false
    }

    /// The warning a generation event calls for as it happens: a truncated prompt, said before any of its text
    /// (nil for the other events; a slid context is said once the text is done, see `contextNote`).
    static func warning(for event: GenerationEvent) -> String? {
        guard case let .promptTruncated(_, dropped, context) = event else { return nil }
        return "warning: the prompt is longer than the model's context of \(context) tokens; \(firstTokensDropped(dropped))"
    }

    /// The note after the last sample when `outgrown` of `samples` samples outgrew the context (the window then
    /// keeps the newest `kept` tokens and grows back to `context` before it slides again).
    static func contextNote(outgrown: Int, of samples: Int, kept: Int, context: Int) -> String {
        (samples == 1 ? "note: the text" : "note: \(outgrown) of \(samples) samples")
            + " outgrew the model's context of \(context) tokens; past it, each token was generated from only the last "
            + "\(kept) to \(context) tokens"
    }

    /// "its first 3 tokens were dropped", "its first token was dropped".
    static func firstTokensDropped(_ count: Int) -> String {
        count == 1 ? "its first token was dropped" : "its first \(count) tokens were dropped"
    }
}
