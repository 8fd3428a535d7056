import Testing
@testable import Kernels

@Suite struct GradientClippingTests {
    func gradients(_ count: Int) -> [Float] {
        var rng = LayerRandom(seed: 30)
        return rng.floats(count, scale: 0.01)
    }

    func directNorm(_ x: [Float]) -> Double { x.map { Double($0) * Double($0) }.reduce(0, +).squareRoot() }

    @Test(arguments: [1, 37, 300_007], [1, 2])
    func globalNormMatchesDirectSum(count: Int, threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        let x = gradients(count)
        let norm = GradientClipping.globalNorm(x, count: count, pool: pool)
        #expect(abs(norm - directNorm(x)) <= 1e-6 * directNorm(x))
    }

    @Test(arguments: [37, 300_007])
    func normBelowTheBoundLeavesGradientsAlone(count: Int) {
        let x = gradients(count)
        let norm = directNorm(x)
        var y = x
        let returned = GradientClipping.clip(&y, count: count, maxNorm: norm * 1.5)
        #expect(abs(returned - norm) <= 1e-6 * norm)
        #expect(y == x)
    }

    @Test(arguments: [37, 300_007])
    func normAboveTheBoundScalesToTheBound(count: Int) {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        let x = gradients(count)
        let norm = directNorm(x)
        let bound = norm / 4
        var y = x
        let returned = GradientClipping.clip(&y, count: count, maxNorm: bound, pool: pool)
        #expect(abs(returned - norm) <= 1e-6 * norm, "returns the norm before clipping")
        #expect(abs(directNorm(y) - bound) <= 1e-5 * bound)
        let factor = bound / norm
        #expect(layerWorstError(y, x.map { Double($0) * factor }, atol: 1e-12, rtol: 1e-6) <= 1)
    }

    @Test func scaleIsOneUnlessTheNormIsFiniteAndAboveTheBound() {
        #expect(GradientClipping.scale(norm: 0.5, maxNorm: 1) == 1)
        #expect(GradientClipping.scale(norm: 1, maxNorm: 1) == 1)
        #expect(GradientClipping.scale(norm: 4, maxNorm: 1) == 0.25)
        #expect(GradientClipping.scale(norm: .infinity, maxNorm: 1) == 1)
        #expect(GradientClipping.scale(norm: .nan, maxNorm: 1) == 1)
    }
}
