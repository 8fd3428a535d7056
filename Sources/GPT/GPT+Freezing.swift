import Kernels

/// Fine-tuning with the lower part of the model fixed: the token and position embeddings and the lowest
/// `frozenLayers` blocks get no update (`--freeze-layers N`). The tied LM head is the token embedding, so it
/// stays fixed too. Frozen tensors are skipped by AdamW (a zero gradient alone would still let weight decay
/// and old moments move them).
extension GPT {
    /// True when the tensor of `slot` stays fixed with `frozenLayers` frozen blocks (0: nothing frozen).
    public func isFrozen(_ slot: TensorSlot, frozenLayers: Int) -> Bool {
        guard frozenLayers > 0 else { return false }
        if slot.name == "transformer.wte.weight" || slot.name == "transformer.wpe.weight" { return true }
        let prefix = "transformer.h."
        guard slot.name.hasPrefix(prefix) else { return false }
        let rest = slot.name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]) else { return false }
        return layer < frozenLayers
    }

    /// Sets the gradients of frozen tensors to zero (before clipping, so the norm covers trainable ones only).
    public func zeroFrozenGradients(frozenLayers: Int) {
        for slot in layout.slots where isFrozen(slot, frozenLayers: frozenLayers) {
            (gradients.pointer + slot.offset).update(repeating: 0, count: slot.count)
        }
    }

    /// One AdamW step on the trainable tensors only (step is 1-based); weight decay on 2-D weights only.
    public func update(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8,
                       weightDecay: Float = 0, step: Int, frozenLayers: Int, gradientScale: Float = 1) {
        guard frozenLayers > 0 else {
            update(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   weightDecay: weightDecay, step: step, gradientScale: gradientScale)
            return
        }
        defer { parametersChanged() }
        for slot in layout.slots where !isFrozen(slot, frozenLayers: frozenLayers) {
            AdamW.step(parameters: parameters.pointer + slot.offset, gradients: gradients.pointer + slot.offset,
                       m: firstMoment.pointer + slot.offset, v: secondMoment.pointer + slot.offset, count: slot.count,
                       learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                       weightDecay: slot.decayed ? weightDecay : 0, step: step, gradientScale: gradientScale,
                       pool: pool)
        }
    }
}
