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
    /// `held`: bytes the run's model holds already (a loaded checkpoint's weights, and a resumed run's moments),
    /// which the memory free now no longer counts, so they are not counted against it twice.
    public static func text(config: GPTConfig, batch: Int, time: Int, held: Double = 0,
                            free: Double? = GPT.freeMemoryBytes()) -> String? {
        let bytes = GPT.trainingBytes(config: config, batch: batch, time: time)
        let toAllocate = max(0, bytes - held)
        if let free, toAllocate > free {
            return String(format: "note: this run takes about %.1f GB", bytes / 1e9)
                + (held > 0 ? String(format: " (%.1f GB of it not allocated yet)", toAllocate / 1e9) : "")
                + String(format: " and %.1f GB of memory is free now (MemAvailable in /proc/meminfo): it may swap or be "
                         + "killed; a smaller --batch-size or --context takes less", free / 1e9)
        }
        guard toAllocate >= thresholdBytes else { return nil }
        // (The sizes interpolated, not %d: String(format:) takes %d as 32 bits.)
        let what = held > 0 ? String(format: "more, beside the %.1f GB the loaded model holds,", held / 1e9)
            : "(weights, gradients, AdamW moments, the activations of a \(batch) x \(time) batch)"
        return String(format: "allocating about %.1f GB ", toAllocate / 1e9) + what + " before the first step"
    }
}
