import Foundation
import GPT
import Sampling
import Tokenizer

/// Why a completion ended.
public enum FinishReason: String, Codable, Sendable {
    case endOfText = "eos"          // the model produced the tokenizer's EOS token
    case stopString = "stop"        // a stop string appeared (it is not part of the text)
    case length = "length"          // max new tokens reached
    case cancelled = "cancelled"    // the caller's shouldStop() returned true (Ctrl-C)
}

/// One prompt to complete, with the seed of its random stream.
public struct GenerationRequest: Sendable {
    public var prompt: String
    public var seed: UInt64
    public init(prompt: String, seed: UInt64) {
        self.prompt = prompt
        self.seed = seed
    }
}

/// What came out of one request.
public struct Completion: Sendable {
    public var text: String
    /// Tokens sampled (the EOS token included when it ended the text).
    public var tokenCount: Int
    public var finishReason: FinishReason
    public var seed: UInt64
    /// Prompt tokens the model saw, and how many were cut from the front to fit the context.
    public var promptTokenCount: Int
    public var truncatedPromptTokens: Int
    /// Times the context window slid during this completion.
    public var slides: Int
}

/// Things a caller may want to show while generation runs.
public enum GenerationEvent: Sendable {
    /// New text of request `index` (never a partial UTF-8 character, never part of a stop string).
    case text(index: Int, String)
    /// The prompt of request `index` had more tokens than the context; the first `dropped` were cut.
    case promptTruncated(index: Int, dropped: Int, context: Int)
    /// Request `index` reached the context and now keeps only its newest tokens (said once per request).
    case contextSlid(index: Int, kept: Int, context: Int)
    /// Request `index` is done.
    case finished(index: Int, Completion)
}

/// An error in a generation request.
public enum GenerationError: Error, Equatable, CustomStringConvertible {
    case vocabularyMismatch(tokenizer: Int, model: Int)
    /// An empty prompt, and `tokenizer` (its path) has no BOS token to start from.
    case emptyPrompt(tokenizer: String)

    public var description: String {
        switch self {
        case let .vocabularyMismatch(t, m):
            return "the tokenizer has \(t) tokens but the model's vocabulary has \(m): they do not belong together"
        case let .emptyPrompt(tokenizer):
            return "the prompt is empty, and \(tokenizer) has no beginning-of-sequence (BOS) token to start from; give a "
                + "prompt of at least one token"
        }
    }

    /// `.vocabularyMismatch` when the tokenizer's vocabulary is not the model's, else nil.
    public static func vocabularyMismatch(_ tokenizer: SentencePieceTokenizer, modelVocabularySize: Int) -> GenerationError? {
        tokenizer.vocabularySize == modelVocabularySize ? nil
            : .vocabularyMismatch(tokenizer: tokenizer.vocabularySize, model: modelVocabularySize)
    }
}

/// Text in, text out: tokenizes prompts, runs `BatchDecoder` over up to `maxBatch` sequences at once
/// (a finished sequence's slot takes the next waiting prompt), samples each sequence with its own seeded
/// `Sampler`, and streams the text through `GeneratedTextStream` (UTF-8 decoding, stop strings).
///
/// Each sequence's logits do not depend on the other sequences in the batch (every row of a step is computed
/// with the same summation order whatever the batch size, bit for bit), and each has its own random stream,
/// so a prompt gives the same text alone or in a batch with the same seed.
///
/// `weights` chooses how the decoding steps read the matrices: fp32, or a bf16 copy (half the bytes).
/// The prefill stays fp32.
public final class TextGenerator {
    public let model: GPT
    public let tokenizer: SentencePieceTokenizer
    public let decoder: BatchDecoder
    public let pieces: PieceBytes
    public var maxBatch: Int { decoder.slots }
    private let samplers: [Sampler]

    /// A generator of up to `maxBatch` (>= 1) sequences at once over `model`, whose vocabulary must be the
    /// tokenizer's (a checkpoint's pair: `Checkpoint.load(from:)` and `CheckpointTokenizer.open`). The decoder
    /// copies the weights for its steps; after the model is trained further it copies them again (see
    /// `BatchDecoder`). Throws when the vocabularies differ, `maxBatch` < 1, or the cache does not fit in memory.
    public init(model: GPT, tokenizer: SentencePieceTokenizer, maxBatch: Int = 1,
                weights: DecoderWeights = .float32) throws {
        if let mismatch = GenerationError.vocabularyMismatch(tokenizer, modelVocabularySize: model.config.vocabSize) {
            throw mismatch
        }
        self.model = model
        self.tokenizer = tokenizer
        decoder = try BatchDecoder(model: model, slots: maxBatch, weights: weights)
        pieces = PieceBytes(tokenizer: tokenizer)
        samplers = (0..<maxBatch).map { _ in Sampler(vocabularySize: model.config.vocabSize, seed: 0) }
    }

    /// The prompt as tokens the model can take: left-truncated to the context (the newest tokens are
    /// kept); an empty prompt starts from BOS.
    public func promptTokens(_ prompt: String) throws -> (tokens: [Int32], dropped: Int) {
        var tokens = try tokenizer.encode(prompt)
        if tokens.isEmpty {
            guard let bos = tokenizer.bosId else { throw GenerationError.emptyPrompt(tokenizer: tokenizer.path) }
            tokens = [bos]
        }
        let context = model.config.context
        let dropped = max(0, tokens.count - context)
        if dropped > 0 { tokens.removeFirst(dropped) }
        return (tokens, dropped)
    }

    /// Completes every request (in order of `index` into `requests`) with the same settings. `onEvent`
    /// receives text as it is produced; `shouldStop` is checked once per token: when it returns true, every
    /// running completion ends as `.cancelled` and waiting ones are not started (they are not returned).
    @discardableResult
    public func generate(_ requests: [GenerationRequest], settings: SamplingSettings,
                         onEvent: (GenerationEvent) -> Void = { _ in },
                         shouldStop: () -> Bool = { false }) throws -> [Completion?] {
        try settings.validate()
        var results = [Completion?](repeating: nil, count: requests.count)
        var running = [Running?](repeating: nil, count: decoder.slots)
        var sampled = [Int32](repeating: 0, count: decoder.slots)   // the tokens of one step, by active slot
        var next = 0
        var cancelled = false
        let context = model.config.context

        func finish(slot: Int, _ reason: FinishReason) {
            guard var state = running[slot] else { return }
            let tail = state.stream.finish()
            if !tail.isEmpty {
                state.text += tail
                onEvent(.text(index: state.index, tail))
            }
            let completion = Completion(text: state.text, tokenCount: state.tokenCount, finishReason: reason,
                                        seed: state.seed, promptTokenCount: state.promptTokenCount,
                                        truncatedPromptTokens: state.dropped,
                                        slides: decoder.slideCount(slot: slot))
            results[state.index] = completion
            onEvent(.finished(index: state.index, completion))
            running[slot] = nil
            decoder.reset(slot: slot)
        }

        while true {
            // Fill free slots with waiting prompts (prefill: one batched forward pass each).
            if !cancelled {
                for slot in 0..<decoder.slots where running[slot] == nil && next < requests.count {
                    let request = requests[next]
                    let (tokens, dropped) = try promptTokens(request.prompt)
                    if dropped > 0 { onEvent(.promptTruncated(index: next, dropped: dropped, context: context)) }
                    try decoder.prefill(slot: slot, tokens: tokens)
                    samplers[slot].reseed(request.seed)
                    running[slot] = Running(index: next, seed: request.seed, promptTokenCount: tokens.count,
                                            dropped: dropped, stream: GeneratedTextStream(stopStrings: settings.stopStrings))
                    next += 1
                }
            }
            if running.allSatisfy({ $0 == nil }) { break }

            // One token for every running sequence (the samplers are independent: sampled on the pool's
            // threads, a few vocabulary-long passes each), then one batched step.
            let active = (0..<decoder.slots).filter { running[$0] != nil }
            let decoder = self.decoder, samplers = self.samplers
            sampled.withUnsafeMutableBufferPointer { out in
                model.pool.run(tasks: active.count) { i in
                    let slot = active[i]
                    out[i] = samplers[slot].sample(logits: decoder.logits(slot: slot), settings: settings,
                                                   previousTokens: decoder.window(slot: slot))
                }
            }
            for (i, slot) in active.enumerated() {
                let token = sampled[i]
                running[slot]!.tokenCount += 1
                if let eos = tokenizer.eosId, token == eos { finish(slot: slot, .endOfText); continue }
                let (emit, stopped) = running[slot]!.stream.append(pieces[token])
                if !emit.isEmpty {
                    running[slot]!.text += emit
                    onEvent(.text(index: running[slot]!.index, emit))
                }
                if stopped { finish(slot: slot, .stopString); continue }
                if running[slot]!.tokenCount >= settings.maxNewTokens { finish(slot: slot, .length); continue }
                try decoder.append(token, to: slot)
            }
            decoder.advance()
            for slot in 0..<decoder.slots {
                guard let state = running[slot], !state.reportedSlide, decoder.slideCount(slot: slot) > 0 else { continue }
                running[slot]!.reportedSlide = true
                onEvent(.contextSlid(index: state.index, kept: decoder.slideKeep, context: context))
            }
            if shouldStop() {
                cancelled = true
                for slot in 0..<decoder.slots where running[slot] != nil { finish(slot: slot, .cancelled) }
            }
        }
        return results
    }

    /// Convenience: one prompt.
    public func generate(prompt: String, settings: SamplingSettings, seed: UInt64,
                         onEvent: (GenerationEvent) -> Void = { _ in },
                         shouldStop: () -> Bool = { false }) throws -> Completion? {
        try generate([GenerationRequest(prompt: prompt, seed: seed)], settings: settings,
                     onEvent: onEvent, shouldStop: shouldStop)[0]
    }
}

/// A sequence being generated in one decoder slot.
private struct Running {
    let index: Int
    let seed: UInt64
    let promptTokenCount: Int
    let dropped: Int
    var stream: GeneratedTextStream
    var text = ""
    var tokenCount = 0
    var reportedSlide = false

    init(index: Int, seed: UInt64, promptTokenCount: Int, dropped: Int, stream: GeneratedTextStream) {
        self.index = index
        self.seed = seed
        self.promptTokenCount = promptTokenCount
        self.dropped = dropped
        self.stream = stream
    }
}
