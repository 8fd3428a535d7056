import Foundation
import GPT

/// A language model's loss over a whole token stream: every next-token prediction scored once
/// (`EvaluationWindows`), the windows run `batchSize` at a time through `GPT.loss` with weight 1 on the
/// positions a window scores and 0 on the context it only reads. Deterministic, unlike training's validation
/// loss (the mean over random windows); with the stride equal to the context, both estimate the same mean loss.
public enum TextEvaluation {
    /// The summed loss of a stream's predictions.
    public struct Score: Equatable, Sendable {
        /// Predictions scored (the stream's tokens - 1).
        public var targets = 0
        /// Sum of -ln p(target) over them, in nats.
        public var totalLoss = 0.0

        public init(targets: Int = 0, totalLoss: Double = 0) {
            self.targets = targets
            self.totalLoss = totalLoss
        }

        /// Nats a token; NaN when nothing was scored.
        public var meanLoss: Double { targets > 0 ? totalLoss / Double(targets) : .nan }
        public var perplexity: Double { exp(meanLoss) }
        /// Bits per byte of the text the tokens stand for: total loss / ln 2 / bytes. Unlike the loss a token,
        /// it compares models whose tokenizers differ.
        public func bitsPerByte(bytes: Int) -> Double { bytes > 0 ? totalLoss / log(2) / Double(bytes) : .nan }

        public static func + (a: Score, b: Score) -> Score {
            Score(targets: a.targets + b.targets, totalLoss: a.totalLoss + b.totalLoss)
        }
    }

    /// Scores `tokens` with `model` (ids checked by the model: one outside its vocabulary throws).
    /// `progress(done, windows)` is called after each batch of windows.
    public static func score(model: GPT, tokens: UnsafeBufferPointer<Int32>, stride: Int, batchSize: Int,
                             progress: (_ done: Int, _ windows: Int) -> Void = { _, _ in }) throws -> Score {
        let windows = EvaluationWindows(tokenCount: tokens.count, context: model.config.context, stride: stride)
        let t = windows.length, batch = max(1, min(batchSize, windows.count))
        guard windows.count > 0 else { return Score() }
        let inputs = UnsafeMutablePointer<Int32>.allocate(capacity: batch * t)
        let targets = UnsafeMutablePointer<Int32>.allocate(capacity: batch * t)
        let weights = UnsafeMutablePointer<Float>.allocate(capacity: batch * t)
        defer { inputs.deallocate(); targets.deallocate(); weights.deallocate() }

        var score = Score()
        var first = 0
        while first < windows.count {
            let rows = min(batch, windows.count - first)
            var scored = 0
            for row in 0..<rows {
                let window = windows[first + row], offset = row * t
                (inputs + offset).update(from: tokens.baseAddress! + window.start, count: t)
                (targets + offset).update(from: tokens.baseAddress! + window.start + 1, count: t)
                for position in 0..<t { weights[offset + position] = position < window.firstScored ? 0 : 1 }
                scored += t - window.firstScored
            }
            // The weighted mean over the scored positions, back to their sum (exact: a count of ones).
            let mean = try model.loss(tokens: inputs, targets: targets, weights: weights, batch: rows, time: t)
            score = score + Score(targets: scored, totalLoss: mean * Double(scored))
            first += rows
            progress(first, windows.count)
        }
        return score
    }
}
