import GPT

/// What `TrainingRun` drives: anything that takes optimizer steps, evaluates itself and writes checkpoints.
/// `Trainer` (language modelling on token files) is one; fine-tuning tasks (a classifier, prompt -> completion)
/// are others.
public protocol TrainingTask: AnyObject {
    var options: TrainingOptions { get }
    /// Optimizer steps completed.
    var step: Int { get }
    var isFinished: Bool { get }
    /// The state of the random generator that draws batches (saved for an exact resume).
    var generatorState: [UInt64] { get }
    /// Where the data reader is, for the training state.
    var dataPosition: Int { get }
    /// Tokens the last step consumed (for tokens/s); real tokens, not padding.
    var tokensInLastStep: Int { get }
    /// Examples the last step consumed, for examples/s in metrics.jsonl (nil: not reported, as in pretraining,
    /// where a window is not an example).
    var examplesInLastStep: Int? { get }
    /// One optimizer step, which asks `shouldStop` between its micro-batches and, when it says so, throws
    /// `StepInterrupted`, leaving the task as it was before the step (its data position put back).
    func runStep(shouldStop: () -> Bool) throws -> Trainer.StepResult
    /// Whether there is validation data: without it `evaluateTask` evaluates nothing (and returns nil).
    var hasValidation: Bool { get }
    /// An evaluation on the validation data, or nil without any. Throws `EvaluationStopped` when `shouldStop`
    /// (asked between batches) says so: a stop request does not wait for a long evaluation.
    func evaluateTask(shouldStop: () -> Bool) throws -> TaskEvaluation?
    /// Writes a checkpoint of the current state (the run passes what every checkpoint carries).
    func saveCheckpoint(to path: String, details: SwiftletDetails, state: TrainingState, bosTokenId: Int?,
                        eosTokenId: Int?, extraFiles: [CheckpointFile]) throws
}

extension TrainingTask {
    /// A whole step, whatever is asked meanwhile.
    public func runStep() throws -> Trainer.StepResult { try runStep(shouldStop: { false }) }
}

/// A step abandoned between its micro-batches because the run was asked to stop; the task is as it was before it.
public struct StepInterrupted: Error {
    public init() {}
}

/// An evaluation left unfinished because the run was asked to stop.
public struct EvaluationStopped: Error {
    public init() {}
}

/// One evaluation of a task.
public struct TaskEvaluation: Sendable {
    /// Mean validation loss.
    public var validationLoss: Double
    /// What "best" and early stopping compare; LOWER is better (the validation loss for language models,
    /// minus macro F1 for a classifier).
    public var objective: Double
    /// Extra metrics for metrics.jsonl (accuracy, macro_f1, ...).
    public var metrics: [String: Double]

    public init(validationLoss: Double, objective: Double? = nil, metrics: [String: Double] = [:]) {
        self.validationLoss = validationLoss
        self.objective = objective ?? validationLoss
        self.metrics = metrics
    }
}

extension Trainer: TrainingTask {
    public var generatorState: [UInt64] { generator.state }
    public var dataPosition: Int { step * options.gradAccum }
    public var tokensInLastStep: Int { options.tokensPerStep }
    public var examplesInLastStep: Int? { nil }
    public var hasValidation: Bool { validation != nil }

    public func evaluateTask(shouldStop: () -> Bool) throws -> TaskEvaluation? {
        try evaluate(shouldStop: shouldStop).map { TaskEvaluation(validationLoss: $0) }
    }

    public func saveCheckpoint(to path: String, details: SwiftletDetails, state: TrainingState, bosTokenId: Int?,
                               eosTokenId: Int?, extraFiles: [CheckpointFile]) throws {
        try Checkpoint.save(model, to: path, details: details, trainingState: state, bosTokenId: bosTokenId,
                            eosTokenId: eosTokenId, extraFiles: extraFiles)
    }
}
