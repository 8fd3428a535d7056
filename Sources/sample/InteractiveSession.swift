import Foundation
import Generation
import LineEditor
import Sampling
import TerminalUI

/// The terminal session: a prompt line with editing and history; the answer streams as it is generated,
/// followed by a line with its tokens and tokens/s. The conversation so far (every prompt and answer) is
/// the context of the next answer, left-truncated to the model's context; /reset forgets it.
/// Ctrl-C stops the current answer (the session goes on); Ctrl-D or /quit leaves.
final class InteractiveSession {
    let model: LoadedModel
    var settings: SamplingSettings
    /// Seed of the session's answers: answer n uses derive(seed, n).
    var seed: UInt64
    var answers = 0
    var transcript = ""

    init(model: LoadedModel, settings: SamplingSettings) {
        self.model = model
        self.settings = settings
        seed = settings.seed ?? SeedDerivation.randomSeed()
    }

    static let help = """
    Type a prompt and press Enter; the model continues the conversation so far. Commands:
      /temperature X   softmax temperature (0: greedy)      /top-k N      keep the N most probable tokens (0: off)
      /top-p X         nucleus mass (1: off)                 /min-p X      minimum probability ratio (0: off)
      /max-tokens N    maximum tokens per answer             /seed N       seed of the next answers
      /reset           forget the conversation               /settings     show the current settings
      /help            this text                             /quit         leave (or Ctrl-D)
    Ctrl-C stops an answer; the session goes on.
    """

    func run() throws {
        let config = model.generator.model.config
        Output.write("swiftlet sample: \(model.directory) (\(config.layers) layers, \(config.width) wide, context \(config.context)). /help for commands, Ctrl-D to leave.\n")
        let editor = LineEditor(program: "sample")
        while true {
            switch editor.readLine(prompt: "> ") {
            case .endOfInput:
                Output.write("\n")
                try Output.checkStdout()
                return
            case .interrupted:
                continue
            case .invalidUTF8:
                Output.write("(that line is not valid UTF-8 text; nothing was sent to the model)\n")
            case let .line(line):
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty { continue }
                if trimmed.hasPrefix("/") {
                    if !command(trimmed) { return }
                } else {
                    try answer(line)
                }
            }
            try Output.checkStdout()
        }
    }

    /// Runs one command; false means leave.
    func command(_ line: String) -> Bool {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let name = parts[0], argument = parts.count > 1 ? parts[1] : nil
        var next = settings
        func number<T: LosslessStringConvertible>(_ type: T.Type) -> T? {
            guard let argument, parts.count == 2, let value = T(argument) else {
                Output.write("\(name) needs one \(T.self == Float.self ? "number" : "whole number"), for example \(name) \(T.self == Float.self ? "0.8" : "40")\n")
                return nil
            }
            return value
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
        case "/max-tokens": guard let v = number(Int.self) else { return true }; next.maxNewTokens = v
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

    func describeSettings() -> String {
        "temperature \(settings.temperature), top-k \(settings.topK), top-p \(settings.topP), min-p \(settings.minP), "
            + "max-tokens \(settings.maxNewTokens), seed \(seed)"
    }

    func answer(_ line: String) throws {
        let turn = model.layout(line)
        let prompt = transcript.isEmpty ? turn : transcript + (model.template == nil ? "\n" : "") + turn
        let start = Date()
        var tokens = 0
        // No Interrupt.reset() here: a Ctrl-C typed right after Enter must stop this answer too.
        let completion = try model.generator.generate(
            prompt: prompt, settings: settings,
            seed: SeedDerivation.seed(base: seed, promptIndex: answers, sampleIndex: 0),
            onEvent: { event in
                switch event {
                case let .text(_, text): Output.write(text)
                case .promptTruncated:
                    // Expected once a long conversation outgrows the context: the oldest text is dropped.
                    break
                case .contextSlid: break
                case let .finished(_, completion): tokens = completion.tokenCount
                }
            }, shouldStop: { Interrupt.isRequested || Output.stdoutError != nil })
        let interrupted = Interrupt.isRequested
        Interrupt.reset()
        answers += 1
        let seconds = Date().timeIntervalSince(start)
        if let completion { transcript = prompt + completion.text }
        let rate = seconds > 0 ? Double(tokens) / seconds : 0
        let ending = interrupted ? ", stopped" : ""
        Output.write("\n[\(counted(tokens, "token")), " + String(format: "%.1f", rate) + " tokens/s\(ending)]\n")
    }
}
