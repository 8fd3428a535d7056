import Foundation
import GPT
import TerminalUI

/// A line before a large run allocates its buffers. The kernel zeroes every page on its first touch, and on a
/// virtual machine that runs at about a gigabyte a second: the `gpt2` preset at batch 4 x 1024 (6 GB) spent 28 s
/// there without a word before its summary.
enum AllocationNotice {
    /// Runs smaller than this start within a second or two: no line.
    static let thresholdBytes = 1e9

    /// The line for a run of `config` over batches of `batch` x `time`, nil below `thresholdBytes`.
    static func text(config: GPTConfig, batch: Int, time: Int) -> String? {
        let bytes = GPT.trainingBytes(config: config, batch: batch, time: time)
        guard bytes >= thresholdBytes else { return nil }
        return String(format: "allocating about %.1f GB (weights, gradients, AdamW moments, the activations of a "
                      + "%d x %d batch) before the first step", bytes / 1e9, batch, time)
    }

    static func show(config: GPTConfig, batch: Int, time: Int) {
        if let line = text(config: config, batch: batch, time: time) { Terminal.writeError(line + "\n") }
    }
}
