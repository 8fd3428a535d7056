import Kernels

/// Entry points for task heads on top of the transformer (a sequence classifier, ...): the final hidden state
/// after ln_f, h[batch, time, width], and a backward pass that starts from the head's gradient dh.
extension GPT {
    /// Runs the blocks and ln_f on tokens [batch, time] without the LM head; h is then in `finalHidden`.
    public func forwardHidden(tokens: UnsafePointer<Int32>, batch: Int, time: Int) throws {
        try checkShape(batch: batch, time: time)
        try checkTokens(tokens, count: batch * time, targets: false)
        planActivations(batch: batch, time: time)
        runForward(tokens: tokens, batch: batch, time: time, computeLogits: false)
    }

    /// The final hidden state [batch * time, width] (after ln_f) of the last forward pass.
    public var finalHidden: UnsafePointer<Float>? { activations.map { UnsafePointer($0.lnf) } }

    /// Forward and backward for a task head, optionally with the language-modelling loss as well
    /// (GPT-1's auxiliary objective).
    ///
    /// 1. Forward to h = ln_f(x) [N, width] (N = batch * time), plus the LM logits when `lmTargets` is given.
    /// 2. dh [N, width] starts at 0, or at the gradient of `lmGradientScale * sum_n lmWeights[n] * lmLoss[n]`
    ///    with respect to h (the tied head's dwte is accumulated too).
    /// 3. `head(h, dh)` computes the head's loss and ADDS its gradient with respect to h into dh (it also
    ///    accumulates its own parameters' gradients).
    /// 4. Backward from dh through ln_f, the blocks and the embeddings; parameter gradients accumulate.
    ///
    /// Returns the LM loss as a weighted mean over the positions (0 without `lmTargets` or with all weights 0).
    /// `dropoutKey`: as in the language-model `forwardBackward` (dropout when the configuration has some).
    @discardableResult
    public func forwardBackward(tokens: UnsafePointer<Int32>, batch: Int, time: Int,
                                lmTargets: UnsafePointer<Int32>? = nil, lmWeights: UnsafePointer<Float>? = nil,
                                lmGradientScale: Float = 0, dropoutKey: UInt64? = nil,
                                head: (_ hidden: UnsafePointer<Float>, _ dHidden: UnsafeMutablePointer<Float>) throws -> Void)
        throws -> Double {
        try checkShape(batch: batch, time: time)
        let n = batch * time
        try checkTokens(tokens, count: n, targets: false)
        planActivations(batch: batch, time: time)
        let a = activations!
        let dropout = activeDropout(key: dropoutKey)
        var lmLoss = 0.0
        if let lmTargets {
            try checkTokens(lmTargets, count: n, targets: true)
            var weightSum = Double(n)
            if let lmWeights {
                weightSum = 0
                for i in 0..<n {
                    if !(lmWeights[i] >= 0) || !lmWeights[i].isFinite {
                        throw GPTError.invalidWeight(weight: lmWeights[i], position: i)
                    }
                    weightSum += Double(lmWeights[i])
                }
            }
            runForward(tokens: tokens, batch: batch, time: time, computeLogits: true, dropout: dropout)
            let total = CrossEntropy.forwardBackward(logits: a.logits, losses: a.losses, targets: lmTargets,
                                                     weights: lmWeights, rows: n, vocab: config.vocabSize,
                                                     gradientScale: lmGradientScale, pool: pool)
            lmLoss = weightSum > 0 ? total / weightSum : 0
            // Tied LM head: dwte += dlogits^T · h;  dh = dlogits · wte
            let C = config.width, V = config.vocabSize
            GEMM.backwardWeight(dw: gradients.pointer + layout.tokenEmbedding, x: a.logits, dy: a.lnf, rows: n,
                                inputs: V, outputs: C, pool: pool)
            GEMM.forward(y: a.dNarrow, x: a.logits, w: parameters.pointer + layout.tokenEmbedding, bias: nil,
                         rows: n, inputs: V, outputs: C, pool: pool)
        } else {
            runForward(tokens: tokens, batch: batch, time: time, computeLogits: false, dropout: dropout)
            a.dNarrow.update(repeating: 0, count: n * config.width)
        }
        try head(UnsafePointer(a.lnf), a.dNarrow)
        runBackwardFromFinalNorm(tokens: tokens, batch: batch, time: time, dropout: dropout)
        return lmLoss
    }
}
