import GPT
import Generation
import Sampling
import Tokenizer
import Training

/// `pretrain --sample-every N`: a short text from the model every N steps while it trains (as llm.c prints one),
/// to watch it learn. Temperature 1 and top-p 0.9 (`sample`'s defaults); each sample has a seed of its own, mixed
/// from the run's seed and the step and printed with it, so `sample --seed` reproduces it from a checkpoint of
/// that step. It reads the weights between steps and draws from a generator of its own: the training, and its
/// resume, are not touched (a test compares the losses).
struct TrainingSamples {
    let options: SampleOptions
    let runSeed: UInt64
    let tokenizer: SentencePieceTokenizer

    /// The seed of the sample after `step` (mixed, so that runs whose seeds differ by one share no samples).
    func seed(step: Int) -> UInt64 {
        var mixer = SeededGenerator(seed: runSeed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15))
        return mixer.next() >> 1   // below 2^63: `sample --seed` takes it as it is printed
    }

    /// What to say once, before the first step, about the prompt: why no sample can start (then the samples are
    /// off), how much of it a model of `context` tokens sees, and its characters outside the vocabulary.
    func promptNotes(context: Int) throws -> (notes: [String], usable: Bool) {
        let tokens = try tokenizer.encode(options.prompt)
        if tokens.isEmpty && tokenizer.bosId == nil {
            return (["note: no samples: the tokenizer has no BOS id to start a text from; give a --sample-prompt"], false)
        }
        var notes: [String] = []
        if tokens.count > context {
            notes.append("note: the --sample-prompt is \(tokens.count) tokens; the model sees its last \(context)")
        }
        let unknown = tokens.count(where: { $0 == tokenizer.unknownId })
        if unknown > 0 {
            notes.append("note: \(unknown) of the --sample-prompt's tokens are unknown (<unk>) to the tokenizer")
        }
        return (notes, true)
    }

    /// The prompt as each sample shows it: the part a model of `context` tokens sees, after "…" when the rest
    /// was cut (a long prompt printed whole every N steps buried the samples).
    func shownPrompt(context: Int) -> String {
        guard let tokens = try? tokenizer.encode(options.prompt), tokens.count > context,
              let end = try? tokenizer.decode(Array(tokens.suffix(context))) else { return options.prompt }
        return "…" + end
    }

    /// Generates the sample after `step`, handing its text to `emit` as it comes (control characters other than
    /// line breaks and tabs shown as symbols, so that a byte-level model's early output cannot garble the
    /// terminal); returns how it ended.
    func generate(model: GPT, step: Int, shouldStop: () -> Bool, emit: (String) -> Void) throws -> FinishReason? {
        // Made afresh each time: the decoder lays out a copy of the weights, which the steps since have changed.
        let generator = try TextGenerator(model: model, tokenizer: tokenizer)
        var settings = SamplingSettings()
        settings.maxNewTokens = options.tokens
        let completions = try generator.generate([GenerationRequest(prompt: options.prompt, seed: seed(step: step))],
                                                 settings: settings,
                                                 onEvent: { if case let .text(_, text) = $0 { emit(Self.visible(text)) } },
                                                 shouldStop: shouldStop)
        return completions.first??.finishReason ?? .cancelled
    }

    /// C0 controls (but "\n" and "\t") and DEL as their Unicode control pictures (U+2400 ...).
    static func visible(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A, 0x09: out.append(scalar)
            case 0..<0x20: out.append(Unicode.Scalar(0x2400 + scalar.value)!)
            case 0x7F: out.append("\u{2421}")
            default: out.append(scalar)
            }
        }
        return String(out)
    }
}
