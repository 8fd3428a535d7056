import Testing
import Glibc
@testable import Kernels

@Suite struct AdamWTests {
    /// Two steps worked out by hand for one parameter (p = 1, g = 0.5 then -0.25; lr 0.1, b1 0.9, b2 0.999,
    /// eps 1e-8), with weight decay 0.01 and without.
    ///   step 1: m = 0.1 * 0.5 = 0.05;  v = 0.001 * 0.25 = 0.00025
    ///           mhat = 0.05 / (1 - 0.9) = 0.5;  vhat = 0.00025 / (1 - 0.999) = 0.25;  sqrt = 0.5
    ///           update = 0.5 / 0.5 = 1 (+ 0.01 * 1 with decay)
    ///           p = 1 - 0.1 * 1.01 = 0.899 (decay)  |  1 - 0.1 * 1 = 0.9 (no decay)
    ///   step 2: m = 0.9 * 0.05 + 0.1 * (-0.25) = 0.02;  v = 0.999 * 0.00025 + 0.001 * 0.0625 = 0.00031225
    ///           mhat = 0.02 / (1 - 0.81) = 0.1052632;  vhat = 0.00031225 / (1 - 0.998001) = 0.1562031
    ///           sqrt(vhat) = 0.3952254;  mhat / sqrt(vhat) = 0.2663384
    ///           decay:    p = 0.899 - 0.1 * (0.2663384 + 0.01 * 0.899) = 0.899 - 0.02753284 = 0.8714672
    ///           no decay: p = 0.9 - 0.1 * 0.2663384 = 0.8733662
    @Test func twoStepsMatchTheHandComputation() {
        for (decay, afterStep1, afterStep2) in [(Float(0.01), Float(0.899), Float(0.8714672)),
                                                (Float(0), Float(0.9), Float(0.8733662))] {
            var p: [Float] = [1], m: [Float] = [0], v: [Float] = [0]
            AdamW.step(parameters: &p, gradients: [0.5], m: &m, v: &v, count: 1, learningRate: 0.1, beta1: 0.9,
                       beta2: 0.999, epsilon: 1e-8, weightDecay: decay, step: 1)
            // Float arithmetic: 1 - 0.9 is 0.100000024 in Float (relative 1e-6 off), and 1 - 0.999 is 0.00099998713
            // (0.999 is not exact in Float; relative 1.3e-5 off), so m and v carry those relative errors.
            #expect(abs(m[0] - 0.05) < 5e-8 && abs(v[0] - 0.00025) < 0.00025 * 2e-5)
            #expect(abs(p[0] - afterStep1) < 2e-7, "decay \(decay) step 1: \(p[0])")
            AdamW.step(parameters: &p, gradients: [-0.25], m: &m, v: &v, count: 1, learningRate: 0.1, beta1: 0.9,
                       beta2: 0.999, epsilon: 1e-8, weightDecay: decay, step: 2)
            #expect(abs(m[0] - 0.02) < 2e-8 && abs(v[0] - 0.00031225) < 0.00031225 * 2e-5)
            #expect(abs(p[0] - afterStep2) < 3e-7, "decay \(decay) step 2: \(p[0])")
        }
    }

    /// A longer buffer (SIMD blocks, a tail, two threads) against the formula in Double, several steps.
    @Test(arguments: [37, 70_001])
    func bufferMatchesTheFormula(count: Int) {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 20)
        var p = rng.floats(count), m = [Float](repeating: 0, count: count), v = m
        var rp = p.map(Double.init), rm = [Double](repeating: 0, count: count), rv = rm
        let (lr, b1, b2, eps, wd) = (1e-2, 0.9, 0.95, 1e-8, 0.1)
        for step in 1...3 {
            let g = rng.floats(count, scale: 0.1)
            AdamW.step(parameters: &p, gradients: g, m: &m, v: &v, count: count, learningRate: Float(lr),
                       beta1: Float(b1), beta2: Float(b2), epsilon: Float(eps), weightDecay: Float(wd), step: step,
                       pool: pool)
            for i in 0..<count {
                rm[i] = b1 * rm[i] + (1 - b1) * Double(g[i])
                rv[i] = b2 * rv[i] + (1 - b2) * Double(g[i]) * Double(g[i])
                let mh = rm[i] / (1 - pow(b1, Double(step))), vh = rv[i] / (1 - pow(b2, Double(step)))
                rp[i] -= lr * (mh / (vh.squareRoot() + eps) + wd * rp[i])
            }
        }
        #expect(layerWorstError(p, rp, atol: 1e-6, rtol: 1e-5) <= 1)
        #expect(layerWorstError(m, rm, atol: 1e-8, rtol: 1e-5) <= 1)
        #expect(layerWorstError(v, rv, atol: 1e-10, rtol: 1e-5) <= 1)
    }

    /// Clipping as training does it: AdamW with `gradientScale` gives the bits of AdamW on a buffer clipped
    /// by `GradientClipping.clip` (SIMD blocks and a tail, two threads).
    @Test(arguments: [0.25, 4.0])
    func theGradientScaleIsClipping(boundOverNorm: Double) {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 21)
        let count = 70_001
        let start = rng.floats(count), g = rng.floats(count, scale: 0.1)
        let bound = GradientClipping.globalNorm(g, count: count, pool: pool) * boundOverNorm
        func step(_ gradients: [Float], scale: Float) -> [Float] {
            var p = start, m = [Float](repeating: 0.01, count: count), v = m
            AdamW.step(parameters: &p, gradients: gradients, m: &m, v: &v, count: count, learningRate: 1e-2,
                       beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1, step: 2, gradientScale: scale,
                       pool: pool)
            return p + m + v
        }
        var clipped = g
        let norm = GradientClipping.clip(&clipped, count: count, maxNorm: bound, pool: pool)
        let scale = GradientClipping.scale(norm: norm, maxNorm: bound)
        #expect(boundOverNorm < 1 ? scale < 1 : scale == 1)
        #expect(step(g, scale: scale).map(\.bitPattern) == step(clipped, scale: 1).map(\.bitPattern))
    }
}
