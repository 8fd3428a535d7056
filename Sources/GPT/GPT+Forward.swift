import Kernels

extension GPT {
    /// Runs the model on tokens [batch, time] and leaves logits [batch, time, vocab] in `logits`.
    public func forward(tokens: UnsafePointer<Int32>, batch: Int, time: Int) throws {
        try checkShape(batch: batch, time: time, needs: .forward, sharded: false)
        try checkTokens(tokens, count: batch * time, targets: false)
        planActivations(batch: batch, time: time, needs: .forward)
        runForward(tokens: tokens, batch: batch, time: time)
    }

    /// Mean cross-entropy of predicting `targets` [batch, time] (weighted mean when `weights` [batch, time] is
    /// given; weight 0 leaves a position out). No gradients. Sharded over the threads (GPT+Shards.swift).
    public func loss(tokens: UnsafePointer<Int32>, targets: UnsafePointer<Int32>, weights: UnsafePointer<Float>? = nil,
                     batch: Int, time: Int) throws -> Double {
        let weightSum = try checkLossInputs(tokens: tokens, targets: targets, weights: weights, batch: batch, time: time,
                                            training: false)
        let total = sumOverShards(batch: batch, time: time, needs: .forward, addsGradients: false,
                                  weights: .forward) { model, sequences in
            let first = sequences.lowerBound * time
            return model.lossPass(tokens: tokens + first, targets: targets + first, weights: weights.map { $0 + first },
                                  batch: sequences.count, time: time)
        }
        return weightSum > 0 ? total / weightSum : 0
    }

    /// Forward, loss and backward: ADDS the gradient of `gradientScale * sum_n weight[n] * loss[n]` to
    /// `gradients` (call `zeroGradients()` once per optimizer step). The default scale, 1 / sum of weights,
    /// makes it the gradient of the (weighted) mean loss, which is returned. Gradient accumulation over k
    /// micro-batches passes its own scale (for example 1 / (k * batch * time)). Sharded over the threads
    /// (GPT+Shards.swift).
    ///
    /// With `dropoutKey` and a configured dropout > 0, the pass is a training pass with dropout (see
    /// `dropoutSites`); the key picks the masks, so the same key gives the same loss and gradients.
    @discardableResult
    public func forwardBackward(tokens: UnsafePointer<Int32>, targets: UnsafePointer<Int32>,
                                weights: UnsafePointer<Float>? = nil, batch: Int, time: Int,
                                gradientScale: Float? = nil, dropoutKey: UInt64? = nil) throws -> Double {
        let weightSum = try checkLossInputs(tokens: tokens, targets: targets, weights: weights, batch: batch, time: time,
                                            training: true)
        let scale = gradientScale ?? (weightSum > 0 ? Float(1 / weightSum) : 0)
        let total = sumOverShards(batch: batch, time: time, needs: .training, addsGradients: true,
                                  weights: .training) { model, sequences in
            let first = sequences.lowerBound * time
            let dropout = model.activeDropout(key: dropoutKey, firstSequence: sequences.lowerBound, time: time)
            return model.trainingPass(tokens: tokens + first, targets: targets + first,
                                      weights: weights.map { $0 + first }, batch: sequences.count, time: time,
                                      gradientScale: scale, dropout: dropout)
        }
        return weightSum > 0 ? total / weightSum : 0
    }

    /// The sum of weight * loss over tokens [batch, time] (inputs validated, activations planned).
    private func lossPass(tokens: UnsafePointer<Int32>, targets: UnsafePointer<Int32>, weights: UnsafePointer<Float>?,
                          batch: Int, time: Int) -> Double {
        runForward(tokens: tokens, batch: batch, time: time)
        let a = activations!
        return CrossEntropy.forward(losses: a.losses, logits: a.logits, targets: targets, weights: weights,
                                    rows: batch * time, vocab: config.vocabSize, pool: pool)
    }

    /// Forward, loss and backward over tokens [batch, time] (inputs validated, activations planned): adds the
    /// gradient of `gradientScale * sum weight * loss` to `gradients` and returns the sum of weight * loss.
    private func trainingPass(tokens: UnsafePointer<Int32>, targets: UnsafePointer<Int32>,
                              weights: UnsafePointer<Float>?, batch: Int, time: Int, gradientScale: Float,
                              dropout: ActiveDropout?) -> Double {
        runForward(tokens: tokens, batch: batch, time: time, dropout: dropout)
        let a = activations!
        let total = CrossEntropy.forwardBackward(logits: a.logits, losses: a.losses, targets: targets, weights: weights,
                                                 rows: batch * time, vocab: config.vocabSize,
                                                 gradientScale: gradientScale, pool: pool)
        runBackward(tokens: tokens, batch: batch, time: time, dropout: dropout)
        return total
    }

    /// The forward pass proper (inputs already validated, activations planned): the blocks, then the LM head.
    func runForward(tokens: UnsafePointer<Int32>, batch: Int, time: Int, dropout: ActiveDropout? = nil) {
        runBlocks(tokens: tokens, batch: batch, time: time, dropout: dropout)
        let a = activations!
        // Tied LM head: logits[N, V] = lnf[N, C] · wte[V, C]^T
        GEMM.multiply(m: batch * time, n: config.vocabSize, k: config.width, a: a.lnf, lda: config.width,
                      b: parameters.pointer + layout.tokenEmbedding, ldb: config.width, transposeB: true,
                      c: a.logits, ldc: config.vocabSize, pool: pool,
                      packedB: packedWeights.transposed(layout.tokenEmbedding))   // B = wte^T [C, V] (PackedWeights.swift)
    }

    /// Embedding, every block and the final layer norm (into `lnf`); everything but the LM head. Generation's
    /// prefill runs this and then the head on the last row only; a task head reads `lnf` (GPT+Hidden.swift).
    /// `dropout` (training only) masks the embedding output, the attention weights and each block's two branch
    /// outputs before they join the residual stream. `afterBlock(l, activations)` sees block l's activations
    /// when the block is done (a forward-only plan reuses them for the next block).
    func runBlocks(tokens: UnsafePointer<Int32>, batch: Int, time: Int, dropout: ActiveDropout? = nil,
                   afterBlock: ((_ block: Int, _ activations: Activations.Layer) -> Void)? = nil) {
        let a = activations!
        let p = parameters.pointer
        let N = batch * time, C = config.width
        let eps = config.layerNormEpsilon

        // encoded[N, C] = wte[token] + wpe[t]
        Embedding.forward(out: a.encoded, tokens: tokens, wte: p + layout.tokenEmbedding,
                          wpe: p + layout.positionEmbedding, batch: batch, time: time, channels: C, pool: pool)
        dropout?.forward(a.encoded, count: N * C, site: .embedding, pool: pool)
        for l in 0..<config.layers {
            let w = layout.blocks[l]
            let t = a.layer(l)   // this block's activations and its input

            // Attention half: residual2 = input + c_proj(attention(c_attn(ln_1(input))))
            LayerNorm.forward(out: t.ln1, mean: t.ln1Mean, rstd: t.ln1Rstd, input: t.input, weight: p + w.ln1Weight,
                              bias: p + w.ln1Bias, rows: N, channels: C, epsilon: eps, pool: pool)
            GEMM.forward(y: t.qkv, x: t.ln1, w: p + w.attentionWeight, bias: p + w.attentionBias,
                         rows: N, inputs: C, outputs: 3 * C, pool: pool,
                         packedW: packedWeights.forward(w.attentionWeight))                  // [N, 3C]
            t.attention.forward(out: t.attn, qkv: t.qkv, batch: batch, time: time,
                                   dropout: dropout?.mask(.attentionWeights(layer: l)))      // [N, C]
            GEMM.forward(y: t.residual2, x: t.attn, w: p + w.attentionProjectionWeight,
                         bias: p + w.attentionProjectionBias, rows: N, inputs: C, outputs: C, pool: pool,
                         packedW: packedWeights.forward(w.attentionProjectionWeight))
            dropout?.forward(t.residual2, count: N * C, site: .attention(layer: l), pool: pool)
            Residual.accumulate(into: t.residual2, t.input, count: N * C, pool: pool)

            // MLP half: residual3 = residual2 + c_proj(gelu(c_fc(ln_2(residual2))))
            LayerNorm.forward(out: t.ln2, mean: t.ln2Mean, rstd: t.ln2Rstd, input: t.residual2, weight: p + w.ln2Weight,
                              bias: p + w.ln2Bias, rows: N, channels: C, epsilon: eps, pool: pool)
            GEMM.forward(y: t.fcPre, x: t.ln2, w: p + w.fullyConnectedWeight, bias: p + w.fullyConnectedBias,
                         rows: N, inputs: C, outputs: 4 * C, pool: pool,
                         packedW: packedWeights.forward(w.fullyConnectedWeight))             // [N, 4C]
            GELU.forward(out: t.fcGelu, input: t.fcPre, count: N * 4 * C, pool: pool)
            GEMM.forward(y: t.residual3, x: t.fcGelu, w: p + w.mlpProjectionWeight, bias: p + w.mlpProjectionBias,
                         rows: N, inputs: 4 * C, outputs: C, pool: pool,
                         packedW: packedWeights.forward(w.mlpProjectionWeight))              // [N, C]
            dropout?.forward(t.residual3, count: N * C, site: .mlp(layer: l), pool: pool)
            Residual.accumulate(into: t.residual3, t.residual2, count: N * C, pool: pool)
            afterBlock?(l, t)
        }
        let last = a.layer(config.layers - 1).residual3
        LayerNorm.forward(out: a.lnf, mean: a.lnfMean, rstd: a.lnfRstd, input: last, weight: p + layout.finalNormWeight,
                          bias: p + layout.finalNormBias, rows: N, channels: C, epsilon: eps, pool: pool)
    }
}
