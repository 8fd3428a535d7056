import Kernels
import Synchronization

/// A GPT-2 model on the CPU: parameters, gradients and AdamW moments in flat buffers (see `ParameterLayout`),
/// activations planned once per (batch, time), and forward/backward through the Kernels target. With several
/// threads, the training and evaluation passes split the batch by sequence, one thread a shard (GPT+Shards.swift).
///
/// Forward, per block (x is the residual stream, N = batch * time rows, C channels):
///   ln1 = LN(x); qkv = ln1 · Wattn + battn; a = attention(qkv); x2 = x + a · Wproj + bproj
///   ln2 = LN(x2); h = gelu(ln2 · Wfc + bfc); x3 = x2 + h · Wmlp + bmlp
/// then lnf = LN(x); logits = lnf · wte^T (the LM head is tied to the token embedding).
/// Where to read it: the embedding x = wte[token] + wpe[t] and the blocks in `runBlocks` (GPT+Forward.swift), the
/// LM head in `runForward`, the loss (cross-entropy) in `trainingPass`; the backward in reverse in
/// GPT+Backward.swift: `tiedHeadBackward` (dlogits -> dlnf and dwte), then `runBackwardFromFinalNorm` (ln_f, the
/// blocks from the last, the embeddings). A training step is `forwardBackward`, then `update` (AdamW).
/// Once the first step has run, forward, backward and the optimizer step allocate nothing (the activations are
/// planned once per shape, with the weights packed for short shards (PackedWeights.swift) when a plan needs them,
/// and the GEMM's packing buffers are made at first use; a split-K product's small array of buffer pointers aside).
public final class GPT {
    public private(set) var config: GPTConfig
    public let layout: ParameterLayout
    /// All parameters, flat (`layout` names the tensors). Code that writes them directly (not through `update`,
    /// `initializeParameters` or a checkpoint load) calls `parametersChanged()` afterwards, so that copies of
    /// the weights (a `BatchDecoder`'s decoding layout) are made again.
    public let parameters: FloatBuffer
    /// Counts the changes to `parameters` (see there): a copy of the weights made at revision r is stale once
    /// this differs from r.
    public private(set) var parameterRevision = 0
    /// The gradients and the AdamW first and second moments, each as many floats as `parameters`, made (zero)
    /// at first use: a model that only runs forward (sampling, evaluation) holds none of them, three times its
    /// weights' memory (session 24: `sample` on a 49 MB `small` model took 347 MB of RSS before).
    public var gradients: FloatBuffer { gradientOwner?.gradients ?? trainingBuffer(&gradientStorage) }
    public var firstMoment: FloatBuffer { trainingBuffer(&firstMomentStorage) }
    public var secondMoment: FloatBuffer { trainingBuffer(&secondMomentStorage) }
    private var gradientStorage: FloatBuffer?
    /// The model whose gradient buffer this replica (shard 0's) adds into, else nil.
    private unowned let gradientOwner: GPT?
    private var firstMomentStorage: FloatBuffer?
    private var secondMomentStorage: FloatBuffer?
    /// Bytes the gradients and moments made so far hold.
    public var trainingBufferBytes: Int {
        [gradientStorage, firstMomentStorage, secondMomentStorage].reduce(0) { $0 + ($1?.bytes ?? 0) }
    }
    public let pool: ThreadPool
    var activations: Activations?
    /// One replica per shard of the data-parallel passes (GPT+Shards.swift); empty until a pass is sharded.
    var replicas: [GPT] = []
    /// Most shards a pass is split into (GPT+Shards.swift): set from the memory available.
    var shardLimit = 1
    /// Shards of the running sharded pass that are done (GPT+Shards.swift).
    let shardsDone = Atomic<Int>(0)
    /// The weights packed for the GEMM during a sharded pass of short shards (shared with the replicas).
    let packedWeights: PackedWeights

    /// A model with GPT-2's initialisation drawn from `seed`.
    public convenience init(config: GPTConfig, seed: UInt64, pool: ThreadPool = .shared) throws {
        var generator = SeededGenerator(seed: seed)
        try self.init(config: config, generator: &generator, pool: pool)
    }

    /// A model with GPT-2's initialisation drawn from `generator` (which advances).
    public convenience init(config: GPTConfig, generator: inout SeededGenerator, pool: ThreadPool = .shared) throws {
        try self.init(config: config, pool: pool)
        initializeParameters(using: &generator)
    }

    /// A model with every parameter zero (to be loaded or initialised); moments zero.
    public init(config: GPTConfig, pool: ThreadPool = .shared) throws {
        try config.validate()
        try GPT.checkModelMemory(config: config, training: false)   // the rest is made at first use
        self.config = config
        self.pool = pool
        layout = ParameterLayout(config: config)
        parameters = FloatBuffer(count: layout.totalCount)
        gradientOwner = nil
        packedWeights = PackedWeights(layout: layout, config: config)
        shardLimit = Self.shardLimit(parameterBytes: parameters.bytes, memoryBytes: Self.availableMemoryBytes)
    }

    deinit { dropReplicas() }

    /// A replica of `model` for one shard of a data-parallel pass: the same parameters (shared, not copied),
    /// the model's gradient buffer when `sharingGradients` or else one of its own, activations of its own, and
    /// `pool` for its kernels. It holds no AdamW moments: only the model itself takes optimizer steps.
    init(replicaOf model: GPT, sharingGradients: Bool, pool: ThreadPool) {
        config = model.config
        self.pool = pool
        layout = model.layout
        parameters = model.parameters
        gradientOwner = sharingGradients ? model : nil
        firstMomentStorage = FloatBuffer(count: 0)
        secondMomentStorage = FloatBuffer(count: 0)
        packedWeights = model.packedWeights
    }

    // MARK: - Initialisation

    /// GPT-2 / nanoGPT initialisation: every weight matrix and both embeddings ~ N(0, 0.02); the two residual
    /// projections (attn.c_proj, mlp.c_proj) ~ N(0, 0.02 / sqrt(2 * layers)); biases 0; layer norms weight 1,
    /// bias 0. Tensors are drawn in layout order.
    public func initializeParameters(using generator: inout SeededGenerator) {
        defer { parametersChanged() }
        parameters.zero()
        let residualStd = 0.02 / (2.0 * Double(config.layers)).squareRoot()
        for slot in layout.slots {
            let p = parameters.pointer + slot.offset
            if slot.shape.count == 2 {   // the embeddings and the weight matrices
                let isResidualProjection = slot.name.hasSuffix("c_proj.weight")
                let std = isResidualProjection ? residualStd : 0.02
                for i in 0..<slot.count { p[i] = Float(generator.nextNormal() * std) }
            } else if slot.name.hasSuffix("ln_1.weight") || slot.name.hasSuffix("ln_2.weight")
                        || slot.name.hasSuffix("ln_f.weight") {
                p.update(repeating: 1, count: slot.count)
            }
        }
    }

    // MARK: - Views

    /// A copy of one tensor's parameters (by Hugging Face name), or nil if there is none by that name.
    public func parameterValues(named name: String) -> [Float]? { parameter(named: name).map { Array($0) } }
    /// A copy of one tensor's gradient.
    public func gradientValues(named name: String) -> [Float]? { gradient(named: name).map { Array($0) } }

    /// The parameters of one tensor (by Hugging Face name), or nil if there is none by that name. The pointer
    /// is valid while this model is alive.
    public func parameter(named name: String) -> UnsafeMutableBufferPointer<Float>? {
        layout.slot(named: name).map { UnsafeMutableBufferPointer(start: parameters.pointer + $0.offset, count: $0.count) }
    }
    public func gradient(named name: String) -> UnsafeMutableBufferPointer<Float>? {
        layout.slot(named: name).map { UnsafeMutableBufferPointer(start: gradients.pointer + $0.offset, count: $0.count) }
    }

    // MARK: - Activations

    /// Makes sure activations exist for `batch` x `time` that serve a pass with `needs` (a forward-only plan
    /// serves forward passes, one without logits passes that stop at the final hidden state): see
    /// `plannedActivations`.
    func planActivations(batch: Int, time: Int, needs: PassNeeds) {
        guard let plan = plannedActivations(batch: batch, time: time, needs: needs) else { return }
        activations = nil   // free the old plan before allocating the new one
        activations = Activations(config: config, maxBatch: plan.batch, maxTime: plan.time, needs: plan.needs,
                                  pool: pool)
    }

    /// The plan a pass over `batch` x `time` with `needs` makes, or nil when the current one serves. It keeps
    /// what the pass needs and what the current plan keeps (a model that trains evaluates between its steps in its
    /// training plan, and a model that alternates kinds of passes does not plan again each time); a plan of the
    /// same kind grows to cover both shapes, one of another kind takes the pass's.
    func plannedActivations(batch: Int, time: Int, needs: PassNeeds) -> (batch: Int, time: Int, needs: PassNeeds)? {
        let current = activations
        if let a = current, batch <= a.maxBatch, time <= a.maxTime, a.needs.serves(needs) { return nil }
        let kept = current.map { $0.needs.union(needs) } ?? needs
        guard let a = current, a.needs == kept else { return (batch, time, kept) }
        return (max(batch, a.maxBatch), max(time, a.maxTime), kept)
    }

    /// Changes the dropout of training passes (fine-tuning a checkpoint with a dropout of its own). The plan of
    /// activations is dropped: the next pass plans again, with the attention-weight buffer dropout needs.
    public func setDropout(_ probability: Float) throws {
        config = try config.overriding(dropout: probability)
        activations = nil
        dropReplicas()
    }

    /// Plans the activations of the training and evaluation passes (`loss`, `forwardBackward`, `forwardHidden`)
    /// for `batch` x `time` ahead of time, and makes the gradients and moments, so the first training step does
    /// not allocate: the shards' activations and gradient buffers when those passes are sharded
    /// (GPT+Shards.swift), with the packed weights when the shards are short, else the model's own. `logits`
    /// unless the passes stop at the final hidden state (a classifier's without the LM loss).
    public func reserve(batch: Int, time: Int, logits: Bool = true) throws {
        let needs = PassNeeds(backward: true, logits: logits)
        try checkShape(batch: batch, time: time, needs: needs)
        planPass(batch: batch, time: time, needs: needs)
        for model in [self] + replicas { _ = model.gradients }
        _ = (firstMoment, secondMoment)
    }

    /// Logits [batch, time, vocab] of the last `forward`.
    public var logits: UnsafePointer<Float>? {
        activations.flatMap { $0.needs.logits ? UnsafePointer($0.logits) : nil }
    }

    // MARK: - Optimizer

    public func zeroGradients() { GradientBuffers.zero(gradients.pointer, count: gradients.count, pool: pool) }

    /// Says that `parameters` changed (see there).
    public func parametersChanged() { parameterRevision &+= 1 }

    /// A gradient or moment buffer, made (zero) at its first use.
    private func trainingBuffer(_ storage: inout FloatBuffer?) -> FloatBuffer {
        if let buffer = storage { return buffer }
        let buffer = FloatBuffer(count: layout.totalCount)
        storage = buffer
        return buffer
    }

    /// Global L2 norm of all gradients.
    public func gradientNorm() -> Double {
        GradientClipping.globalNorm(gradients.pointer, count: layout.totalCount, pool: pool)
    }

    /// One AdamW step (step is 1-based) on the gradients times `gradientScale`: weight decay on the 2-D region
    /// only, none on biases and layer norms. The default betas are GPT-3's (0.9, 0.95); the tools pass their own
    /// (`TrainingOptions`, whose beta2 is 0.99, as nanoGPT's config/train_shakespeare_char.py sets it).
    public func update(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8,
                       weightDecay: Float = 0, step: Int, gradientScale: Float = 1) {
        defer { parametersChanged() }
        let decayed = layout.decayedCount
        AdamW.step(parameters: parameters.pointer, gradients: gradients.pointer,
                   m: firstMoment.pointer, v: secondMoment.pointer, count: decayed,
                   learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   weightDecay: weightDecay, step: step, gradientScale: gradientScale, pool: pool)
        AdamW.step(parameters: parameters.pointer + decayed, gradients: gradients.pointer + decayed,
                   m: firstMoment.pointer + decayed, v: secondMoment.pointer + decayed,
                   count: layout.totalCount - decayed,
                   learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   weightDecay: 0, step: step, gradientScale: gradientScale, pool: pool)
    }
}
