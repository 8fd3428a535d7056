import Foundation
import FineTuneData
import GPT
import Training

/// Fine-tunes a `SequenceClassifier`: each optimizer step takes `gradAccum` micro-batches of `batchSize`
/// texts in a seeded per-epoch shuffle, sums their gradients (each micro-batch adds its share of the step's
/// class-weighted mean loss and mean LM loss, so the step is one batch of all its texts), zeroes the frozen
/// tensors' gradients, clips, and takes one AdamW step. Evaluation
/// classifies the validation texts: accuracy, macro F1 (the objective: higher is better) and the mean loss.
public final class ClassificationTask: TrainingTask {
    public let classifier: SequenceClassifier
    public let options: TrainingOptions
    public let settings: TaskSettings
    public let train: [EncodedText]
    public let validation: [EncodedText]
    public private(set) var step: Int
    public private(set) var tokensInLastStep = 0
    /// Examples consumed so far (the data position).
    public private(set) var position: Int
    private var order: EpochOrder
    private let classWeights: [Float]?
    /// The training data's most common label (recorded in the checkpoint for `finetune evaluate`'s baseline).
    public let majority: MajorityBaseline

    public init(classifier: SequenceClassifier, train: [EncodedText], validation: [EncodedText],
                options: TrainingOptions, settings: TaskSettings, step: Int = 0, position: Int = 0) throws {
        try options.validate(modelContext: classifier.model.config.context)
        try settings.validate(layers: classifier.model.config.layers)
        guard !train.isEmpty else { throw FineTuneError.invalidOption(option: "--data", message: "no training examples") }
        // Every training label must be the classifier's (the class weights below index by it).
        if let (row, text) = train.enumerated().first(where: { $0.1.label < 0 || $0.1.label >= classifier.labelCount }) {
            throw ClassifierError.labelOutOfRange(row: row, label: text.label, labelCount: classifier.labelCount)
        }
        self.classifier = classifier
        self.options = options
        self.settings = settings
        self.train = train
        self.validation = validation
        self.step = step
        self.position = position
        order = EpochOrder(count: train.count, seed: options.seed)
        majority = MajorityBaseline(trainingLabelIDs: train.map(\.label), labelCount: classifier.labelCount)
            ?? MajorityBaseline(labelID: 0)
        classWeights = settings.classWeights == "balanced"
            ? ClassWeights.balanced(labelIDs: train.map(\.label), labelCount: classifier.labelCount) : nil
        // The validation texts too: the evaluations run in the training plan (a model keeps one), which a longer
        // text would grow at the first evaluation, past the memory checked here, after steps that were then lost.
        let longest = (train + validation).map(\.tokens.count).max() ?? 1
        // The LM head's logits only for the auxiliary LM loss: the classifier reads the final hidden states.
        try classifier.model.reserve(batch: options.batchSize, time: longest, logits: settings.lmLossWeight > 0)
    }

    public var isFinished: Bool { step >= options.steps }
    public var generatorState: [UInt64] { SeededGenerator(seed: options.seed).state }
    public var dataPosition: Int { position }
    public var examplesInLastStep: Int? { options.batchSize * options.gradAccum }
    public var hasValidation: Bool { !validation.isEmpty }

    /// One optimizer step, asking `shouldStop` between micro-batches as `Trainer.runStep(shouldStop:)` does: when it says so,
    /// the step is dropped before its update (the data position put back) and `StepInterrupted` is thrown.
    public func runStep(shouldStop: () -> Bool) throws -> Trainer.StepResult {
        let positionBefore = position
        classifier.zeroGradients()
        var micro: [(batch: PaddedBatch, labels: [Int])] = []
        for _ in 0..<options.gradAccum {
            var sequences: [[Int32]] = [], labels: [Int] = []
            for _ in 0..<options.batchSize {
                let example = train[order.index(at: position)]
                position += 1
                sequences.append(example.tokens)
                labels.append(example.label)
            }
            micro.append((PaddedBatch(sequences, pad: classifier.padTokenId), labels))
        }
        // The step's mean losses divide by the whole step's class weights and LM positions (a micro-batch's
        // own would weigh its texts by its size, not theirs); each micro-batch adds its share.
        let totals = SequenceClassifier.LossTotals(labels: micro.flatMap(\.labels),
                                                   lengths: micro.flatMap(\.batch.lengths), classWeights: classWeights)
        var loss = 0.0
        for (index, (batch, labels)) in micro.enumerated() {
            if index > 0 && shouldStop() {
                position = positionBefore
                throw StepInterrupted()
            }
            let losses = try batch.tokens.withUnsafeBufferPointer {
                try classifier.forwardBackward(tokens: $0.baseAddress!, lengths: batch.lengths, labels: labels,
                                               batch: labels.count, time: batch.time, classWeights: classWeights,
                                               lmLossWeight: Float(settings.lmLossWeight), totals: totals,
                                               dropoutKey: Trainer.dropoutKey(seed: options.seed, step: step,
                                                                              microBatch: index))
            }
            loss += losses.total
        }
        tokensInLastStep = micro.reduce(0) { $0 + $1.batch.lengths.reduce(0, +) }
        classifier.model.zeroFrozenGradients(frozenLayers: settings.freezeLayers)
        let result = try options.finishStep(classifier, loss: loss, completedSteps: step,
                                            frozenLayers: settings.freezeLayers)
        step += 1
        return result
    }

    public func evaluateTask(shouldStop: () -> Bool) throws -> TaskEvaluation? {
        guard hasValidation else { return nil }
        let result = try ClassifierInference.evaluate(classifier, texts: validation, batchSize: options.batchSize,
                                                      shouldStop: shouldStop)
        let m = result.metrics
        return TaskEvaluation(validationLoss: result.meanLoss, objective: -m.macroF1,
                              metrics: ["accuracy": m.accuracy, "macro_f1": m.macroF1])
    }

    public func saveCheckpoint(to path: String, details: SwiftletDetails, state: TrainingState, bosTokenId: Int?,
                               eosTokenId: Int?, extraFiles: [CheckpointFile]) throws {
        var details = details
        details.notes = settings.recordingFields(in: details.notes)
        details.notes[MajorityBaseline.noteKey] = classifier.labels[majority.labelID]
        try ClassifierCheckpoint.save(classifier, to: path, details: details, trainingState: state,
                                      bosTokenId: bosTokenId, eosTokenId: eosTokenId, extraFiles: extraFiles)
    }
}

/// Batched classification of encoded texts.
public enum ClassifierInference {
    /// Label probabilities [texts][labels], in the texts' order.
    /// `shouldStop` is asked before each batch; when it says so this throws `EvaluationStopped`.
    public static func probabilities(_ classifier: SequenceClassifier, texts: [[Int32]], batchSize: Int,
                                     shouldStop: () -> Bool = { false }) throws -> [[Float]] {
        try logits(classifier, texts: texts, batchSize: batchSize, shouldStop: shouldStop).map(SequenceClassifier.softmax)
    }

    /// Label logits [texts][labels], in the texts' order, batched as `probabilities`.
    public static func logits(_ classifier: SequenceClassifier, texts: [[Int32]], batchSize: Int,
                              shouldStop: () -> Bool = { false }) throws -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            if shouldStop() { throw EvaluationStopped() }
            let chunk = Array(texts[start..<min(start + max(1, batchSize), texts.count)])
            let batch = PaddedBatch(chunk, pad: classifier.padTokenId)
            let logits = try batch.tokens.withUnsafeBufferPointer {
                try classifier.logits(tokens: $0.baseAddress!, lengths: batch.lengths, batch: chunk.count, time: batch.time)
            }
            let K = classifier.labelCount
            for b in 0..<chunk.count { out.append(Array(logits[(b * K)..<((b + 1) * K)])) }
            start += chunk.count
        }
        return out
    }

    public struct Evaluation {
        public var metrics: ClassificationMetrics
        /// Mean cross-entropy of the gold labels (from the logits: a probability that underflows does not cap it).
        public var meanLoss: Double
        public var probabilities: [[Float]]
    }

    /// Predicts every text with a known label (label >= 0) and scores the predictions.
    public static func evaluate(_ classifier: SequenceClassifier, texts: [EncodedText], batchSize: Int,
                                shouldStop: () -> Bool = { false }) throws -> Evaluation {
        let known = texts.filter { $0.label >= 0 }
        if let bad = known.first(where: { $0.label >= classifier.labelCount }) {
            throw MetricsError.idOutOfRange(id: bad.label, labelCount: classifier.labelCount)
        }
        let logits = try Self.logits(classifier, texts: known.map(\.tokens), batchSize: batchSize,
                                     shouldStop: shouldStop)
        let probabilities = logits.map(SequenceClassifier.softmax)
        var loss = 0.0
        for (text, l) in zip(known, logits) {
            loss += l.withUnsafeBufferPointer(SequenceClassifier.logSumExp) - Double(l[text.label])
        }
        let predicted = probabilities.map(argmax)
        let metrics = try ClassificationMetrics(gold: known.map(\.label), predicted: predicted,
                                                labelCount: classifier.labelCount, labelNames: classifier.labels)
        return Evaluation(metrics: metrics, meanLoss: known.isEmpty ? 0 : loss / Double(known.count),
                          probabilities: probabilities)
    }

    /// The index of the largest value (the first on ties).
    public static func argmax(_ p: [Float]) -> Int {
        var best = 0
        for k in p.indices where p[k] > p[best] { best = k }
        return best
    }
}
