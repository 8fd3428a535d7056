import Foundation
import GPT
import Kernels

/// The optimisation loop of a language model on token files (no files written, no terminal): each step draws
/// `gradAccum` random micro-batches, sums their gradients (each scaled by 1 / (B * T * gradAccum), so the sum is
/// the gradient of the mean loss over the whole effective batch), clips the global norm, and takes one AdamW step
/// with the scheduled learning rate.
///
/// Everything a step depends on is the model (parameters and moments), `step` and `generator`: saving those
/// and restoring them reproduces the remaining losses exactly.
public final class Trainer {
    public let model: GPT
    public let options: TrainingOptions
    public let train: BatchSampler
    public let validation: BatchSampler?
    /// Optimizer steps completed.
    public private(set) var step: Int
    /// Draws the training windows; part of the resumable state.
    public private(set) var generator: SeededGenerator

    private let inputs: UnsafeMutablePointer<Int32>
    private let targets: UnsafeMutablePointer<Int32>
    private let window: UnsafeMutablePointer<Int32>

    public struct StepResult: Sendable {
        public let step: Int            // the step just completed (1-based)
        public let loss: Double         // mean training loss over the effective batch
        public let learningRate: Double
        public let gradientNorm: Double // before clipping

        public init(step: Int, loss: Double, learningRate: Double, gradientNorm: Double) {
            self.step = step
            self.loss = loss
            self.learningRate = learningRate
            self.gradientNorm = gradientNorm
        }
    }

    public init(model: GPT, train: TokenFile, validation: TokenFile?, options: TrainingOptions,
                step: Int = 0, generator: SeededGenerator? = nil) throws {
        try options.validate(modelContext: model.config.context)
        guard step >= 0 else { throw TrainingError.invalidOption(option: "step", message: "must not be negative (got \(step))") }
        // The data first (a text shorter than one window is refused before its activations take any memory),
        // then the memory, so a batch beyond it is refused before anything of its size is allocated.
        self.train = try BatchSampler(tokens: train, batchSize: options.batchSize, context: options.context)
        self.validation = try validation.map {
            try BatchSampler(tokens: $0, batchSize: options.batchSize, context: options.context)
        }
        // Every id must be the model's: a step would stop at the first batch that held one that is not.
        for file in [train] + (validation.map { [$0] } ?? []) { try file.requireIds(below: model.config.vocabSize) }
        try Self.namingBatchSize { try model.reserve(batch: options.batchSize, time: options.context) }
        self.model = model
        self.options = options
        self.step = step
        self.generator = generator ?? SeededGenerator(seed: options.seed)
        let count = options.batchSize * options.context
        inputs = .allocate(capacity: count)
        targets = .allocate(capacity: count)
        window = .allocate(capacity: options.context + 1)
    }

    deinit {
        inputs.deallocate()
        targets.deallocate()
        window.deallocate()
    }

    public var isFinished: Bool { step >= options.steps }

    /// `body()`, with a batch beyond memory reported as the --batch-size error it is, followed by `advice`; or,
    /// when the model's buffers with the shards' gradient copies leave no room at all, as a --threads error (a
    /// pass on n threads keeps n - 1 gradient copies; a smaller batch helps only by going unsharded).
    public static func namingBatchSize<T>(advice: String = "use a smaller --batch-size (--grad-accum keeps the effective batch) or --context",
                                          _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as GPTError {
            guard case let .doesNotFitInMemory(_, _, available, _, _, _) = error else { throw error }
            if available <= 0 {
                throw TrainingError.invalidOption(option: "--threads", message: "\(error); use fewer --threads (each "
                    + "thread past the first keeps a gradient buffer as large as the model's) or a smaller model")
            }
            throw TrainingError.invalidOption(option: "--batch-size", message: "\(error); \(advice)")
        }
    }

    /// Runs one optimizer step. A non-finite loss or gradient leaves the parameters untouched and throws.
    /// `shouldStop` is asked between micro-batches (`--grad-accum`): when it says so, the step is
    /// abandoned before its update and `StepInterrupted` is thrown, the trainer as it was before the step (its batch
    /// generator put back), so a checkpoint saved then resumes with this very step. A stop request need not wait
    /// for every micro-batch of a long step (a `gpt2` one of 4 x 1024 tokens takes about 13 s here).
    public func runStep(shouldStop: () -> Bool) throws -> StepResult {
        let b = options.batchSize, t = options.context
        let scale = Float(1.0 / Double(b * t * options.gradAccum))
        let generatorBefore = generator
        model.zeroGradients()
        var lossSum = 0.0
        for micro in 0..<options.gradAccum {
            if micro > 0 && shouldStop() {
                generator = generatorBefore
                throw StepInterrupted()
            }
            train.fill(inputs: inputs, targets: targets, window: window, using: &generator)
            lossSum += try model.forwardBackward(tokens: inputs, targets: targets, batch: b, time: t,
                                                 gradientScale: scale,
                                                 dropoutKey: Self.dropoutKey(seed: options.seed, step: step, microBatch: micro))
        }
        // Clipping, the learning-rate schedule and the AdamW update (OptimizerStep.swift).
        let result = try options.finishStep(model, loss: lossSum / Double(options.gradAccum), completedSteps: step)
        step += 1
        return result
    }

    /// The key of a micro-batch's dropout masks: a function of the run's seed, the step and the micro-batch, so
    /// a resumed run draws the masks the uninterrupted run would have (nothing to save).
    public static func dropoutKey(seed: UInt64, step: Int, microBatch: Int) -> UInt64 {
        var generator = SeededGenerator(seed: seed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(microBatch) << 48)
        return generator.next()
    }

    /// Mean validation loss over `evalBatches` batches, each of a whole step's windows (batchSize x gradAccum),
    /// run in micro-batches of batchSize. The windows are drawn from a generator seeded by the run's seed alone,
    /// one after the other, so every evaluation of a run sees the same windows (comparable numbers, and evaluating
    /// never disturbs the training generator), and the same ones however a step is split into micro-batches
    /// (batch 8, or 4 x 2: the figure differs by float rounding only). Nil without validation data.
    /// `shouldStop` is asked before each micro-batch; when it says so the evaluation throws `EvaluationStopped`.
    public func evaluate(shouldStop: () -> Bool = { false }) throws -> Double? {
        guard let validation else { return nil }
        var evalGenerator = SeededGenerator(seed: options.seed ^ 0x5EED_0F_E7A1)
        let b = options.batchSize, t = options.context
        var sum = 0.0
        for _ in 0..<options.evalBatches {
            var batchSum = 0.0
            for _ in 0..<options.gradAccum {
                if shouldStop() { throw EvaluationStopped() }
                validation.fill(inputs: inputs, targets: targets, window: window, using: &evalGenerator)
                batchSum += try model.loss(tokens: inputs, targets: targets, batch: b, time: t)
            }
            sum += batchSum / Double(options.gradAccum)
        }
        return sum / Double(options.evalBatches)
    }
}
