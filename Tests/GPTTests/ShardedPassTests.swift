import Testing
import Kernels
@testable import GPT

/// The data-parallel passes (GPT+Shards.swift) against the same passes on one thread: the batch split by
/// sequence over 2 and 3 threads (uneven shards included: 5 sequences make 2 + 3 and 1 + 2 + 2) gives the
/// loss and gradients of the whole batch, dropout masks included.
///
/// Tolerance: a shard sums its own rows of every weight gradient and the shards' sums are then added, so
/// only the order of float additions differs from one thread (relative rounding ~1e-7 per addition over
/// a few dozen rows); 1e-5 of the largest gradient entry leaves a wide margin, while a shard's gradient
/// missing, counted twice or taken with another shard's dropout mask moves entries by far more.
@Suite struct ShardedPassTests {
    static let batch = 5, time = 7

    static func inputs() -> (tokens: [Int32], targets: [Int32], weights: [Float]) {
        var generator = SeededGenerator(seed: 11)
        let n = batch * time
        let tokens = (0..<n).map { _ in Int32(generator.next() % 11) }
        let targets = (0..<n).map { _ in Int32(generator.next() % 11) }
        let weights = (0..<n).map { i in i % 4 == 1 ? Float(0) : Float(0.5 + generator.nextUniform()) }
        return (tokens, targets, weights)
    }

    /// A model on `pool` (a one-thread pool when nil: it has no worker threads to shut down).
    static func model(pool: ThreadPool? = nil, dropout: Float) throws -> GPT {
        try GPT(config: GradientCheckTests.config.overriding(dropout: dropout), seed: 42,
                pool: pool ?? ThreadPool(threads: 1))
    }

    /// |a - b| <= 1e-5 * max |b| entrywise.
    static func expectClose(_ a: [Float], _ b: [Float], _ what: String) {
        let scale = b.map { abs($0) }.max() ?? 0
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5 * scale, "\(what): worst difference \(worst), largest entry \(scale)")
    }

    @Test(arguments: [2, 3])
    func trainingPassEqualsOneThread(threads: Int) throws {
        let (tokens, targets, weights) = Self.inputs()
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        for dropout in [Float(0), 0.25] {
            let single = try Self.model(dropout: dropout)
            let sharded = try Self.model(pool: pool, dropout: dropout)
            var losses: [Double] = []
            for model in [single, sharded] {
                model.zeroGradients()
                losses.append(try model.forwardBackward(tokens: tokens, targets: targets, weights: weights,
                                                        batch: Self.batch, time: Self.time, dropoutKey: 3))
            }
            #expect(sharded.replicas.count == threads)
            #expect(abs(losses[1] - losses[0]) <= 1e-6 * losses[0], "dropout \(dropout)")
            Self.expectClose(sharded.gradients.values, single.gradients.values, "gradients, dropout \(dropout)")

            // Gradients add up across calls (a shard's own buffer is zeroed, the model's is not), and the
            // same inputs give the same bits.
            let once = sharded.gradients.values
            let again = try sharded.forwardBackward(tokens: tokens, targets: targets, weights: weights,
                                                    batch: Self.batch, time: Self.time, dropoutKey: 3)
            #expect(again == losses[1])
            Self.expectClose(sharded.gradients.values, once.map { 2 * $0 }, "accumulated, dropout \(dropout)")
        }
    }

    @Test(arguments: [2, 3])
    func lossEqualsOneThread(threads: Int) throws {
        let (tokens, targets, weights) = Self.inputs()
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        let single = try Self.model(dropout: 0)
        let sharded = try Self.model(pool: pool, dropout: 0)
        for w in [nil, weights] {
            let expected = try single.loss(tokens: tokens, targets: targets, weights: w, batch: Self.batch, time: Self.time)
            let loss = try sharded.loss(tokens: tokens, targets: targets, weights: w, batch: Self.batch, time: Self.time)
            #expect(abs(loss - expected) <= 1e-6 * expected)
        }
    }

    /// The task-head passes (a classifier with the auxiliary LM loss, class weights and dropout): the head sees
    /// the batch one shard at a time, and loss, logits and every gradient (the model's and the head's) equal
    /// the one-thread pass's.
    @Test(arguments: [2, 3])
    func classifierPassesEqualOneThread(threads: Int) throws {
        let t = ClassifierHeadTests.tokens(), lengths = ClassifierHeadTests.lengths
        let batch = lengths.count, time = ClassifierHeadTests.time
        var results: [(losses: SequenceClassifier.Losses, logits: [Float], model: [Float], head: [Float])] = []
        let threadedPool = ThreadPool(threads: threads)
        defer { threadedPool.shutdown() }
        for pool in [ThreadPool(threads: 1), threadedPool] {
            let model = try GPT(config: GradientCheckTests.config.overriding(dropout: 0.25), seed: 42, pool: pool)
            let c = try SequenceClassifier(model: model, labels: ClassifierHeadTests.labels, padTokenId: ClassifierHeadTests.pad)
            var generator = SeededGenerator(seed: 5)
            c.initializeHead(using: &generator)
            c.zeroGradients()
            let losses = try c.forwardBackward(tokens: t, lengths: lengths, labels: ClassifierHeadTests.targets,
                                               batch: batch, time: time, classWeights: ClassifierHeadTests.classWeights,
                                               lmLossWeight: 0.7, dropoutKey: 9)
            let logits = try c.logits(tokens: t, lengths: lengths, batch: batch, time: time)
            results.append((losses, logits, c.model.gradients.values, c.scoreGradient.values))
        }
        let (single, sharded) = (results[0], results[1])
        for (a, b) in [(sharded.losses.classification, single.losses.classification),
                       (sharded.losses.languageModel, single.losses.languageModel)] {
            #expect(abs(a - b) <= 1e-6 * abs(b))
        }
        Self.expectClose(sharded.logits, single.logits, "logits")
        Self.expectClose(sharded.model, single.model, "model gradients")
        Self.expectClose(sharded.head, single.head, "head gradients")
    }

    /// Short shards read the weights packed once a pass (PackedWeights.swift): every product of a weight matrix
    /// in every shard gets its panels, and only the forms its pass reads are packed. Per shard (L layers):
    /// a forward reads L x 4 W and wte^T; a training pass also L x 4 W^T and wte; a task head's forward reads
    /// the blocks' W (and, with the LM loss, both of wte's forms) and its backward the blocks' W^T.
    @Test func shortShardsReadThePackedWeights() throws {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        let model = try Self.model(pool: pool, dropout: 0)
        let (tokens, targets, _) = Self.inputs()
        let blocks = 4 * model.config.layers, shards = 2
        func served(_ pass: () throws -> Void) rethrows -> Int {
            let before = model.packedWeights.served.load(ordering: .relaxed)
            try pass()
            return model.packedWeights.served.load(ordering: .relaxed) - before
        }
        #expect(try served { _ = try model.loss(tokens: tokens, targets: targets, batch: Self.batch, time: Self.time) }
                == shards * (blocks + 1))
        #expect(try served {
            _ = try model.forwardBackward(tokens: tokens, targets: targets, batch: Self.batch, time: Self.time)
        } == shards * (2 * blocks + 2))
        #expect(try served { try model.forward(tokens: tokens, batch: Self.batch, time: Self.time) } == 0)  // not sharded

        let c = try SequenceClassifier(model: model, labels: ClassifierHeadTests.labels, padTokenId: ClassifierHeadTests.pad)
        let t = ClassifierHeadTests.tokens(), lengths = ClassifierHeadTests.lengths
        for lmLossWeight: Float in [0, 0.5] {
            let count = try served {
                _ = try c.forwardBackward(tokens: t, lengths: lengths, labels: ClassifierHeadTests.targets,
                                          batch: lengths.count, time: ClassifierHeadTests.time, lmLossWeight: lmLossWeight)
            }
            #expect(count == shards * (2 * blocks + (lmLossWeight > 0 ? 2 : 0)), "LM loss weight \(lmLossWeight)")
        }
    }

    /// Memory caps the shards: the extra gradient buffers get a quarter of the machine's memory. With the cap
    /// below the thread count, each replica runs on its share of the threads, and the pass still equals the
    /// one-thread pass.
    @Test func shardLimitFollowsMemory() throws {
        let gib = 1 << 30
        #expect(GPT.shardLimit(parameterBytes: 124_439_808 * 4, memoryBytes: 24 * gib) == 13)   // gpt2
        #expect(GPT.shardLimit(parameterBytes: 2 * gib, memoryBytes: 4 * gib) == 1)
        #expect(GPT.shardLimit(parameterBytes: gib, memoryBytes: 8 * gib) == 3)
        // A container's cgroup limit counts when lower than the machine's memory; "max" means none.
        #expect(GPT.availableMemory(physical: 24 * gib, cgroupLimits: ["max\n"]) == 24 * gib)
        #expect(GPT.availableMemory(physical: 24 * gib, cgroupLimits: ["4294967296\n"]) == 4 * gib)
        #expect(GPT.availableMemory(physical: 24 * gib, cgroupLimits: ["9223372036854771712\n"]) == 24 * gib)
        let model = try Self.model(dropout: 0)
        #expect(model.shardLimit == GPT.shardLimit(parameterBytes: model.parameters.bytes,
                                                   memoryBytes: GPT.availableMemoryBytes))
    }

    @Test(arguments: [(3, [2, 1]), (4, [2, 2]), (5, [3, 2])])
    func cappedShardsShareTheThreads(threads: Int, replicaThreads: [Int]) throws {
        let (tokens, targets, weights) = Self.inputs()
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        let single = try Self.model(dropout: 0.25)
        let capped = try Self.model(pool: pool, dropout: 0.25)
        capped.shardLimit = 2
        var losses: [Double] = []
        for model in [single, capped] {
            model.zeroGradients()
            losses.append(try model.forwardBackward(tokens: tokens, targets: targets, weights: weights,
                                                    batch: Self.batch, time: Self.time, dropoutKey: 3))
        }
        #expect(capped.replicas.map { $0.pool.threadCount } == replicaThreads)
        #expect(abs(losses[1] - losses[0]) <= 1e-6 * losses[0])
        Self.expectClose(capped.gradients.values, single.gradients.values, "gradients, \(threads) threads")
    }

    /// Fewer sequences than threads: the pass is not sharded (no replica; the model's own kernels split over
    /// the threads), so no thread idles.
    @Test func fewerSequencesThanThreadsRunUnsharded() throws {
        let (tokens, targets, _) = Self.inputs()
        let pool = ThreadPool(threads: 3)
        defer { pool.shutdown() }
        let single = try Self.model(dropout: 0)
        let threaded = try Self.model(pool: pool, dropout: 0)
        for batch in [1, 2] {
            let n = batch * Self.time
            let t = Array(tokens[..<n]), y = Array(targets[..<n])
            single.zeroGradients()
            threaded.zeroGradients()
            let expected = try single.forwardBackward(tokens: t, targets: y, batch: batch, time: Self.time)
            let loss = try threaded.forwardBackward(tokens: t, targets: y, batch: batch, time: Self.time)
            #expect(abs(loss - expected) <= 1e-6 * expected)
            #expect(threaded.replicas.isEmpty && threaded.activations != nil)
            Self.expectClose(threaded.gradients.values, single.gradients.values, "batch \(batch)")
        }
    }

    /// `reserve` plans the shards' activations, not the model's own, so a sharded run holds one batch of
    /// activations, as an unsharded one does (plus the attention scratch each shard keeps).
    @Test func reservePlansTheShards() throws {
        let config = GPTConfig(layers: 2, heads: 2, width: 32, context: 64, vocabSize: 11)
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        let single = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 1))
        let sharded = try GPT(config: config, seed: 1, pool: pool)
        try single.reserve(batch: 4, time: 64)
        try sharded.reserve(batch: 4, time: 64)
        #expect(sharded.activations == nil)
        #expect(sharded.replicas.allSatisfy { $0.activations?.maxBatch == 2 })
        #expect(sharded.memory.activationBytes <= single.memory.activationBytes * 11 / 10)
    }
}
