import Foundation
import Kernels

/// A GPT-2 sequence classifier (transformers' GPT2ForSequenceClassification): the final hidden state h
/// (after ln_f) at the last real token of each text feeds a linear head without bias,
///
///   logits[b, k] = sum_c score[k, c] * h[b, len_b - 1, c]        score: [labels, width]
///
/// Texts of different lengths are batched with right padding: tokens [batch, time] holds `padTokenId` after
/// each text's `lengths[b]` real tokens, and causal attention means padding never changes a real position.
public final class SequenceClassifier {
    public let model: GPT
    /// id2label: the label names in id order.
    public let labels: [String]
    /// The id written after each text in a batch (config.json's pad_token_id, which transformers uses to find
    /// the last real token).
    public let padTokenId: Int32
    /// score.weight [labels, width], its gradient (accumulated) and AdamW moments.
    public let score: FloatBuffer
    public let scoreGradient: FloatBuffer
    public let scoreFirstMoment: FloatBuffer
    public let scoreSecondMoment: FloatBuffer
    public static let scoreTensorName = "score.weight"

    public var labelCount: Int { labels.count }
    public var width: Int { model.config.width }

    /// A classifier with a zero head (load or `initializeHead` next).
    public init(model: GPT, labels: [String], padTokenId: Int32) throws {
        guard labels.count >= 2 else { throw ClassifierError.tooFewLabels(count: labels.count) }
        guard Set(labels).count == labels.count else { throw ClassifierError.duplicateLabels }
        guard padTokenId >= 0, Int(padTokenId) < model.config.vocabSize else {
            throw ClassifierError.padOutOfRange(id: padTokenId, vocabSize: model.config.vocabSize)
        }
        self.model = model
        self.labels = labels
        self.padTokenId = padTokenId
        let count = labels.count * model.config.width
        score = FloatBuffer(count: count)
        scoreGradient = FloatBuffer(count: count)
        scoreFirstMoment = FloatBuffer(count: count)
        scoreSecondMoment = FloatBuffer(count: count)
    }

    /// score ~ N(0, 0.02), as transformers initialises a new head.
    public func initializeHead(using generator: inout SeededGenerator) {
        for i in 0..<score.count { score.pointer[i] = Float(generator.nextNormal() * 0.02) }
    }

    // MARK: - Checks

    func checkBatch(tokens: UnsafePointer<Int32>, lengths: [Int], batch: Int, time: Int) throws {
        guard lengths.count == batch else { throw GPTError.wrongInputCount(count: lengths.count, batch: batch, time: 1) }
        for (b, length) in lengths.enumerated() where length < 1 || length > time {
            throw ClassifierError.badLength(row: b, length: length, time: time)
        }
    }

    // MARK: - Inference

    /// Label logits [batch, labels] for right-padded tokens [batch, time].
    public func logits(tokens: UnsafePointer<Int32>, lengths: [Int], batch: Int, time: Int) throws -> [Float] {
        try checkBatch(tokens: tokens, lengths: lengths, batch: batch, time: time)
        var out = [Float](repeating: 0, count: batch * labelCount)
        try model.forwardHidden(tokens: tokens, batch: batch, time: time) { sequences, hidden in
            for b in sequences {
                let row = (b - sequences.lowerBound) * time + lengths[b] - 1
                headLogits(hidden + row * width, into: &out, at: b * labelCount)
            }
        }
        return out
    }

    /// Label probabilities [batch, labels] (softmax of `logits`).
    public func probabilities(tokens: UnsafePointer<Int32>, lengths: [Int], batch: Int, time: Int) throws -> [Float] {
        var p = try logits(tokens: tokens, lengths: lengths, batch: batch, time: time)
        for b in 0..<batch { Self.softmax(&p, offset: b * labelCount, count: labelCount) }
        return p
    }

    private func headLogits(_ h: UnsafePointer<Float>, into out: inout [Float], at offset: Int) {
        let C = width
        for k in 0..<labelCount {
            let w = score.pointer + k * C
            var sum: Float = 0
            for c in 0..<C { sum += w[c] * h[c] }
            out[offset + k] = sum
        }
    }

    static func softmax(_ x: inout [Float], offset: Int, count: Int) {
        var maxValue = -Float.infinity
        for k in 0..<count { maxValue = max(maxValue, x[offset + k]) }
        var sum: Float = 0
        for k in 0..<count { x[offset + k] = expf(x[offset + k] - maxValue); sum += x[offset + k] }
        for k in 0..<count { x[offset + k] /= sum }
    }

    /// Softmax of one text's label logits: its label probabilities (as `probabilities` gives them).
    public static func softmax(_ logits: [Float]) -> [Float] {
        var p = logits
        softmax(&p, offset: 0, count: p.count)
        return p
    }

    /// log sum_k exp(logits[k]), the max taken out first and the sum in Double. The cross-entropy of label y is
    /// this less logits[y]: exact where softmax's Float probability of y underflows to 0 (a logit 88 below
    /// the top one).
    public static func logSumExp(_ logits: UnsafeBufferPointer<Float>) -> Double {
        var maxValue = -Float.infinity
        for x in logits { maxValue = max(maxValue, x) }
        var sum = 0.0
        for x in logits { sum += Double(expf(x - maxValue)) }
        return Double(maxValue) + log(sum)
    }

    // MARK: - Training

    public struct Losses: Equatable, Sendable {
        /// Cross-entropy over labels (class-weighted mean over the batch, or its share of the step's: `totals`).
        public var classification: Double
        /// Mean next-token cross-entropy over the texts' tokens, or its share of the step's (0 when not asked for).
        public var languageModel: Double
        /// classification + lmLossWeight * languageModel: what the gradient is of.
        public var total: Double
    }

    /// What the means of `forwardBackward`'s losses divide by: the sum of the texts' class weights and the
    /// number of LM positions (a real token with a real next token).
    public struct LossTotals: Equatable, Sendable {
        public var classWeight: Float
        public var lmPositions: Int

        /// The totals of texts with these labels and lengths, in any number of batches: the class weights are
        /// summed as Floats in the texts' order (the order a single batch of them sums in).
        public init(labels: [Int], lengths: [Int], classWeights: [Float]?) {
            classWeight = labels.map { classWeights?[$0] ?? 1 }.reduce(0, +)
            lmPositions = lengths.reduce(0) { $0 + max(0, $1 - 1) }
        }
    }

    /// Forward and backward; ADDS to the gradients (model and head) the gradient of `gradientScale * total`,
    ///
    ///   total = sum_b w[y_b] CE_b / W  +  lmLossWeight * sum_positions LM_t / P,
    ///
    /// where CE_b = -log softmax(logits[b])[y_b], w the class weights (1 when nil), LM_t the next-token loss
    /// at every real position that has a real next token (GPT-1's auxiliary objective), and W, P `totals`:
    /// by default this batch's own (sum_b w[y_b] and its LM positions), giving the batch's weighted means.
    /// A step of several micro-batches passes the whole step's totals to each, so that their losses and
    /// gradients add up to those of one batch of all their texts (each micro-batch adds its share).
    /// `dropoutKey`: a training pass with the model's configured dropout (see GPT's `forwardBackward`).
    @discardableResult
    public func forwardBackward(tokens: UnsafePointer<Int32>, lengths: [Int], labels targets: [Int], batch: Int,
                                time: Int, classWeights: [Float]? = nil, lmLossWeight: Float = 0,
                                totals: LossTotals? = nil, gradientScale: Float = 1,
                                dropoutKey: UInt64? = nil) throws -> Losses {
        try checkBatch(tokens: tokens, lengths: lengths, batch: batch, time: time)
        guard targets.count == batch else { throw GPTError.wrongInputCount(count: targets.count, batch: batch, time: 1) }
        for (b, y) in targets.enumerated() where y < 0 || y >= labelCount {
            throw ClassifierError.labelOutOfRange(row: b, label: y, labelCount: labelCount)
        }
        if let classWeights {
            guard classWeights.count == labelCount else { throw ClassifierError.classWeightCount(classWeights.count, labelCount) }
            for w in classWeights where !(w >= 0) || !w.isFinite { throw ClassifierError.badClassWeight(w) }
        }
        let rowWeights = targets.map { classWeights?[$0] ?? 1 }
        let totals = totals ?? LossTotals(labels: targets, lengths: lengths, classWeights: classWeights)
        let weightSum = totals.classWeight

        // LM targets: the next real token; weight 1 on positions t < len - 1 of each text, 0 elsewhere.
        var lmTargets: [Int32] = []
        var lmWeights: [Float] = []
        var lmCount = 0     // this batch's LM positions
        if lmLossWeight > 0 {
            lmTargets = [Int32](repeating: 0, count: batch * time)
            lmWeights = [Float](repeating: 0, count: batch * time)
            for b in 0..<batch where lengths[b] > 1 {
                for t in 0..<(lengths[b] - 1) {
                    lmTargets[b * time + t] = tokens[b * time + t + 1]
                    lmWeights[b * time + t] = 1
                }
                lmCount += lengths[b] - 1
            }
        }
        precondition(totals.lmPositions >= lmCount, "the step's LM positions include this batch's")
        let lmScale = lmCount > 0 ? gradientScale * lmLossWeight / Float(totals.lmPositions) : 0

        var classification = 0.0
        let K = labelCount, C = width
        // Called once a shard, in shard order: the sequences' rows of h and dh start at the shard's first.
        let head: (Range<Int>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void = { sequences, hidden, dHidden in
            var logits = [Float](repeating: 0, count: K)
            for b in sequences {
                let row = ((b - sequences.lowerBound) * time + lengths[b] - 1) * C
                let h = hidden + row, dh = dHidden + row
                self.headLogits(h, into: &logits, at: 0)
                let y = targets[b]
                let logSum = logits.withUnsafeBufferPointer(Self.logSumExp)
                classification += Double(rowWeights[b]) * (logSum - Double(logits[y]))
                // dlogits[k] = (p_k - [k == y]) * w_y / sum(w) * gradientScale
                let coefficient = weightSum > 0 ? rowWeights[b] / weightSum * gradientScale : 0
                for k in 0..<K {
                    let p = Float(exp(Double(logits[k]) - logSum))
                    let d = (p - (k == y ? 1 : 0)) * coefficient
                    guard d != 0 else { continue }
                    let w = self.score.pointer + k * C, dw = self.scoreGradient.pointer + k * C
                    for c in 0..<C {
                        dw[c] += d * h[c]       // dscore[k, :] += dlogits[k] * h
                        dh[c] += d * w[c]       // dh += dlogits[k] * score[k, :]
                    }
                }
            }
        }
        let lm: Double
        if lmLossWeight > 0 {
            lm = try lmTargets.withUnsafeBufferPointer { t in
                try lmWeights.withUnsafeBufferPointer { w in
                    try model.forwardBackward(tokens: tokens, batch: batch, time: time, lmTargets: t.baseAddress,
                                              lmWeights: w.baseAddress, lmGradientScale: lmScale,
                                              dropoutKey: dropoutKey, head: head)
                }
            }
        } else {
            lm = try model.forwardBackward(tokens: tokens, batch: batch, time: time, dropoutKey: dropoutKey, head: head)
        }
        let cls = weightSum > 0 ? classification / Double(weightSum) : 0
        // lm is the mean over this batch's positions; its share of the mean over all P (exactly lm when P is its own).
        let lmShare = lmCount > 0 ? lm * (Double(lmCount) / Double(totals.lmPositions)) : 0
        return Losses(classification: cls, languageModel: lmShare, total: cls + Double(lmLossWeight) * lmShare)
    }

    // MARK: - Optimizer

    public func zeroGradients() {
        model.zeroGradients()
        scoreGradient.zero()
    }

    /// Global L2 norm over the model's and the head's gradients.
    public func gradientNorm() -> Double {
        let body = model.gradientNorm()
        let head = GradientClipping.globalNorm(scoreGradient.pointer, count: scoreGradient.count, pool: model.pool)
        return (body * body + head * head).squareRoot()
    }

    /// One AdamW step on the head (a 2-D weight: decayed) and the model's trainable tensors, on the gradients
    /// times `gradientScale`.
    public func update(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float,
                       step: Int, frozenLayers: Int = 0, gradientScale: Float = 1) {
        model.update(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                     weightDecay: weightDecay, step: step, frozenLayers: frozenLayers, gradientScale: gradientScale)
        AdamW.step(parameters: score.pointer, gradients: scoreGradient.pointer, m: scoreFirstMoment.pointer,
                   v: scoreSecondMoment.pointer, count: score.count, learningRate: learningRate, beta1: beta1,
                   beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, step: step, gradientScale: gradientScale,
                   pool: model.pool)
    }
}

/// A classifier that cannot be built or a batch it cannot run.
public enum ClassifierError: Error, Equatable, CustomStringConvertible {
    case tooFewLabels(count: Int)
    case duplicateLabels
    case padOutOfRange(id: Int32, vocabSize: Int)
    case badLength(row: Int, length: Int, time: Int)
    case labelOutOfRange(row: Int, label: Int, labelCount: Int)
    case classWeightCount(Int, Int)
    case badClassWeight(Float)

    public var description: String {
        switch self {
        case let .tooFewLabels(n): return "a classifier needs at least 2 labels (got \(n))"
        case .duplicateLabels: return "the label names must be distinct"
        case let .padOutOfRange(id, v): return "pad token id \(id) is outside the vocabulary (size \(v))"
        case let .badLength(row, length, time): return "text \(row) has length \(length); it must be in 1...\(time)"
        case let .labelOutOfRange(row, label, n): return "label id \(label) of text \(row) is outside 0..<\(n)"
        case let .classWeightCount(got, n): return "got \(got) class weights for \(n) labels"
        case let .badClassWeight(w): return "class weight \(w) must be finite and >= 0"
        }
    }
}
