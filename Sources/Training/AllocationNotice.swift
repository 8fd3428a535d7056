import Foundation
import GPT

/// The line a run shows before it allocates its buffers, when they are large or more than the memory free now.
/// The kernel zeroes every page on its first touch, at about a gigabyte a second on this virtual machine: the
/// `gpt2` preset at batch 4 x 1024 (6.6 GB) spent 28 s there without a word before its summary. And the memory
/// check (`GPT.checkMemory`) counts the machine's memory, not what other programs leave free: a run that fits
/// the machine but not what is free now would swap, or be killed without a word.
public enum AllocationNotice {
    /// Runs that allocate less than this start within a second or two: no line unless memory is short.
    static let thresholdBytes = 1e9

    /// The line for a run of `config` over batches of `batch` x `time` with `free` bytes free now (nil: unknown).
    public static func text(config: GPTConfig, batch: Int, time: Int,
                            free: Double? = GPT.freeMemoryBytes()) -> String? {
        let bytes = GPT.trainingBytes(config: config, batch: batch, time: time)
        if let free, bytes > free {
            return String(format: "note: this run takes about %.1f GB and %.1f GB of memory is free now (MemAvailable "
                          + "in /proc/meminfo): it may swap or be killed; a smaller --batch-size or --context takes less",
                          bytes / 1e9, free / 1e9)
        }
        guard bytes >= thresholdBytes else { return nil }
        // (The sizes interpolated, not %d: String(format:) takes %d as 32 bits.)
        return String(format: "allocating about %.1f GB ", bytes / 1e9) + "(weights, gradients, AdamW moments, the "
            + "activations of a \(batch) x \(time) batch) before the first step"
    }
}
