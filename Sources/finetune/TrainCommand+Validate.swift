import ArgumentParser
import FineTuning
import Kernels
import TerminalUI
import Training

/// `train`'s argument checks, made while parsing: each option's value on its own (and the options that exclude
/// each other). A mistake here is a usage error (exit status 64, "see 'finetune train --help'"); the checks that
/// need the model or the data, or several options together, come once the run is set up (exit status 1).
extension TrainCommand {
    func validate() throws {
        if let word = unexpected.first {
            throw ValidationError(unexpectedWordProblem(word, tool: "finetune", commands: ["train", "evaluate", "predict"],
                                                        fileOption: nil))
        }
        if let threads, let problem = ThreadPool.problem(withThreads: threads) { throw ValidationError(problem) }
        if resume && overwrite { throw ValidationError("--resume and --overwrite contradict each other") }
        if out == nil { throw ValidationError("give the run directory with --out") }
        if !resume {
            if task == nil { throw ValidationError("give --task classify or --task complete") }
            if data == nil { throw ValidationError("give the training data with --data") }
        }
        if let task, FineTuneTask(rawValue: task) == nil {
            throw ValidationError("--task must be classify or complete (got '\(task)')")
        }
        if let task = task.flatMap(FineTuneTask.init(rawValue:)), let (option, message) = optionOfTheOtherTask(task) {
            throw ValidationError("\(option): \(message)")
        }
        if valFile != nil && valFraction != nil { throw ValidationError("give either --val-file or --val-fraction, not both") }
        if epochs != nil && steps != nil { throw ValidationError("give either --epochs or --steps, not both") }
        try validateValues()
    }

    /// The first option given that only the other task reads (it would be ignored), with what to say.
    func optionOfTheOtherTask(_ task: FineTuneTask) -> (option: String, message: String)? {
        let classifyOnly = [("--text-field", fields.textField != nil), ("--label-field", fields.labelField != nil),
                            ("--lm-loss-weight", lmLossWeight != nil), ("--class-weights", classWeights != nil)]
        let completeOnly = [("--prompt-field", fields.promptField != nil),
                            ("--completion-field", fields.completionField != nil), ("--template", template != nil)]
        let (other, given) = task == .classify ? ("complete", completeOnly) : ("classify", classifyOnly)
        return given.first(where: \.1).map { ($0.0, "applies to --task \(other) only") }
    }

    /// Each numeric option's range, as the run would refuse it later (TrainingOptions.validate,
    /// TaskSettings.validate), so every such mistake exits the same way.
    private func validateValues() throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw ValidationError(message()) }
        }
        let maxSteps = RunSizeLimits.maximumSteps, maxExamples = RunSizeLimits.maximumExamplesPerStep
        if let template, task == FineTuneTask.complete.rawValue, let problem = templateProblem(template) {
            throw ValidationError(problem)
        }
        if let epochs { try check(epochs > 0 && epochs.isFinite, "--epochs must be positive (got \(epochs))") }
        if let steps { try check((1...maxSteps).contains(steps), "--steps must be 1 to \(maxSteps) (got \(steps))") }
        if let batchSize {
            try check((1...maxExamples).contains(batchSize), "--batch-size must be 1 to \(maxExamples) (got \(batchSize))")
        }
        if let gradAccum {
            let maxAccum = TrainingOptions.maximumGradAccum   // the bound pretrain checks too
            try check((1...maxAccum).contains(gradAccum), "--grad-accum must be 1 to \(maxAccum) (got \(gradAccum))")
        }
        if let lr { try check(lr.isFinite && lr > 0, "--lr must be a positive number (got \(lr))") }
        if let minLr { try check(minLr.isFinite && minLr >= 0, "--min-lr must be 0 or positive (got \(minLr))") }
        if let warmupSteps { try check(warmupSteps >= 0, "--warmup-steps must not be negative (got \(warmupSteps))") }
        if let weightDecay {
            try check(weightDecay.isFinite && weightDecay >= 0, "--weight-decay must not be negative (got \(weightDecay))")
        }
        if let gradClip {
            try check(gradClip.isFinite && gradClip >= 0, "--grad-clip must be 0 (off) or positive (got \(gradClip))")
        }
        if let evalEvery {
            try check(evalEvery >= 0, "--eval-every must be 0 (only at the end) or positive (got \(evalEvery))")
        }
        if let checkpointEvery {
            try check(checkpointEvery >= 0,
                      "--checkpoint-every must be 0 (only at the end) or positive (got \(checkpointEvery))")
        }
        if let patience { try check(patience >= 0, "--patience must be 0 (off) or positive (got \(patience))") }
        if let freezeLayers { try check(freezeLayers >= 0, "--freeze-layers must not be negative (got \(freezeLayers))") }
        if let dropout { try check(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1) (got \(dropout))") }
        if let valFraction {
            try check(valFraction > 0 && valFraction < 1, "--val-fraction must be greater than 0 and less than 1 (got \(valFraction))")
        }
        if let lmLossWeight {
            try check(lmLossWeight.isFinite && lmLossWeight >= 0, "--lm-loss-weight must be 0 or positive (got \(lmLossWeight))")
        }
        if let classWeights {
            try check(["none", "balanced"].contains(classWeights), "--class-weights must be none or balanced (got '\(classWeights)')")
        }
    }
}

/// What is wrong with a --template value of `--task complete` (its escapes, its one {prompt}), or nil.
func templateProblem(_ text: String) -> String? {
    do { try TaskSettings.requirePromptOnce(try TaskSettings.template(fromOption: text)) } catch { return "\(error)" }
    return nil
}
