import Foundation
import JSON
import Sampling

/// The session's /commands: one for every sampling option of the command line, and /settings, /reset, /help, /quit.
extension InteractiveSession {
    static let help = """
    Type a prompt and press Enter; the model continues the conversation so far. Commands:
      /temperature X          softmax temperature (0: greedy)
      /top-k N                keep the N most probable tokens (0: off)
      /top-p X                nucleus mass (1: off)
      /min-p X                minimum probability ratio (0: off)
      /repetition-penalty X   penalty for tokens already in the context (1: off)
      /max-tokens N           maximum tokens per answer
      /stop TEXT              also stop an answer where it reaches TEXT (\\n: a line break, \\t: a tab, \\s: a space); /stop alone: no stop strings
      /seed N                 seed of the next answers
      /reset                  forget the conversation
      /settings               show the current settings
      /help                   this text
      /quit                   leave (or Ctrl-D)
    A line that starts with // is a prompt that starts with / (the first / dropped).
    Ctrl-C stops an answer; the session goes on.
    """

    /// Runs one command; false means leave.
    func command(_ line: String) -> Bool {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let name = parts[0], argument = parts.count > 1 ? parts[1] : nil
        var next = settings
        func number<T: LosslessStringConvertible>(_ type: T.Type) -> T? {
            guard let argument, parts.count == 2, let value = T(argument) else {
                Output.write("error: \(name) needs one \(T.self == Float.self ? "number" : "whole number"), for example \(name) \(T.self == Float.self ? "0.8" : "40")\n")
                return nil
            }
            return value
        }
        // The commands without an argument refuse one rather than ignore it ("/reset all" is not "/reset").
        if ["/quit", "/exit", "/help", "/settings", "/reset"].contains(name) && parts.count > 1 {
            Output.write("error: \(name) takes no argument (got \(String(reflecting: parts.dropFirst().joined(separator: " "))))\n")
            return true
        }
        switch name {
        case "/quit", "/exit": return false
        case "/help": Output.write(Self.help + "\n"); return true
        case "/settings": Output.write(describeSettings() + "\n"); return true
        case "/reset":
            transcript = ""
            Output.write("(conversation forgotten)\n")
            return true
        case "/temperature": guard let v = number(Float.self) else { return true }; next.temperature = v
        case "/top-k": guard let v = number(Int.self) else { return true }; next.topK = v
        case "/top-p": guard let v = number(Float.self) else { return true }; next.topP = v
        case "/min-p": guard let v = number(Float.self) else { return true }; next.minP = v
        case "/repetition-penalty": guard let v = number(Float.self) else { return true }; next.repetitionPenalty = v
        case "/max-tokens": guard let v = number(Int.self) else { return true }; next.maxNewTokens = v
        case "/stop":
            // The rest of the line, its spaces at both ends dropped (\s writes a space that counts), is the stop
            // string; nothing after /stop clears them.
            let text = Self.unescaped(String(line.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces))
            if text.isEmpty {
                next.stopStrings = []
            } else if !next.stopStrings.contains(text) {
                next.stopStrings.append(text)
            }
        case "/seed":
            guard let v = number(UInt64.self) else { return true }
            seed = v
            answers = 0
            Output.write("seed \(v)\n")
            return true
        default:
            Output.write("unknown command \(name) (/help lists them)\n")
            return true
        }
        do {
            try next.validate()
            settings = next
            Output.write(describeSettings() + "\n")
        } catch {
            Output.write("error: \(error)\n")
        }
        return true
    }

    /// One line: every sampling setting, the seed and the weights (stop strings quoted, a line break as \n).
    func describeSettings() -> String {
        let stops = settings.stopStrings.isEmpty ? "no stop strings"
            : "stop " + settings.stopStrings.map { String(reflecting: $0) }.joined(separator: " ")
        return "temperature \(settings.temperature), top-k \(settings.topK), top-p \(settings.topP), min-p \(settings.minP), "
            + "repetition-penalty \(settings.repetitionPenalty), max-tokens \(settings.maxNewTokens), seed \(seed), "
            + "\(stops), weights \(model.generator.decoder.weights.rawValue)"
    }

    /// A line typed at the prompt cannot hold a line break or a tab, and loses its spaces at the ends (the line is
    /// trimmed): `\n`, `\t` and `\s` stand for a line break, a tab and a space, `\\` for a
    /// backslash; any other backslash is kept as it is.
    static func unescaped(_ text: String) -> String {
        BackslashEscapes.decode(text, extra: ["s": " "]) { "\\" + ($0.map(String.init) ?? "") }
    }
}
