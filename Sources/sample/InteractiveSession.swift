import ArgumentParser
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

    func run() throws {
        let config = model.generator.model.config
        Output.write("swiftlet sample: \(model.directory) (\(config.layers) layers, \(config.width) wide, context \(config.context)). /help for commands, Ctrl-D to leave.\n")
        if let template = model.template {
            // The answer continues the laid-out prompt, which is not printed: without this line an answer that
            // starts after "A:" looks detached from the question.
            Output.write("completion checkpoint: each prompt is sent laid out as \(String(reflecting: template)), "
                + "and the answer continues it\n")
        }
        // The prompt and the line being typed go to the terminal: to stderr when stdout is redirected (a log of
        // the session), which then gets each question as "> line" before its answer.
        let logged = isatty(STDOUT_FILENO) != 1 && isatty(STDERR_FILENO) == 1
        let editor = LineEditor(program: "sample", output: logged ? STDERR_FILENO : STDOUT_FILENO)
        while true {
            // A SIGTERM that came as the last answer ended. (One that comes after this check but before the line
            // editor reads is seen only once a key is pressed: closing that gap would need the editor to wait on
            // signals too.)
            try endIfAskedTo()
            let input = editor.readLine(prompt: "> ")
            // A SIGINT that came before the line was complete (a Ctrl-C typed between an answer and the prompt,
            // while the terminal still sends it as a signal, or one sent from outside) is spent on that line: it
            // must not stop the next answer at its first token. A SIGTERM or SIGHUP ends the session.
            try endIfAskedTo()
            Interrupt.reset()
            switch input {
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
                if trimmed.hasPrefix("/") && !trimmed.hasPrefix("//") {
                    if !command(trimmed) { return }
                } else {
                    // "//" starts a prompt with "/" (its first "/" dropped).
                    let prompt = trimmed.hasPrefix("//") ? String(line.drop { $0 != "/" }.dropFirst()) : line
                    if logged { Output.write("> \(prompt)\n") }
                    try answer(prompt)
                }
            }
            try Output.checkStdout()
        }
    }

    func answer(_ line: String) throws {
        let turn = model.layout(line)
        // Turns are a line apart: a plain line always; a laid-out one unless the answer or the layout brings
        // its own line break (the next "Q: ..." was glued to the last answer).
        let separator = model.template == nil || !(transcript.hasSuffix("\n") || turn.hasPrefix("\n")) ? "\n" : ""
        let prompt = transcript.isEmpty ? turn : transcript + separator + turn
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
                    // Expected once a long conversation outgrows the context: the oldest text is dropped. A first
                    // line (or the first after /reset) cut so is longer than the context itself: say so.
                    if self.transcript.isEmpty, let warning = Output.warning(for: event) { Output.note(warning) }
                case .contextSlid: break
                case let .finished(_, completion): tokens = completion.tokenCount
                }
            }, shouldStop: { Interrupt.isRequested || Output.stdoutError != nil })
        let interrupted = Interrupt.isRequested, status = Interrupt.exitStatus
        Interrupt.reset()
        answers += 1
        let seconds = Date().timeIntervalSince(start)
        if let completion { transcript = prompt + completion.text }
        let rate = seconds > 0 ? Double(tokens) / seconds : 0
        let ending = interrupted ? ", stopped" : ""
        Output.write("\n[\(counted(tokens, "token")), " + String(format: "%.1f", rate) + " tokens/s\(ending)]\n")
        if interrupted { try endIfAskedTo(status: status) }
    }

    /// Ctrl-C stops an answer or cancels a line and the session goes on; `kill` (SIGTERM) or a closed terminal
    /// (SIGHUP) ends it, with 128 + the signal's number, as the other tools end.
    private func endIfAskedTo(status: Int32? = nil) throws {
        let status = status ?? (Interrupt.isRequested ? Interrupt.exitStatus : nil)
        if let status, status != 128 + SIGINT { throw ExitCode(status) }
    }
}
