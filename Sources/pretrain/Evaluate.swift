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
        Without --corpus or --data, evaluates the validation part of the data the checkpoint was trained on. \
        Windows of the model's context advance by --stride tokens and score only the tokens no earlier window \
        scored. With the default stride (the context) the mean loss is the expectation of training's validation \
        loss, over every window instead of random ones. Bits per byte (the loss in bits over the text's UTF-8 \
        bytes) compare models whose tokenizers differ. Results go to stdout, one line an input.
        """)

    @Option(help: "Checkpoint directory, or a run directory (its best/ checkpoint, else latest/).")
    var checkpoint: String = "checkpoints/default"

    @Option(name: .customLong("corpus"), help: "A text file to evaluate (repeat for more; each is scored on its own).")
    var corpora: [String] = []

    @Option(help: "A prepared data directory (pretrain prepare) made with the checkpoint's tokenizer.")
    var data: String?

    enum Split: String, CaseIterable, ExpressibleByArgument { case val, train }

    @Option(help: "The token file of the prepared data to evaluate (default: val).")
    var split: Split?

    @Option(help: "Tokens a window advances (default: the context). Smaller gives every token at least context - stride tokens before it, for context / stride times the passes.")
    var stride: Int?

    @Option(help: "Windows a pass (default: about 4096 tokens a pass).")
    var batchSize: Int?

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Flag(help: "One JSON object a line instead of text: input, tokens, bytes, mean_loss, perplexity, bits_per_byte, context, stride.")
    var json = false

    func validate() throws {
        if let threads, let problem = ThreadPool.problem(withThreads: threads) { throw ValidationError(problem) }
        if let stride, stride < 1 { throw ValidationError("--stride must be at least 1 (got \(stride))") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
        if data != nil && !corpora.isEmpty { throw ValidationError("give either --data or --corpus, not both") }
        if split != nil && !corpora.isEmpty { throw ValidationError("--split applies to prepared data (--data), not to --corpus files") }
    }

    func run() throws {
        Interrupt.ignoreBrokenPipes()
        try reportingErrors {
            ThreadPool.shared = ThreadPool(threads: threads ?? ThreadPool.availableCores)
            let directory = try RunDirectory.resolveCheckpoint(checkpoint, prefer: .best)
            if try ClassifierCheckpoint.readClassifierConfig(directory: directory) != nil {
                throw EvaluationError("\(directory): a classification checkpoint (finetune --task classify) predicts labels, "
                    + "not text; measure it with finetune evaluate")
            }
            let loaded = try Checkpoint.load(from: directory, includeTrainingState: false)
            let model = loaded.model
            let tokenizer = try CheckpointTokenizer.open(checkpoint: directory, modelVocabularySize: model.config.vocabSize)
            let context = model.config.context
            let stride = self.stride ?? context
            if stride > context {
                throw TrainingError.invalidOption(option: "--stride", message: "at most the model's context (\(context)); got \(stride)")
            }
            let batch = batchSize ?? max(1, min(64, 4096 / context))
            // Every input read and checked before the first is evaluated: a bad one costs nothing.
            let texts = try inputs(checkpoint: directory).map { input in
                let text = try input.load(tokenizer)
                if text.tokens.count < 2 {
                    throw EvaluationError("\(input.name): \(counted(text.tokens.count, "token")); a text needs 2 at least (one predicted from the other)")
                }
                return (input: input, tokens: text.tokens, bytes: text.bytes)
            }
            printError("evaluating \(directory): context \(context), stride \(stride), \(counted(batch, "window")) a pass, "
                + "\(counted(ThreadPool.shared.threadCount, "thread"))")

            var reports: [EvaluationReport] = []
            for text in texts {
                // A bar on a terminal only: in a log, the result line says all.
                var bar: ProgressBar?
                let score: TextEvaluation.Score
                do {
                    score = try text.tokens.withUnsafeBufferPointer { tokens in
                        try TextEvaluation.score(model: model, tokens: tokens, stride: stride, batchSize: batch) { done, windows in
                            if bar == nil { bar = ProgressBar(total: windows, unit: "window") }
                            if bar!.isTerminal { bar!.update(step: done, fields: [("input", text.input.name)]) }
                        }
                    }
                } catch let error as GPTError {
                    guard case .doesNotFitInMemory = error else { throw error }
                    throw TrainingError.invalidOption(option: "--batch-size", message: "\(error); use a smaller --batch-size")
                }
                bar?.finish()
                let report = EvaluationReport(input: text.input.name, score: score, bytes: text.bytes, context: context, stride: stride)
                reports.append(report)
                print(json ? try report.jsonLine() : report.text)
            }
            if reports.count > 1 && !json { print(EvaluationReport.total(of: reports).text) }
        }
    }

    /// What to evaluate: --corpus files, or a token file of --data, or of the data the checkpoint's run trained on.
    private func inputs(checkpoint directory: String) throws -> [EvaluationInput] {
        if !corpora.isEmpty { return corpora.map { .corpus(path: $0) } }
        let split = (self.split ?? .val).rawValue
        if let data {
            return [.tokens(data: try RunSetup.requirePreparedData(data), shownAs: data, split: split)]
        }
        let statePath = directory + "/" + Checkpoint.trainingStateFileName
        guard let state = try Checkpoint.readTrainingState(directory: directory) else {
            throw EvaluationError("\(directory) holds no training state naming the data it was trained on; give --corpus FILE or --data DIR")
        }
        let record = try RunRecord.decode(state.configuration, path: statePath)
        if record.task != nil {
            throw EvaluationError("\(directory) was fine-tuned on labelled data (finetune evaluate measures it there); "
                + "give --corpus FILE or --data DIR")
        }
        // As --resume finds it: beside the run (best/ and latest/ lie in the run directory) when it was prepared there.
        let recorded = record.dataDirectory(resumingIn: (directory as NSString).deletingLastPathComponent)
        guard FileManager.default.fileExists(atPath: recorded + "/\(split).npy") else {
            throw EvaluationError("\(directory) was trained on \(recorded), which holds no \(split).npy any more; "
                + "give --corpus FILE or --data DIR")
        }
        // Named from the working directory when it lies below it (the run records an absolute path).
        let here = FileManager.default.currentDirectoryPath + "/"
        return [.tokens(data: recorded, shownAs: recorded.hasPrefix(here) ? String(recorded.dropFirst(here.count)) : recorded,
                        split: split)]
    }
}

/// A text to evaluate: a corpus file (encoded with the checkpoint's tokenizer) or a prepared token file.
enum EvaluationInput {
    case corpus(path: String)
    case tokens(data: String, shownAs: String, split: String)

    var name: String {
        switch self {
        case let .corpus(path): return path
        case let .tokens(_, shownAs, split): return (shownAs.hasSuffix("/") ? shownAs : shownAs + "/") + split + ".npy"
        }
    }

    /// The tokens and the bytes of the text they stand for: a corpus file's size, or the decoded length of a
    /// token file (Swiftlet's tokenizers decode to the text they encoded).
    func load(_ tokenizer: SentencePieceTokenizer) throws -> (tokens: [Int32], bytes: Int) {
        switch self {
        case let .corpus(path):
            var tokens: [Int32] = []
            let statistics = try CorpusEncoder(tokenizer: tokenizer, threads: ThreadPool.shared.threadCount)
                .encode(file: path) { tokens.append(contentsOf: $0) }
            return (tokens, statistics.bytes)
        case let .tokens(data, shownAs, split):
            let prepared = try SentencePieceTokenizer(contentsOf: data + "/tokenizer.model")
            guard prepared.hasSameVocabulary(as: tokenizer) else {
                throw EvaluationError("\(shownAs) was prepared with another tokenizer than the checkpoint's (its ids stand for "
                    + "other pieces); evaluate its text with --corpus instead")
            }
            let file = try TokenFile(path: data + "/\(split).npy")
            try RunSetup.checkIds(file, vocabularySize: tokenizer.vocabularySize)
            let tokens = file.allTokens()
            return (tokens, try tokenizer.decodeToBytes(tokens).count)
        }
    }
}

/// A problem with the checkpoint or the input; `message` is the whole line after "error: ".
struct EvaluationError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
