/// Gradient of a bias broadcast over rows (the forward add is fused into GEMM):
///   dbias[n] += sum_r dy[r, n]          dy [rows, columns], dbias [columns]
/// Threads split the columns, so each owns its slice of dbias and no reduction is needed.
public enum Bias {
    public static func backward(dbias: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, rows: Int, columns: Int,
                                pool: ThreadPool = .shared) {
        let blocks = (columns + 15) / 16
        let work = rows * columns
        pool.parallelFor(blocks, minimumChunk: work < 262_144 ? blocks : 8) { blockRange in
            let lo = blockRange.lowerBound * 16, hi = min(columns, blockRange.upperBound * 16)
            var c = lo
            // Four vectors of columns at a time, summed down all rows in registers.
            while c + 64 <= hi {
                var s0 = Vector16(), s1 = Vector16(), s2 = Vector16(), s3 = Vector16()
                for r in 0..<rows {
                    let p = dy + r * columns + c
                    s0 += LayerVector.load(p); s1 += LayerVector.load(p + 16)
                    s2 += LayerVector.load(p + 32); s3 += LayerVector.load(p + 48)
                }
                LayerVector.store(LayerVector.load(dbias + c) + s0, dbias + c)
                LayerVector.store(LayerVector.load(dbias + c + 16) + s1, dbias + c + 16)
                LayerVector.store(LayerVector.load(dbias + c + 32) + s2, dbias + c + 32)
                LayerVector.store(LayerVector.load(dbias + c + 48) + s3, dbias + c + 48)
                c += 64
            }
            while c + 16 <= hi {
                var s = Vector16()
                for r in 0..<rows { s += LayerVector.load(dy + r * columns + c) }
                LayerVector.store(LayerVector.load(dbias + c) + s, dbias + c)
                c += 16
            }
            while c < hi {
                var s: Float = 0
                for r in 0..<rows { s += dy[r * columns + c] }
                dbias[c] += s
                c += 1
            }
        }
    }
}
