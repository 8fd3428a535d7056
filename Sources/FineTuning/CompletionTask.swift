import Foundation
import GPT
import Training

/// Fine-tunes a language model on prompt -> completion pairs: the loss is the mean next-token cross-entropy
/// over COMPLETION tokens only (per-position weights: 0 on prompt and padding positions, 1 on completion
/// targets), so the model learns to answer, not to write prompts. Batches are right-padded to the longest
/// sequence in the batch. Evaluation: the mean loss per completion token (the objective) and its perplexity.
public final class CompletionTask: TrainingTask {
    public let model: GPT
    public let options: TrainingOptions
    public let settings: TaskSettings
    public let train: [EncodedCompletion]
    public let validation: [EncodedCompletion]
    public let padTokenId: Int32
    public private(set) var step: Int
    public private(set) var tokensInLastStep = 0
    public private(set) var position: Int
    private var order: EpochOrder

    public init(model: GPT, train: [EncodedCompletion], validation: [EncodedCompletion], padTokenId: Int32,
                options: TrainingOptions, settings: TaskSettings, step: Int = 0, position: Int = 0) throws {
        try options.validate(modelContext: model.config.context)
        try settings.validate(layers: model.config.layers)
        guard !train.isEmpty else { throw FineTuneError.invalidOption(option: "--data", message: "no training examples") }
        self.model = model
        self.options = options
        self.settings = settings
        self.train = train
        self.validation = validation
        self.padTokenId = padTokenId
        self.step = step
        self.position = position
        order = EpochOrder(count: train.count, seed: options.seed)
        // The validation pairs too: the evaluations run in the training plan (a model keeps one), which a longer
        // pair would grow at the first evaluation, past the memory checked here, after steps that were then lost.
        let longest = max(1, ((train + validation).map(\.sequence.count).max() ?? 2) - 1)
        try model.reserve(batch: options.batchSize, time: longest)
    }

    public var isFinished: Bool { step >= options.steps }
    public var generatorState: [UInt64] { SeededGenerator(seed: options.seed).state }
    public var dataPosition: Int { position }
    public var examplesInLastStep: Int? { options.batchSize * options.gradAccum }
    public var hasValidation: Bool { !validation.isEmpty }

    /// Inputs, targets and loss weights [batch, time] for a list of examples (right-padded with the pad id;
    /// weight 1 exactly on completion targets), the number of counted targets and of real input tokens.
    public struct Batch {
        public var inputs: [Int32], targets: [Int32], weights: [Float]
        public var time: Int, counted: Int, tokens: Int
    }

    public static func makeBatch(_ examples: [EncodedCompletion], pad: Int32) -> Batch {
        let time = max(1, (examples.map(\.sequence.count).max() ?? 2) - 1)
        let n = examples.count * time
        var batch = Batch(inputs: .init(repeating: pad, count: n), targets: .init(repeating: pad, count: n),
                          weights: .init(repeating: 0, count: n), time: time, counted: 0, tokens: 0)
        for (b, example) in examples.enumerated() {
            let s = example.sequence
            for j in 0..<max(0, s.count - 1) {
                batch.inputs[b * time + j] = s[j]
                batch.targets[b * time + j] = s[j + 1]
                if j + 1 >= example.promptCount {    // the target is a completion token
                    batch.weights[b * time + j] = 1
                    batch.counted += 1
                }
            }
            batch.tokens += max(0, s.count - 1)
        }
        return batch
    }

    /// One optimizer step, asking `shouldStop` between micro-batches as `Trainer.runStep(shouldStop:)` does: when it says so,
    /// the step is dropped before its update (the data position put back) and `StepInterrupted` is thrown.
    public func runStep(shouldStop: () -> Bool) throws -> Trainer.StepResult {
        let positionBefore = position
        model.zeroGradients()
        var micro: [Batch] = []
        for _ in 0..<options.gradAccum {
            var examples: [EncodedCompletion] = []
            for _ in 0..<options.batchSize {
                examples.append(train[order.index(at: position)])
                position += 1
            }
            micro.append(Self.makeBatch(examples, pad: padTokenId))
        }
        // The gradient of the mean loss over every completion token of the effective batch.
        let counted = micro.reduce(0) { $0 + $1.counted }
        let scale = counted > 0 ? Float(1.0 / Double(counted)) : 0
        var lossSum = 0.0
        for (index, batch) in micro.enumerated() {
            if index > 0 && shouldStop() {
                position = positionBefore
                throw StepInterrupted()
            }
            let mean = try model.forwardBackward(tokens: batch.inputs, targets: batch.targets, weights: batch.weights,
                                                 batch: options.batchSize, time: batch.time, gradientScale: scale,
                                                 dropoutKey: Trainer.dropoutKey(seed: options.seed, step: step,
                                                                                microBatch: index))
            lossSum += mean * Double(batch.counted)
        }
        tokensInLastStep = micro.reduce(0) { $0 + $1.tokens }
        let loss = counted > 0 ? lossSum / Double(counted) : 0
        model.zeroFrozenGradients(frozenLayers: settings.freezeLayers)
        let result = try options.finishStep(model, loss: loss, completedSteps: step, frozenLayers: settings.freezeLayers)
        step += 1
        return result
    }

    public func evaluateTask(shouldStop: () -> Bool) throws -> TaskEvaluation? {
        guard hasValidation else { return nil }
        let (sum, count) = try Self.lossSum(model, examples: validation, batchSize: options.batchSize, pad: padTokenId,
                                            shouldStop: shouldStop)
        let mean = count > 0 ? sum / Double(count) : 0
        return TaskEvaluation(validationLoss: mean, metrics: ["perplexity": exp(mean)])
    }

    /// Sum of the completion tokens' losses and their number (for evaluation). `shouldStop` is asked before each
    /// batch; when it says so this throws `EvaluationStopped`.
    public static func lossSum(_ model: GPT, examples: [EncodedCompletion], batchSize: Int, pad: Int32,
                               shouldStop: () -> Bool = { false }) throws -> (sum: Double, tokens: Int) {
        var sum = 0.0, tokens = 0
        var start = 0
        while start < examples.count {
            if shouldStop() { throw EvaluationStopped() }
            let chunk = Array(examples[start..<min(start + max(1, batchSize), examples.count)])
            let batch = makeBatch(chunk, pad: pad)
            let mean = try model.loss(tokens: batch.inputs, targets: batch.targets, weights: batch.weights,
                                      batch: chunk.count, time: batch.time)
            sum += mean * Double(batch.counted)
            tokens += batch.counted
            start += chunk.count
        }
        return (sum, tokens)
    }

    public func saveCheckpoint(to path: String, details: SwiftletDetails, state: TrainingState, bosTokenId: Int?,
                               eosTokenId: Int?, extraFiles: [CheckpointFile]) throws {
        var details = details
        details.notes[TaskSettings.templateNoteKey] = settings.template
        details.notes = settings.recordingFields(in: details.notes)
        try Checkpoint.save(model, to: path, details: details, trainingState: state, bosTokenId: bosTokenId,
                            eosTokenId: eosTokenId, extraFiles: extraFiles)
    }
}
