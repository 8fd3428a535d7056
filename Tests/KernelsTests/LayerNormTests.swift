import Testing
import Glibc
@testable import Kernels

/// LayerNorm in Double: (out, mean, rstd).
private func referenceLayerNorm(_ x: [Double], _ w: [Double], _ b: [Double], rows: Int, channels: Int,
                                eps: Double = 1e-5) -> ([Double], [Double], [Double]) {
    var out = [Double](repeating: 0, count: x.count), means = [Double](), rstds = [Double]()
    for r in 0..<rows {
        let row = x[(r * channels)..<((r + 1) * channels)]
        let mean = row.reduce(0, +) / Double(channels)
        let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(channels)
        let rstd = 1 / (variance + eps).squareRoot()
        for c in 0..<channels { out[r * channels + c] = (x[r * channels + c] - mean) * rstd * w[c] + b[c] }
        means.append(mean)
        rstds.append(rstd)
    }
    return (out, means, rstds)
}

@Suite struct LayerNormTests {
    @Test(arguments: [(4, 19), (3, 64), (2, 7)], [1, 2])
    func forwardMatchesReference(shape: (Int, Int), threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        let (rows, channels) = shape
        var rng = LayerRandom(seed: 3)
        var x = rng.floats(rows * channels, scale: 2)
        // One row far from zero: the variance must not cancel away.
        for c in 0..<channels { x[c] += 1000 }
        let w = rng.floats(channels), b = rng.floats(channels)
        var out = [Float](repeating: .nan, count: x.count)
        var mean = [Float](repeating: .nan, count: rows), rstd = [Float](repeating: .nan, count: rows)
        LayerNorm.forward(out: &out, mean: &mean, rstd: &rstd, input: x, weight: w, bias: b, rows: rows,
                          channels: channels, pool: pool)
        let (eOut, eMean, eRstd) = referenceLayerNorm(x.map(Double.init), w.map(Double.init), b.map(Double.init),
                                                      rows: rows, channels: channels)
        // The row at 1000: x carries Float rounding of 1000 + O(1) (6e-5), so x - mean is good to ~1e-4 relative.
        #expect(layerWorstError(out, eOut, atol: 2e-4, rtol: 2e-4) <= 1)
        #expect(layerWorstError(mean, eMean, atol: 1e-5, rtol: 1e-6) <= 1)
        #expect(layerWorstError(rstd, eRstd, atol: 1e-5, rtol: 2e-4) <= 1)
    }

    @Test(arguments: [(4, 19), (3, 32)], [false, true])
    func backwardMatchesFiniteDifferences(shape: (Int, Int), accumulate: Bool) {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        let (rows, channels) = shape
        var rng = LayerRandom(seed: 4)
        let x = rng.floats(rows * channels, scale: 2), w = rng.floats(channels), b = rng.floats(channels)
        let upstream = rng.floats(rows * channels)
        var out = [Float](repeating: 0, count: x.count)
        var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
        LayerNorm.forward(out: &out, mean: &mean, rstd: &rstd, input: x, weight: w, bias: b, rows: rows,
                          channels: channels, pool: pool)
        let dxStart = rng.floats(x.count), dwStart = rng.floats(channels), dbStart = rng.floats(channels)
        var dx = dxStart, dw = dwStart, db = dbStart
        LayerNorm.backward(dinput: &dx, dweight: &dw, dbias: &db, dout: upstream, input: x, weight: w,
                           mean: mean, rstd: rstd, rows: rows, channels: channels, accumulate: accumulate, pool: pool)
        let xd = x.map(Double.init), wd = w.map(Double.init), bd = b.map(Double.init), g = upstream.map(Double.init)
        func loss(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            let o = referenceLayerNorm(x, w, b, rows: rows, channels: channels).0
            return zip(o, g).map { $0 * $1 }.reduce(0, +)
        }
        let nx = layerNumericalGradient(xd) { loss($0, wd, bd) }
        let nw = layerNumericalGradient(wd) { loss(xd, $0, bd) }
        let nb = layerNumericalGradient(bd) { loss(xd, wd, $0) }
        let ex = accumulate ? zip(nx, dxStart).map { $0 + Double($1) } : nx
        // Float kernel vs Double: rstd ~ 0.9, sums over <= 32 channels of O(1) terms.
        #expect(layerWorstError(dx, ex, atol: 1e-4, rtol: 1e-4) <= 1)
        // Parameter gradients always accumulate.
        #expect(layerWorstError(dw, zip(nw, dwStart).map { $0 + Double($1) }, atol: 1e-4, rtol: 1e-4) <= 1)
        #expect(layerWorstError(db, zip(nb, dbStart).map { $0 + Double($1) }, atol: 1e-4, rtol: 1e-4) <= 1)
    }
}
