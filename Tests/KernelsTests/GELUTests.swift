import Testing
import Glibc
@testable import Kernels

private func referenceGELU(_ x: Double) -> Double {
    0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
}

@Suite struct GELUTests {
    // 49 values: two SIMD blocks and a tail; covers the saturated ends (+-12, -30), 0, and values so small
    // (down to a subnormal) that out / x would not give the backward sigmoid(2u).
    func inputs() -> [Float] {
        var rng = LayerRandom(seed: 5)
        return rng.floats(40, scale: 4) + [0, -12, 12, 1e-4, -30, 1e-19, -1e-25, 2 * .leastNonzeroMagnitude, -.leastNormalMagnitude / 4]
    }

    @Test(arguments: [1, 2])
    func forwardMatchesReference(threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        let x = inputs()
        var out = [Float](repeating: .nan, count: x.count)
        GELU.forward(out: &out, input: x, count: x.count, pool: pool)
        #expect(layerWorstError(out, x.map { referenceGELU(Double($0)) }, atol: 1e-6, rtol: 1e-5) <= 1)
    }

    @Test(arguments: [false, true])
    func backwardMatchesFiniteDifferences(accumulate: Bool) {
        let x = inputs()
        var rng = LayerRandom(seed: 6)
        let upstream = rng.floats(x.count)
        let start = rng.floats(x.count)
        var dx = start, out = [Float](repeating: .nan, count: x.count)
        GELU.forward(out: &out, input: x, count: x.count)
        GELU.backward(dinput: &dx, input: x, output: out, dout: upstream, count: x.count, accumulate: accumulate)
        let expected = x.indices.map { i -> Double in
            let h = 1e-6, xi = Double(x[i])
            let slope = (referenceGELU(xi + h) - referenceGELU(xi - h)) / (2 * h)
            return slope * Double(upstream[i]) + (accumulate ? Double(start[i]) : 0)
        }
        #expect(layerWorstError(dx, expected, atol: 1e-5, rtol: 1e-4) <= 1)
    }

    @Test func largeCountSplitsOverThreads() {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 7)
        let x = rng.floats(100_003, scale: 5)
        var out = [Float](repeating: .nan, count: x.count)
        GELU.forward(out: &out, input: x, count: x.count, pool: pool)
        #expect(layerWorstError(out, x.map { referenceGELU(Double($0)) }, atol: 1e-6, rtol: 1e-5) <= 1)
    }
}
