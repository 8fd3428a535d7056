/// Array conveniences (they allocate: for tests, evaluation and tools, not the training hot path).
extension GPT {
    /// Logits [batch * time * vocab] for tokens [batch * time].
    public func forward(tokens: [Int32], batch: Int, time: Int) throws -> [Float] {
        try checkCount(tokens.count, batch: batch, time: time)
        try tokens.withUnsafeBufferPointer { try forward(tokens: $0.baseAddress!, batch: batch, time: time) }
        return Array(UnsafeBufferPointer(start: logits!, count: batch * time * config.vocabSize))
    }

    public func loss(tokens: [Int32], targets: [Int32], weights: [Float]? = nil, batch: Int, time: Int) throws -> Double {
        try checkCount(tokens.count, batch: batch, time: time)
        try checkCount(targets.count, batch: batch, time: time)
        if let weights { try checkCount(weights.count, batch: batch, time: time) }
        return try tokens.withUnsafeBufferPointer { t in
            try targets.withUnsafeBufferPointer { y in
                try withOptionalPointer(weights) { w in
                    try loss(tokens: t.baseAddress!, targets: y.baseAddress!, weights: w, batch: batch, time: time)
                }
            }
        }
    }

    /// `forwardBackward(tokens:targets:weights:batch:time:gradientScale:dropoutKey:)` on arrays: dropout (when
    /// the model has it) applies only with a `dropoutKey`, as there.
    @discardableResult
    public func forwardBackward(tokens: [Int32], targets: [Int32], weights: [Float]? = nil, batch: Int, time: Int,
                                gradientScale: Float? = nil, dropoutKey: UInt64? = nil) throws -> Double {
        try checkCount(tokens.count, batch: batch, time: time)
        try checkCount(targets.count, batch: batch, time: time)
        if let weights { try checkCount(weights.count, batch: batch, time: time) }
        return try tokens.withUnsafeBufferPointer { t in
            try targets.withUnsafeBufferPointer { y in
                try withOptionalPointer(weights) { w in
                    try forwardBackward(tokens: t.baseAddress!, targets: y.baseAddress!, weights: w,
                                        batch: batch, time: time, gradientScale: gradientScale, dropoutKey: dropoutKey)
                }
            }
        }
    }

    private func checkCount(_ count: Int, batch: Int, time: Int) throws {
        try checkDimensions(batch: batch, time: time)
        if count != batch * time { throw GPTError.wrongInputCount(count: count, batch: batch, time: time) }
    }
}

private func withOptionalPointer<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
    guard let array else { return try body(nil) }
    return try array.withUnsafeBufferPointer { try body($0.baseAddress) }
}
