import Foundation

extension TrainingOptions {
    /// A note for a resumed run whose learning-rate schedule changed (a new --steps stretches the cosine, a new --lr
    /// or --min-lr moves it): the rate of the next step, `completedSteps` + 1, now and under the saved options. Nil
    /// when the two agree. A finished run given more --steps otherwise jumps from its final rate back up the cosine
    /// (1e-4 -> 4.5e-4 going from 30 to 50 steps) without a word; where a resume may set the rates
    /// (`ratesCanChange`: pretrain's, not finetune's), the note says how to go on at the final rate.
    public func scheduleChangeNote(saved: TrainingOptions, completedSteps: Int, ratesCanChange: Bool) -> String? {
        let now = schedule.learningRate(atStep: completedSteps)
        let before = saved.schedule.learningRate(atStep: completedSteps)
        guard abs(now - before) > 1e-9 * max(abs(now), abs(before)) else { return nil }
        // Rates as the progress line writes them, unless that hides the difference; the options to pass exactly
        // (a rounded --lr would differ from the saved rate again).
        let short = (String(format: "%.2e", now), String(format: "%.2e", before))
        let (shown, shownBefore) = short.0 == short.1 ? ("\(now)", "\(before)") : short
        var note = "note: the learning-rate schedule changed (now warm-up \(warmupSteps), cosine to step \(steps)): "
            + "step \(completedSteps + 1) runs at lr \(shown), where the saved schedule had \(shownBefore)"
        if completedSteps >= saved.steps && ratesCanChange {
            note += "; to go on at the finished run's final rate, pass --lr \(before) --min-lr \(before)"
        }
        return note
    }
}
