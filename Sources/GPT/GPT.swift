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

    /// About the bytes of activations held once a pass over `batch` x `time` with `needs` has planned (`sharded`
    /// unless it runs on this model alone, as `forward` does): the plans it makes or finds, of this model or of
    /// each shard's replica, and the plans the other models keep.
    func activationBytesAfterPass(batch: Int, time: Int, needs: PassNeeds, sharded: Bool = true) -> Double {
        func estimate(_ plan: (batch: Int, time: Int, needs: PassNeeds)) -> Double {
            Activations.estimatedBytes(config: config, batch: plan.batch, time: plan.time, needs: plan.needs)
        }
        func held(_ model: GPT) -> Double {
            model.activations.map { estimate(($0.maxBatch, $0.maxTime, $0.needs)) } ?? 0
        }
        /// The plan `model` has after planning `batch` sequences: a new one, or the one it has that serves.
        func planned(_ model: GPT, batch: Int) -> Double {
            model.plannedActivations(batch: batch, time: time, needs: needs).map(estimate) ?? held(model)
        }
        let shards = sharded ? shardCount(batch: batch) : 1
        guard shards > 1 else { return planned(self, batch: batch) + replicas.reduce(0) { $0 + held($1) } }
        return held(self) + (0..<max(shards, replicas.count)).reduce(0) { sum, s in
            if s >= shards { return sum + held(replicas[s]) }
            let rows = Self.shardSequences(s, of: shards, batch: batch).count
            return sum + (s < replicas.count ? planned(replicas[s], batch: rows) : estimate((rows, time, needs)))
        }
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
    /// (`TrainingOptions`, whose beta2 is nanoGPT's 0.99).
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

    // MARK: - Memory

    /// Bytes this model needs to train, by kind: the gradients and moments counted whether they exist yet or not
    /// (`trainingBufferBytes` is what exists), activations as planned so far (the shards' included, attention
    /// scratch included; after forward passes only, their one-layer plans). The gradient buffers of shards 1... and the weights packed for short shards (PackedWeights.swift)
    /// are not counted: they are the cost of sharding, beyond what the shapes of one model need.
    public var memory: MemoryReport {
        MemoryReport(parameterBytes: parameters.bytes, gradientBytes: parameters.bytes,
                     momentBytes: 2 * parameters.bytes,
                     activationBytes: ([self] + replicas).reduce(0) { $0 + ($1.activations?.bytes ?? 0) })
    }
}

/// Bytes a model needs to train, for the memory target (a training run's peak RSS should stay close to
/// `totalBytes`).
public struct MemoryReport: Equatable, Sendable {
    public let parameterBytes: Int
    public let gradientBytes: Int
    public let momentBytes: Int
    public let activationBytes: Int
    public var totalBytes: Int { parameterBytes + gradientBytes + momentBytes + activationBytes }
}

/// A batch the model cannot run.
public enum GPTError: Error, Equatable, CustomStringConvertible {
    case emptyBatch(batch: Int, time: Int)
    case sequenceLongerThanContext(time: Int, context: Int)
    case tokenOutOfRange(token: Int32, position: Int, vocabSize: Int)
    case targetOutOfRange(token: Int32, position: Int, vocabSize: Int)
    case invalidWeight(weight: Float, position: Int)
    case wrongInputCount(count: Int, batch: Int, time: Int)
    /// `available`: what the plan may take of the `memory` here: nine tenths, less the `committed` bytes of the
    /// model's buffers, with a sharded pass's gradient copies and packed weights (`MemoryBudget`); below zero when
    /// those alone exceed the nine tenths. `holding` names what the committed bytes are for the message ("the
    /// model's weights").
    case doesNotFitInMemory(what: String, bytes: Double, available: Double, committed: Double, holding: String,
                            memory: Double)
    /// `training`: `bytes` count the gradients and AdamW moments too, not only the weights.
    case modelDoesNotFitInMemory(parameters: Int, bytes: Double, available: Double, training: Bool)

    public var description: String {
        switch self {
        case let .emptyBatch(b, t): return "batch \(b) x time \(t) is empty: both must be positive"
        case let .sequenceLongerThanContext(t, c): return "sequence length \(t) exceeds the model's context \(c)"
        case let .tokenOutOfRange(tok, pos, v):
            return "token id \(tok) at position \(pos) is outside the vocabulary (size \(v))"
        case let .targetOutOfRange(tok, pos, v):
            return "target id \(tok) at position \(pos) is outside the vocabulary (size \(v))"
        case let .invalidWeight(w, pos): return "loss weight \(w) at position \(pos) must be finite and >= 0"
        case let .wrongInputCount(n, b, t): return "got \(n) values for a batch of \(b) x \(t) = \(b * t) positions"
        case let .doesNotFitInMemory(what, bytes, available, committed, holding, memory):
            let model = committed >= 1e8 ? String(format: "%.1f GB", committed / 1e9) : String(format: "%.0f MB", committed / 1e6)
            if available <= 0 {
                return String(format: "%@ needs %.1f GB, and none is left: %@ take %@, more than the nine tenths of the "
                              + "%.1f GB of memory here a run may take", what, bytes / 1e9, holding, model, memory / 1e9)
            }
            return String(format: "%@ needs %.1f GB, more than the %.1f GB it may take of the %.1f GB of memory here "
                          + "(nine tenths%@)", what, bytes / 1e9, available / 1e9, memory / 1e9,
                          committed > 0 ? ", less \(model) for \(holding)" : "")
        case let .modelDoesNotFitInMemory(parameters, bytes, available, training):
            return String(format: "a model of %.2f billion parameters needs %.1f GB for its %@, more than the %.1f GB a "
                          + "run may take of the memory here; choose a smaller width, number of layers, vocabulary or context",
                          Double(parameters) / 1e9, bytes / 1e9,
                          training ? "weights, gradients and AdamW moments" : "weights", available / 1e9)
        }
    }
}
