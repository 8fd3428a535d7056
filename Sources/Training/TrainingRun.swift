import Foundation
import GPT

/// A training run on disk: drives a `TrainingTask` (a `Trainer`, or a fine-tuning task), appends
/// `metrics.jsonl`, evaluates every `evalEvery` steps, keeps `latest/` every `checkpointEvery` steps and at the
/// end (or on a stop request), keeps `best/` at each new best evaluation (lowest objective: the validation loss
/// for language models), stops early after `patience` evaluations without a new best (0: never), and draws
/// `loss.svg` when it stops.
public final class TrainingRun {
    public enum Event {
        case step(Trainer.StepResult, tokensPerSecond: Double, elapsedSeconds: Double)
        /// An evaluation of the model after `step` begins (a large model's takes a while); none without validation data.
        case evaluating(step: Int)
        case evaluation(step: Int, validationLoss: Double, isBest: Bool)
        case checkpoint(path: String, step: Int)
    }

    public enum Outcome: Equatable {
        case finished(step: Int)
        case stopped(step: Int)   // a stop request (Ctrl-C) was honoured; `latest/` holds this step
    }

    public let directory: RunDirectory
    public let task: any TrainingTask
    public private(set) var record: RunRecord
    /// Evaluations without a new best after which the run stops (0: never stops early).
    public let patience: Int
    /// True when the run ended because `patience` evaluations brought no new best.
    public private(set) var stoppedEarly = false
    /// Whether `run` drew loss.svg when it ended (a warning says why not).
    public private(set) var lossCurveDrawn = false
    /// The most recent evaluation.
    public private(set) var lastEvaluation: TaskEvaluation?
    /// The step `lastEvaluation` evaluated.
    private var lastEvaluationStep: Int?
    private var evaluationsWithoutImprovement = 0
    /// Files every checkpoint carries besides the model (tokenizer.model, ...).
    public let extraFiles: [CheckpointFile]
    public let details: SwiftletDetails
    public let bosTokenId: Int?
    public let eosTokenId: Int?
    private var lastCheckpoint: String?
    /// Notes for the user about how the run was opened (a damaged log mended), printed by the tools.
    public private(set) var notes: [String] = []
    private let log: MetricsLog

    public convenience init(directory: RunDirectory, trainer: Trainer, record: RunRecord, details: SwiftletDetails,
                            extraFiles: [CheckpointFile], bosTokenId: Int?, eosTokenId: Int?) throws {
        try self.init(directory: directory, task: trainer, record: record, details: details, extraFiles: extraFiles,
                      bosTokenId: bosTokenId, eosTokenId: eosTokenId)
    }

    public init(directory: RunDirectory, task: any TrainingTask, record: RunRecord, details: SwiftletDetails,
                extraFiles: [CheckpointFile], bosTokenId: Int?, eosTokenId: Int?, patience: Int = 0) throws {
        self.directory = directory
        self.task = task
        self.patience = patience
        self.record = record
        self.details = details
        self.extraFiles = extraFiles
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        try writing(directory.path) {
            try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        }
        try directory.lock()   // (the tools took it already) before the metrics are cut back to the checkpoint
        directory.removeAbandonedTemporaries()
        // A resumed run drops metrics written after its checkpoint, so the log reads as one uninterrupted run.
        log = try writing(directory.metrics) {
            try MetricsLog(url: URL(fileURLWithPath: directory.metrics), keepThrough: task.step > 0 ? task.step : nil)
        }
        if task.step > 0 { lastCheckpoint = directory.latest }
        if log.droppedUnfinishedLine {
            notes.append("note: dropped the unfinished last line of \(directory.metrics) (the run was cut short while writing it)")
        }
        evaluationsWithoutImprovement = record.evaluationsSinceBest ?? 0
        // A resumed run that had already stopped early stays stopped (until resumed with a larger patience). One
        // with an evaluation pending is not stopped yet: `run` finishes that evaluation, then applies the patience.
        stoppedEarly = record.pendingStep == nil && patience > 0 && evaluationsWithoutImprovement >= patience
    }

    /// True when the latest checkpoint was saved by a stop during an evaluation: `run` finishes that step first.
    public var hasPendingStep: Bool { record.pendingStep != nil }

    /// Why a resumed run has no step to train (nil when it has): it finished its steps, or it stopped early and its
    /// patience still holds it. `improved` names what a new best improves ("validation loss"). The tools print it
    /// and end.
    public func nothingToTrain(improved: String) -> String? {
        let run = "the run in \(directory.path)"
        if task.isFinished && !hasPendingStep {
            let steps = task.options.steps
            return "\(run) already finished its \(steps) step\(steps == 1 ? "" : "s"); give a larger --steps with --resume to go on"
        }
        guard stoppedEarly else { return nil }
        let evaluations = record.evaluationsSinceBest ?? patience
        return "\(run) stopped early at step \(task.step) (no better \(improved) in \(evaluations) evaluation"
            + "\(evaluations == 1 ? "" : "s")); give a larger --patience (or 0) with --resume to go on"
    }

    /// For a run that starts from trained weights (`pretrain --init-from`): evaluates them before the first step,
    /// logs the evaluation as step 0 of metrics.jsonl and keeps them as best/, so that best/ is never a model worse
    /// than the one the run started from and later evaluations must beat it. Returns the validation loss, or nil
    /// without validation data or when `shouldStop` cut the evaluation short (a resume at step 0 does it then).
    public func evaluateStart(shouldStop: () -> Bool = { false }, observe: (Event) -> Void = { _ in }) throws -> Double? {
        precondition(task.step == 0, "the start is evaluated before the first step")
        let evaluation: TaskEvaluation?
        if task.hasValidation { observe(.evaluating(step: 0)) }
        do { evaluation = try task.evaluateTask(shouldStop: shouldStop) } catch is EvaluationStopped { return nil }
        guard let evaluation else { return nil }
        if !evaluation.validationLoss.isFinite {
            throw TrainingError.nonFiniteValidationLoss(step: 0, loss: evaluation.validationLoss, checkpoint: nil)
        }
        lastEvaluation = evaluation
        lastEvaluationStep = 0
        try log.append(MetricsRecord(step: 0, valLoss: evaluation.validationLoss, elapsedSeconds: record.elapsedSeconds,
                                     extra: evaluation.metrics.isEmpty ? nil : evaluation.metrics))
        keepAsBest(evaluation, step: 0)
        observe(.evaluation(step: 0, validationLoss: evaluation.validationLoss, isBest: true))
        try save(to: directory.best, elapsed: record.elapsedSeconds, observe: observe)
        return evaluation.validationLoss
    }

    /// Trains until the last step or until `shouldStop()` returns true (checked between steps, and between the
    /// batches of an evaluation: a stop during one saves the step before it and leaves the evaluation to the
    /// resumed run, which then logs what the uninterrupted run would have).
    public func run(shouldStop: () -> Bool = { false }, observe: (Event) -> Void = { _ in }) throws -> Outcome {
        defer { directory.unlock() }   // taken in `init` (or by the tool before it)
        let clock = ContinuousClock()
        let runStart = clock.now
        let elapsedBefore = record.elapsedSeconds
        func elapsed() -> Double { elapsedBefore + seconds(clock.now - runStart) }
        defer {
            // The checkpoints are what matter: a curve that cannot be drawn is a warning, not a failed run.
            // (fputs: FileHandle's write traps when stderr is a closed pipe, and training ignores SIGPIPE.)
            do { try drawLossCurve() } catch { fputs("warning: the loss curve was not drawn: \(error)\n", stderr) }
        }

        if let pending = record.pendingStep {
            record.pendingStep = nil
            if let outcome = try finish(pending, shouldStop: shouldStop, elapsed: elapsed, observe: observe) { return outcome }
        }
        if stoppedEarly { return .finished(step: task.step) }
        while !task.isFinished {
            if shouldStop() {
                try saveLatest(elapsed: elapsed(), observe: observe)
                return .stopped(step: task.step)
            }
            let stepStart = clock.now
            let result: Trainer.StepResult
            do { result = try task.runStep(shouldStop: shouldStop) } catch let error as TrainingError {
                throw error.withCheckpoint(lastCheckpoint)
            } catch is StepInterrupted {   // the step is dropped: a resume runs it again, whole
                try saveLatest(elapsed: elapsed(), observe: observe)
                return .stopped(step: task.step)
            }
            let stepSeconds = seconds(clock.now - stepStart)
            let tokensPerSecond = Double(task.tokensInLastStep) / max(stepSeconds, 1e-9)
            observe(.step(result, tokensPerSecond: tokensPerSecond, elapsedSeconds: elapsed()))
            // fine-tuning tasks also report examples/s
            let examples = task.examplesInLastStep.map { ["examples_per_s": Double($0) / max(stepSeconds, 1e-9)] }
            let metrics = MetricsRecord(step: result.step, trainLoss: result.loss, lr: result.learningRate,
                                        gradNorm: result.gradientNorm, tokensPerSecond: tokensPerSecond,
                                        elapsedSeconds: elapsed(), extra: examples)
            if let outcome = try finish(metrics, shouldStop: shouldStop, elapsed: elapsed, observe: observe) { return outcome }
        }
        return .finished(step: task.step)
    }

    /// What follows a step: its evaluation when due, its line in metrics.jsonl, best/, early stopping and latest/.
    /// Returns the outcome when the run ends here.
    private func finish(_ step: MetricsRecord, shouldStop: () -> Bool, elapsed: () -> Double,
                        observe: (Event) -> Void) throws -> Outcome? {
        let options = task.options
        var metrics = step
        var evaluation: TaskEvaluation?
        if (options.evalEvery > 0 && step.step % options.evalEvery == 0) || task.isFinished {
            if task.hasValidation { observe(.evaluating(step: step.step)) }
            do { evaluation = try task.evaluateTask(shouldStop: shouldStop) } catch is EvaluationStopped {
                record.pendingStep = step
                try saveLatest(elapsed: elapsed(), observe: observe)
                return .stopped(step: task.step)
            }
        }
        if let evaluation {
            metrics.valLoss = evaluation.validationLoss
            if !evaluation.metrics.isEmpty { metrics.extra = (metrics.extra ?? [:]).merging(evaluation.metrics) { $1 } }
        }
        metrics.elapsedSeconds = elapsed()
        try log.append(metrics)
        if let loss = evaluation?.validationLoss, !loss.isFinite {
            throw TrainingError.nonFiniteValidationLoss(step: step.step, loss: loss, checkpoint: lastCheckpoint)
        }
        var stopEarly = false
        if let evaluation {
            lastEvaluation = evaluation
            lastEvaluationStep = step.step
            let isBest = evaluation.objective < (record.bestObjective ?? record.bestValLoss ?? .infinity)
            if isBest {
                keepAsBest(evaluation, step: step.step)
            } else {
                evaluationsWithoutImprovement += 1
                record.evaluationsSinceBest = evaluationsWithoutImprovement
                stopEarly = patience > 0 && evaluationsWithoutImprovement >= patience && !task.isFinished
            }
            observe(.evaluation(step: step.step, validationLoss: evaluation.validationLoss, isBest: isBest))
            if isBest { try save(to: directory.best, elapsed: elapsed(), observe: observe) }
        }
        if stopEarly {
            stoppedEarly = true
            try saveLatest(elapsed: elapsed(), observe: observe)
            return .finished(step: task.step)
        }
        if (options.checkpointEvery > 0 && step.step % options.checkpointEvery == 0) || task.isFinished {
            try saveLatest(elapsed: elapsed(), observe: observe)
        }
        return nil
    }

    /// Records `evaluation` (of `step`) as the run's best; best/ is saved by the caller.
    private func keepAsBest(_ evaluation: TaskEvaluation, step: Int) {
        record.bestValLoss = evaluation.validationLoss
        record.bestObjective = evaluation.objective
        record.bestStep = step
        record.bestEvalBatches = record.options.evalBatches
        record.bestEvalWindows = record.options.evaluationWindows
        evaluationsWithoutImprovement = 0
        record.evaluationsSinceBest = 0
    }

    private func saveLatest(elapsed: Double, observe: (Event) -> Void) throws {
        try save(to: directory.latest, elapsed: elapsed, observe: observe)
        lastCheckpoint = directory.latest
    }

    private func save(to path: String, elapsed: Double, observe: (Event) -> Void) throws {
        record.elapsedSeconds = elapsed
        let state = TrainingState(step: task.step, generatorState: task.generatorState,
                                  dataPosition: task.dataPosition, configuration: try record.json())
        // config.json says what the checkpoint holds: its step and, when that step was evaluated, its validation loss.
        // (A fine-tuning run starts from its source checkpoint's notes: an older val_loss must not stay.)
        var stamped = details
        stamped.notes["step"] = String(task.step)
        stamped.notes["val_loss"] = lastEvaluationStep == task.step ? lastEvaluation.map { String($0.validationLoss) } : nil
        try task.saveCheckpoint(to: path, details: stamped, state: state, bosTokenId: bosTokenId,
                                eosTokenId: eosTokenId, extraFiles: extraFiles)
        observe(.checkpoint(path: path, step: task.step))
    }

    private func drawLossCurve() throws {
        let records = try MetricsLog.read(URL(fileURLWithPath: directory.metrics))
        guard !records.isEmpty else { return }
        let svg = LossCurveSVG.render(records: records, title: "Swiftlet: \(URL(fileURLWithPath: directory.path).lastPathComponent)")
        try AtomicFiles.writeFile(at: directory.lossCurve, data: Data(svg.utf8))
        lossCurveDrawn = true
    }
}

extension TrainingError {
    /// The same error, naming the checkpoint that is still good.
    func withCheckpoint(_ path: String?) -> TrainingError {
        switch self {
        case let .nonFiniteLoss(step, loss, _): return .nonFiniteLoss(step: step, loss: loss, checkpoint: path)
        case let .nonFiniteGradient(step, _): return .nonFiniteGradient(step: step, checkpoint: path)
        default: return self
        }
    }
}

func seconds(_ duration: Duration) -> Double {
    let (s, attoseconds) = duration.components
    return Double(s) + Double(attoseconds) * 1e-18
}
