import Testing
import Kernels
@testable import GPT

/// Sizes that do not fit in memory are refused before anything is allocated, with an error saying how much they
/// need; the estimate behind that refusal follows what the activations really take.
@Suite struct MemoryBudgetTests {
    /// The estimate against the buffers `Activations` allocates, at shapes where their rounding (to 64-float
    /// alignment, and to whole 2 MiB pages for the large buffers) is small: within 5%, and never above.
    @Test(arguments: [(GPTConfig.tiny(vocabSize: 65), 64, 64, Float(0)), (GPTConfig.small(vocabSize: 65), 8, 256, 0),
                      (GPTConfig.small(vocabSize: 65), 8, 200, 0.1)])
    func estimateFollowsTheAllocation(preset: GPTConfig, batch: Int, time: Int, dropout: Float) throws {
        let config = try preset.overriding(dropout: dropout)
        for needs in [PassNeeds.training, .forward, .hidden, PassNeeds(backward: true, logits: false)] {
            let activations = Activations(config: config, maxBatch: batch, maxTime: time, needs: needs,
                                          pool: ThreadPool(threads: 1))
            let estimate = Activations.estimatedBytes(config: config, batch: batch, time: time, needs: needs)
            let actual = Double(activations.bytes)
            #expect(estimate <= actual && estimate >= 0.95 * actual, "\(needs): estimate \(estimate) against \(actual) bytes")
        }
    }

    /// What `pretrain` announces before a large run allocates (`trainingBytes`) is what the model holds once its
    /// training step is planned: weights, gradients, moments and activations, within 5% and never above.
    @Test func trainingBytesAreWhatAPlannedStepHolds() throws {
        let config = GPTConfig.small(vocabSize: 65)
        let model = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 1))
        try model.reserve(batch: 8, time: 256)
        let held = Double(model.memory.totalBytes)
        let announced = GPT.trainingBytes(config: config, batch: 8, time: 256)
        #expect(announced <= held && announced >= 0.95 * held, "announced \(announced) against \(held) bytes")
    }

    /// The memory free now is /proc/meminfo's MemAvailable, in bytes; a text without it (or in other units) gives none.
    @Test func freeMemoryIsMemAvailable() {
        let meminfo = "MemTotal:       24598620 kB\nMemFree:         1093540 kB\nMemAvailable:   20979308 kB\nBuffers: 1 kB\n"
        #expect(GPT.memAvailable(meminfo) == Double(20_979_308 * 1024))
        #expect(GPT.memAvailable("MemTotal:       24598620 kB\n") == nil)
        #expect(GPT.memAvailable("MemAvailable:   20979308 MB\n") == nil)
        #expect(GPT.freeMemoryBytes().map { $0 > 0 } ?? true)
    }

    /// A forward pass of a model that has not trained plans one layer's activations, which every block reuses:
    /// the same logits, losses and hidden states as the plan a training step keeps, in a fraction of the memory
    /// (the `small` preset at 8 x 256: a fifth). A training pass then plans every layer, and keeps that plan for
    /// the forward passes between its steps.
    @Test func forwardPassesPlanOneLayer() throws {
        let config = GPTConfig(layers: 3, heads: 2, width: 32, context: 16, vocabSize: 50)
        let tokens = (0..<64).map { Int32(($0 * 7) % 50) }, targets = (0..<64).map { Int32(($0 * 3 + 1) % 50) }
        let fresh = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 2))
        let trained = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 2))
        try trained.reserve(batch: 4, time: 16)
        for model in [fresh, trained] { #expect(model.parameters.values == trained.parameters.values) }
        let logits = (try fresh.forward(tokens: tokens, batch: 4, time: 16), try trained.forward(tokens: tokens, batch: 4, time: 16))
        #expect(logits.0 == logits.1)
        let losses = (try fresh.loss(tokens: tokens, targets: targets, batch: 4, time: 16),
                      try trained.loss(tokens: tokens, targets: targets, batch: 4, time: 16))
        #expect(losses.0 == losses.1)
        func hidden(_ model: GPT) throws -> [Float] {
            var out: [Float] = []
            try tokens.withUnsafeBufferPointer { t in
                try model.forwardHidden(tokens: t.baseAddress!, batch: 4, time: 16) { sequences, h in
                    out += UnsafeBufferPointer(start: h, count: sequences.count * 16 * config.width)
                }
            }
            return out
        }
        let states = (try hidden(fresh), try hidden(trained))
        #expect(states.0 == states.1 && states.0.count == 64 * config.width)
        /// Whether the plans of `models` keep every layer: all of them, or none.
        func everyLayer(_ models: [GPT]) -> Bool? {
            let kept = Set(models.compactMap { $0.activations?.keepsEveryLayer })
            return kept.count == 1 ? kept.first : nil
        }
        // The shards' plans (loss, hidden states) and the model's own (forward, unsharded) are one layer's; the
        // trained model's shards keep every layer, while its own plan, made by a forward pass, is one layer's.
        #expect(everyLayer([fresh] + fresh.replicas) == false && fresh.replicas.count == 2)
        #expect(everyLayer(trained.replicas) == true && everyLayer([trained]) == false)
        #expect(fresh.memory.activationBytes < trained.memory.activationBytes / 2)
        // A training step plans every layer, and gives the gradients of a model that planned so from the start.
        let a = try fresh.forwardBackward(tokens: tokens, targets: targets, batch: 4, time: 16)
        let b = try trained.forwardBackward(tokens: tokens, targets: targets, batch: 4, time: 16)
        #expect(a == b && fresh.gradients.values == trained.gradients.values)
        let shardPlans = fresh.replicas.compactMap(\.activations)
        #expect(shardPlans.count == 2 && shardPlans.allSatisfy(\.keepsEveryLayer))
        // An evaluation between steps runs in those plans.
        _ = try fresh.loss(tokens: tokens, targets: targets, batch: 4, time: 16)
        let samePlans = fresh.replicas.compactMap(\.activations).elementsEqual(shardPlans) { $0 === $1 }
        #expect(samePlans)
        // A plan that changes kind takes the pass's shape (a forward-only plan for 4 sequences did not make the
        // training plan of 1 four times larger than its check counted); one of the same kind grows.
        let single = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 1))
        _ = try single.forward(tokens: tokens, batch: 4, time: 16)
        try single.forwardBackward(tokens: Array(tokens[..<16]), targets: Array(targets[..<16]), batch: 1, time: 16)
        #expect(single.activations.map { ($0.keepsEveryLayer, $0.maxBatch) } ?? (false, 0) == (true, 1))
        _ = try single.forward(tokens: tokens, batch: 4, time: 16)
        #expect(single.activations.map { ($0.keepsEveryLayer, $0.maxBatch) } ?? (false, 0) == (true, 4))
        // The small preset's pass: its forward plan against its training plan.
        let small = GPTConfig.small(vocabSize: 65)
        #expect(Activations.estimatedBytes(config: small, batch: 8, time: 256, needs: .forward)
                < Activations.estimatedBytes(config: small, batch: 8, time: 256) / 5)
    }

    /// Passes that stop at the final hidden state (a classifier's, the decoder's prefill) plan no logits, V floats
    /// a row: at GPT-2's vocabulary of 50,257, 201 KB a position, far more than the rest of a forward plan of a
    /// narrow model. They give the same hidden states, gradients and next-token logits as passes planned with
    /// logits; a pass that needs logits afterwards plans them.
    @Test func passesToTheHiddenStatePlanNoLogits() throws {
        let config = GPTConfig(layers: 2, heads: 2, width: 32, context: 16, vocabSize: 3000)
        let tokens = (0..<64).map { Int32(($0 * 37) % 3000) }
        #expect(Activations.estimatedBytes(config: config, batch: 4, time: 16, needs: .hidden) + 4 * 64 * 3000
                == Activations.estimatedBytes(config: config, batch: 4, time: 16, needs: .forward))
        // Hidden states, then a classifier-style backward (dh = h, the gradient of |h|^2 / 2): a model that
        // planned without logits against one that planned with them, on one thread and on two (sharded).
        func run(_ model: GPT, reserving logits: Bool) throws -> (hidden: [Float], gradients: [Float]) {
            try model.reserve(batch: 4, time: 16, logits: logits)
            var hidden: [Float] = []
            try tokens.withUnsafeBufferPointer { t in
                try model.forwardHidden(tokens: t.baseAddress!, batch: 4, time: 16) { sequences, h in
                    hidden += UnsafeBufferPointer(start: h, count: sequences.count * 16 * config.width)
                }
                try model.forwardBackward(tokens: t.baseAddress!, batch: 4, time: 16) { sequences, h, dh in
                    for i in 0..<(sequences.count * 16 * config.width) { dh[i] += h[i] }
                }
            }
            return (hidden, model.gradients.values)
        }
        for threads in [1, 2] {
            let without = try GPT(config: config, seed: 3, pool: ThreadPool(threads: threads))
            let withLogits = try GPT(config: config, seed: 3, pool: ThreadPool(threads: threads))
            let (a, b) = (try run(without, reserving: false), try run(withLogits, reserving: true))
            #expect(a.hidden == b.hidden && a.gradients == b.gradients)
            let plans = ([without] + without.replicas).compactMap(\.activations)
            #expect(!plans.isEmpty && plans.allSatisfy { $0.needs == PassNeeds(backward: true, logits: false) })
            #expect(without.memory.activationBytes < withLogits.memory.activationBytes / 2)
        }
        // The decoder's prefill: no logits planned, the same next-token logits as a full forward's last row.
        let model = try GPT(config: config, seed: 3, pool: ThreadPool(threads: 1))
        let decoder = try BatchDecoder(model: model, slots: 1)
        try decoder.prefill(slot: 0, tokens: Array(tokens[..<16]))
        #expect(model.activations?.needs == .hidden && model.logits == nil)
        let next = Array(UnsafeBufferPointer(start: decoder.logits(slot: 0), count: 3000))
        let last = try model.forward(tokens: Array(tokens[..<16]), batch: 1, time: 16)[(15 * 3000)...]
        #expect(model.activations?.needs == .forward)
        #expect(zip(next, last).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
    }

    @Test func aBatchBeyondMemoryIsRefusedBeforeAllocating() throws {
        let model = try GPT(config: GPTConfig.tiny(vocabSize: 65), seed: 1, pool: ThreadPool(threads: 1))
        #expect(throws: GPTError.self) { try model.reserve(batch: 200_000_000, time: 64) }
        do {
            try model.reserve(batch: 99_999_999_999, time: 64)
            Issue.record("a batch of 99,999,999,999 sequences was planned")
        } catch let error as GPTError {
            #expect(error.description.hasPrefix("a batch of 99999999999 x 64 tokens (its activations) needs "), "\(error)")
            #expect(error.description.contains("GB of memory here"), "\(error)")
        }
        #expect(model.memory.activationBytes == 0)
        #expect(throws: GPTError.self) { try BatchDecoder(model: model, slots: 1 << 40) }
        try model.reserve(batch: 2, time: 64)   // a sane size still plans
        #expect(model.memory.activationBytes > 0)
    }

    /// A plan may take nine tenths of the memory, less what is already committed (a pass's activations beside
    /// the model's own buffers): a batch that needed all of the machine was accepted, and took it.
    @Test func theBudgetLeavesRoomAndCountsTheModel() throws {
        let usable = MemoryBudget.usableBytes, memory = Double(GPT.availableMemoryBytes)
        #expect(usable == 0.9 * memory)
        #expect(throws: Never.self) { try MemoryBudget.check(bytes: 0.5 * usable, what: "half") }
        #expect(throws: GPTError.self) { try MemoryBudget.check(bytes: 0.95 * memory, what: "almost all") }
        do {
            try MemoryBudget.check(bytes: 0.5 * usable, what: "half", besides: 0.6 * usable, holding: "the rest")
            Issue.record("half the budget was granted beside six tenths of it")
        } catch let error as GPTError {
            #expect(error == .doesNotFitInMemory(what: "half", bytes: 0.5 * usable, available: 0.4 * usable,
                                                 committed: 0.6 * usable, holding: "the rest", memory: memory))
        }
        // When the model's buffers (and a sharded pass's gradient copies) alone take more than the nine tenths,
        // the message says so instead of naming a negative room.
        let noRoom = GPTError.doesNotFitInMemory(what: "a batch of 2 x 64 tokens", bytes: 1e8, available: -1e8,
                                                 committed: 2.5e9, holding: GPT.holding(training: true),
                                                 memory: 2.6e9).description
        #expect(noRoom == "a batch of 2 x 64 tokens needs 0.1 GB, and none is left: the model's weights, gradients and "
                + "moments take 2.5 GB, more than the nine tenths of the 2.6 GB of memory here a run may take", "\(noRoom)")
        // A training pass's check counts the model's weights, gradients and moments and a sharded pass's extra
        // gradient buffers; a forward pass's only the weights.
        let config = GPTConfig.tiny(vocabSize: 65)
        let parameters = Double(ParameterLayout.parameterCount(of: config))
        for copies in [0, 3] {
            do {
                try GPT.checkMemory(config: config, batch: 99_999_999_999, time: 64, gradientCopies: copies)
                Issue.record("a batch of 99,999,999,999 sequences was planned")
            } catch let GPTError.doesNotFitInMemory(_, _, available, committed, _, _) {
                #expect(committed == (16 + 4 * Double(copies)) * parameters)
                #expect(available == usable - committed)
            }
        }
        do {
            try GPT.checkMemory(config: config, batch: 99_999_999_999, time: 64, gradientCopies: 3, training: false)
            Issue.record("a batch of 99,999,999,999 sequences was planned")
        } catch let GPTError.doesNotFitInMemory(_, _, _, committed, _, _) {
            #expect(committed == 4 * parameters)
        }
        // ... and the weights packed for short shards.
        do {
            try GPT.checkMemory(config: config, batch: 99_999_999_999, time: 64, gradientCopies: 1, packedWeights: true)
            Issue.record("a batch of 99,999,999,999 sequences was planned")
        } catch let GPTError.doesNotFitInMemory(_, _, _, committed, _, _) {
            #expect(committed == 20 * parameters + PackedWeights.bytes(config: config))
        }
    }

    /// A pass's check counts the plan it makes and the plans the model's other replicas keep: `forward` runs on
    /// the model alone (its check added up shard plans it never makes, a sixth of the every-layer plan it grew),
    /// and a sharded training run's replica plans stay beside it.
    @Test func aPassCountsThePlansItMakesAndThoseHeld() throws {
        let config = GPTConfig(layers: 6, heads: 2, width: 32, context: 16, vocabSize: 50)
        let model = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 2))
        let one = (0..<16).map { Int32($0 % 50) }, eight = (0..<128).map { Int32($0 % 50) }
        try model.forwardBackward(tokens: one, targets: one, batch: 1, time: 16)   // unsharded: every layer, for 1
        // (Within 15%: the estimate leaves out attention's per-thread workspace, 11% of so small a plan; the
        // shard plans the check used to add up came to a sixth.)
        let counted = model.activationBytesAfterPass(batch: 8, time: 16, needs: .forward, sharded: false)
        _ = try model.forward(tokens: eight, batch: 8, time: 16)
        let own = Double(try #require(model.activations).bytes)
        #expect(model.activations?.keepsEveryLayer == true && counted <= own && counted >= 0.85 * own, "\(counted) against \(own)")
        try model.forwardBackward(tokens: eight, targets: eight, batch: 8, time: 16)   // sharded: the replicas plan
        let replicas = model.replicas.reduce(0.0) { $0 + Double($1.activations?.bytes ?? 0) }
        let beside = model.activationBytesAfterPass(batch: 8, time: 16, needs: .forward, sharded: false)
        #expect(replicas > 0 && beside <= own + replicas && beside >= 0.85 * (own + replicas), "\(beside) against \(own + replicas)")
    }

    /// Packing ahead is a speed-up, never the reason a batch is refused: its buffer is made only when it fits
    /// beside the pass (its activations, the model's buffers, for training the shards' gradient copies).
    @Test func weightsArePackedAheadOnlyWhenTheyFit() throws {
        let config = GPTConfig.tiny(vocabSize: 65)
        let parameterBytes = 4 * Double(ParameterLayout.parameterCount(of: config))
        let packed = PackedWeights.bytes(config: config)
        for threads in [2, 3] {   // 2 or 3 shards of a batch of 6: 1 or 2 gradient copies
            let model = try GPT(config: config, seed: 1, pool: ThreadPool(threads: threads))
            let activations = (0..<threads).reduce(0.0) { sum, s in
                sum + Activations.estimatedBytes(config: config, batch: 6 / threads, time: 64)
            }
            let training = activations + Double(4 + threads - 1) * parameterBytes
            #expect(model.packedWeightsFit(batch: 6, time: 64, needs: .training, usable: training + packed))
            #expect(!model.packedWeightsFit(batch: 6, time: 64, needs: .training, usable: training + packed - 1))
            // A forward pass, of a model that has not trained: one-layer plans beside the weights alone.
            let forward = (0..<threads).reduce(0.0) { sum, s in
                sum + Activations.estimatedBytes(config: config, batch: 6 / threads, time: 64, needs: .forward)
            } + parameterBytes
            #expect(model.packedWeightsFit(batch: 6, time: 64, needs: .forward, usable: forward + packed))
            #expect(!model.packedWeightsFit(batch: 6, time: 64, needs: .forward, usable: forward + packed - 1))
        }
    }

    /// The packed weights of short shards take no more than the memory check counts for them, and only a pass
    /// that packs allocates them.
    @Test func packedWeightsStayWithinTheirEstimate() throws {
        let config = GPTConfig.tiny(vocabSize: 65)
        let model = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 2))
        let tokens = [Int32](repeating: 3, count: 2 * 64)
        _ = try model.forward(tokens: tokens, batch: 2, time: 64)   // not sharded: nothing packed
        #expect(model.packedWeights.allocatedBytes == 0)
        #expect(model.hasShortShards(batch: 16, time: 64) && !model.hasShortShards(batch: 18, time: 64))   // 512 and 576 rows a shard
        _ = try model.forwardBackward(tokens: tokens, targets: tokens, batch: 2, time: 64)
        let bytes = model.packedWeights.allocatedBytes
        #expect(bytes > 0 && Double(bytes) <= PackedWeights.bytes(config: config), "\(bytes)")
    }

    /// Gradients and moments are made at first use: a model that only runs forward holds none of them, so
    /// `sample` and the evaluations save three times the weights' memory; a sharded pass (two threads) too, in
    /// its replicas as well. `reserve` makes them all ahead of a training run.
    @Test func aModelThatOnlyRunsForwardHoldsNoGradientsOrMoments() throws {
        let config = GPTConfig(layers: 2, heads: 2, width: 32, context: 16, vocabSize: 50)
        let model = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 2))
        let tokens = (0..<64).map { Int32($0 % 50) }, targets = (0..<64).map { Int32(($0 + 1) % 50) }
        _ = try model.forward(tokens: tokens, batch: 4, time: 16)
        _ = try model.loss(tokens: tokens, targets: targets, batch: 4, time: 16)
        #expect(model.shardCount(batch: 4) == 2 && model.replicas.count == 2)
        #expect(([model] + model.replicas).allSatisfy { $0.trainingBufferBytes == 0 })
        _ = try model.forwardBackward(tokens: tokens, targets: targets, batch: 4, time: 16)
        #expect(model.trainingBufferBytes == model.parameters.bytes)
        model.update(learningRate: 1e-3, step: 1)
        #expect(model.trainingBufferBytes == 3 * model.parameters.bytes)
        let reserved = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 2))
        try reserved.reserve(batch: 4, time: 16)
        #expect(reserved.trainingBufferBytes == 3 * reserved.parameters.bytes)
        #expect(reserved.replicas.count == 2 && reserved.replicas[1].trainingBufferBytes == reserved.parameters.bytes)
    }

    /// A model whose weights exceed memory is refused before they are allocated (it was killed by the kernel,
    /// without a word); to train, its gradients and moments count too. 59.6 billion parameters need 238 GB, and
    /// 954 GB to train: more than any machine here.
    @Test func aModelBeyondMemoryIsRefusedBeforeAllocating() throws {
        let config = GPTConfig(layers: 74, heads: 64, width: 8192, context: 8, vocabSize: 65)
        do {
            _ = try GPT(config: config, pool: ThreadPool(threads: 1))
            Issue.record("a model of 59.6 billion parameters was allocated")
        } catch let error as GPTError {
            #expect(error.description.hasPrefix("a model of 59.60 billion parameters needs 238.4 GB for its weights, "
                                                + "more than "), "\(error)")
        }
        do {
            try GPT.checkMemory(config: config, batch: 1, time: 8)
            Issue.record("training a model of 59.6 billion parameters was planned")
        } catch let error as GPTError {
            #expect(error.description.hasPrefix("a model of 59.60 billion parameters needs 953.")
                    && error.description.contains("for its weights, gradients and AdamW moments"), "\(error)")
        }
    }

    /// A pass beside the model counts the buffers the model holds, and those a training pass makes: a model that
    /// only samples or evaluates was charged for gradients and moments it never makes (16 bytes a parameter
    /// instead of 4), so a machine that could hold its weights refused it. An evaluation during training counts
    /// the training buffers it runs beside.
    @Test func aPassCountsTheBuffersTheModelHoldsOrMakes() throws {
        let config = GPTConfig(layers: 2, heads: 2, width: 32, context: 16, vocabSize: 50)
        let model = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 2))
        let weights = Double(model.parameters.bytes), huge = 99_999_999_999
        let tokens = [Int32](repeating: 1, count: 16)
        let weightsOnly = GPT.holding(training: false), trainingBuffers = GPT.holding(training: true)
        #expect(weightsOnly == "the model's weights" && trainingBuffers == "the model's weights, gradients and moments")
        /// The bytes a pass's refusal says were committed beside it, and what it says they hold (nil: not refused
        /// for memory).
        func committed(_ pass: (UnsafePointer<Int32>) throws -> Void) -> Committed? {
            do { try tokens.withUnsafeBufferPointer { try pass($0.baseAddress!) } }
            catch let GPTError.doesNotFitInMemory(_, _, _, committed, holding, _) {
                return Committed(bytes: committed, holding: holding)
            } catch { Issue.record("\(error)") }
            return nil
        }
        func packed() -> Double { model.packedWeights.allocatedBytes > 0 ? PackedWeights.bytes(config: config) : 0 }
        let forward = Committed(bytes: weights, holding: weightsOnly)
        #expect(committed { try model.forward(tokens: $0, batch: huge, time: 16) } == forward)
        #expect(committed { _ = try model.loss(tokens: $0, targets: $0, batch: huge, time: 16) } == forward)
        #expect(committed { try model.forwardHidden(tokens: $0, batch: huge, time: 16) { _, _ in } } == forward)
        // Training on two threads: the gradients, two moments and the second shard's gradient copy.
        let training = Committed(bytes: 5 * weights, holding: trainingBuffers)
        #expect(committed { try model.forwardBackward(tokens: $0, targets: $0, batch: huge, time: 16) } == training)
        #expect(committed { try model.forwardBackward(tokens: $0, batch: huge, time: 16) { _, _, _ in } } == training)
        // After a training step the model holds them, and a forward pass runs beside them.
        let batch = [Int32](repeating: 1, count: 4 * 16)
        try model.forwardBackward(tokens: batch, targets: batch, batch: 4, time: 16)
        model.update(learningRate: 1e-3, step: 1)
        #expect(model.trainingBufferBytes == 3 * model.parameters.bytes)
        #expect(committed { _ = try model.loss(tokens: $0, targets: $0, batch: huge, time: 16) }
                == Committed(bytes: 5 * weights + packed(), holding: trainingBuffers))
        // A decoder counts its cache and its copy of the weights beside the model's buffers.
        let sampler = try GPT(config: config, seed: 1, pool: ThreadPool(threads: 1))
        do {
            _ = try BatchDecoder(model: sampler, slots: 1 << 40)
            Issue.record("a decoder of 2^40 slots was made")
        } catch let GPTError.doesNotFitInMemory(_, _, _, committed, holding, _) {
            #expect(Committed(bytes: committed, holding: holding)
                    == Committed(bytes: Double(sampler.parameters.bytes), holding: weightsOnly))
        }
    }

    struct Committed: Equatable {
        let bytes: Double
        let holding: String
    }
}
