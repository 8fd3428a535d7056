import Foundation
import Generation
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

    static func write(_ text: String) {
        writeText(text, to: stdout)
        fflush(stdout)
        if let last = text.last { midLine = last != "\n" }
    }

    static func note(_ text: String) {
        let breakLine = midLine && sharedDestination
        writeText((breakLine ? "\n" : "") + text + "\n", to: stderr)
        midLine = false
    }

    /// The warnings a generation event calls for (nil for text and the end of a completion).
    static func warning(for event: GenerationEvent, prompt: String? = nil) -> String? {
        switch event {
        case let .promptTruncated(_, dropped, context):
            return "warning: the prompt is longer than the model's context of \(context) tokens; its first \(dropped) tokens were dropped"
        case let .contextSlid(_, kept, context):
            return "note: the text reached the model's context of \(context) tokens; generation continues from the last \(kept)"
        case .text, .finished:
            return nil
        }
    }
}
