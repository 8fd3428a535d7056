import Glibc

/// Fused softmax + cross-entropy over the vocabulary, one row per position.
///   logits [N, V], targets [N], weights [N] (nil = all 1), losses [N]
///   losses[n] = logsumexp(logits[n]) - logits[n, target[n]]           (unweighted)
///   forwardBackward also overwrites logits in place with
///   dlogits[n, v] = (softmax(logits[n])[v] - [v == target[n]]) * weight[n] * gradientScale
/// and both return sum_n weight[n] * losses[n] (Double). Each row is read three times (max; sum of exps;
/// exps again, written once as the gradient) and fits in L1/L2 for the vocabularies here, so the row leaves
/// memory once and the probabilities are never stored. Stable for large logits: exps are taken of x - max.
/// A row of weight 0 is masked out: its gradient is 0 and it adds nothing to the sum; its target may then be
/// negative (an "ignore" id), in which case its loss is written as 0.
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
            let (maximum, sum) = maxAndSumOfExps(UnsafePointer(x), vocab)
            let loss = Float(Double(maximum) + log(Double(sum)) - Double(x[target]))
            losses[row] = loss
            if w == 0 {
                x.update(repeating: 0, count: vocab)
                return 0
            }
            let scale = w * gradientScale
            let factor = scale / sum
            var i = 0
            while i + 16 <= vocab {
                LayerVector.store(LayerVector.exp(LayerVector.load(x + i) - maximum) * factor, x + i)
                i += 16
            }
            if i < vocab {
                let e = LayerVector.exp(tail(UnsafePointer(x), from: i, count: vocab) - maximum) * factor
                for j in i..<vocab { x[j] = e[j - i] }
            }
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
            let (maximum, sum) = maxAndSumOfExps(x, vocab)
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

    /// The lanes x[from..<count] of a short tail, padded with -inf (whose exps are masked to 0 by the callers).
    @inline(__always)
    private static func tail(_ x: UnsafePointer<Float>, from: Int, count: Int) -> Vector16 {
        var v = Vector16(repeating: -.infinity)
        for j in from..<count { v[j - from] = x[j] }
        return v
    }

    /// (max_v x[v], sum_v exp(x[v] - max)).
    @inline(__always)
    private static func maxAndSumOfExps(_ x: UnsafePointer<Float>, _ vocab: Int) -> (Float, Float) {
        var m = Vector16(repeating: -.infinity)
        var i = 0
        while i + 16 <= vocab { m = pointwiseMax(m, LayerVector.load(x + i)); i += 16 }
        var maximum = m.max()
        while i < vocab { maximum = max(maximum, x[i]); i += 1 }
        var s0 = Vector16(), s1 = Vector16()
        i = 0
        while i + 32 <= vocab {
            s0 += LayerVector.exp(LayerVector.load(x + i) - maximum)
            s1 += LayerVector.exp(LayerVector.load(x + i + 16) - maximum)
            i += 32
        }
        while i + 16 <= vocab { s0 += LayerVector.exp(LayerVector.load(x + i) - maximum); i += 16 }
        if i < vocab {
            let lanes = vocab - i
            let e = LayerVector.exp(tail(x, from: i, count: vocab) - maximum)
            for j in 0..<lanes { s1[j] += e[j] }
        }
        return (maximum, (s0 + s1).sum())
    }
}
