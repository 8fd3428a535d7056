extension TrainingOptions {
    /// A note when the run ends before its warm-up does: the rate never reaches --lr and never decays. Nil otherwise.
    public var warmupNote: String? {
        guard warmupSteps > steps else { return nil }
        return "note: the run ends before its warm-up (--warmup-steps \(warmupSteps), --steps \(steps)): "
            + "the learning rate never reaches --lr and never decays"
    }

    /// A note when `patience` (> 0) cannot stop the run early: early stopping needs evaluations before the last
    /// step, which ends the run anyway. Nil when it can.
    public func patienceNote(patience: Int, hasValidation: Bool) -> String? {
        guard patience > 0, !hasValidation || evalEvery == 0 || evalEvery >= steps else { return nil }
        return "note: --patience \(patience) cannot stop this run early: "
            + (hasValidation ? "it evaluates only at its last step (--eval-every \(evalEvery))" : "it has no validation data")
    }
}
