import ArgumentParser
import Foundation
import Generation
import GPT
import Kernels
import Sampling
import TerminalUI

/// `sample`: generate text from a checkpoint, interactively, once, line by line from stdin, or in batch.
@main
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate text from a trained checkpoint.",
        discussion: """
        Modes: with no prompt and a terminal on stdin, an interactive session (type /help); --prompt or \
        --prompt-file generates once and exits; with stdin not a terminal, every line of stdin is a prompt, and an \
        empty line separates one sample from the next; --prompts FILE with --out FILE.jsonl (or --out-dir DIR) \
        generates for every prompt of a plain-text or JSONL file, with a progress bar, --resume and \
        --samples-per-prompt (JSON lines are the output for programs).
        """)

    static func main() { mainWithOneLineErrors() }

    @Option(help: "Checkpoint directory, or a run directory (its best/ checkpoint, else latest/).")
    var checkpoint: String

    @Option(help: "Generate once from this prompt and exit.")
    var prompt: String?

    @Option(name: .customLong("prompt-file"), help: "Generate once from the whole content of this file (a completion checkpoint's prompt without its final line break).")
    var promptFile: String?

    @Option(help: "Batch mode: a prompts file, one prompt a line (plain text), or JSON lines with a \"prompt\" field (.jsonl, .ndjson or .json).")
    var prompts: String?

    @Option(help: "Batch mode: write one JSON line per sample to this file.")
    var out: String?

    @Option(name: .customLong("out-dir"), help: "Batch mode: write one text file per sample to this directory.")
    var outDir: String?

    @Option(name: .customLong("samples-per-prompt"), help: "Batch mode: samples for each prompt (default 1).")
    var samplesPerPrompt: Int?

    @Option(name: [.customLong("batch-size"), .customLong("batch")],
            help: "Batch mode: sequences decoded together (default 4; --batch is the same option).")
    var batch: Int?

    @Flag(help: "Batch mode: keep the existing output and skip the samples it already holds (refused when the checkpoint, --weights, --seed or a sampling setting differs from the output's).")
    var resume = false

    @Flag(help: "Batch mode: replace an existing output.")
    var overwrite = false

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: ArgumentHelp(
        "Weights the generation steps read: fp32 (the checkpoint's), or bf16 (a bfloat16 copy made at start: half the bytes per token, faster; the logits change slightly).",
        valueName: "fp32|bf16"))
    var weights: DecoderWeights = .float32

    @OptionGroup var sampling: SamplingOptions

    func validate() throws {
        if [prompt != nil, promptFile != nil, prompts != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give only one of --prompt, --prompt-file and --prompts")
        }
        if prompts != nil && (out == nil) == (outDir == nil) {
            throw ValidationError("--prompts needs exactly one of --out FILE.jsonl and --out-dir DIR")
        }
        let batchOnly = [("--out", out != nil), ("--out-dir", outDir != nil), ("--samples-per-prompt", samplesPerPrompt != nil),
                         ("--batch-size", batch != nil), ("--resume", resume), ("--overwrite", overwrite)].filter(\.1).map(\.0)
        if prompts == nil && !batchOnly.isEmpty {
            throw ValidationError("\(batchOnly.joined(separator: ", ")) \(batchOnly.count == 1 ? "needs" : "need") --prompts (batch mode)")
        }
        if let out, ["csv", "tsv", "tab"].contains((out as NSString).pathExtension.lowercased()) {
            throw ValidationError("--out: \(out): batch output is JSON Lines, one object a sample; name it .jsonl (or "
                + "give --out-dir DIR for a text file a sample)")
        }
        if resume && overwrite { throw ValidationError("--resume and --overwrite contradict each other") }
        if let samplesPerPrompt, samplesPerPrompt < 1 {
            throw ValidationError("--samples-per-prompt must be at least 1 (got \(samplesPerPrompt))")
        }
        if let batch, batch < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batch))") }
        if let threads, let problem = ThreadPool.problem(withThreads: threads) { throw ValidationError(problem) }
    }

    func run() throws {
        try reportingErrors {
            if let threads { ThreadPool.shared = ThreadPool(threads: threads) }
            Interrupt.install()
            let settings = sampling.settings   // checked by SamplingOptions.validate()
            if let prompts {
                try BatchRun(checkpoint: checkpoint, maxBatch: batch ?? 4, promptsPath: prompts, out: out, outDir: outDir,
                             samplesPerPrompt: samplesPerPrompt ?? 1, resume: resume, overwrite: overwrite,
                             settings: settings, weights: weights).run()
                return
            }
            if let promptFile {
                // An empty file (or /dev/null) is the empty prompt: generation starts from BOS.
                let data = try PromptFileReader.readBytes(path: promptFile, kind: "prompt file")
                guard let text = String(data: data, encoding: .utf8) else {
                    throw UserError("\(promptFile): not valid UTF-8 text")
                }
                let model = try LoadedModel.load(path: checkpoint, maxBatch: 1, weights: weights)
                try OneShot(model: model, settings: settings).run(prompt: model.prompt(fromFile: text))
                return
            }
            if let prompt {
                let model = try LoadedModel.load(path: checkpoint, maxBatch: 1, weights: weights)
                try OneShot(model: model, settings: settings).run(prompt: prompt)
                return
            }
            let model = try LoadedModel.load(path: checkpoint, maxBatch: 1, weights: weights)
            if Terminal.isInteractive(fileDescriptor: STDIN_FILENO) {
                try InteractiveSession(model: model, settings: settings).run()
                try Output.checkStdout()
            } else {
                try OneShot(model: model, settings: settings).runLines()
            }
        }
    }
}

extension DecoderWeights: ExpressibleByArgument {}
