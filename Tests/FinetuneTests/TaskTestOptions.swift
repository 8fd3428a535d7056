import Training

extension TrainingOptions {
    /// Options for a task made in a test: `steps` steps of `batchSize` x `gradAccum` examples at `context`, the
    /// learning rate at its peak from the first step (no warm-up).
    static func forTaskTest(context: Int, batchSize: Int, gradAccum: Int = 1, steps: Int = 1) -> TrainingOptions {
        var options = TrainingOptions()
        options.context = context
        options.batchSize = batchSize
        options.gradAccum = gradAccum
        options.steps = steps
        options.warmupSteps = 0
        return options
    }
}
