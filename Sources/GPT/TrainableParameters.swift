/// What one optimizer step updates: a language model, or a model with a task head.
public protocol TrainableParameters: AnyObject {
    /// Global L2 norm of all gradients.
    func gradientNorm() -> Double
    /// One AdamW step (1-based `step`) on the gradients times `gradientScale` (clipping: `GradientClipping.scale`),
    /// on every tensor; with `frozenLayers` > 0 the embeddings and the lowest `frozenLayers` blocks stay fixed.
    func update(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float,
                step: Int, frozenLayers: Int, gradientScale: Float)
}

extension GPT: TrainableParameters {}
extension SequenceClassifier: TrainableParameters {}
