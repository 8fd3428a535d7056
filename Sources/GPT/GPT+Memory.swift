import Foundation

// How much memory a model and its passes may take here, checked before anything is allocated.

extension GPT {
    /// The memory `shardLimit` shares out (and `MemoryBudget` checks against): the machine's, or a container's
    /// limit when lower (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`). Read once: every pass checks its
    /// shape against it.
    static let availableMemoryBytes: Int = {
        let files = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        return availableMemory(physical: Int(clamping: ProcessInfo.processInfo.physicalMemory),
                               cgroupLimits: files.compactMap { try? String(contentsOfFile: $0, encoding: .utf8) })
    }()

    /// The memory free for a new run now: /proc/meminfo's MemAvailable (free pages and the caches the kernel can
    /// drop), nil where unreadable. Not what the budget checks (that stays the machine's, so a run's plans do not
    /// change with what else runs), but what a run that needs more than it should hear of.
    public static func freeMemoryBytes() -> Double? {
        (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)).flatMap(memAvailable)
    }

    /// MemAvailable of a /proc/meminfo text, in bytes ("MemAvailable:   20979308 kB").
    static func memAvailable(_ meminfo: String) -> Double? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[2] == "kB", let kibibytes = Double(fields[1]) else { return nil }
            return kibibytes * 1024
        }
        return nil
    }

    /// `physical`, or the lowest of the cgroup limit files' numbers when lower ("max" and unreadable text
    /// mean no limit).
    static func availableMemory(physical: Int, cgroupLimits: [String]) -> Int {
        cgroupLimits.compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.reduce(physical, min)
    }
}

extension GPT {
    /// Throws `GPTError.doesNotFitInMemory` when a model of `config` could not plan a pass over `batch` x `time`
    /// here: its activations (a forward-only plan unless `training`) beside the model's weights and, for a
    /// `training` pass, its gradients and AdamW moments, `gradientCopies` more gradient buffers (a sharded pass's
    /// replicas, GPT+Shards.swift) and, with `packedWeights`, the weights packed for short shards
    /// (PackedWeights.swift). The check a model's own passes make (`checkShape`, which counts the buffers and
    /// plans that model has), for callers that want it before the model exists or before slow work (a corpus
    /// preparation).
    public static func checkMemory(config: GPTConfig, batch: Int, time: Int, gradientCopies: Int = 0,
                                   packedWeights: Bool = false, training: Bool = true) throws {
        try checkModelMemory(config: config, training: training)
        try MemoryBudget.check(bytes: Activations.estimatedBytes(config: config, batch: batch, time: time,
                                                                 needs: training ? .training : .forward),
                               what: batchDescription(batch: batch, time: time),
                               besides: committedBytes(config: config, gradientCopies: gradientCopies,
                                                       packedWeights: packedWeights, training: training),
                               holding: holding(training: training))
    }

    /// Throws `GPTError.doesNotFitInMemory` when `bytes` for `what` exceed the memory a run may take here (nine
    /// tenths of it): for tools that allocate buffers of their own (the benchmarks), before they do.
    public static func checkFits(bytes: Double, what: String) throws {
        try MemoryBudget.check(bytes: bytes, what: what)
    }

    /// A pass's batch as memory errors name it.
    static func batchDescription(batch: Int, time: Int) -> String {
        "a batch of \(batch) x \(time) tokens (its activations)"
    }

    /// What a model's committed bytes hold, for the messages: its weights, and its training buffers when it has
    /// or makes them.
    static func holding(training: Bool) -> String {
        training ? "the model's weights, gradients and moments" : "the model's weights"
    }

    /// Whether the weights packed for short shards (PackedWeights.swift) fit within `usable` bytes beside a pass
    /// over `batch` x `time` with `needs` (a backward pass's training buffers too; `sharded` as in
    /// `activationBytesAfterPass`), as `checkShape` counts it. Packing ahead is a speed-up: a pass packs only when
    /// they fit, so they are never the reason a batch is refused.
    func packedWeightsFit(batch: Int, time: Int, needs: PassNeeds, sharded: Bool = true,
                          usable: Double = MemoryBudget.usableBytes) -> Bool {
        activationBytesAfterPass(batch: batch, time: time, needs: needs, sharded: sharded)
            + committedBytes(batch: batch, training: needs.backward, packed: true).bytes <= usable
    }

    /// The buffers a pass's activations come beside: the model's (`modelBytes`), for a `training` pass
    /// `gradientCopies` more gradient buffers and, with `packedWeights`, the packed weights.
    static func committedBytes(config: GPTConfig, gradientCopies: Int, packedWeights: Bool, training: Bool) -> Double {
        let gradientBytes = 4 * Double(ParameterLayout.parameterCount(of: config))
        return modelBytes(config: config, training: training)
            + (training ? Double(gradientCopies) * gradientBytes : 0)
            + (packedWeights ? PackedWeights.bytes(config: config) : 0)
    }

    /// The buffers a pass over `batch` x `time` of this model comes beside: its weights, the gradients and moments
    /// it and its replicas hold (an evaluation during training runs beside them), at least those a `training`
    /// pass makes (its own three, and a gradient buffer each replica past the first), and the packed weights
    /// when `packed`.
    func committedBytes(batch: Int, training: Bool, packed: Bool) -> (bytes: Double, holding: String) {
        let held = Double(([self] + replicas).reduce(0) { $0 + $1.trainingBufferBytes })
        let made = training ? Double(3 + shardCount(batch: batch) - 1) * Double(parameters.bytes) : 0
        return (Double(parameters.bytes) + max(held, made) + (packed ? PackedWeights.bytes(config: config) : 0),
                GPT.holding(training: held > 0 || training) + (packed ? " (and its weights packed for short shards)" : ""))
    }

    /// Throws `GPTError.modelDoesNotFitInMemory` when the model's weights (with `training`, also its gradients
    /// and AdamW's two moments: four parameter-sized buffers) exceed the memory a plan may take here
    /// (`MemoryBudget.usableShare`); allocating them would end in the kernel's out-of-memory kill, without a word.
    public static func checkModelMemory(config: GPTConfig, training: Bool = true) throws {
        let bytes = modelBytes(config: config, training: training), usable = MemoryBudget.usableBytes
        if bytes > usable {
            throw GPTError.modelDoesNotFitInMemory(parameters: ParameterLayout.parameterCount(of: config), bytes: bytes,
                                                   available: usable, training: training)
        }
    }

    /// About the bytes a training run of `config` over batches of `batch` x `time` allocates: weights, gradients,
    /// AdamW's moments and one step's activations (without sharding's extra buffers).
    public static func trainingBytes(config: GPTConfig, batch: Int, time: Int) -> Double {
        modelBytes(config: config, training: true) + Activations.estimatedBytes(config: config, batch: batch, time: time)
    }

    /// Bytes of the weights (4 a parameter), with `training` also the gradients and AdamW's two moments (16).
    static func modelBytes(config: GPTConfig, training: Bool) -> Double {
        Double(training ? 16 : 4) * Double(ParameterLayout.parameterCount(of: config))
    }
}

/// Refuses a plan whose buffers would not fit in memory before anything is allocated: a batch typed with a few
/// zeros too many would otherwise end in the allocator's fatal error, and one that just fits would take the
/// whole machine.
enum MemoryBudget {
    /// The share of the memory here that a model and its passes may take; the rest stays with the system, the
    /// process's code and the smaller buffers the estimates leave out.
    static let usableShare = 0.9
    static var usableBytes: Double { usableShare * Double(GPT.availableMemoryBytes) }

    /// Refuses `bytes` for `what` when, with the `besides` bytes already committed (`holding` them, as the message
    /// says), they exceed `usableBytes`.
    static func check(bytes: Double, what: String, besides committed: Double = 0, holding: String = "") throws {
        let room = usableBytes - committed
        if bytes > room {
            throw GPTError.doesNotFitInMemory(what: what, bytes: bytes, available: room, committed: committed,
                                              holding: holding, memory: Double(GPT.availableMemoryBytes))
        }
    }
}

/// What a model holds and its passes plan: the report of the memory target, and the activations a pass adds.
extension GPT {
    /// Bytes this model needs to train, by kind: the gradients and moments counted whether they exist yet or not
    /// (`trainingBufferBytes` is what exists), activations as planned so far (the shards' included, attention
    /// scratch included; after forward passes only, their one-layer plans). The gradient buffers of shards 1...
    /// and the weights packed for short shards (PackedWeights.swift) are not counted: they are the cost of
    /// sharding, beyond what the shapes of one model need.
    public var memory: MemoryReport {
        MemoryReport(parameterBytes: parameters.bytes, gradientBytes: parameters.bytes,
                     momentBytes: 2 * parameters.bytes,
                     activationBytes: ([self] + replicas).reduce(0) { $0 + ($1.activations?.bytes ?? 0) })
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
