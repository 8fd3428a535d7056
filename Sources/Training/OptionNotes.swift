extension TrainingOptions {
    /// A note when the run ends before its warm-up does: the rate never reaches --lr and never decays. Nil otherwise.
    public var warmupNote: String? {
        guard warmupSteps > steps else { return nil }
        return "note: the run ends before its warm-up (--warmup-steps \(warmupSteps), --steps \(steps)): "
            + "the learning rate never reaches --lr and never decays"
    }

    /// A note when `patience` (> 0) cannot stop the run early: a stop comes at an evaluation before the last step
    /// (which ends the run anyway), once `patience` evaluations have followed the best, so the run needs more than
    /// `patience` evaluations before its last step. Nil when it has them.
    public func patienceNote(patience: Int, hasValidation: Bool) -> String? {
        guard patience > 0 else { return nil }
        guard hasValidation else { return "note: --patience \(patience) cannot stop this run early: it has no validation data" }
        let before = evalEvery > 0 ? (steps - 1) / evalEvery : 0   // evaluations before the last step
        guard before <= patience else { return nil }
        return "note: --patience \(patience) cannot stop this run early: "
            + (before == 0 ? "it evaluates only at its last step (--eval-every \(evalEvery))"
                : "it evaluates \(before == 1 ? "once" : "\(before) times") before its last step (--eval-every \(evalEvery)), "
                    + "so at most \(before - 1) evaluation\(before - 1 == 1 ? "" : "s") can follow the best")
    }
}
