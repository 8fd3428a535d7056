import ArgumentParser
import Foundation
import GPT
import Kernels
import TerminalUI
import Tokenizer
import Training

/// Where the tokens come from.
struct DataOptions: ParsableArguments {
    @Option(help: "A directory prepared by `pretrain prepare` (tokenizer.model, train.npy, val.npy).")
    var data: String?

    @Option(name: .customLong("corpus"), help: "Corpus text file(s) to prepare into OUT/data first (default: corpora/kjv.txt). For the tokenizer options only `pretrain prepare` has (--character-coverage, --max-sentences, --tokenizer), prepare there and pass --data.")
    var corpora: [String] = []

    @Option(help: "Tokenizer type when preparing: bpe, unigram, char or word (default bpe).")
    var tokenizerType: String?

    @Option(help: "Tokenizer vocabulary size when preparing (default 4096).")
    var vocabSize: Int?

    @Option(help: "Fraction of the corpus (its end) kept for validation when preparing (default 0.1).")
    var valFraction: Double?

    @Option(name: .customLong("val-corpus"), help: "A held-out text file to validate on when preparing (repeat for several), instead of the corpus's end.")
    var valCorpora: [String] = []

    @Flag(help: "When preparing, spell characters outside the vocabulary (such as those only --val-corpus files hold) as bytes instead of <unk>.")
    var byteFallback = false

    func validate() throws {
        if let tokenizerType, TokenizerTrainingOptions.ModelType(rawValue: tokenizerType) == nil {
            throw ValidationError("--tokenizer-type: '\(tokenizerType)' is not one of bpe, unigram, char, word")
        }
        if let vocabSize, !(1...TokenizerTrainingOptions.maximumVocabularySize).contains(vocabSize) {
            throw ValidationError("--vocab-size must be 1 to \(TokenizerTrainingOptions.maximumVocabularySize) (got \(vocabSize))")
        }
        if let valFraction, !(valFraction >= 0 && valFraction < 1) {
            throw ValidationError("--val-fraction must be at least 0 and below 1 (got \(valFraction))")
        }
        if corpora.contains("") { throw ValidationError("--corpus must name a file (got an empty name)") }
        if valCorpora.contains("") { throw ValidationError("--val-corpus must name a file (got an empty name)") }
        if data == "" { throw ValidationError("--data must name a directory (got an empty name)") }
        if valFraction != nil && !valCorpora.isEmpty {
            throw ValidationError("give either --val-fraction or --val-corpus, not both")
        }
        if let data {
            if !corpora.isEmpty { throw ValidationError("give either --data or --corpus, not both") }
            if let given = givenPreparationOptions.first {
                throw ValidationError("\(given) applies when preparing --corpus files; \(data) is prepared already")
            }
        } else {
            try tokenizerOptions.validateAsOptions()
        }
    }

    /// The tokenizer a preparation of --corpus files trains (the type checked by `validate`).
    var tokenizerOptions: TokenizerTrainingOptions {
        var options = TokenizerTrainingOptions()
        options.modelType = tokenizerType.flatMap(TokenizerTrainingOptions.ModelType.init) ?? .bpe
        options.vocabularySize = vocabSize ?? 4096
        options.byteFallback = byteFallback
        return options
    }

    /// The preparation options given on the command line (a resumed run refuses them: its data is made).
    var givenPreparationOptions: [String] {
        [(tokenizerType != nil, "--tokenizer-type"), (vocabSize != nil, "--vocab-size"),
         (valFraction != nil, "--val-fraction"), (!valCorpora.isEmpty, "--val-corpus"), (byteFallback, "--byte-fallback")]
            .filter(\.0).map(\.1)
    }
}

/// The model's shape: a preset and overrides.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model preset: tiny (4 layers, 4 heads, 128 wide, context 64; the default), small (6, 6, 384, 256) or gpt2 (12, 12, 768, 1024).")
    var preset: String?
    @Option(help: "Transformer blocks (overrides the preset).") var layers: Int?
    @Option(help: "Attention heads (must divide --width).") var heads: Int?
    @Option(help: "Embedding width.") var width: Int?
    @Option(help: "Context length in tokens (the model's and the training windows').") var context: Int?
    @Option(help: "Dropout probability while training: the embeddings, the attention weights and each block's attention and MLP outputs (GPT-2's embd_pdrop, attn_pdrop, resid_pdrop). Default 0.") var dropout: Float?

    /// Each given size and the dropout in its own range (exit 64); whether the heads divide the width is checked
    /// with the model.
    func validate() throws {
        if let preset, !GPTConfig.presetNames.contains(preset) {
            throw ValidationError("--preset: \(GPTConfigError.unknownPreset(preset, known: GPTConfig.presetNames))")
        }
        for (option, name, value) in [("--layers", "layers", layers), ("--heads", "heads", heads), ("--width", "width", width),
                                      ("--context", "context", context)] {
            if let value, value <= 0 { throw ValidationError("\(option): \(GPTConfigError.notPositive(name, value))") }
        }
        if let dropout, !(dropout >= 0 && dropout < 1) {
            throw ValidationError("--dropout: \(GPTConfigError.invalidDropout(dropout))")
        }
    }
}

/// Optimisation settings; nil means "the default" for a new run and "as saved" for a resumed one.
struct HyperparameterOptions: ParsableArguments {
    @Option(help: "Sequences per micro-batch (default 16).") var batchSize: Int?
    @Option(help: "Micro-batches accumulated per optimizer step, 1 to 1048576 (default 1).") var gradAccum: Int?
    @Option(help: "Optimizer steps, 1 to 1000000000 (default 1500).") var steps: Int?
    @Option(help: "Peak learning rate (default 1e-3; 1e-4 with --init-from).") var lr: Double?
    @Option(help: "Learning rate at the end of the cosine decay (default lr / 10).") var minLr: Double?
    @Option(help: "Linear warm-up steps (default 100, or a tenth of --steps when that is fewer).") var warmupSteps: Int?
    @Option(help: "AdamW weight decay on 2-D weights (default 0.1).") var weightDecay: Double?
    @Option(help: "AdamW beta1 (default 0.9).") var beta1: Double?
    @Option(help: "AdamW beta2 (default 0.99).") var beta2: Double?
    @Option(help: "Global gradient-norm clip, 0 for none (default 1).") var gradClip: Double?
    @Option(help: "Evaluate every N steps, 0 for only at the end (default 250).") var evalEvery: Int?
    @Option(help: "Validation batches per evaluation, each of a step's windows (--batch-size x --grad-accum), 1 to 1000000 (default 20).")
    var evalBatches: Int?
    @Option(help: "Save latest/ every N steps, 0 for only at the end (default 500).") var checkpointEvery: Int?
    @Option(help: "Random seed (default: random, printed).") var seed: UInt64?

    /// Each given value in its own range (exit 64, as argument-parser's own checks); checks that involve other
    /// options, the model or a resumed run's settings come when the run is set up.
    func validate() throws {
        do { try applied(to: TrainingOptions()).0.checkEachOption() } catch let error as TrainingError {
            throw ValidationError(error.description)
        }
    }

    /// `base` with every option given on the command line applied; the names of those that change its value.
    func applied(to base: TrainingOptions) -> (TrainingOptions, [String]) {
        var o = base
        var given: [String] = []
        func set<T: Equatable>(_ value: T?, _ name: String, _ key: WritableKeyPath<TrainingOptions, T>) {
            guard let value else { return }
            if o[keyPath: key] != value { given.append(name) }
            o[keyPath: key] = value
        }
        set(batchSize, "--batch-size", \.batchSize)
        set(gradAccum, "--grad-accum", \.gradAccum)
        set(steps, "--steps", \.steps)
        set(lr, "--lr", \.learningRate)
        set(minLr, "--min-lr", \.minLearningRate)
        set(warmupSteps, "--warmup-steps", \.warmupSteps)
        set(weightDecay, "--weight-decay", \.weightDecay)
        set(beta1, "--beta1", \.beta1)
        set(beta2, "--beta2", \.beta2)
        set(gradClip, "--grad-clip", \.gradClip)
        set(evalEvery, "--eval-every", \.evalEvery)
        set(evalBatches, "--eval-batches", \.evalBatches)
        set(checkpointEvery, "--checkpoint-every", \.checkpointEvery)
        set(seed, "--seed", \.seed)
        return (o, given)
    }
}
