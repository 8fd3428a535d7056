/// The shape of a GPT-2 style model: sizes, and the few numbers that change its math.
public struct GPTConfig: Codable, Equatable, Sendable {
    /// Transformer blocks (GPT-2's n_layer).
    public var layers: Int
    /// Attention heads per block (n_head); must divide `width`.
    public var heads: Int
    /// Channels of the residual stream (n_embd).
    public var width: Int
    /// Longest sequence the position embedding covers (n_positions).
    public var context: Int
    /// Tokens in the vocabulary (vocab_size).
    public var vocabSize: Int
    public var layerNormEpsilon: Float
    /// Dropout probability of training passes (embedding output and each block's two branch outputs; see
    /// `ActiveDropout`). 0 turns dropout off.
    public var dropout: Float

    public init(layers: Int, heads: Int, width: Int, context: Int, vocabSize: Int,
                layerNormEpsilon: Float = 1e-5, dropout: Float = 0) {
        self.layers = layers
        self.heads = heads
        self.width = width
        self.context = context
        self.vocabSize = vocabSize
        self.layerNormEpsilon = layerNormEpsilon
        self.dropout = dropout
    }

    /// Channels per head.
    public var headSize: Int { width / heads }

    /// nanoGPT's CPU baseline: 4 layers, 4 heads, 128 wide, context 64.
    public static func tiny(vocabSize: Int) -> GPTConfig {
        GPTConfig(layers: 4, heads: 4, width: 128, context: 64, vocabSize: vocabSize)
    }
    /// 6 layers, 6 heads, 384 wide, context 256.
    public static func small(vocabSize: Int) -> GPTConfig {
        GPTConfig(layers: 6, heads: 6, width: 384, context: 256, vocabSize: vocabSize)
    }
    /// GPT-2 (124M): 12 layers, 12 heads, 768 wide, context 1024 (vocabulary 50257 for OpenAI's tokenizer).
    public static func gpt2(vocabSize: Int = 50257) -> GPTConfig {
        GPTConfig(layers: 12, heads: 12, width: 768, context: 1024, vocabSize: vocabSize)
    }

    /// Preset names accepted by `preset(named:vocabSize:)`.
    public static let presetNames = ["tiny", "small", "gpt2"]

    public static func preset(named name: String, vocabSize: Int) throws -> GPTConfig {
        switch name {
        case "tiny": return tiny(vocabSize: vocabSize)
        case "small": return small(vocabSize: vocabSize)
        case "gpt2": return gpt2(vocabSize: vocabSize)
        default: throw GPTConfigError.unknownPreset(name, known: presetNames)
        }
    }

    /// This configuration with any of its fields replaced (nil keeps the current value), validated.
    public func overriding(layers: Int? = nil, heads: Int? = nil, width: Int? = nil, context: Int? = nil,
                           vocabSize: Int? = nil, layerNormEpsilon: Float? = nil,
                           dropout: Float? = nil) throws -> GPTConfig {
        var copy = self
        if let layers { copy.layers = layers }
        if let heads { copy.heads = heads }
        if let width { copy.width = width }
        if let context { copy.context = context }
        if let vocabSize { copy.vocabSize = vocabSize }
        if let layerNormEpsilon { copy.layerNormEpsilon = layerNormEpsilon }
        if let dropout { copy.dropout = dropout }
        try copy.validate()
        return copy
    }

    /// Throws the first problem found: sizes must be positive, heads must divide the width, token ids must fit
    /// in Int32, epsilon must be positive and finite, and dropout must be in [0, 1).
    public func validate() throws {
        for (name, value) in [("layers", layers), ("heads", heads), ("width", width),
                              ("context", context), ("vocabulary size", vocabSize)] where value <= 0 {
            throw GPTConfigError.notPositive(name, value)
        }
        if width % heads != 0 { throw GPTConfigError.headsDoNotDivideWidth(heads: heads, width: width) }
        if vocabSize > Int(Int32.max) { throw GPTConfigError.vocabularyTooLarge(vocabSize) }
        if !(layerNormEpsilon > 0) || !layerNormEpsilon.isFinite {
            throw GPTConfigError.invalidEpsilon(layerNormEpsilon)
        }
        if !(dropout >= 0 && dropout < 1) { throw GPTConfigError.invalidDropout(dropout) }
        // Keep every buffer's element count comfortably inside Int. Counted in floating point first: a
        // mistyped size (a width of 2^32, say) overflows Int in ParameterLayout's exact count.
        let C = Double(width)
        let parameters = (Double(vocabSize) + Double(context) + 2) * C + Double(layers) * (12 * C * C + 13 * C)
        if parameters > Double(1 << 36) { throw GPTConfigError.tooLarge(parameters) }
    }
}

/// A configuration that cannot make a model.
public enum GPTConfigError: Error, Equatable, CustomStringConvertible {
    case notPositive(String, Int)
    case headsDoNotDivideWidth(heads: Int, width: Int)
    case vocabularyTooLarge(Int)
    case invalidEpsilon(Float)
    case invalidDropout(Float)
    case tooLarge(Double)
    case unknownPreset(String, known: [String])

    public var description: String {
        switch self {
        case let .notPositive(name, value): return "model \(name) must be positive (got \(value))"
        case let .headsDoNotDivideWidth(heads, width):
            return "the number of heads (\(heads)) must divide the width (\(width))"
        case let .vocabularyTooLarge(size): return "vocabulary size \(size) does not fit 32-bit token ids"
        case let .invalidEpsilon(eps): return "layer-norm epsilon must be positive and finite (got \(eps))"
        case let .invalidDropout(p): return "dropout must be in [0, 1) (got \(p))"
        case let .tooLarge(count):
            let amount = count < 1e15 ? "\(Int(count))" : "more than 10^15"
            return "the model would have \(amount) parameters, more than Swiftlet supports (at most 2^36)"
        case let .unknownPreset(name, known):
            return "unknown preset '\(name)' (known: \(known.joined(separator: ", ")))"
        }
    }
}
