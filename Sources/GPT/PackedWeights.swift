import Kernels
import Synchronization

/// The weight matrices packed for the GEMM once a sharded pass (`PackedPanels`), read by every shard. Without
/// them each shard packs every weight itself, twice a training pass: for the forward (op(B) = W) and for the
/// input gradient (op(B) = W^T).
///
/// Only shards of at most `maxShardRows` rows pack ahead: their products take the GEMM's stream paths, where
/// each product packs its B panels for itself; a product of more rows packs B once into a buffer its M blocks
/// share, and its rows repay that. The buffer (both forms of every matrix: 8 bytes a weight) is a cost of
/// sharding, like the shards' gradient buffers: a pass packs ahead only when the buffer fits in memory beside
/// it, and a pass that would not fit beside a buffer an earlier pass made frees it (`GPT.checkShape`).
///
/// Matrices, as W[in, out] (GPT-2's Conv1D layout): each block's c_attn, attn.c_proj, c_fc and mlp.c_proj, and the
/// token embedding wte[V, C], whose products are the tied head's: logits = lnf · wte^T (its transposed form) and,
/// in the backward, dlnf = dlogits · wte (its forward form).
final class PackedWeights: @unchecked Sendable {
    /// The forms a pass reads.
    struct Forms: OptionSet {
        let rawValue: Int
        /// op(B) = W of the blocks' matrices: their forward products.
        static let blockWeights = Forms(rawValue: 1)
        /// op(B) = W^T of the blocks' matrices: their input gradients.
        static let blockTransposes = Forms(rawValue: 2)
        /// wte^T: the tied head's logits.
        static let logits = Forms(rawValue: 4)
        /// wte: the tied head's backward, dlnf = dlogits · wte.
        static let headBackward = Forms(rawValue: 8)
        /// A language model's forward pass.
        static let forward: Forms = [.blockWeights, .logits]
        /// A language model's training pass.
        static let training: Forms = [.blockWeights, .blockTransposes, .logits, .headBackward]
    }

    /// Rows of a shard up to which the weights are packed ahead (`GEMMBlocked`'s stream paths take products of
    /// up to 512 rows with a K step of 256).
    static let maxShardRows = 512

    private struct Matrix {
        let offset: Int, inputs: Int, outputs: Int
        let forwardAt: Int, transposedAt: Int   // floats into the buffer
        let isEmbedding: Bool

        /// Whether a pass with `forms` reads this matrix's transposed form (or else its forward form).
        func reads(_ forms: Forms, transposed: Bool) -> Bool {
            isEmbedding ? forms.contains(transposed ? .logits : .headBackward)
                        : forms.contains(transposed ? .blockTransposes : .blockWeights)
        }
    }

    private let matrices: [Matrix]
    /// Matrix index by parameter offset.
    private let index: [Int: Int]
    private let floatCount: Int
    private var buffer: FloatBuffer?
    /// The forms packed for the running pass; nil outside one.
    private var packed: Forms?

    init(layout: ParameterLayout, config: GPTConfig) {
        let offsets = layout.blocks.flatMap {
            [$0.attentionWeight, $0.attentionProjectionWeight, $0.fullyConnectedWeight, $0.mlpProjectionWeight]
        } + [layout.tokenEmbedding]
        var at = 0
        var matrices: [Matrix] = []
        for (offset, shape) in zip(offsets, Self.shapes(config)) {
            let forwardAt = at, transposedAt = at + PackedPanels.floatCount(k: shape.inputs, n: shape.outputs)
            at = transposedAt + PackedPanels.floatCount(k: shape.outputs, n: shape.inputs)
            matrices.append(Matrix(offset: offset, inputs: shape.inputs, outputs: shape.outputs, forwardAt: forwardAt,
                                   transposedAt: transposedAt, isEmbedding: offset == layout.tokenEmbedding))
        }
        self.matrices = matrices
        index = Dictionary(uniqueKeysWithValues: matrices.enumerated().map { ($1.offset, $0) })
        floatCount = at
    }

    /// (in, out) of the packed matrices in order: each block's four, then wte [V, C].
    private static func shapes(_ config: GPTConfig) -> [(inputs: Int, outputs: Int)] {
        let C = config.width
        let block = [(C, 3 * C), (C, C), (C, 4 * C), (4 * C, C)]
        return (0..<config.layers).flatMap { _ in block } + [(config.vocabSize, C)]
    }

    /// Bytes of the buffer for `config` (allocated by the first pass that packs), counted in Double so that a
    /// damaged configuration cannot overflow.
    static func bytes(config: GPTConfig) -> Double {
        let nr = 32.0   // the wider panel: a bound for either width
        func padded(_ x: Int) -> Double { (Double(x) / nr).rounded(.up) * nr }
        let perLayer = [(1, 3), (1, 1), (1, 4), (4, 1)].reduce(0.0) { sum, shape in
            let inputs = shape.0 * config.width, outputs = shape.1 * config.width
            return sum + Double(inputs) * padded(outputs) + Double(outputs) * padded(inputs)
        }
        let embedding = Double(config.vocabSize) * padded(config.width) + Double(config.width) * padded(config.vocabSize)
        return 4 * (Double(config.layers) * perLayer + embedding)
    }

    /// Allocates the buffer (`GPT.reserve`, so that the first training step does not).
    func allocate() {
        if buffer == nil { buffer = FloatBuffer(count: floatCount) }
    }

    /// Packs the `forms` of every matrix from `parameters`, a task a matrix and form, over `pool`. They serve
    /// `forward(_:)` and `transposed(_:)` until `release`.
    func pack(_ forms: Forms, parameters: UnsafePointer<Float>, pool: ThreadPool) {
        allocate()
        pool.run(tasks: 2 * matrices.count) { task in
            let matrix = matrices[task / 2], transposedForm = task % 2 == 1
            guard matrix.reads(forms, transposed: transposedForm) else { return }
            // W [in, out] row-major: op(B) = W has k = in, n = out; op(B) = W^T has k = out, n = in and is stored
            // [n, k], transposed; ldb = out either way.
            panels(matrix, transposed: transposedForm)
                .pack(parameters + matrix.offset, ldb: matrix.outputs, transposed: transposedForm)
        }
        packed = forms
    }

    /// Gives the buffer back (a pass that needs its memory; `GPT.checkShape`). Not during a pass.
    func deallocate() {
        precondition(packed == nil, "packed weights freed during a pass")
        buffer = nil
    }

    /// Bytes of the buffer (0 until a pass packs).
    var allocatedBytes: Int { buffer?.bytes ?? 0 }

    /// Ends the pass: the parameters may change.
    func release() { packed = nil }

    /// op(B) = W of the matrix at parameter offset `offset`, when packed for the running pass.
    func forward(_ offset: Int) -> PackedPanels? { lookup(offset, transposed: false) }

    /// op(B) = W^T of the matrix at parameter offset `offset`, when packed for the running pass.
    func transposed(_ offset: Int) -> PackedPanels? { lookup(offset, transposed: true) }

    /// Panels handed out by `forward(_:)` and `transposed(_:)` so far (the tests count them).
    let served = Atomic<Int>(0)

    private func lookup(_ offset: Int, transposed: Bool) -> PackedPanels? {
        guard let forms = packed, let i = index[offset], matrices[i].reads(forms, transposed: transposed) else {
            return nil
        }
        served.add(1, ordering: .relaxed)
        return panels(matrices[i], transposed: transposed)
    }

    private func panels(_ matrix: Matrix, transposed: Bool) -> PackedPanels {
        transposed
            ? PackedPanels(floats: buffer!.pointer + matrix.transposedAt, k: matrix.outputs, n: matrix.inputs)
            : PackedPanels(floats: buffer!.pointer + matrix.forwardAt, k: matrix.inputs, n: matrix.outputs)
    }
}
