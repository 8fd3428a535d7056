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
            // Pass 1: the maximum. Pass 2: x <- exp(x - max) in place. Pass 3: their sum. Pass 4: the gradient,
            // scaled in place. The row (32 KB at V = 8192) stays in L1/L2 between the passes.
            let maximum = rowMaximum(UnsafePointer(x), vocab)
            let logitOfTarget = x[target]
            for i in 0..<vocab { x[i] = LayerVector.exp(x[i] - maximum) }
            let sum = rowSum(UnsafePointer(x), vocab)
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

    /// (max_v x[v], sum_v exp(x[v] - max)) without writing x: exps of 512-element blocks go through a stack
    /// buffer (an elementwise loop the vectoriser widens), then are summed with SIMD16 accumulators.
    private static func maxAndSumOfExps(_ x: UnsafePointer<Float>, _ vocab: Int) -> (Float, Float) {
        let maximum = rowMaximum(x, vocab)
        let block = 512
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { buffer in
            let e = buffer.baseAddress!
            var sum: Float = 0
            var start = 0
            while start < vocab {
                let n = min(block, vocab - start)
                for i in 0..<n { e[i] = LayerVector.exp(x[start + i] - maximum) }
                sum += rowSum(UnsafePointer(e), n)
                start += n
            }
            return (maximum, sum)
        }
    }

    @inline(__always)
    private static func rowMaximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var m0 = Vector16(repeating: -.infinity), m1 = m0
        var i = 0
        while i + 32 <= n {
            m0 = LayerVector.maximum(m0, LayerVector.load(x + i))
            m1 = LayerVector.maximum(m1, LayerVector.load(x + i + 16))
            i += 32
        }
        var m = LayerVector.max(LayerVector.maximum(m0, m1))
        while i < n { m = x[i] > m ? x[i] : m; i += 1 }
        return m
    }

    @inline(__always)
    private static func rowSum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0 = Vector16(), s1 = Vector16()
        var i = 0
        while i + 32 <= n {
            s0 += LayerVector.load(x + i)
            s1 += LayerVector.load(x + i + 16)
            i += 32
        }
        var s = LayerVector.sum(s0 + s1)
        while i < n { s += x[i]; i += 1 }
        return s
    }
}
