// Helpers shared by the layer-kernel tests: a seeded generator, buffers, and comparisons.
@testable import Kernels

/// A small deterministic generator (SplitMix64), so every test run sees the same numbers.
struct LayerRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-scale, scale).
    mutating func uniform(_ scale: Double = 1) -> Double {
        (Double(next() >> 11) / Double(1 << 53) * 2 - 1) * scale
    }
    mutating func floats(_ count: Int, scale: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(uniform(scale)) }
    }
    mutating func int(below n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Largest |a - b| / (atol + rtol |b|) over the elements: <= 1 means every element is within tolerance.
func layerWorstError(_ a: [Float], _ b: [Double], atol: Double, rtol: Double) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0
    for i in 0..<a.count {
        let e = abs(Double(a[i]) - b[i]) / (atol + rtol * abs(b[i]))
        if !(e <= worst) { worst = e.isNaN ? .infinity : e }
    }
    return worst
}

/// Central finite difference in Double of a scalar function f at x, for the given coordinates (all by default;
/// others are left 0).
func layerNumericalGradient(_ x: [Double], step: Double = 1e-6, at indices: [Int]? = nil,
                            _ f: ([Double]) -> Double) -> [Double] {
    var probe = x
    var g = [Double](repeating: 0, count: x.count)
    for i in indices ?? Array(0..<x.count) {
        let saved = probe[i]
        probe[i] = saved + step
        let plus = f(probe)
        probe[i] = saved - step
        let minus = f(probe)
        probe[i] = saved
        g[i] = (plus - minus) / (2 * step)
    }
    return g
}

/// Up to `limit` distinct coordinates of 0..<count, spread at random (all of them when count <= limit).
func layerSampleIndices(_ count: Int, limit: Int, rng: inout LayerRandom) -> [Int] {
    if count <= limit { return Array(0..<count) }
    var all = Array(0..<count)
    for i in 0..<limit { all.swapAt(i, i + rng.int(below: count - i)) }
    return Array(all[0..<limit]).sorted()
}
