import Kernels

/// The dropout of one training pass: its probability and the key its masks are drawn from (Kernels' `Dropout`
/// derives every mask from the key and the site, so the backward pass regenerates them).
///
/// Sites, as GPT-2's embd_pdrop, attn_pdrop and resid_pdrop (all with the one configured probability): the
/// embedding output, each block's attention weights (inside the attention kernel), and each block's attention
/// and MLP branch outputs before they are added to the residual stream.
struct ActiveDropout {
    enum Site {
        case embedding
        case attentionWeights(layer: Int)
        case attention(layer: Int)
        case mlp(layer: Int)

        var index: Int {
            switch self {
            case .embedding: return 0
            case let .attentionWeights(l): return 1 + 3 * l
            case let .attention(l): return 2 + 3 * l
            case let .mlp(l): return 3 + 3 * l
            }
        }
    }

    let probability: Float
    let key: UInt64
    /// Elements before this pass's sequences, when it runs one shard of a batch (GPT+Shards.swift): in an [N, C]
    /// tensor (first sequence * T * C) and in the attention weights [B, heads, T, T] (first sequence * heads *
    /// T * T). A shard then draws the masks of the whole batch.
    var rowOffset = 0
    var attentionOffset = 0

    /// The mask of a site, for kernels that apply it inside their own loops (attention weights).
    func mask(_ site: Site) -> DropoutMask {
        let offset: Int
        if case .attentionWeights = site { offset = attentionOffset } else { offset = rowOffset }
        return DropoutMask(probability: probability, key: key, site: site.index, offset: offset)
    }

    /// x [count] = x ⊙ mask / (1 - p), in place.
    func forward(_ x: UnsafeMutablePointer<Float>, count: Int, site: Site, pool: ThreadPool) {
        Dropout.forward(out: x, input: x, count: count, mask: mask(site), pool: pool)
    }

    /// dinput [count] = dout ⊙ mask / (1 - p) (may alias).
    func backward(dinput: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, count: Int, site: Site,
                  pool: ThreadPool) {
        Dropout.backward(dinput: dinput, dout: dout, count: count, mask: mask(site), pool: pool)
    }
}

extension GPT {
    /// The dropout of a training pass with this key: nil (no dropout) without a key or when the configured
    /// probability is 0. `firstSequence`: where the pass's sequences start in the whole batch (a shard's pass),
    /// `time` their length.
    func activeDropout(key: UInt64?, firstSequence: Int, time: Int) -> ActiveDropout? {
        guard let key, config.dropout > 0 else { return nil }
        var dropout = ActiveDropout(probability: config.dropout, key: key)
        dropout.rowOffset = firstSequence * time * config.width
        dropout.attentionOffset = firstSequence * config.heads * time * time
        return dropout
    }
}
