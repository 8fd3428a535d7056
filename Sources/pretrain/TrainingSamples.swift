import GPT
import Generation
import Sampling
import Tokenizer

/// `pretrain --sample-every N`: a short text from the model every N steps while it trains (as llm.c prints one),
/// to watch it learn. Temperature 1 and top-p 0.9 (`sample`'s defaults), each sample seeded by the run's seed and
/// its step, so a run shows the same samples when repeated. It reads the weights between steps and draws from a
/// generator of its own: the training, and its resume, are not touched (a test compares the losses).
struct TrainingSamples {
    let every: Int
    let tokens: Int
    let prompt: String
    let seed: UInt64
    let tokenizer: SentencePieceTokenizer

    /// The prompt and its continuation after `step`, or nil when no sample is due (or a stop request cut it).
    func text(model: GPT, step: Int, shouldStop: () -> Bool) throws -> String? {
        guard every > 0, step % every == 0 else { return nil }
        // Made afresh each time: the decoder lays out a copy of the weights, which the steps since have changed.
        let generator = try TextGenerator(model: model, tokenizer: tokenizer)
        var settings = SamplingSettings()
        settings.maxNewTokens = tokens
        let completions = try generator.generate([GenerationRequest(prompt: prompt, seed: seed &+ UInt64(step))],
                                                 settings: settings, shouldStop: shouldStop)
        guard let completion = completions.first ?? nil, completion.finishReason != .cancelled else { return nil }
        return prompt + completion.text
    }
}
