/// Global gradient norm and clipping over one flat gradient buffer.
///   globalNorm = sqrt(sum_i x_i^2)   (blocks of 4096 squares summed in Float lanes, then in Double)
///   scale = maxNorm / norm if norm > maxNorm (and finite), else 1
///   clip: x *= scale
/// Training passes `scale` to `AdamW.step` instead of clipping the buffer.
public enum GradientClipping {
    public static func globalNorm(_ x: UnsafePointer<Float>, count: Int, pool: ThreadPool = .shared) -> Double {
        if count <= 0 { return 0 }
        let chunks = max(1, min(pool.threadCount * 4, count / 65_536))
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: chunks) { partial in
            pool.run(tasks: chunks) { chunk in
                let lo = count * chunk / chunks, hi = count * (chunk + 1) / chunks
                partial[chunk] = sumOfSquares(x + lo, count: hi - lo)
            }
            var total = 0.0
            for c in 0..<chunks { total += partial[c] }
            return total.squareRoot()
        }
    }

    @discardableResult
    public static func clip(_ x: UnsafeMutablePointer<Float>, count: Int, maxNorm: Double,
                            pool: ThreadPool = .shared) -> Double {
        let norm = globalNorm(x, count: count, pool: pool)
        let factor = scale(norm: norm, maxNorm: maxNorm)
        if factor != 1 {
            pool.parallelFor(count, minimumChunk: 65_536) { range in
                var i = range.lowerBound
                while i + 16 <= range.upperBound {
                    LayerVector.store(LayerVector.load(x + i) * factor, x + i)
                    i += 16
                }
                while i < range.upperBound { x[i] *= factor; i += 1 }
            }
        }
        return norm
    }

    /// The factor that brings gradients of global norm `norm` to at most `maxNorm`.
    public static func scale(norm: Double, maxNorm: Double) -> Float {
        norm > maxNorm && norm.isFinite ? Float(maxNorm / norm) : 1
    }

    static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var total = 0.0
        var start = 0
        while start < count {
            let end = min(count, start + 4096)
            var acc0 = Vector16(), acc1 = Vector16()
            var i = start
            while i + 32 <= end {
                let a = LayerVector.load(x + i), b = LayerVector.load(x + i + 16)
                acc0 += a * a
                acc1 += b * b
                i += 32
            }
            var block = Double(LayerVector.sum(acc0 + acc1))
            while i < end { block += Double(x[i]) * Double(x[i]); i += 1 }
            total += block
            start = end
        }
        return total
    }
}
