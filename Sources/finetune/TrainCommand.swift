import ArgumentParser
import FineTuneData
import FineTuning
import Foundation
import Kernels
import TerminalUI
import Training

/// `finetune` (the default subcommand): fine-tune a checkpoint on a classification or completion data set.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a checkpoint (the default when no subcommand is given).",
        usage: """
        finetune [train] --task classify|complete --data <file> --out <dir> [--checkpoint <dir>] [<options>]
        finetune [train] --resume --out <dir> [--steps <n>] [--eval-every <n>] [--checkpoint-every <n>] [--patience <n>] [--threads <n>] [--data <moved file>] [--val-file <moved file>]
        """,
        discussion: """
        --task classify: a linear head on the final hidden state of each text's last token (transformers' \
        GPT2ForSequenceClassification). --task complete: prompt -> completion pairs, the loss counted on \
        completion tokens only. The run directory holds latest/ (resume point), best/ (best validation metric: \
        macro F1 or completion loss), metrics.jsonl and loss.svg. Ctrl-C saves latest/ and stops; --resume \
        continues exactly where it stopped.
        """)

    @Option(help: "classify or complete (required unless --resume).") var task: String?
    @Option(help: "Starting checkpoint: a checkpoint directory or a run directory (its best/, else latest/) (default: \(defaultCheckpoint)).")
    var checkpoint: String?
    static let defaultCheckpoint = "checkpoints/default"
    @Flag(help: "Random initialisation of the checkpoint's shape instead of its weights (for comparison).")
    var fromScratch = false
    @Option(help: "Training data (JSON Lines: .jsonl, .ndjson or .json; .csv; .tsv or .tab; required unless --resume).") var data: String?
    @Option(help: "Validation data file.") var valFile: String?
    @Option(help: "Fraction of --data kept for validation (stratified by label for classify; default 0.1 without --val-file).")
    var valFraction: Double?
    @OptionGroup var fields: FieldOptions

    @Option(help: "classify: weight of the auxiliary language-modelling loss on the texts (default 0).") var lmLossWeight: Double?
    @Option(help: "classify: none or balanced (n / (labels * count) per label).") var classWeights: String?
    @Option(help: "complete: how a prompt is laid out before its completion; {prompt} marks the prompt, and \\n, \\t and \\\\ stand for a line break, a tab and a backslash (default \"{prompt}\\n\").")
    var template: String?
    @Option(help: "Keep the embeddings and the lowest N blocks fixed (default 0).") var freezeLayers: Int?
    @Option(help: "Dropout probability while training (default: the checkpoint's own: pretrain --dropout's, or another tool's equal attn/embd/resid_pdrop).")
    var dropout: Float?

    @Option(help: "Passes over the training data (default 3; or give --steps instead).") var epochs: Double?
    @Option(help: "Optimizer steps, 1 to \(RunSizeLimits.maximumSteps) (instead of --epochs).") var steps: Int?
    @Option(help: "Peak learning rate (default 3e-4).") var lr: Double?
    @Option(help: "Learning rate at the end of the cosine decay (default lr / 10).") var minLr: Double?
    @Option(help: "Linear warm-up steps (default: 5% of the steps).") var warmupSteps: Int?
    @Option(help: "Examples per micro-batch (default 16).") var batchSize: Int?
    @Option(help: "Micro-batches accumulated per optimizer step, 1 to \(TrainingOptions.maximumGradAccum) (default 1).") var gradAccum: Int?
    @Option(help: "AdamW weight decay on 2-D weights (default 0.01).") var weightDecay: Double?
    @Option(help: "Global gradient-norm clip, 0 for none (default 1).") var gradClip: Double?
    @Option(help: "Evaluate every N steps, 0 for only at the end (default: twice an epoch).") var evalEvery: Int?
    @Option(help: "Stop after N evaluations without a new best (default 0: never).") var patience: Int?
    @Option(help: "Save latest/ every N steps, 0 for only at the end (default 0).") var checkpointEvery: Int?
    @Option(help: "Random seed (default 0).") var seed: UInt64?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    @Option(help: "Run directory (required).") var out: String?
    /// Words that are no option's value: a mistyped command (`finetune evalute ...`) lands here, and is named
    /// rather than reported as whichever option its line then lacks.
    @Argument(help: .hidden) var unexpected: [String] = []
    @Flag(help: "Continue the run in --out from its latest checkpoint.") var resume = false
    @Flag(help: "Start a new run even if --out already holds one (it is replaced once the new run has passed every check; never the starting checkpoint).")
    var overwrite = false

    /// The settings given that a resumed run keeps from its start (it honours only --steps, --eval-every,
    /// --checkpoint-every, --patience, --threads, a --task that agrees with the run's, and --data / --val-file
    /// naming where its data files are now, when their contents are the run's).
    var settingsAResumeKeeps: [String] {
        let given: [(String, Bool)] = [
            ("--checkpoint", checkpoint != nil), ("--from-scratch", fromScratch), ("--val-fraction", valFraction != nil),
            ("--text-field", fields.textField != nil), ("--label-field", fields.labelField != nil),
            ("--prompt-field", fields.promptField != nil), ("--completion-field", fields.completionField != nil),
            ("--skip-bad-rows", fields.skipBadRows),
            ("--lm-loss-weight", lmLossWeight != nil), ("--class-weights", classWeights != nil),
            ("--template", template != nil), ("--freeze-layers", freezeLayers != nil), ("--dropout", dropout != nil),
            ("--epochs", epochs != nil), ("--lr", lr != nil), ("--min-lr", minLr != nil),
            ("--warmup-steps", warmupSteps != nil), ("--batch-size", batchSize != nil), ("--grad-accum", gradAccum != nil),
            ("--weight-decay", weightDecay != nil), ("--grad-clip", gradClip != nil), ("--seed", seed != nil),
        ]
        return given.filter(\.1).map(\.0)
    }

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        Interrupt.ignoreBrokenPipes()
        try reportingErrors {
            ThreadPool.shared = ThreadPool(threads: threads ?? ThreadPool.availableCores)
            let setup = try FineTuneSetup.make(self)
            try drive(setup)
        }
    }

    private func drive(_ setup: FineTuneSetup) throws {
        let run = setup.run
        let task = run.task
        let options = task.options
        let progress = ProgressBar(total: options.steps, startStep: task.step, elapsedBefore: run.record.elapsedSeconds,
                                   plainEvery: max(1, options.steps / 50))
        progress.log(setup.summary)
        for note in setup.run.notes { progress.log(note) }
        if let reason = run.nothingToTrain(improved: "validation") {
            progress.log(reason)
            return
        }
        let isClassifier = setup.settings.task == .classify
        Interrupt.install(notice: "stopping after this step (or this micro-batch of it) and saving \(run.directory.latest)")
        let outcome = try run.run(shouldStop: { Interrupt.isRequested }) { event in
            switch event {
            case let .step(result, tokensPerSecond, _):
                let examplesPerSecond = tokensPerSecond * Double(task.examplesInLastStep ?? 0) / Double(max(1, task.tokensInLastStep))
                progress.update(step: result.step, fields: [
                    ("loss", String(format: "%.4f", result.loss)),
                    ("lr", String(format: "%.2e", result.learningRate)),
                    ("ex/s", String(format: "%.1f", examplesPerSecond)),
                ])
            case let .evaluation(step, loss, isBest):
                let metrics = run.lastEvaluation?.metrics ?? [:]
                let line = isClassifier
                    ? String(format: "step %d: accuracy %.4f, macro F1 %.4f, validation loss %.4f", step,
                             metrics["accuracy"] ?? 0, metrics["macro_f1"] ?? 0, loss)
                    : String(format: "step %d: validation loss %.4f (perplexity ", step, loss) + perplexityText(exp(loss)) + ")"
                progress.log(line + (isBest ? " best so far" : ""))
            case let .evaluating(step):
                progress.status("step \(step)/\(options.steps): evaluating on the validation data")
            case .checkpoint:
                break
            }
        }
        progress.finish()
        let record = run.record
        let best: String
        if let objective = record.bestObjective {
            best = isClassifier ? String(format: "best macro F1 %.4f at step %d", -objective, record.bestStep ?? 0)
                : String(format: "best validation loss %.4f at step %d", objective, record.bestStep ?? 0)
        } else {
            best = "no validation data"
        }
        switch outcome {
        case let .finished(step):
            let how = run.stoppedEarly ? "stopped early (patience \(run.patience)) after" : "finished"
            print("\(how) \(counted(step, "step")) in \(ProgressBar.duration(record.elapsedSeconds)); \(best)")
            let curve = run.lossCurveDrawn ? "; loss curve: \(run.directory.lossCurve)" : ""
            // best/ exists only once an evaluation has run (none does without validation examples).
            let best = FileManager.default.fileExists(atPath: run.directory.best) ? "\(run.directory.best) (best), " : ""
            print("checkpoints: \(best)\(run.directory.latest) (latest); metrics: \(run.directory.metrics)\(curve)")
            let out = shellQuoted(run.directory.path)
            print("next: finetune evaluate --checkpoint \(out) --data FILE; "
                  + (isClassifier ? "finetune predict --checkpoint \(out) --input FILE --out PREDICTIONS.jsonl" : "sample --checkpoint \(out)"))
        case let .stopped(step):
            printError("stopped at step \(step): saved \(run.directory.latest); continue with: finetune --resume --out \(shellQuoted(run.directory.path))")
            throw ExitCode(Interrupt.exitStatus)
        }
    }
}
