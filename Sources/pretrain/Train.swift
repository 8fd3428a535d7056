import ArgumentParser
import Foundation
import GPT
import Kernels
import TerminalUI
import Tokenizer
import Training

/// `pretrain` (the default subcommand): train a GPT language model on prepared token files or on corpus files.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT language model (the default when no subcommand is given).",
        discussion: """
        With no arguments, prepares corpora/kjv.txt (the King James Bible, 4096-piece BPE) and trains a small \
        model on it in one to two minutes on two cores, writing checkpoints/default. The run directory holds latest/ (resume \
        point), best/ (lowest validation loss), metrics.jsonl and loss.svg. Ctrl-C saves latest/ and stops; \
        --resume continues exactly where it stopped; --init-from starts a new run from a checkpoint's weights.
        """)

    @OptionGroup var data: DataOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var hyper: HyperparameterOptions

    @Option(help: "Stop after N evaluations without a new best validation loss (default 0: never); best/ holds the best.")
    var patience: Int?

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Print a sample of the model's text on stderr every N steps (default 0: never): --sample-tokens tokens continuing --sample-prompt, at temperature 1 and top-p 0.9, with a seed printed beside it. The training is not changed; a resumed run keeps these options unless given again.")
    var sampleEvery: Int?

    @Option(help: "Tokens a --sample-every sample adds (default 64).")
    var sampleTokens: Int?

    @Option(help: "The text --sample-every samples continue (default: none; they start a text).")
    var samplePrompt: String?

    @Option(help: "Run directory.")
    var out: String = "checkpoints/default"

    @Flag(help: "Continue the run in --out from its latest checkpoint. The training options given now (--steps, --lr, ...) override the saved ones; the model's shape, its dropout, its seed and its data stay as the run started (leave their options out).")
    var resume = false

    @Flag(help: "Start a new run even if --out already holds one (it is replaced).")
    var overwrite = false

    /// The first of --sample-tokens and --sample-prompt given, which mean something only with --sample-every.
    var sampleDetailGiven: String? {
        sampleTokens != nil ? "--sample-tokens" : samplePrompt != nil ? "--sample-prompt" : nil
    }

    /// Words that are no option's value: a mistyped command (`pretrain evalute`) lands here and is named.
    @Argument(help: .hidden) var unexpected: [String] = []

    @Option(help: ArgumentHelp("Start a new run from this checkpoint's weights (a checkpoint or run directory; its best/, else latest/) instead of a random initialisation: its shape, tokenizer and dropout (--dropout changes it), fresh AdamW moments and schedule (default --lr 1e-4, a tenth of a new run's); its start is evaluated and kept as best/ until an evaluation beats it. --corpus files are encoded with its tokenizer; --data must have been prepared with it. The shape and tokenizer options are refused.", valueName: "checkpoint"))
    var initFrom: String?

    func validate() throws {
        if let word = unexpected.first {
            throw ValidationError(unexpectedWordProblem(word, tool: "pretrain", commands: ["train", "prepare", "evaluate", "tokenize", "decode"],
                                                        fileOption: "--corpus (or --val-corpus)"))
        }
        if let threads, let problem = ThreadPool.problem(withThreads: threads) { throw ValidationError(problem) }
        if resume && overwrite { throw ValidationError("--resume and --overwrite contradict each other") }
        if (sampleEvery ?? 0) == 0 && !resume, let option = sampleDetailGiven {   // a resume checks the saved options
            throw ValidationError("\(option) applies with --sample-every N (N > 0)")
        }
        if let initFrom {
            if initFrom.isEmpty { throw ValidationError("--init-from must name a checkpoint") }
            if resume { throw ValidationError("--resume continues a run; --init-from starts a new one from a checkpoint's weights") }
            let m = model
            let fixed = [(m.preset != nil, "--preset"), (m.layers != nil, "--layers"), (m.heads != nil, "--heads"),
                         (m.width != nil, "--width"), (m.context != nil, "--context"),
                         (data.tokenizerType != nil, "--tokenizer-type"), (data.vocabSize != nil, "--vocab-size"),
                         (data.byteFallback, "--byte-fallback")].filter(\.0).map(\.1)
            if let first = fixed.first {
                throw ValidationError("\(first) cannot be given with --init-from: the model's shape and tokenizer are the checkpoint's")
            }
        }
        if let sampleEvery, sampleEvery < 0 { throw ValidationError("--sample-every must be 0 (off) or positive (got \(sampleEvery))") }
        if let sampleTokens, sampleTokens < 1 { throw ValidationError("--sample-tokens must be at least 1 (got \(sampleTokens))") }
        if let patience, patience < 0 { throw ValidationError("--patience must be 0 (off) or positive (got \(patience))") }
        if out.isEmpty { throw ValidationError("--out must name a directory") }
    }

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)   // keep stdout lines in order with the progress on stderr
        Interrupt.ignoreBrokenPipes()
        try reportingErrors {
            ThreadPool.shared = ThreadPool(threads: threads ?? ThreadPool.availableCores)
            let setup = try RunSetup.make(command: self)
            try drive(setup)
        }
    }

    private func drive(_ setup: RunSetup) throws {
        let run = setup.run
        let trainer = run.task
        let options = trainer.options
        let progress = ProgressBar(total: options.steps, startStep: trainer.step, elapsedBefore: run.record.elapsedSeconds,
                                   plainEvery: max(1, options.steps / 100))
        progress.log(setup.summary)
        for note in run.notes { progress.log(note) }
        if let reason = run.nothingToTrain(improved: "validation loss") {
            progress.log(reason)
            return
        }
        var samples: TrainingSamples?
        if let sampling = run.record.samples, sampling.every > 0 {
            let candidate = TrainingSamples(options: sampling, runSeed: options.seed, tokenizer: setup.tokenizer)
            let (notes, usable) = try candidate.promptNotes(context: setup.model.config.context)
            for note in notes { progress.log(note) }
            if usable { samples = candidate }
        }
        Interrupt.install(notice: "stopping after this step (or this micro-batch of it) and saving \(out)/latest")
        let showEvaluating = { (event: TrainingRun.Event) in
            if case .evaluating = event { progress.status("step 0: evaluating the starting weights on the validation data") }
        }
        if setup.startsFromCheckpoint,
           let loss = try run.evaluateStart(shouldStop: { Interrupt.isRequested }, observe: showEvaluating) {
            progress.log(String(format: "step 0: validation loss %.4f (perplexity ", loss) + perplexityText(exp(loss))
                         + "), the starting weights: best/ until an evaluation beats it")
        }
        let outcome = try run.run(shouldStop: { Interrupt.isRequested }) { event in
            switch event {
            case let .step(result, tokensPerSecond, _):
                progress.update(step: result.step, fields: [
                    ("loss", String(format: "%.4f", result.loss)),
                    ("lr", String(format: "%.2e", result.learningRate)),
                    ("tok/s", Self.compact(tokensPerSecond)),
                ])
                if let samples, result.step % samples.options.every == 0 {
                    Self.printSample(samples, model: setup.model, step: result.step, progress: progress)
                }
            case let .evaluation(step, loss, isBest):
                progress.log(String(format: "step %d: validation loss %.4f (perplexity ", step, loss) + perplexityText(exp(loss))
                             + ")" + (isBest ? " best so far" : ""))
            case let .evaluating(step):
                progress.status("step \(step)/\(options.steps): evaluating on the validation data")
            case .checkpoint:
                break
            }
        }
        progress.finish()
        try reportEnd(outcome, of: run)
    }

    /// "step N sample (seed S):", then the prompt and the text as it is generated, on stderr; a sample cut short
    /// (Ctrl-C) or ended by the model says so.
    private static func printSample(_ samples: TrainingSamples, model: GPT, step: Int, progress: ProgressBar) {
        progress.log("step \(step) sample (seed \(samples.seed(step: step))):")
        Terminal.writeError(TrainingSamples.visible(samples.shownPrompt(context: model.config.context)))
        do {
            let ending = try samples.generate(model: model, step: step, shouldStop: { Interrupt.isRequested }) {
                Terminal.writeError($0)
            }
            Terminal.writeError(ending == .endOfText ? " [end of text]\n" : ending == .cancelled ? " [cut short]\n" : "\n")
        } catch {
            Terminal.writeError("\nnote: no sample at step \(step) (\(error))\n")
        }
    }

    /// The last lines: how the run ended, where its files are, and what to run next.
    private func reportEnd(_ outcome: TrainingRun.Outcome, of run: TrainingRun) throws {
        let record = run.record
        let best = record.bestValLoss.map { String(format: "best validation loss %.4f at step %d", $0, record.bestStep ?? 0) }
            ?? "no validation data"
        switch outcome {
        case let .finished(step):
            let how = run.stoppedEarly ? "stopped early (patience \(run.patience)) after" : "finished"
            print("\(how) \(counted(step, "step")) in \(ProgressBar.duration(record.elapsedSeconds)); \(best)")
            // Without validation data there is no best/ (nothing to compare).
            let best = FileManager.default.fileExists(atPath: run.directory.best) ? "\(run.directory.best) (best), " : ""
            let curve = run.lossCurveDrawn ? "; loss curve: \(run.directory.lossCurve)" : ""
            print("checkpoints: \(best)\(run.directory.latest) (latest); metrics: \(run.directory.metrics)\(curve)")
            if record.bestStep == 0 && step > 0 {   // an --init-from run whose training never beat its start
                print("note: no evaluation beat the starting weights, so best/ holds them (and sample and evaluate take "
                      + "best/); the trained weights are in \(run.directory.latest)")
            }
            print("next: sample --checkpoint \(shellQuoted(out))"
                  + (best.isEmpty ? "" : "; the whole validation text: pretrain evaluate --checkpoint \(shellQuoted(out))"))
        case let .stopped(step):
            printError("stopped at step \(step): saved \(run.directory.latest); continue with: pretrain --resume --out \(shellQuoted(out))")
            throw ExitCode(Interrupt.exitStatus)
        }
    }

    /// 21345 -> "21.3k".
    static func compact(_ value: Double) -> String {
        value >= 1000 ? String(format: "%.1fk", value / 1000) : String(format: "%.0f", value)
    }
}
