/// Whole-buffer passes over gradient buffers, spread over the pool (about 65k floats a chunk at least).
///   zero:  x[i] = 0                      (the start of an optimizer step)
///   drain: y[i] += x[i], then x[i] = 0   (a data-parallel shard's gradients summed into the model's, one pass;
///                                         the shard's buffer is left zero for its next pass)
public enum GradientBuffers {
    public static func zero(_ x: UnsafeMutablePointer<Float>, count: Int, pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 65_536) { range in
            (x + range.lowerBound).update(repeating: 0, count: range.count)
        }
    }

    public static func drain(_ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int,
                             pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 65_536) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                LayerVector.store(LayerVector.load(y + i) + LayerVector.load(x + i), y + i)
                LayerVector.store(Vector16(), x + i)
                i += 16
            }
            while i < range.upperBound { y[i] += x[i]; x[i] = 0; i += 1 }
        }
    }
}
