import GPT
import Kernels

extension TrainingOptions {
    /// The end of every optimizer step, once the step's micro-batch gradients are summed: a non-finite loss or
    /// gradient norm throws and leaves the parameters untouched; otherwise AdamW runs at the scheduled learning
    /// rate on the gradients clipped to a global norm of `gradClip` (when > 0; AdamW takes the clipping factor,
    /// the buffers are left as they are). `completedSteps` counts the steps before this one.
    public func finishStep(_ parameters: TrainableParameters, loss: Double, completedSteps: Int,
                           frozenLayers: Int = 0) throws -> Trainer.StepResult {
        let step = completedSteps + 1
        guard loss.isFinite else { throw TrainingError.nonFiniteLoss(step: step, loss: loss, checkpoint: nil) }
        let norm = parameters.gradientNorm()
        guard norm.isFinite else { throw TrainingError.nonFiniteGradient(step: step, checkpoint: nil) }
        let lr = schedule.learningRate(atStep: completedSteps)
        parameters.update(learningRate: Float(lr), beta1: Float(beta1), beta2: Float(beta2), epsilon: Float(epsilon),
                          weightDecay: Float(weightDecay), step: step, frozenLayers: frozenLayers,
                          gradientScale: gradClip > 0 ? GradientClipping.scale(norm: norm, maxNorm: gradClip) : 1)
        return Trainer.StepResult(step: step, loss: loss, learningRate: lr, gradientNorm: norm)
    }
}
