import Kernels

extension GPT {
    /// Backward through the layers in reverse order (llm.c's gpt2_backward). Expects dlogits [N, V] in the
    /// logits buffer (CrossEntropy.forwardBackward leaves them there) and the activations of the forward pass
    /// just run on the same tokens. Parameter gradients accumulate into `gradients`.
    func runBackward(tokens: UnsafePointer<Int32>, batch: Int, time: Int, dropout: ActiveDropout? = nil) {
        activations!.requireEveryLayer()
        tiedHeadBackward(rows: batch * time)
        runBackwardFromFinalNorm(tokens: tokens, batch: batch, time: time, dropout: dropout)
    }

    /// Backward of the tied LM head, logits[N, V] = lnf[N, C] · wte[V, C]^T, with dlogits [N, V] in the logits buffer:
    ///   dwte[V, C] += dlogits^T · lnf     (a linear layer's weight gradient, dw += x^T · dy, with x = dlogits
    ///                                      [N, V] as its input and lnf [N, C] in the place of dy)
    ///   dlnf[N, C]  = dlogits · wte       (a linear layer's forward, y = x · w, with w = wte [V, C]), into `dNarrow`
    func tiedHeadBackward(rows n: Int) {
        let a = activations!
        let C = config.width, V = config.vocabSize
        GEMM.backwardWeight(dw: gradients.pointer + layout.tokenEmbedding, x: a.logits, dy: a.lnf, rows: n,
                            inputs: V, outputs: C, pool: pool)
        GEMM.forward(y: a.dNarrow, x: a.logits, w: parameters.pointer + layout.tokenEmbedding, bias: nil, rows: n,
                     inputs: V, outputs: C, pool: pool,
                     packedW: packedWeights.forward(layout.tokenEmbedding))   // wte [V, C] as W[in, out]: its forward form
    }

    /// Backward from the gradient of the final hidden state (after ln_f), dlnf [N, C], held in `dNarrow`:
    /// through ln_f, the blocks and the embeddings. A task head (GPT+Hidden.swift) enters here.
    /// `dropout` must be the forward pass's (its masks are regenerated here).
    func runBackwardFromFinalNorm(tokens: UnsafePointer<Int32>, batch: Int, time: Int, dropout: ActiveDropout? = nil) {
        let a = activations!
        a.requireEveryLayer()
        let p = parameters.pointer, g = gradients.pointer
        let N = batch * time, C = config.width
        let dres = a.dResidual, dnarrow = a.dNarrow
        let last = a.layer(config.layers - 1).residual3
        LayerNorm.backward(dinput: dres, dweight: g + layout.finalNormWeight, dbias: g + layout.finalNormBias,
                           dout: dnarrow, input: last, weight: p + layout.finalNormWeight, mean: a.lnfMean,
                           rstd: a.lnfRstd, rows: N, channels: C, accumulate: false, pool: pool)

        // dres holds d(block output); each block adds its branches' input gradients into it.
        for l in stride(from: config.layers - 1, through: 0, by: -1) {
            let w = layout.blocks[l]
            let t = a.layer(l)   // this block's activations and its input
            // dqkv reuses dFcPre's buffer: dFcPre is dead once the MLP half has formed dln2.
            let dFcGelu = a.dWide1, dFcPre = a.dWide2, dqkv = a.dWide2

            // MLP half. d(mlp c_proj output) = dres (through the dropout mask, into dnarrow, when training
            // with dropout).
            var dMLP = UnsafePointer(dres)
            if let dropout {
                dropout.backward(dinput: dnarrow, dout: dres, count: N * C, site: .mlp(layer: l), pool: pool)
                dMLP = UnsafePointer(dnarrow)
            }
            GEMM.backwardWeight(dw: g + w.mlpProjectionWeight, x: t.fcGelu, dy: dMLP, rows: N, inputs: 4 * C,
                                outputs: C, pool: pool)
            Bias.backward(dbias: g + w.mlpProjectionBias, dy: dMLP, rows: N, columns: C, pool: pool)
            GEMM.backwardInput(dx: dFcGelu, dy: dMLP, w: p + w.mlpProjectionWeight, rows: N, inputs: 4 * C,
                               outputs: C, accumulate: false, pool: pool,
                               packedWT: packedWeights.transposed(w.mlpProjectionWeight))     // [N, 4C]
            GELU.backward(dinput: dFcPre, input: t.fcPre, output: t.fcGelu, dout: dFcGelu, count: N * 4 * C, accumulate: false, pool: pool)
            GEMM.backwardWeight(dw: g + w.fullyConnectedWeight, x: t.ln2, dy: dFcPre, rows: N, inputs: C,
                                outputs: 4 * C, pool: pool)
            Bias.backward(dbias: g + w.fullyConnectedBias, dy: dFcPre, rows: N, columns: 4 * C, pool: pool)
            GEMM.backwardInput(dx: dnarrow, dy: dFcPre, w: p + w.fullyConnectedWeight, rows: N, inputs: C,
                               outputs: 4 * C, accumulate: false, pool: pool,
                               packedWT: packedWeights.transposed(w.fullyConnectedWeight))    // dln2 [N, C]
            // residual3 = residual2 + mlp(ln2(residual2)): dres becomes d residual2
            LayerNorm.backward(dinput: dres, dweight: g + w.ln2Weight, dbias: g + w.ln2Bias, dout: dnarrow,
                               input: t.residual2, weight: p + w.ln2Weight, mean: t.ln2Mean, rstd: t.ln2Rstd,
                               rows: N, channels: C, accumulate: true, pool: pool)

            // Attention half. d(attn c_proj output) = dres (through the dropout mask, into the free dWide1,
            // when training with dropout).
            var dAttention = UnsafePointer(dres)
            if let dropout {
                dropout.backward(dinput: a.dWide1, dout: dres, count: N * C, site: .attention(layer: l), pool: pool)
                dAttention = UnsafePointer(a.dWide1)
            }
            GEMM.backwardWeight(dw: g + w.attentionProjectionWeight, x: t.attn, dy: dAttention, rows: N, inputs: C,
                                outputs: C, pool: pool)
            Bias.backward(dbias: g + w.attentionProjectionBias, dy: dAttention, rows: N, columns: C, pool: pool)
            GEMM.backwardInput(dx: dnarrow, dy: dAttention, w: p + w.attentionProjectionWeight, rows: N, inputs: C,
                               outputs: C, accumulate: false, pool: pool,
                               packedWT: packedWeights.transposed(w.attentionProjectionWeight)) // dattn [N, C]
            t.attention.backward(dqkv: dqkv, dout: dnarrow, qkv: t.qkv, out: t.attn, batch: batch, time: time,
                                    accumulate: false)                                       // [N, 3C]
            GEMM.backwardWeight(dw: g + w.attentionWeight, x: t.ln1, dy: dqkv, rows: N, inputs: C, outputs: 3 * C,
                                pool: pool)
            Bias.backward(dbias: g + w.attentionBias, dy: dqkv, rows: N, columns: 3 * C, pool: pool)
            GEMM.backwardInput(dx: dnarrow, dy: dqkv, w: p + w.attentionWeight, rows: N, inputs: C,
                               outputs: 3 * C, accumulate: false, pool: pool,
                               packedWT: packedWeights.transposed(w.attentionWeight))         // dln1 [N, C]
            // residual2 = input + attn(ln1(input)): dres becomes d input
            LayerNorm.backward(dinput: dres, dweight: g + w.ln1Weight, dbias: g + w.ln1Bias, dout: dnarrow,
                               input: t.input, weight: p + w.ln1Weight, mean: t.ln1Mean, rstd: t.ln1Rstd,
                               rows: N, channels: C, accumulate: true, pool: pool)
        }
        dropout?.backward(dinput: dres, dout: dres, count: N * C, site: .embedding, pool: pool)
        Embedding.backward(dwte: g + layout.tokenEmbedding, dwpe: g + layout.positionEmbedding, dout: dres,
                           tokens: tokens, batch: batch, time: time, channels: C, pool: pool)
    }
}
