/// How the next token is chosen. Filters apply in the order Hugging Face's `generate` uses:
/// repetition penalty -> temperature -> top-k -> top-p -> min-p (see `Sampler` for the exact semantics).
///
/// Codable with snake_case keys (`temperature`, `top_k`, `top_p`, `min_p`, `repetition_penalty`,
/// `max_new_tokens`, `seed`, `stop`); a missing key takes its default, so `{}` decodes to the defaults.
public struct SamplingSettings: Codable, Equatable, Sendable {
    /// Softmax temperature; 0 means greedy (argmax, every other filter is then irrelevant).
    public var temperature: Float = 1
    /// Keep the k most probable tokens (ties with the k-th all kept); 0 turns it off, k >= V keeps all.
    public var topK: Int = 0
    /// Nucleus sampling: keep the smallest set of most probable tokens whose mass reaches topP; 1 turns it off.
    public var topP: Float = 0.9
    /// Keep tokens whose probability is at least minP times the largest probability; 0 turns it off.
    public var minP: Float = 0
    /// CTRL / Hugging Face repetition penalty over the distinct tokens of the context window:
    /// a positive logit is divided by it, a negative one multiplied. 1 turns it off.
    public var repetitionPenalty: Float = 1
    /// Generation stops after this many new tokens (or earlier at EOS or a stop string).
    public var maxNewTokens: Int = 256
    /// The run's base seed as the `sample` tool records it (nil: it draws one and reports it); the tool derives
    /// each prompt's seed from it. `TextGenerator` does not read it: each `GenerationRequest` carries its seed.
    public var seed: UInt64? = nil
    /// Generation stops when the text contains one of these; the stop string itself is never output.
    public var stopStrings: [String] = []

    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 0.9, minP: Float = 0,
                repetitionPenalty: Float = 1, maxNewTokens: Int = 256, seed: UInt64? = nil,
                stopStrings: [String] = []) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.maxNewTokens = maxNewTokens
        self.seed = seed
        self.stopStrings = stopStrings
    }

    /// Greedy decoding: temperature 0.
    public static let greedy = SamplingSettings(temperature: 0, topP: 1)

    enum CodingKeys: String, CodingKey {
        case temperature, topK = "top_k", topP = "top_p", minP = "min_p"
        case repetitionPenalty = "repetition_penalty", maxNewTokens = "max_new_tokens", seed
        case stopStrings = "stop"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SamplingSettings()
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? d.temperature
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? d.topK
        topP = try c.decodeIfPresent(Float.self, forKey: .topP) ?? d.topP
        minP = try c.decodeIfPresent(Float.self, forKey: .minP) ?? d.minP
        repetitionPenalty = try c.decodeIfPresent(Float.self, forKey: .repetitionPenalty) ?? d.repetitionPenalty
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? d.maxNewTokens
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        stopStrings = try c.decodeIfPresent([String].self, forKey: .stopStrings) ?? d.stopStrings
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(temperature, forKey: .temperature)
        try c.encode(topK, forKey: .topK)
        try c.encode(topP, forKey: .topP)
        try c.encode(minP, forKey: .minP)
        try c.encode(repetitionPenalty, forKey: .repetitionPenalty)
        try c.encode(maxNewTokens, forKey: .maxNewTokens)
        try c.encodeIfPresent(seed, forKey: .seed)
        try c.encode(stopStrings, forKey: .stopStrings)
    }

    /// Throws `SamplingSettingsError` naming the first invalid value.
    public func validate() throws {
        func fail(_ message: String) -> SamplingSettingsError { SamplingSettingsError(message: message) }
        if !temperature.isFinite || temperature < 0 {
            throw fail("temperature must be a finite number >= 0 (0 means greedy), got \(temperature)")
        }
        if topK < 0 { throw fail("top-k must be >= 0 (0 turns it off), got \(topK)") }
        if !(topP > 0 && topP <= 1) { throw fail("top-p must be in (0, 1] (1 turns it off), got \(topP)") }
        if !(minP >= 0 && minP < 1) { throw fail("min-p must be in [0, 1) (0 turns it off), got \(minP)") }
        if !(repetitionPenalty > 0) || !repetitionPenalty.isFinite {
            throw fail("repetition-penalty must be a finite number > 0 (1 turns it off), got \(repetitionPenalty)")
        }
        if maxNewTokens < 1 { throw fail("max-tokens must be >= 1, got \(maxNewTokens)") }
        if stopStrings.contains(where: { $0.isEmpty }) { throw fail("a stop string must not be empty") }
    }
}

/// An invalid sampling setting; `description` is one line for the user.
public struct SamplingSettingsError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}
