/// Attention of one new query over its own sequence's cached keys and values (a decoding step), for the
/// heads in `heads`; head h is the slice h*hs ..< (h+1)*hs of the query, of every cache row and of `out`:
///
///   s_t = (q_h · k_t,h) / sqrt(hs),  w = softmax(s),  out_h = sum_t w_t v_t,h,   t in 0..<n,
///
/// where row t of the keys is keys + t * stride (likewise the values): one layer of one sequence's cache.
///
/// Both passes walk the positions in order and, at each, every head of the range, so they read consecutive
/// cache rows (whole rows when all heads are asked for), which the hardware prefetcher streams; software
/// prefetch asks for the row a few positions ahead too. Scores: one SIMD dot product per (position, head);
/// the exps in a plain loop that the vectoriser widens (the polynomial exp of the training kernels, about
/// 1 ulp), summed in SIMD16 lanes; the weighted values accumulate in `out` (in L1) sixteen lanes at a time.
/// Single-threaded: the decoder spreads (row, head range) pairs over its threads. A head's result depends
/// only on its query slice and the cache, never on the other heads or rows in the call.
public enum CachedAttention {
    static let prefetchPositions = 8

    /// `scores`: scratch of at least heads.count * n floats (head h's scores at (h - heads.lowerBound) * n).
    public static func attend(out: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>,
                              keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int,
                              positions n: Int, headSize hs: Int, heads: Range<Int>,
                              scores: UnsafeMutablePointer<Float>) {
        if heads.isEmpty || n <= 0 { return }
        let scale = 1 / Float(hs).squareRoot()
        let first = heads.lowerBound * hs, span = heads.count * hs   // the floats of a row the heads use
        func headScores(_ h: Int) -> UnsafeMutablePointer<Float> { scores + (h - heads.lowerBound) * n }

        for t in 0..<n {
            let row = keys + t * stride
            if t + prefetchPositions < n { LayerVector.prefetch(row + prefetchPositions * stride + first, count: span) }
            for h in heads { headScores(h)[t] = LayerVector.dot(query + h * hs, row + h * hs, hs) * scale }
        }
        // Softmax of each head's scores, in place: exps of (score - max), then scaled by 1 / their sum.
        for h in heads {
            let s = headScores(h)
            var maximum = -Float.infinity
            for t in 0..<n { maximum = Swift.max(maximum, s[t]) }
            for t in 0..<n { s[t] = LayerVector.exp(s[t] - maximum) }
            var lanes = Vector16()
            var t = 0
            while t + 16 <= n { lanes += LayerVector.load(s + t); t += 16 }
            var sum = LayerVector.sum(lanes)
            while t < n { sum += s[t]; t += 1 }
            let inverse = 1 / sum
            for t in 0..<n { s[t] *= inverse }
        }

        (out + first).update(repeating: 0, count: span)
        for t in 0..<n {
            let row = values + t * stride
            if t + prefetchPositions < n { LayerVector.prefetch(row + prefetchPositions * stride + first, count: span) }
            for h in heads {
                let weight = Vector16(repeating: headScores(h)[t])
                let v = row + h * hs, o = out + h * hs
                var d = 0
                while d + 16 <= hs {
                    LayerVector.store(LayerVector.load(o + d) + weight * LayerVector.load(v + d), o + d)
                    d += 16
                }
                while d < hs { o[d] += weight[0] * v[d]; d += 1 }
            }
        }
    }
}
