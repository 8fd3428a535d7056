import Testing
@testable import Kernels

@Suite struct GradientBuffersTests {
    /// drain adds x into y and leaves x zero; zero clears; lengths exercise the 16-float steps, the scalar tail
    /// and a split over two threads.
    @Test(arguments: [1, 37, 200_003], [1, 2])
    func drainAddsAndClears(count: Int, threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 31)
        let y0 = rng.floats(count), x0 = rng.floats(count)
        var y = y0, x = x0
        GradientBuffers.drain(&x, into: &y, count: count, pool: pool)
        #expect(y == zip(y0, x0).map { $0 + $1 })
        #expect(x.allSatisfy { $0 == 0 })
        GradientBuffers.zero(&y, count: count, pool: pool)
        #expect(y.allSatisfy { $0 == 0 })
    }
}
