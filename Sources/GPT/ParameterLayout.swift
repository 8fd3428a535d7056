/// One named tensor inside the flat parameter buffer.
public struct TensorSlot: Equatable, Sendable {
    /// Hugging Face GPT-2 name, for example `transformer.h.0.attn.c_attn.weight`.
    public let name: String
    /// Hugging Face shape; 2-D weights are stored [in, out] as GPT-2's Conv1D does (wte is [vocab, width]).
    public let shape: [Int]
    /// Offset in floats from the start of the flat buffer.
    public let offset: Int
    /// Whether AdamW applies weight decay to it (every 2-D tensor, embeddings included, as nanoGPT does).
    public let decayed: Bool
    public var count: Int { shape.reduce(1, *) }
}

/// Offsets (in floats) of one transformer block's tensors.
public struct BlockOffsets: Sendable {
    public let ln1Weight, ln1Bias: Int            // [C]
    public let attentionWeight, attentionBias: Int // c_attn: [C, 3C], [3C]
    public let attentionProjectionWeight, attentionProjectionBias: Int // attn.c_proj: [C, C], [C]
    public let ln2Weight, ln2Bias: Int            // [C]
    public let fullyConnectedWeight, fullyConnectedBias: Int   // mlp.c_fc: [C, 4C], [4C]
    public let mlpProjectionWeight, mlpProjectionBias: Int     // mlp.c_proj: [4C, C], [C]
}

/// Where every parameter lives in one flat Float buffer. Gradients and both AdamW moments use the same layout.
///
/// Two regions, so AdamW runs as two calls:
///   [0, decayedCount)              wte, wpe, then per block c_attn.weight, attn.c_proj.weight, c_fc.weight,
///                                  mlp.c_proj.weight  (weight decay on)
///   [decayedCount, totalCount)     per block ln_1, c_attn.bias, attn.c_proj.bias, ln_2, c_fc.bias,
///                                  mlp.c_proj.bias; then ln_f  (weight decay off)
/// Each tensor starts on a 16-float (64-byte) boundary; the padding between tensors stays zero forever
/// (its gradient is zero, so AdamW leaves it at zero).
public struct ParameterLayout: Sendable {
    public let config: GPTConfig
    /// Every tensor, in buffer order.
    public let slots: [TensorSlot]
    public let blocks: [BlockOffsets]
    public let tokenEmbedding: Int      // wte [V, C]
    public let positionEmbedding: Int   // wpe [T, C]
    public let finalNormWeight: Int     // ln_f.weight [C]
    public let finalNormBias: Int       // ln_f.bias [C]
    /// Floats in the weight-decayed region (which starts at 0).
    public let decayedCount: Int
    /// Floats in the whole buffer (the second region is [decayedCount, totalCount)).
    public let totalCount: Int

    static let alignment = 16

    public init(config: GPTConfig) {
        self.config = config
        let C = config.width, V = config.vocabSize, T = config.context, L = config.layers
        var slots: [TensorSlot] = []
        var cursor = 0
        func place(_ name: String, _ shape: [Int], decayed: Bool) -> Int {
            let offset = cursor
            slots.append(TensorSlot(name: name, shape: shape, offset: offset, decayed: decayed))
            cursor = Self.aligned(cursor + shape.reduce(1, *))
            return offset
        }
        func h(_ l: Int, _ rest: String) -> String { "transformer.h.\(l).\(rest)" }

        tokenEmbedding = place("transformer.wte.weight", [V, C], decayed: true)
        positionEmbedding = place("transformer.wpe.weight", [T, C], decayed: true)
        var weights: [(Int, Int, Int, Int)] = []
        for l in 0..<L {
            weights.append((place(h(l, "attn.c_attn.weight"), [C, 3 * C], decayed: true),
                            place(h(l, "attn.c_proj.weight"), [C, C], decayed: true),
                            place(h(l, "mlp.c_fc.weight"), [C, 4 * C], decayed: true),
                            place(h(l, "mlp.c_proj.weight"), [4 * C, C], decayed: true)))
        }
        decayedCount = cursor
        var blocks: [BlockOffsets] = []
        for l in 0..<L {
            let ln1w = place(h(l, "ln_1.weight"), [C], decayed: false)
            let ln1b = place(h(l, "ln_1.bias"), [C], decayed: false)
            let attb = place(h(l, "attn.c_attn.bias"), [3 * C], decayed: false)
            let projb = place(h(l, "attn.c_proj.bias"), [C], decayed: false)
            let ln2w = place(h(l, "ln_2.weight"), [C], decayed: false)
            let ln2b = place(h(l, "ln_2.bias"), [C], decayed: false)
            let fcb = place(h(l, "mlp.c_fc.bias"), [4 * C], decayed: false)
            let mlpb = place(h(l, "mlp.c_proj.bias"), [C], decayed: false)
            blocks.append(BlockOffsets(ln1Weight: ln1w, ln1Bias: ln1b,
                                       attentionWeight: weights[l].0, attentionBias: attb,
                                       attentionProjectionWeight: weights[l].1, attentionProjectionBias: projb,
                                       ln2Weight: ln2w, ln2Bias: ln2b,
                                       fullyConnectedWeight: weights[l].2, fullyConnectedBias: fcb,
                                       mlpProjectionWeight: weights[l].3, mlpProjectionBias: mlpb))
        }
        finalNormWeight = place("transformer.ln_f.weight", [C], decayed: false)
        finalNormBias = place("transformer.ln_f.bias", [C], decayed: false)
        totalCount = cursor
        self.slots = slots
        self.blocks = blocks
    }

    /// The slot with this Hugging Face name, if any.
    public func slot(named name: String) -> TensorSlot? { slots.first { $0.name == name } }

    /// Floats that are real parameters (the padding excluded): GPT-2 124M has 124,439,808.
    public var parameterCount: Int { slots.reduce(0) { $0 + $1.count } }

    /// Parameters of a configuration without building the layout.
    public static func parameterCount(of c: GPTConfig) -> Int {
        let C = c.width
        let perBlock = 12 * C * C + 13 * C
        return c.vocabSize * C + c.context * C + c.layers * perBlock + 2 * C
    }

    static func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}
