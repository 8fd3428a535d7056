import GPT

/// Random training windows from a token file: each row of a batch is `context + 1` consecutive tokens starting
/// at a uniformly drawn offset (nanoGPT's `get_batch`); inputs are the first `context`, targets the last
/// `context`. The generator is the only state, so saving it saves the data position.
public struct BatchSampler {
    public let tokens: TokenFile
    public let batchSize: Int
    public let context: Int

    public init(tokens: TokenFile, batchSize: Int, context: Int) throws {
        for (name, value) in [("batchSize", batchSize), ("context", context)] where value < 1 {
            throw TrainingError.invalidOption(option: name, message: "must be at least 1 (got \(value))")
        }
        guard tokens.count >= context + 1 else {
            throw TrainingError.dataTooShort(path: tokens.path, tokens: tokens.count, needed: context + 1)
        }
        self.tokens = tokens
        self.batchSize = batchSize
        self.context = context
    }

    /// Fills inputs[B*T] and targets[B*T] from `batchSize` random windows drawn with `generator`.
    public func fill(inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>,
                     window: UnsafeMutablePointer<Int32>, using generator: inout SeededGenerator) {
        let starts = tokens.count - context   // offsets 0 ..< starts leave room for the shifted target
        for row in 0..<batchSize {
            let start = Int(generator.next() % UInt64(starts))
            tokens.copy(from: start, count: context + 1, into: window)
            (inputs + row * context).update(from: window, count: context)
            (targets + row * context).update(from: window + 1, count: context)
        }
    }
}
