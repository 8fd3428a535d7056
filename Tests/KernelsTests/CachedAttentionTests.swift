import Foundation
import Testing
@testable import Kernels

@Suite struct CachedAttentionTests {
    /// One query over n cached positions against softmax attention in Double, with head sizes below, at and
    /// past the 16-lane steps and position counts around them; the cache rows are `stride` floats apart.
    @Test(arguments: [1, 15, 16, 40], [4, 16, 48, 70])
    func matchesReference(positions n: Int, headSize hs: Int) {
        var rng = LayerRandom(seed: UInt64(n * 100 + hs))
        let stride = hs + 5
        let q = rng.floats(hs, scale: 2), keys = rng.floats(n * stride, scale: 2), values = rng.floats(n * stride)
        var out = [Float](repeating: .nan, count: hs)
        var scores = [Float](repeating: .nan, count: n)
        CachedAttention.attend(out: &out, query: q, keys: keys, values: values, stride: stride, positions: n,
                               headSize: hs, scores: &scores)
        var s = (0..<n).map { t in
            (0..<hs).reduce(0.0) { $0 + Double(q[$1]) * Double(keys[t * stride + $1]) } / Double(hs).squareRoot()
        }
        let m = s.max()!
        s = s.map { Foundation.exp($0 - m) }
        let z = s.reduce(0, +)
        let expected = (0..<hs).map { d in (0..<n).reduce(0.0) { $0 + s[$1] / z * Double(values[$1 * stride + d]) } }
        // Float dots of hs terms (scores O(10)), a ~1 ulp exp and sums of n terms: well inside 1e-5 here.
        #expect(layerWorstError(out, expected, atol: 1e-5, rtol: 1e-4) <= 1, "n \(n), hs \(hs)")
    }
}
