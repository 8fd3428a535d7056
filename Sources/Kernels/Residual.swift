/// Residual connection.
///   accumulate: y[i] += x[i]                the model's in-place residual add (y: a branch's output, x: the
///                                           stream it adds to); the backward needs no kernel of its own (the
///                                           gradient flows unchanged into both branches: LayerNorm.backward adds it)
///   forward:    out[i] = a[i] + b[i]        (out may alias a; for the benchmarks and tests)
public enum Residual {
    public static func forward(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                               count: Int, pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 65_536) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                LayerVector.store(LayerVector.load(a + i) + LayerVector.load(b + i), out + i)
                i += 16
            }
            while i < range.upperBound { out[i] = a[i] + b[i]; i += 1 }
        }
    }

    public static func accumulate(into y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int,
                                  pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 65_536) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                LayerVector.store(LayerVector.load(y + i) + LayerVector.load(x + i), y + i)
                i += 16
            }
            while i < range.upperBound { y[i] += x[i]; i += 1 }
        }
    }
}
