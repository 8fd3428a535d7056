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
    /// x `time` here: the check `reserve` makes, for callers that want it before slow work (a corpus preparation).
    public static func checkMemory(config: GPTConfig, batch: Int, time: Int) throws {
        try checkModelMemory(config: config)
        try MemoryBudget.check(bytes: Activations.estimatedBytes(config: config, batch: batch, time: time),
                               what: "a batch of \(batch) x \(time) tokens (its activations)")
    }
}

extension GPT {
    /// Throws `GPTError.modelDoesNotFitInMemory` when the model's four parameter-sized buffers (weights,
    /// gradients, AdamW's two moments: 16 bytes a parameter) exceed the memory here; allocating them would end
    /// in the kernel's out-of-memory kill, without a word.
    public static func checkModelMemory(config: GPTConfig) throws {
        let parameters = ParameterLayout.parameterCount(of: config)
        let bytes = 16 * Double(parameters), available = Double(GPT.availableMemoryBytes)
        if bytes > available { throw GPTError.modelDoesNotFitInMemory(parameters: parameters, bytes: bytes, available: available) }
    }
}

/// Refuses a plan whose buffers would not fit in memory before anything is allocated: a batch typed with a few
/// zeros too many would otherwise end in the allocator's fatal error.
enum MemoryBudget {
    static func check(bytes: Double, what: String) throws {
        let available = Double(GPT.availableMemoryBytes)
        if bytes > available { throw GPTError.doesNotFitInMemory(what: what, bytes: bytes, available: available) }
    }
}
