import ArgumentParser
import Foundation
import Generation
import LineEditor
import Sampling
import TerminalUI

/// `--prompt`, `--prompt-file`, and prompts piped on stdin (one a line): prints each prompt followed by its
/// completion, streamed as it is generated. Ctrl-C stops the current completion and the run, with exit status 130
/// (as batch mode, `pretrain` and `finetune`: a script must not take the output as complete). When stdout cannot be
/// written, generation stops and the run fails (`Output.checkStdout()`).
struct OneShot {
    let model: LoadedModel
    let settings: SamplingSettings

    func run(prompt: String) throws {
        let seed = settings.seed ?? SeedDerivation.randomSeed()
        try generate(prompt: prompt, seed: seed)
        try Output.checkStdout()
        if Interrupt.isRequested { throw ExitCode(Interrupt.exitStatus) }
    }

    /// Every line of stdin is a prompt (blank lines are skipped); the n-th uses seed derive(seed, n). A line
    /// that is not UTF-8 stops the run, named as "stdin:LINE" like a prompts file's line.
    func runLines() throws {
        let editor = LineEditor(program: "sample")
        let base = settings.seed ?? SeedDerivation.randomSeed()
        var index = 0, lineNumber = 0
        while !Interrupt.isRequested {
            lineNumber += 1
            switch editor.readLine(prompt: "") {
            case let .line(line):
                if line.allSatisfy({ $0.isWhitespace }) { continue }
                try generate(prompt: line, seed: SeedDerivation.seed(base: base, promptIndex: index, sampleIndex: 0))
                try Output.checkStdout()
                index += 1
            case .invalidUTF8:
                throw SampleError(message: "stdin:\(lineNumber): is not valid UTF-8 text")
            case .interrupted, .endOfInput:
                if Interrupt.isRequested { throw ExitCode(Interrupt.exitStatus) }
                try Output.checkStdout()
                return
            }
        }
        throw ExitCode(Interrupt.exitStatus)   // the loop ends on Ctrl-C only
    }

    /// Prints the prompt as the model sees it (laid out by a completion checkpoint's template), then the
    /// completion.
    private func generate(prompt userPrompt: String, seed: UInt64) throws {
        let prompt = model.layout(userPrompt)
        var printedPrompt = false
        _ = try model.generator.generate(prompt: prompt, settings: settings, seed: seed, onEvent: { event in
            if let warning = Output.warning(for: event) { Output.note(warning) }
            if !printedPrompt { Output.write(prompt); printedPrompt = true }
            if case let .text(_, text) = event { Output.write(text) }
        }, shouldStop: { Interrupt.isRequested || Output.stdoutError != nil })
        if !printedPrompt { Output.write(prompt) }
        Output.write("\n")
    }
}
