import ArgumentParser
import Foundation
import Generation
import GPT
import Kernels
import TerminalUI
import Tokenizer
import Training

/// `pretrain evaluate`: a checkpoint's loss over whole texts, every token predicted once (`TextEvaluation`).
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a checkpoint on whole texts: every token predicted once (mean loss, perplexity, bits per byte).",
        discussion: """
        Without --corpus or --data, evaluates the data the checkpoint's run trained on (--split, default its \
        validation part). Windows of the model's context advance by --stride tokens and score only the tokens no \
        earlier window scored. With the default stride (the context) the windows do not overlap, and the mean loss \
        estimates what training's validation loss estimates from random windows. Bits per byte (the loss in bits \
        over the text's UTF-8 bytes) compare models whose tokenizers differ. Results go to stdout, a line an input \
        (text, or with --json a JSON object), then a line for all of them together when there are several.
        """)

    @Option(help: "Checkpoint directory, or a run directory (its best/ checkpoint, else latest/).")
    var checkpoint: String = Self.defaultCheckpoint

    static let defaultCheckpoint = "checkpoints/default"

    @Option(name: .customLong("corpus"), help: "A text file to evaluate (repeat for more; each is scored on its own).")
    var corpora: [String] = []

    @Option(help: "A prepared data directory (pretrain prepare) made with the checkpoint's tokenizer.")
    var data: String?

    enum Split: String, CaseIterable, ExpressibleByArgument { case val, train }

    @Option(help: "The token file of the prepared data (--data, or the run's own) to evaluate (default: val).")
    var split: Split?

    @Option(help: "Tokens a window advances (default: the context). Smaller gives every token at least context - stride tokens before it, for context / stride times the passes.")
    var stride: Int?

    @Option(help: "Windows a pass (default: 32, fewer for a context over 64: 2048 tokens a pass).")
    var batchSize: Int?

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Flag(help: "One JSON object an input instead of text: input, tokens, bytes, mean_loss, perplexity, bits_per_byte, context, stride; after several inputs, their total (with total: true).")
    var json = false

    func validate() throws {
        if let threads, let problem = ThreadPool.problem(withThreads: threads) { throw ValidationError(problem) }
        if let stride, stride < 1 { throw ValidationError("--stride must be at least 1 (got \(stride))") }
        if checkpoint.isEmpty || data == "" || corpora.contains("") {
            throw ValidationError("--checkpoint, --data and --corpus must name a file or directory (got an empty name)")
        }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
        if data != nil && !corpora.isEmpty { throw ValidationError("give either --data or --corpus, not both") }
        if split != nil && !corpora.isEmpty { throw ValidationError("--split applies to prepared data, not to --corpus files") }
    }

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)   // each input's line as soon as it is done
        try reportingErrors {
            ThreadPool.shared = ThreadPool(threads: threads ?? ThreadPool.availableCores)
            if checkpoint == Self.defaultCheckpoint && !FileManager.default.fileExists(atPath: checkpoint) {
                throw UserError("\(checkpoint): no checkpoint there; the default --checkpoint is looked up in the working "
                    + "directory (\(FileManager.default.currentDirectoryPath)): run from where pretrain wrote it, or give --checkpoint")
            }
            let directory = try RunDirectory.resolveCheckpoint(checkpoint, prefer: .best)
            if try ClassifierCheckpoint.readClassifierConfig(directory: directory) != nil {
                throw UserError("\(directory): a classification checkpoint (finetune --task classify) predicts labels, "
                    + "not text; measure it with finetune evaluate")
            }
            let model = try Checkpoint.load(from: directory, includeTrainingState: false).model
            let tokenizer = try CheckpointTokenizer.open(checkpoint: directory, modelVocabularySize: model.config.vocabSize)
            let context = model.config.context
            let stride = self.stride ?? context
            if stride > context {
                throw TrainingError.invalidOption(option: "--stride", message: "at most the model's context (\(context)); got \(stride)")
            }
            // Every input read and checked, and the largest pass checked against memory, before the first is
            // evaluated: a bad one costs nothing.
            let texts = try inputs(checkpoint: directory).map { try $0.load(tokenizer) }
            for text in texts where text.tokens.count < 2 {
                let otherSplit = text.name.hasSuffix("/val.npy") ? " (evaluate --split train, or --corpus files)" : ""
                throw UserError("\(text.name): \(counted(text.tokens.count, "token")); a text needs 2 at least (one predicted "
                    + "from the other)" + otherSplit)
            }
            let windows = texts.map { EvaluationWindows(tokenCount: $0.tokens.count, context: context, stride: stride) }
            // 2048 tokens a pass: as fast as 4096 here (small: 13.9-14.0 s against 14.2-15.8 s, tiny 1.6-1.7 s
            // both) in less memory (session 24, when passes kept every layer's activations: 661 against 1,107 MB
            // for small; with one layer's, 300 MB).
            let batch = min(batchSize ?? max(1, min(32, 2048 / context)), windows.map(\.count).max()!)
            try Trainer.namingBatchSize(advice: "use a smaller --batch-size") {
                try GPT.checkMemory(config: model.config, batch: batch, time: windows.map(\.length).max()!,
                                   training: false)
            }
            printError("evaluating \(directory): context \(context), stride \(stride), \(counted(batch, "window")) a pass, "
                + "\(counted(ThreadPool.shared.threadCount, "thread"))")

            var out = StandardOutput(), reports: [EvaluationReport] = []
            for (text, count) in zip(texts, windows.map(\.count)) {
                let bar = ProgressBar(total: count, unit: "window")   // drawn on a terminal only: a log gets the result
                let score = try text.tokens.withUnsafeBufferPointer { tokens in
                    try TextEvaluation.score(model: model, tokens: tokens, stride: stride, batchSize: batch) { done, _ in
                        if bar.isTerminal { bar.update(step: done, fields: [("input", text.name)]) }
                    }
                }
                bar.finish()
                let unknown = text.tokens.count(where: { $0 == tokenizer.unknownId })
                if unknown > 0 {
                    printError("warning: \(text.name): \(unknown) of \(counted(text.tokens.count, "token")) are unknown (<unk>): "
                        + "the text each one replaces is scored as that one token, so the figures do not measure that text")
                }
                let report = EvaluationReport(input: text.name, score: score, bytes: text.bytes, context: context, stride: stride)
                reports.append(report)
                out.write(try report.line(json: json) + "\n")
                try out.finish()
            }
            if reports.count > 1 {
                out.write(try EvaluationReport.total(of: reports).line(json: json) + "\n")
            }
            try out.finish()
        }
    }

    /// What to evaluate: --corpus files, or a token file of --data, or of the data the checkpoint's run trained on.
    private func inputs(checkpoint directory: String) throws -> [EvaluationInput] {
        if !corpora.isEmpty { return corpora.map { .corpus(path: $0) } }
        let split = (self.split ?? .val).rawValue
        if let data { return [.tokens(data: try RunSetup.requirePreparedData(data), shownAs: data, split: split)] }
        return [try EvaluationInput.trainingData(of: directory, split: split)]
    }
}
