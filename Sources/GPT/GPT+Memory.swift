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

    /// `physical`, or the lowest of the cgroup limit files' numbers when lower ("max" and unreadable text
    /// mean no limit).
    static func availableMemory(physical: Int, cgroupLimits: [String]) -> Int {
        cgroupLimits.compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }.reduce(physical, min)
    }
}

extension GPT {
    /// Throws `GPTError.doesNotFitInMemory` when a model of `config` could not plan a training pass over `batch`
    /// x `time` here: its activations beside the model's own buffers, `gradientCopies` more gradient buffers
    /// (a sharded pass's replicas, GPT+Shards.swift) and, with `packedWeights`, the weights packed for short
    /// shards (PackedWeights.swift). The check `reserve` makes, for callers that want it before
    /// slow work (a corpus preparation).
    public static func checkMemory(config: GPTConfig, batch: Int, time: Int, gradientCopies: Int = 0,
                                   packedWeights: Bool = false) throws {
        try checkModelMemory(config: config)
        try MemoryBudget.check(bytes: Activations.estimatedBytes(config: config, batch: batch, time: time),
                               what: "a batch of \(batch) x \(time) tokens (its activations)",
                               besides: committedBytes(config: config, gradientCopies: gradientCopies,
                                                       packedWeights: packedWeights))
    }

    /// Whether the weights packed for short shards (PackedWeights.swift) fit within `usable` bytes beside a pass
    /// over `batch` x `time` with `gradientCopies`. Packing ahead is a speed-up: a pass packs only when they fit,
    /// so they are never the reason a batch is refused.
    static func packedWeightsFit(config: GPTConfig, batch: Int, time: Int, gradientCopies: Int,
                                 usable: Double = MemoryBudget.usableBytes) -> Bool {
        Activations.estimatedBytes(config: config, batch: batch, time: time)
            + committedBytes(config: config, gradientCopies: gradientCopies, packedWeights: true) <= usable
    }

    /// The buffers a pass's activations come beside: the model's, `gradientCopies` more gradient buffers and,
    /// with `packedWeights`, the packed weights.
    static func committedBytes(config: GPTConfig, gradientCopies: Int, packedWeights: Bool) -> Double {
        let gradientBytes = 4 * Double(ParameterLayout.parameterCount(of: config))
        return modelBytes(config: config) + Double(gradientCopies) * gradientBytes
            + (packedWeights ? PackedWeights.bytes(config: config) : 0)
    }

    /// Throws `GPTError.modelDoesNotFitInMemory` when the model's four parameter-sized buffers (weights,
    /// gradients, AdamW's two moments) exceed the memory a plan may take here (`MemoryBudget.usableShare`);
    /// allocating them would end in the kernel's out-of-memory kill, without a word.
    public static func checkModelMemory(config: GPTConfig) throws {
        let bytes = modelBytes(config: config), usable = MemoryBudget.usableBytes
        if bytes > usable {
            throw GPTError.modelDoesNotFitInMemory(parameters: ParameterLayout.parameterCount(of: config), bytes: bytes,
                                                   available: usable)
        }
    }

    /// Bytes of the weights, gradients and AdamW's two moments: 16 a parameter.
    static func modelBytes(config: GPTConfig) -> Double { 16 * Double(ParameterLayout.parameterCount(of: config)) }
}

/// Refuses a plan whose buffers would not fit in memory before anything is allocated: a batch typed with a few
/// zeros too many would otherwise end in the allocator's fatal error, and one that just fits would take the
/// whole machine.
enum MemoryBudget {
    /// The share of the memory here that a model and its passes may take; the rest stays with the system, the
    /// process's code and the smaller buffers the estimates leave out.
    static let usableShare = 0.9
    static var usableBytes: Double { usableShare * Double(GPT.availableMemoryBytes) }

    /// Refuses `bytes` for `what` when, with the `besides` bytes already committed, they exceed `usableBytes`.
    static func check(bytes: Double, what: String, besides committed: Double = 0) throws {
        let room = usableBytes - committed
        if bytes > room {
            throw GPTError.doesNotFitInMemory(what: what, bytes: bytes, available: room, committed: committed,
                                              memory: Double(GPT.availableMemoryBytes))
        }
    }
}
