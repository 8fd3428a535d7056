import TerminalUI
import ArgumentParser
import Foundation
import Kernels
import Tokenizer
import Training

struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train (or load) a tokenizer and encode corpus files into train.npy and val.npy.",
        discussion: """
        With no arguments, prepares the default corpus corpora/kjv.txt (the King James Bible) with a \
        4096-piece BPE tokenizer into checkpoints/data. Running it again on an unchanged corpus with the same \
        options reuses what it made.
        """
    )

    @Option(name: .customLong("corpus"), help: "A UTF-8 text file; repeat for several (joined with an end-of-sequence id; default: corpora/kjv.txt).")
    var corpora: [String] = []

    @Option(help: "Tokenizer model type: bpe, unigram, char or word (default bpe).")
    var tokenizerType: TokenizerTrainingOptions.ModelType?

    @Option(help: "Vocabulary size of the tokenizer to train (for char: an upper bound; default 4096).")
    var vocabSize: Int?

    @Option(help: "Use this SentencePiece .model instead of training one.")
    var tokenizer: String?

    @Option(help: "Fraction of the tokens, taken from the end, kept for validation (default 0.1).")
    var valFraction: Double?

    @Option(name: .customLong("val-corpus"), help: "A held-out UTF-8 text file for validation (repeat for several): val.npy is made of these, and all of --corpus is trained on.")
    var valCorpora: [String] = []

    @Option(help: "Fraction of characters the vocabulary must cover, 0.98 to 1 (default 1: every character).")
    var characterCoverage: Double?

    @Flag(help: "Spell characters outside the vocabulary as bytes instead of <unk>.")
    var byteFallback = false

    @Option(help: "At most this many lines (0: all, else more than 100; default 2000000) are sampled to train the tokenizer.")
    var maxSentences: Int?

    @Option(help: "Threads for training and encoding (default: all cores).")
    var threads: Int?

    @Flag(help: "Write into an output directory that holds something else: its tokenizer.model, train.npy, val.npy and manifest.json are replaced, other files stay.")
    var overwrite = false

    @Flag(help: "Show SentencePiece's training log.")
    var verbose = false

    @Option(help: "Output directory.")
    var out: String = "checkpoints/data"

    func validate() throws {
        if corpora.contains("") { throw ValidationError("--corpus must name a file (got an empty name)") }
        if valCorpora.contains("") { throw ValidationError("--val-corpus must name a file (got an empty name)") }
        if let vocabSize, vocabSize <= 0 { throw ValidationError("--vocab-size must be positive") }
        if let tokenizer {
            let given = [(tokenizerType != nil, "--tokenizer-type"), (vocabSize != nil, "--vocab-size"),
                         (characterCoverage != nil, "--character-coverage"), (byteFallback, "--byte-fallback"),
                         (maxSentences != nil, "--max-sentences")].filter(\.0).map(\.1)
            if let first = given.first {
                throw ValidationError("\(first) trains a tokenizer, but --tokenizer \(tokenizer) gives one")
            }
        }
        if let threads, let problem = ThreadPool.problem(withThreads: threads) { throw ValidationError(problem) }
        if let maxSentences, maxSentences < 0 { throw ValidationError("--max-sentences must not be negative") }
        if out.isEmpty { throw ValidationError("--out must name a directory") }
        if let valFraction, !(valFraction >= 0 && valFraction < 1) {
            throw ValidationError("--val-fraction must be at least 0 and below 1 (got \(valFraction))")
        }
        if valFraction != nil && !valCorpora.isEmpty {
            throw ValidationError("give either --val-fraction or --val-corpus, not both")
        }
        // The tokenizer's own bounds are option errors too (exit status 64, like the checks above).
        if tokenizer == nil { try tokenizerOptions.validateAsOptions() }
    }

    var tokenizerOptions: TokenizerTrainingOptions {
        var options = TokenizerTrainingOptions()
        options.modelType = tokenizerType ?? .bpe
        options.vocabularySize = vocabSize ?? 4096
        options.characterCoverage = characterCoverage ?? 1
        options.byteFallback = byteFallback
        options.maximumSentences = maxSentences ?? 2_000_000
        options.verbose = verbose
        return options
    }

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)   // progress lines reach a pipe as they are printed (a killed run kept none)
        try reportingErrors {
            var preparation = CorpusPreparation(corpora: try DefaultCorpus.resolve(corpora), outputDirectory: out)
            preparation.tokenizerOptions = tokenizerOptions
            preparation.existingTokenizer = tokenizer
            preparation.valFraction = valFraction ?? 0.1
            preparation.valCorpora = valCorpora
            preparation.overwrite = overwrite
            preparation.threads = threads ?? ThreadPool.availableCores
            preparation.log = { print($0) }
            let result = try preparation.run()
            let m = result.manifest
            let bytes = (m.corpora + (m.valCorpora ?? [])).reduce(0) { $0 + $1.bytes }
            let what = result.reused ? "reused \(result.outputDirectory) (prepared before from the same corpus and options)"
                : "wrote \(result.outputDirectory)"
            var line = "\(what): tokenizer.model (\(m.vocabularySize) pieces), "
                + "train.npy (\(m.trainTokens) tokens), val.npy (\(m.valTokens) tokens), \(m.dtype.rawValue)"
            if !result.reused && result.encodeSeconds > 0 {
                line += String(format: "; encoded %.1f MB at %.1f MB/s", Double(bytes) / 1e6, Double(bytes) / 1e6 / result.encodeSeconds)
            }
            print(line)
        }
    }
}

extension TokenizerTrainingOptions.ModelType: ExpressibleByArgument {}

extension TokenizerTrainingOptions {
    /// `validate()`, its refusals as option errors (SentencePiece's own bounds: exit status 64 like any option range).
    func validateAsOptions() throws {
        do { try validate() } catch let TokenizerError.invalidOption(message) { throw ValidationError(message) }
    }
}
