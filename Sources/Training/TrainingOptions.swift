import Foundation

/// The hyperparameters of a training run (saved with every checkpoint so that `--resume` continues the same run).
/// The defaults here are the recipe of nanoGPT's CPU baseline (`tiny`, batch 12, 2000 steps, lr 1e-3 to 1e-4):
/// a known-good starting point for library use and tests. The tools set their own on top (`pretrain`: RunSetup's
/// defaults; `finetune`: FineTuneSetup.defaults).
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var batchSize = 12
    /// Micro-batches summed into one optimizer step (the effective batch is batchSize * gradAccum).
    public var gradAccum = 1
    /// Sequence length of a training window (at most the model's context).
    public var context = 64
    public var steps = 2000
    public var learningRate = 1e-3
    public var minLearningRate = 1e-4
    public var warmupSteps = 100
    public var weightDecay = 0.1
    public var beta1 = 0.9
    public var beta2 = 0.99
    public var epsilon = 1e-8
    /// Global gradient-norm bound; 0 turns clipping off.
    public var gradClip = 1.0
    public var evalEvery = 250
    public var evalBatches = 20
    /// Validation windows an evaluation averages: `evalBatches` batches of a step's windows (`Trainer.evaluate`).
    public var evaluationWindows: Int { evalBatches * batchSize * gradAccum }
    /// Steps between checkpoints (besides the final one and the best one); 0 means only those.
    public var checkpointEvery = 500
    public var seed: UInt64 = 0

    public init() {}

    /// Far beyond any real run: a larger --grad-accum is a typo that would make one step last for days.
    public static let maximumGradAccum = 1 << 20
    /// Far beyond any real run too: more --steps or --eval-batches are typos for a run or an evaluation that
    /// never ends.
    public static let maximumSteps = 1_000_000_000
    public static let maximumEvalBatches = 1_000_000

    public var schedule: LearningRateSchedule {
        LearningRateSchedule(maxLR: learningRate, minLR: minLearningRate, warmupSteps: warmupSteps, decaySteps: steps)
    }

    /// Tokens consumed by one optimizer step.
    public var tokensPerStep: Int { batchSize * gradAccum * context }

    /// Refuses values no run can use, with the option's name in the message: each option in its own range
    /// (`checkEachOption`), then those that involve another option or the model.
    public func validate(modelContext: Int) throws {
        try checkEachOption()
        try check(context <= modelContext, "--context",
                  "\(context) is longer than the model's context of \(modelContext) positions")
        // The rate it exceeds is named: a default (1e-3, or 1e-4 from a checkpoint) the user did not write.
        try check(minLearningRate <= learningRate, "--min-lr",
                  "must be between 0 and --lr (got \(minLearningRate), and --lr is \(learningRate))")
    }

    /// The checks of one option at a time, which the tools run while parsing their arguments. Without
    /// `upperBounds`, --steps and --eval-batches are only checked to be positive (a saved run of a version
    /// before their bounds).
    public func checkEachOption(upperBounds: Bool = true) throws {
        let maximumSteps = upperBounds ? TrainingOptions.maximumSteps : Int.max
        let maximumEvalBatches = upperBounds ? TrainingOptions.maximumEvalBatches : Int.max
        try check(batchSize >= 1, "--batch-size", "must be at least 1 (got \(batchSize))")
        try check((1...TrainingOptions.maximumGradAccum).contains(gradAccum), "--grad-accum",
                  "must be 1 to \(TrainingOptions.maximumGradAccum) (got \(gradAccum))")
        try check(context >= 1, "--context", "must be at least 1 (got \(context))")
        func range(_ maximum: Int) -> String { maximum == Int.max ? "at least 1" : "1 to \(maximum)" }
        try check((1...maximumSteps).contains(steps), "--steps", "must be \(range(maximumSteps)) (got \(steps))")
        try check(learningRate.isFinite && learningRate > 0, "--lr", "must be a positive number (got \(learningRate))")
        try check(minLearningRate.isFinite && minLearningRate >= 0, "--min-lr",
                  "must be between 0 and --lr (got \(minLearningRate))")
        try check(warmupSteps >= 0, "--warmup-steps", "must not be negative (got \(warmupSteps))")
        try check(weightDecay.isFinite && weightDecay >= 0, "--weight-decay", "must not be negative (got \(weightDecay))")
        try check(beta1 >= 0 && beta1 < 1, "--beta1", "must be in [0, 1) (got \(beta1))")
        try check(beta2 >= 0 && beta2 < 1, "--beta2", "must be in [0, 1) (got \(beta2))")
        try check(gradClip.isFinite && gradClip >= 0, "--grad-clip", "must be 0 (off) or positive (got \(gradClip))")
        try check(evalEvery >= 0, "--eval-every", "must be 0 (only at the end) or positive (got \(evalEvery))")
        try check((1...maximumEvalBatches).contains(evalBatches), "--eval-batches",
                  "must be \(range(maximumEvalBatches)) (got \(evalBatches))")
        try check(checkpointEvery >= 0, "--checkpoint-every", "must be 0 (only at the end) or positive (got \(checkpointEvery))")
    }

    private func check(_ ok: Bool, _ option: String, _ message: String) throws {
        if !ok { throw TrainingError.invalidOption(option: option, message: message) }
    }
}

/// Why a run stopped or could not start.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidOption(option: String, message: String)
    case dataTooShort(path: String, tokens: Int, needed: Int)
    case vocabularyMismatch(path: String, maxId: Int, vocabularySize: Int)
    case nonFiniteLoss(step: Int, loss: Double, checkpoint: String?)
    case nonFiniteGradient(step: Int, checkpoint: String?)
    /// The evaluation after a step came out NaN or infinite: that step's update broke the model.
    case nonFiniteValidationLoss(step: Int, loss: Double, checkpoint: String?)

    public var description: String {
        switch self {
        case let .invalidOption(option, message): return "\(option): \(message)"
        case let .dataTooShort(path, tokens, needed):
            return "\(path): \(tokens == 1 ? "1 token" : "\(tokens) tokens") is shorter than one training window (\(needed) tokens: context + 1); use a longer corpus or a smaller --context"
        case let .vocabularyMismatch(path, maxId, vocabularySize):
            return "\(path): holds token id \(maxId), outside the model's vocabulary of \(vocabularySize)"
        case let .nonFiniteLoss(step, loss, checkpoint):
            return "the loss became \(spelled(loss)) at step \(step); stopped without saving it" + kept(checkpoint)
        case let .nonFiniteGradient(step, checkpoint):
            return "the gradient norm became non-finite at step \(step); stopped without saving it" + kept(checkpoint)
        case let .nonFiniteValidationLoss(step, loss, checkpoint):
            return "the validation loss became \(spelled(loss)) after step \(step); stopped without saving the model"
                + kept(checkpoint)
        }
    }

    /// NaN (Swift prints the sign of a negative NaN: "-nan"), or +/-infinity.
    private func spelled(_ loss: Double) -> String {
        loss.isNaN ? "NaN" : loss.isInfinite ? (loss > 0 ? "infinity" : "-infinity") : "\(loss)"
    }

    private func kept(_ checkpoint: String?) -> String {
        checkpoint.map { " (the last good checkpoint is \($0))" } ?? " (no checkpoint had been written yet)"
    }
}
