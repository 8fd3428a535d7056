import Foundation
import Testing
@testable import Kernels

@Suite struct CachedAttentionTests {
    /// One query over n cached positions against softmax attention in Double, for a range of heads of a row
    /// (rows `stride` floats apart, longer than the heads), with head sizes below, at and past the 16-lane
    /// steps and position counts around them. Heads outside the range are left untouched.
    @Test(arguments: [1, 15, 16, 40], [4, 16, 48, 70])
    func matchesReference(positions n: Int, headSize hs: Int) {
        var rng = LayerRandom(seed: UInt64(n * 100 + hs))
        let heads = 4, asked = 1..<3
        let stride = heads * hs + 5
        let q = rng.floats(heads * hs, scale: 2), keys = rng.floats(n * stride, scale: 2), values = rng.floats(n * stride)
        var out = [Float](repeating: .nan, count: heads * hs)
        var scores = [Float](repeating: .nan, count: asked.count * n)
        CachedAttention.attend(out: &out, query: q, keys: keys, values: values, stride: stride, positions: n,
                               headSize: hs, heads: asked, scores: &scores)
        for h in 0..<heads {
            let got = Array(out[(h * hs)..<((h + 1) * hs)])
            guard asked.contains(h) else {
                #expect(got.allSatisfy { $0.isNaN }, "head \(h) is outside the range and must stay untouched")
                continue
            }
            var s = (0..<n).map { t in
                (0..<hs).reduce(0.0) { $0 + Double(q[h * hs + $1]) * Double(keys[t * stride + h * hs + $1]) }
                    / Double(hs).squareRoot()
            }
            let m = s.max()!
            s = s.map { Foundation.exp($0 - m) }
            let z = s.reduce(0, +)
            let expected = (0..<hs).map { d in
                (0..<n).reduce(0.0) { $0 + s[$1] / z * Double(values[$1 * stride + h * hs + d]) }
            }
            // Float dots of hs terms (scores O(10)), a ~1 ulp exp and sums of n terms: well inside 1e-5 here.
            #expect(layerWorstError(got, expected, atol: 1e-5, rtol: 1e-4) <= 1, "n \(n), hs \(hs), head \(h)")
        }
    }

    /// A head's result does not depend on which other heads are computed with it (the decoder splits heads
    /// differently for one sequence and for a batch, and batch decoding must equal decoding alone).
    @Test func headResultIndependentOfRange() {
        var rng = LayerRandom(seed: 7)
        let heads = 6, hs = 48, n = 37, stride = heads * hs
        let q = rng.floats(stride, scale: 2), keys = rng.floats(n * stride, scale: 2), values = rng.floats(n * stride)
        var together = [Float](repeating: 0, count: stride), alone = [Float](repeating: 0, count: stride)
        var scores = [Float](repeating: 0, count: heads * n)
        CachedAttention.attend(out: &together, query: q, keys: keys, values: values, stride: stride, positions: n,
                               headSize: hs, heads: 0..<heads, scores: &scores)
        for h in 0..<heads {
            CachedAttention.attend(out: &alone, query: q, keys: keys, values: values, stride: stride, positions: n,
                                   headSize: hs, heads: h..<(h + 1), scores: &scores)
        }
        #expect(together == alone)
    }
}
