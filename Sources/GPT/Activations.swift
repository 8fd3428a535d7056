import Kernels

/// Every activation a training step keeps for backward, planned once for at most `maxBatch` x `maxTime`
/// positions and carved out of one allocation (llm.c's ActivationTensors). Per-layer tensors are stored
/// [L, maxRows, ...] with maxRows = maxBatch * maxTime; a smaller (batch, time) uses the first rows of each.
///
/// A plan for forward passes only (sampling's prefill, evaluation, prediction) keeps one layer's tensors,
/// which every block uses in turn (its input, the previous block's residual3, is read before its own
/// residual3 is written over it), and no backward scratch: 16 (L - 1) C + 4 (L - 1) + 10 C floats a row fewer.
/// A plan for passes that stop at the final hidden state (a classifier's, the decoder's prefill, which applies
/// the LM head to one row itself) has no logits: V floats a row fewer, most of all at GPT-2's 50,257.
final class Activations {
    let maxBatch: Int, maxTime: Int, width: Int
    /// What the plan keeps: every layer's tensors and the backward scratch, the logits.
    let needs: PassNeeds
    /// Whether every layer's tensors are kept (and the backward scratch): a plan for backward passes.
    var keepsEveryLayer: Bool { needs.backward }
    let storage: FloatBuffer
    /// One per layer kept: each keeps the statistics of its own forward.
    let attention: [CausalSelfAttention]

    // Shapes with N = rows (batch * time), C = width, V = vocabulary.
    let encoded: UnsafeMutablePointer<Float>      // [N, C]   wte + wpe
    let ln1: UnsafeMutablePointer<Float>          // [L, N, C]
    let ln1Mean, ln1Rstd: UnsafeMutablePointer<Float>   // [L, N]
    let qkv: UnsafeMutablePointer<Float>          // [L, N, 3C]
    let attentionOut: UnsafeMutablePointer<Float> // [L, N, C]  heads concatenated, before c_proj
    let residual2: UnsafeMutablePointer<Float>    // [L, N, C]  x + attn(ln1(x))
    let ln2: UnsafeMutablePointer<Float>          // [L, N, C]
    let ln2Mean, ln2Rstd: UnsafeMutablePointer<Float>   // [L, N]
    let fcPre: UnsafeMutablePointer<Float>        // [L, N, 4C] c_fc output
    let fcGelu: UnsafeMutablePointer<Float>       // [L, N, 4C]
    let residual3: UnsafeMutablePointer<Float>    // [L, N, C]  block output
    let lnf: UnsafeMutablePointer<Float>          // [N, C]
    let lnfMean, lnfRstd: UnsafeMutablePointer<Float>   // [N]
    private let logitsStorage: UnsafeMutablePointer<Float>   // [N, V]  (dlogits after forwardBackward); none without `needs.logits`
    let losses: UnsafeMutablePointer<Float>       // [N]
    // Backward scratch, reused by every layer.
    let dResidual: UnsafeMutablePointer<Float>    // [N, C]  gradient flowing down the residual stream
    let dNarrow: UnsafeMutablePointer<Float>      // [N, C]  dln2 / dattentionOut / dln1 / dlnf; with dropout also the MLP branch's masked gradient
    let dWide1: UnsafeMutablePointer<Float>       // [N, 4C] dfcGelu; with dropout also the attention branch's masked gradient [N, C]
    let dWide2: UnsafeMutablePointer<Float>       // [N, 4C] dfcPre, then dqkv ([N, 3C])

    init(config: GPTConfig, maxBatch: Int, maxTime: Int, needs: PassNeeds = .training, pool: ThreadPool) {
        self.maxBatch = maxBatch
        self.maxTime = maxTime
        width = config.width
        self.needs = needs
        let N = maxBatch * maxTime, C = config.width, V = needs.logits ? config.vocabSize : 0
        let L = needs.backward ? config.layers : 1, S = needs.backward ? N : 0   // layers kept; rows of backward scratch
        let sizes = [N * C, L * N * C, L * N, L * N, L * N * 3 * C, L * N * C, L * N * C, L * N * C, L * N, L * N,
                     L * N * 4 * C, L * N * 4 * C, L * N * C, N * C, N, N, N * V, N,
                     S * C, S * C, S * 4 * C, S * 4 * C]
        storage = FloatBuffer(count: sizes.reduce(0) { $0 + ParameterLayout.aligned($1) })
        var cursor = 0
        var pointers: [UnsafeMutablePointer<Float>] = []
        for size in sizes {
            pointers.append(storage.pointer + cursor)
            cursor += ParameterLayout.aligned(size)
        }
        encoded = pointers[0]; ln1 = pointers[1]; ln1Mean = pointers[2]; ln1Rstd = pointers[3]
        qkv = pointers[4]; attentionOut = pointers[5]; residual2 = pointers[6]; ln2 = pointers[7]
        ln2Mean = pointers[8]; ln2Rstd = pointers[9]; fcPre = pointers[10]; fcGelu = pointers[11]
        residual3 = pointers[12]; lnf = pointers[13]; lnfMean = pointers[14]; lnfRstd = pointers[15]
        logitsStorage = pointers[16]; losses = pointers[17]
        dResidual = pointers[18]; dNarrow = pointers[19]; dWide1 = pointers[20]; dWide2 = pointers[21]
        attention = (0..<L).map { _ in
            CausalSelfAttention(maxBatch: maxBatch, maxTime: maxTime, channels: C, heads: config.heads,
                                dropsWeights: needs.backward && config.dropout > 0, pool: pool)
        }
    }

    /// Logits [N, V]. Stops the process when the plan has none: a pass would write them past the storage.
    var logits: UnsafeMutablePointer<Float> {
        if !needs.logits { fatalError("logits of a plan of activations made without them") }
        return logitsStorage
    }

    var maxRows: Int { maxBatch * maxTime }

    /// Stops the process when the plan is forward-only: a backward pass would write its scratch past the storage.
    /// (A real check: `-Ounchecked` drops preconditions.)
    func requireEveryLayer() {
        if !keepsEveryLayer { fatalError("a backward pass over a forward-only plan of activations") }
    }

    /// Block l's slices of the per-layer tensors, and its input (the embeddings, or block l-1's output), with
    /// its attention. A forward-only plan gives every block the one layer it keeps.
    struct Layer {
        let input, ln1, ln1Mean, ln1Rstd, qkv, attn, residual2, ln2, ln2Mean, ln2Rstd, fcPre, fcGelu,
            residual3: UnsafeMutablePointer<Float>
        let attention: CausalSelfAttention
    }

    func layer(_ block: Int) -> Layer {
        let R = maxRows, C = width, l = keepsEveryLayer ? block : 0
        return Layer(input: block == 0 ? encoded : residual3 + (keepsEveryLayer ? block - 1 : 0) * R * C,
                     ln1: ln1 + l * R * C, ln1Mean: ln1Mean + l * R, ln1Rstd: ln1Rstd + l * R,
                     qkv: qkv + l * R * 3 * C, attn: attentionOut + l * R * C, residual2: residual2 + l * R * C,
                     ln2: ln2 + l * R * C, ln2Mean: ln2Mean + l * R, ln2Rstd: ln2Rstd + l * R,
                     fcPre: fcPre + l * R * 4 * C, fcGelu: fcGelu + l * R * 4 * C, residual3: residual3 + l * R * C,
                     attention: attention[l])
    }
    var bytes: Int { storage.bytes + attention.reduce(0) { $0 + $1.allocatedBytes } }

    /// About what `init` allocates for `batch` x `time` (in Double: a mistyped batch may overflow Int): the
    /// tensors above, 16 L C + 4 L + 12 C + V + 3 floats a row (for a forward-only plan L = 1 and 2 C in place of
    /// 12 C, having no backward scratch; V fewer without logits), and attention's saved probabilities (twice with dropout, for
    /// backward passes), L heads Tp^2 floats a sequence.
    static func estimatedBytes(config: GPTConfig, batch: Int, time: Int, needs: PassNeeds = .training) -> Double {
        let L = Double(needs.backward ? config.layers : 1), C = Double(config.width)
        let V = needs.logits ? Double(config.vocabSize) : 0
        let rows = Double(batch) * Double(time)
        let tp = Double(CausalSelfAttention.paddedStride(min(time, config.context)))
        let probabilities = Double(batch) * L * Double(config.heads) * tp * tp
            * (needs.backward && config.dropout > 0 ? 2 : 1)
        return 4 * (rows * (16 * L * C + 4 * L + (needs.backward ? 12 : 2) * C + V + 3) + probabilities)
    }
}

/// What a pass needs of its plan of activations: every layer's tensors and the backward scratch (`backward`: a
/// backward pass follows), and the logits [N, V] (`logits`: it applies the LM head to every row).
struct PassNeeds: Equatable {
    var backward: Bool
    var logits: Bool

    /// A training step: forward, LM loss and backward.
    static let training = PassNeeds(backward: true, logits: true)
    /// A forward pass through the LM head (evaluation's loss, `forward`).
    static let forward = PassNeeds(backward: false, logits: true)
    /// A forward pass to the final hidden state (a classifier's, the decoder's prefill).
    static let hidden = PassNeeds(backward: false, logits: false)

    /// Whether a plan made for these needs serves a pass that has `other`.
    func serves(_ other: PassNeeds) -> Bool { (backward || !other.backward) && (logits || !other.logits) }

    /// What a plan made for both needs keeps.
    func union(_ other: PassNeeds) -> PassNeeds {
        PassNeeds(backward: backward || other.backward, logits: logits || other.logits)
    }
}

