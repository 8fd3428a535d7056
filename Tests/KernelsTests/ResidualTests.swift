import Testing
@testable import Kernels

@Suite struct ResidualTests {
    @Test(arguments: [1, 37, 100_003], [1, 2])
    func forwardAddsAndAllowsAliasing(count: Int, threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 8)
        let a = rng.floats(count), b = rng.floats(count)
        var out = [Float](repeating: .nan, count: count)
        Residual.forward(out: &out, a: a, b: b, count: count, pool: pool)
        #expect(out == zip(a, b).map { $0 + $1 })
        // out aliasing a: x = x + b, as the model writes its residual stream.
        var stream = a
        stream.withUnsafeMutableBufferPointer { s in
            Residual.forward(out: s.baseAddress!, a: s.baseAddress!, b: b, count: count, pool: pool)
        }
        #expect(stream == out)
    }

    /// The residual's backward: its gradient flows unchanged into both branches, added to what is there.
    @Test(arguments: [1, 37, 100_003])
    func accumulateAddsIntoTheTarget(count: Int) {
        var rng = LayerRandom(seed: 9)
        let y0 = rng.floats(count), x = rng.floats(count)
        var y = y0
        Residual.accumulate(into: &y, x, count: count)
        #expect(y == zip(y0, x).map { $0 + $1 })
    }
}
