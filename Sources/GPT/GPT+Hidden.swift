import Kernels

/// Entry points for task heads on top of the transformer (a sequence classifier, ...): the final hidden state
/// after ln_f, h[batch, time, width], and a backward pass that starts from the head's gradient dh. Both are
/// sharded over the threads (GPT+Shards.swift): a head sees the batch one shard of sequences at a time.
extension GPT {
    /// Runs the blocks and ln_f on tokens [batch, time] without the LM head, then calls `read(sequences,
    /// hidden)` once a shard, in shard order: hidden [sequences.count * time, width] holds the shard's final
    /// hidden states, row (b - sequences.lowerBound) * time + t for sequence b.
    public func forwardHidden(tokens: UnsafePointer<Int32>, batch: Int, time: Int,
                              read: (_ sequences: Range<Int>, _ hidden: UnsafePointer<Float>) -> Void) throws {
        try checkShape(batch: batch, time: time, needs: .hidden)
        try checkTokens(tokens, count: batch * time, targets: false)
        planPass(batch: batch, time: time, needs: .hidden)
        inShards(batch: batch, time: time, weights: .blockWeights) { model, sequences, _ in
            model.runBlocks(tokens: tokens + sequences.lowerBound * time, batch: sequences.count, time: time)
        }
        inShardsSerially(batch: batch) { model, sequences in read(sequences, model.activations!.lnf) }
    }

    /// Forward and backward for a task head, optionally with the language-modelling loss as well
    /// (GPT-1's auxiliary objective).
    ///
    /// 1. Forward to h = ln_f(x) [N, width] (N = batch * time), plus the LM logits when `lmTargets` is given.
    /// 2. dh [N, width] starts at 0, or at the gradient of `lmGradientScale * sum_n lmWeights[n] * lmLoss[n]`
    ///    with respect to h (the tied head's dwte is accumulated too).
    /// 3. `head(sequences, h, dh)`, once a shard in shard order, computes the head's loss on those sequences
    ///    and ADDS its gradient with respect to h into dh (it also accumulates its own parameters'
    ///    gradients). h and dh hold the shard's rows: (b - sequences.lowerBound) * time + t for sequence b.
    /// 4. Backward from dh through ln_f, the blocks and the embeddings; parameter gradients accumulate.
    ///
    /// Returns the LM loss as a weighted mean over the positions (0 without `lmTargets` or with all weights 0).
    /// `dropoutKey`: as in the language-model `forwardBackward` (dropout when the configuration has some).
    @discardableResult
    public func forwardBackward(tokens: UnsafePointer<Int32>, batch: Int, time: Int,
                                lmTargets: UnsafePointer<Int32>? = nil, lmWeights: UnsafePointer<Float>? = nil,
                                lmGradientScale: Float = 0, dropoutKey: UInt64? = nil,
                                head: (_ sequences: Range<Int>, _ hidden: UnsafePointer<Float>,
                                       _ dHidden: UnsafeMutablePointer<Float>) -> Void) throws -> Double {
        var weightSum = 0.0
        if let lmTargets {
            weightSum = try checkLossInputs(tokens: tokens, targets: lmTargets, weights: lmWeights, batch: batch,
                                            time: time, training: true)
        } else {
            try checkShape(batch: batch, time: time, needs: PassNeeds(backward: true, logits: false))
            try checkTokens(tokens, count: batch * time, targets: false)
        }
        // The shards' gradients are drained after the backward below, not after this forward part.
        // The forward part reads the tied head's two forms only with LM targets.
        let forms: PackedWeights.Forms = lmTargets == nil ? .blockWeights : [.blockWeights, .logits, .headBackward]
        let lmTotal = sumOverShards(batch: batch, time: time, needs: PassNeeds(backward: true, logits: lmTargets != nil),
                                    addsGradients: false,
                                    weights: forms) { model, sequences in
            let first = sequences.lowerBound * time
            return model.hiddenPass(tokens: tokens + first, batch: sequences.count, time: time,
                                    lmTargets: lmTargets.map { $0 + first }, lmWeights: lmWeights.map { $0 + first },
                                    lmGradientScale: lmGradientScale,
                                    dropout: model.activeDropout(key: dropoutKey, firstSequence: sequences.lowerBound,
                                                                 time: time))
        }
        inShardsSerially(batch: batch) { model, sequences in
            head(sequences, model.activations!.lnf, model.activations!.dNarrow)
        }
        inShards(batch: batch, time: time, weights: .blockTransposes) { model, sequences, _ in
            model.runBackwardFromFinalNorm(tokens: tokens + sequences.lowerBound * time, batch: sequences.count,
                                           time: time,
                                           dropout: model.activeDropout(key: dropoutKey, firstSequence: sequences.lowerBound,
                                                                        time: time))
        }
        drainShardGradients(batch: batch)
        return weightSum > 0 ? lmTotal / weightSum : 0
    }

    /// Steps 1 and 2 above on tokens [batch, time] (inputs validated, activations planned): leaves h in `lnf`
    /// and dh in `dNarrow`; returns the sum of lmWeight * lmLoss (0 without LM targets).
    private func hiddenPass(tokens: UnsafePointer<Int32>, batch: Int, time: Int, lmTargets: UnsafePointer<Int32>?,
                            lmWeights: UnsafePointer<Float>?, lmGradientScale: Float, dropout: ActiveDropout?) -> Double {
        let a = activations!
        a.requireEveryLayer()
        let n = batch * time
        guard let lmTargets else {
            runBlocks(tokens: tokens, batch: batch, time: time, dropout: dropout)
            a.dNarrow.update(repeating: 0, count: n * config.width)
            return 0
        }
        runForward(tokens: tokens, batch: batch, time: time, dropout: dropout)
        let total = CrossEntropy.forwardBackward(logits: a.logits, losses: a.losses, targets: lmTargets,
                                                 weights: lmWeights, rows: n, vocab: config.vocabSize,
                                                 gradientScale: lmGradientScale, pool: pool)
        tiedHeadBackward(rows: n)   // dh into dNarrow
        return total
    }
}
