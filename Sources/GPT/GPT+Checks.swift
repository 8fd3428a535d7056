/// The checks every pass makes before it touches a buffer: its shape against the model and against the memory
/// here, and its token ids, targets and loss weights. A pass that fails them throws `GPTError` and changes nothing.
extension GPT {
    /// Refuses a pass over `batch` x `time` with `needs` that the model cannot run, or whose activations would not
    /// fit in memory beside the model's buffers (the training buffers too for a backward pass, which adds
    /// gradients). `sharded` unless the pass runs on this model alone (`forward`).
    func checkShape(batch: Int, time: Int, needs: PassNeeds, sharded: Bool = true) throws {
        let training = needs.backward
        try checkDimensions(batch: batch, time: time)
        if training { try GPT.checkModelMemory(config: config, training: true) }
        // Weights packed by an earlier pass stay beside this one, unless they leave it too little room: they are
        // a speed-up, never the reason a batch is refused.
        if packedWeights.allocatedBytes > 0
            && !packedWeightsFit(batch: batch, time: time, needs: needs, sharded: sharded) {
            packedWeights.deallocate()
        }
        let committed = committedBytes(batch: batch, training: training, packed: packedWeights.allocatedBytes > 0)
        try MemoryBudget.check(bytes: activationBytesAfterPass(batch: batch, time: time, needs: needs, sharded: sharded),
                               what: GPT.batchDescription(batch: batch, time: time), besides: committed.bytes,
                               holding: committed.holding)
    }

    /// Refuses an empty batch, and sequences longer than the context.
    func checkDimensions(batch: Int, time: Int) throws {
        if batch <= 0 || time <= 0 { throw GPTError.emptyBatch(batch: batch, time: time) }
        if time > config.context { throw GPTError.sequenceLongerThanContext(time: time, context: config.context) }
    }

    /// Refuses an id outside the vocabulary, of the inputs or (`targets`) of the targets: a weight-0 target too,
    /// which `CrossEntropy` would take as "ignore" when negative.
    func checkTokens(_ tokens: UnsafePointer<Int32>, count: Int, targets: Bool) throws {
        let vocab = config.vocabSize
        for i in 0..<count where tokens[i] < 0 || Int(tokens[i]) >= vocab {
            throw targets ? GPTError.targetOutOfRange(token: tokens[i], position: i, vocabSize: vocab)
                          : GPTError.tokenOutOfRange(token: tokens[i], position: i, vocabSize: vocab)
        }
    }

    /// Validates a loss call and returns the sum of the weights (batch * time when there are none).
    func checkLossInputs(tokens: UnsafePointer<Int32>, targets: UnsafePointer<Int32>,
                         weights: UnsafePointer<Float>?, batch: Int, time: Int, training: Bool) throws -> Double {
        try checkShape(batch: batch, time: time, needs: training ? .training : .forward)
        let n = batch * time
        try checkTokens(tokens, count: n, targets: false)
        try checkTokens(targets, count: n, targets: true)
        guard let weights else { return Double(n) }
        var sum = 0.0
        for i in 0..<n {
            if !(weights[i] >= 0) || !weights[i].isFinite { throw GPTError.invalidWeight(weight: weights[i], position: i) }
            sum += Double(weights[i])
        }
        return sum
    }
}
