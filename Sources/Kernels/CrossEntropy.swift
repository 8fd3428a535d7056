import Glibc

/// Fused softmax + cross-entropy over the vocabulary, one row per position.
///   logits [N, V], targets [N], weights [N] (nil = all 1), losses [N]
///   losses[n] = logsumexp(logits[n]) - logits[n, target[n]]           (unweighted)
///   forwardBackward also overwrites logits in place with
///   dlogits[n, v] = (softmax(logits[n])[v] - [v == target[n]]) * weight[n] * gradientScale
/// and both return sum_n weight[n] * losses[n] (Double). forwardBackward reads each row three times (max; exps,
/// written and summed; the gradient, scaled in place), forward twice; a row fits in L1/L2 for the vocabularies
/// here, so it leaves memory once and the probabilities are never stored. Stable for large logits: exps are taken of x - max.
/// A row of weight 0 is masked out: its gradient is 0 and it adds nothing to the sum; its target may then be
/// negative (an "ignore" id), in which case its loss is written as 0. (The model's passes do not use that:
/// `GPT.checkTokens` refuses any target outside the vocabulary, and a masked row carries a real target.)
public enum CrossEntropy {
    public static func forwardBackward(logits: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>,
                                       targets: UnsafePointer<Int32>, weights: UnsafePointer<Float>?,
                                       rows: Int, vocab: Int, gradientScale: Float, pool: ThreadPool = .shared) -> Double {
        run(rows: rows, vocab: vocab, pool: pool) { row in
            let x = logits + row * vocab
            let w = weights?[row] ?? 1
            let target = Int(targets[row])
            if target < 0 || target >= vocab {
                precondition(w == 0, "cross-entropy target \(target) outside 0..<\(vocab) on an unmasked row")
                losses[row] = 0
                x.update(repeating: 0, count: vocab)
                return 0
            }
            // Pass 1: the maximum. Pass 2: x <- exp(x - max) in place, summed. Pass 3: the gradient, scaled in
            // place. The row (32 KB at V = 8192) stays in L1/L2 between the passes.
            let maximum = rowMaximum(UnsafePointer(x), vocab)
            let logitOfTarget = x[target]
            let sum = sumOfExps(UnsafePointer(x), vocab, maximum: maximum, writingTo: x)
            let loss = Float(Double(maximum) + log(Double(sum)) - Double(logitOfTarget))
            losses[row] = loss
            if w == 0 {
                x.update(repeating: 0, count: vocab)
                return 0
            }
            let scale = w * gradientScale
            let factor = scale / sum
            for i in 0..<vocab { x[i] *= factor }
            x[target] -= scale
            return Double(w) * Double(loss)
        }
    }

    public static func forward(losses: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
                               targets: UnsafePointer<Int32>, weights: UnsafePointer<Float>?,
                               rows: Int, vocab: Int, pool: ThreadPool = .shared) -> Double {
        run(rows: rows, vocab: vocab, pool: pool) { row in
            let x = logits + row * vocab
            let w = weights?[row] ?? 1
            let target = Int(targets[row])
            if target < 0 || target >= vocab {
                precondition(w == 0, "cross-entropy target \(target) outside 0..<\(vocab) on an unmasked row")
                losses[row] = 0
                return 0
            }
            let maximum = rowMaximum(x, vocab)
            let sum = sumOfExps(x, vocab, maximum: maximum, writingTo: nil)
            let loss = Float(Double(maximum) + log(Double(sum)) - Double(x[target]))
            losses[row] = loss
            return w == 0 ? 0 : Double(w) * Double(loss)
        }
    }

    /// Runs `body(row)` over all rows in parallel and returns the sum of its results.
    private static func run(rows: Int, vocab: Int, pool: ThreadPool, _ body: (Int) -> Double) -> Double {
        if rows <= 0 { return 0 }
        let chunks = max(1, min(pool.threadCount * 4, rows * vocab / 65_536, rows))
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: chunks) { partial in
            pool.run(tasks: chunks) { chunk in
                var s = 0.0
                for row in (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks) { s += body(row) }
                partial[chunk] = s
            }
            var total = 0.0
            for c in 0..<chunks { total += partial[c] }
            return total
        }
    }

    /// sum_v exp(x[v] - maximum), the exps also written to `out` when given (it may be x itself). Pairs of
    /// 16-lane blocks go to two accumulators, the last v < 32 are added one by one; exps of 16 lanes at once
    /// (`LayerVector.exp` on SIMD16: 512-bit code, the same bits as the scalar one).
    @inline(__always)
    private static func sumOfExps(_ x: UnsafePointer<Float>, _ n: Int, maximum: Float,
                                  writingTo out: UnsafeMutablePointer<Float>?) -> Float {
        let m = Vector16(repeating: maximum)
        var s0 = Vector16(), s1 = Vector16()
        var i = 0
        while i + 32 <= n {
            let e0 = LayerVector.exp(LayerVector.load(x + i) - m)
            let e1 = LayerVector.exp(LayerVector.load(x + i + 16) - m)
            if let out {
                LayerVector.store(e0, out + i)
                LayerVector.store(e1, out + i + 16)
            }
            s0 += e0
            s1 += e1
            i += 32
        }
        var s = LayerVector.sum(s0 + s1)
        while i < n {
            let e = LayerVector.exp(x[i] - maximum)
            out?[i] = e
            s += e
            i += 1
        }
        return s
    }

    @inline(__always)
    private static func rowMaximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m0 = Vector16(repeating: -.infinity), m1 = m0
        var i = 0
        while i + 32 <= n {
            m0 = LayerVector.laneMaximum(m0, LayerVector.load(x + i))
            m1 = LayerVector.laneMaximum(m1, LayerVector.load(x + i + 16))
            i += 32
        }
        var m = LayerVector.max(LayerVector.laneMaximum(m0, m1))
        while i < n { m = x[i] > m ? x[i] : m; i += 1 }
        return m
    }
}
