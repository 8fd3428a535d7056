/// Residual connection.
///   forward:    out[i] = a[i] + b[i]        (out may alias a)
///   accumulate: y[i] += x[i]                (the residual's gradient flows unchanged into both branches)
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
