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
        let outgrown = try generate(prompt: prompt, seed: runSeed())
        try finish(samples: 1, outgrown: outgrown ? 1 : 0)
    }

    /// Every line of stdin is a prompt (blank lines are skipped); the n-th uses seed derive(seed, n). An empty line
    /// separates one sample from the next, for a reader (a completion may hold empty lines of its own: a program
    /// reads `--prompts FILE --out FILE.jsonl` instead). A line that is not UTF-8 stops the run, named as
    /// "stdin:LINE" like a prompts file's line.
    func runLines() throws {
        let editor = LineEditor(program: "sample")
        var base: UInt64?   // drawn (and said) at the first prompt: input without one needs no seed
        var samples = 0, outgrown = 0, lineNumber = 0
        reading: while !Interrupt.isRequested {
            lineNumber += 1
            switch editor.readLine(prompt: "") {
            case let .line(line):
                if line.allSatisfy({ $0.isWhitespace }) { continue }
                if samples > 0 { Output.write("\n") }
                if base == nil { base = runSeed() }
                let seed = SeedDerivation.seed(base: base!, promptIndex: samples, sampleIndex: 0)
                if try generate(prompt: line, seed: seed) { outgrown += 1 }
                samples += 1
                try Output.checkStdout()
            case .invalidUTF8:
                throw UserError("stdin:\(lineNumber): is not valid UTF-8 text")
            case .interrupted, .endOfInput:
                break reading
            }
        }
        try finish(samples: samples, outgrown: outgrown)
    }

    /// --seed, else a random seed, said on stderr before the text (as pretrain says its seed) so that a good sample
    /// can be made again. Greedy decoding (temperature 0) draws nothing at random: its seed is not worth a line.
    private func runSeed() -> UInt64 {
        if let seed = settings.seed { return seed }
        let seed = SeedDerivation.randomSeed()
        if settings.temperature > 0 { Output.note("seed \(seed) (random; pass --seed \(seed) to repeat)") }
        return seed
    }

    /// The end of a run: a failed stdout first (a closed pipe ends it without a word), then the context note, then
    /// Ctrl-C's exit status. The note comes once, after the text: said when the context slid, it split a line of
    /// the text in a terminal.
    private func finish(samples: Int, outgrown: Int) throws {
        try Output.checkStdout()
        if outgrown > 0 {
            Output.note(Output.contextNote(outgrown: outgrown, of: samples, kept: model.generator.decoder.slideKeep,
                                           context: model.generator.model.config.context))
        }
        if Interrupt.isRequested { throw ExitCode(Interrupt.exitStatus) }
    }

    /// Prints the prompt as the model sees it (laid out by a completion checkpoint's template), then the
    /// completion; returns whether the text outgrew the model's context.
    private func generate(prompt userPrompt: String, seed: UInt64) throws -> Bool {
        let prompt = model.layout(userPrompt)
        var printedPrompt = false, slid = false
        _ = try model.generator.generate(prompt: prompt, settings: settings, seed: seed, onEvent: { event in
            if let warning = Output.warning(for: event) { Output.note(warning) }
            if !printedPrompt { Output.write(prompt); printedPrompt = true }
            switch event {
            case let .text(_, text): Output.write(text)
            case .contextSlid: slid = true
            case .promptTruncated, .finished: break
            }
        }, shouldStop: { Interrupt.isRequested || Output.stdoutError != nil })
        if !printedPrompt { Output.write(prompt) }
        Output.write("\n")
        return slid
    }
}
