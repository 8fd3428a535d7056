/// Attention of one new query over its own sequence's cached keys and values (a decoding step), one head:
///
///   s_t = (q · k_t) / sqrt(hs),  w = softmax(s),  out[hs] = sum_t w_t v_t,   t in 0..<n,
///
/// where k_t = keys + t * stride and v_t = values + t * stride (a head's slice of consecutive cache rows).
/// Scores: one SIMD dot product per position; the exps in a plain loop that the vectoriser widens (the
/// polynomial exp of the training kernels, about 1 ulp), summed in SIMD16 lanes; the weighted sum of values
/// accumulates in `out` (in L1) sixteen lanes at a time. Single-threaded: the decoder spreads (row, head)
/// pairs over its threads. The result depends only on the query and the cache, never on other rows.
public enum CachedAttention {
    static let prefetchPositions = 8

    /// `scores`: scratch of at least n floats.
    public static func attend(out: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>,
                              keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int,
                              positions n: Int, headSize hs: Int, scores: UnsafeMutablePointer<Float>) {
        let scale = 1 / Float(hs).squareRoot()
        var maximum = -Float.infinity
        for t in 0..<n {
            // The rows of a head are `stride` apart in a cache larger than L2: fetch a few positions ahead.
            if t + prefetchPositions < n { LayerVector.prefetch(keys + (t + prefetchPositions) * stride, count: hs) }
            let score = LayerVector.dot(query, keys + t * stride, hs) * scale
            scores[t] = score
            maximum = Swift.max(maximum, score)
        }
        for t in 0..<n { scores[t] = LayerVector.exp(scores[t] - maximum) }
        var lanes = Vector16()
        var t = 0
        while t + 16 <= n { lanes += LayerVector.load(scores + t); t += 16 }
        var sum = LayerVector.sum(lanes)
        while t < n { sum += scores[t]; t += 1 }
        let inverse = 1 / sum

        out.update(repeating: 0, count: hs)
        for t in 0..<n {
            let weight = scores[t] * inverse
            let vt = values + t * stride
            if t + prefetchPositions < n { LayerVector.prefetch(vt + prefetchPositions * stride, count: hs) }
            var d = 0
            while d + 16 <= hs {
                LayerVector.store(LayerVector.load(out + d) + Vector16(repeating: weight) * LayerVector.load(vt + d), out + d)
                d += 16
            }
            while d < hs { out[d] += weight * vt[d]; d += 1 }
        }
    }
}
