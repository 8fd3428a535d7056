import Testing
@testable import Kernels

@Suite struct EmbeddingTests {
    // 19 channels: one SIMD16 block and a tail.
    let batch = 3, time = 5, channels = 19, vocab = 7

    func tokens(_ rng: inout LayerRandom) -> [Int32] {
        // Repeated tokens on purpose: their gradients must add up.
        (0..<(batch * time)).map { _ in Int32(rng.int(below: vocab)) }
    }

    @Test(arguments: [1, 2])
    func forwardAddsTokenAndPositionRows(threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 1)
        let ids = tokens(&rng)
        let wte = rng.floats(vocab * channels), wpe = rng.floats(time * channels)
        var out = [Float](repeating: .nan, count: batch * time * channels)
        Embedding.forward(out: &out, tokens: ids, wte: wte, wpe: wpe, batch: batch, time: time, channels: channels, pool: pool)
        var expected = [Double](repeating: 0, count: out.count)
        for b in 0..<batch {
            for t in 0..<time {
                for c in 0..<channels {
                    let row = b * time + t
                    expected[row * channels + c] = Double(wte[Int(ids[row]) * channels + c]) + Double(wpe[t * channels + c])
                }
            }
        }
        #expect(layerWorstError(out, expected, atol: 1e-7, rtol: 1e-6) <= 1)
    }

    @Test(arguments: [1, 2])
    func backwardMatchesFiniteDifferencesAndAccumulates(threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 2)
        let ids = tokens(&rng)
        let wte = rng.floats(vocab * channels), wpe = rng.floats(time * channels)
        let upstream = rng.floats(batch * time * channels)
        // Gradients start from non-zero values: the kernel must add to them.
        let dwteStart = rng.floats(wte.count), dwpeStart = rng.floats(wpe.count)
        var dwte = dwteStart, dwpe = dwpeStart
        Embedding.backward(dwte: &dwte, dwpe: &dwpe, dout: upstream, tokens: ids, batch: batch, time: time,
                           channels: channels, pool: pool)
        // L = sum out * upstream, out computed in Double from (wte, wpe).
        func loss(_ te: [Double], _ pe: [Double]) -> Double {
            var s = 0.0
            for row in 0..<(batch * time) {
                for c in 0..<channels {
                    s += (te[Int(ids[row]) * channels + c] + pe[(row % time) * channels + c]) * Double(upstream[row * channels + c])
                }
            }
            return s
        }
        let te = wte.map(Double.init), pe = wpe.map(Double.init)
        let numericTE = layerNumericalGradient(te) { loss($0, pe) }
        let numericPE = layerNumericalGradient(pe) { loss(te, $0) }
        #expect(layerWorstError(dwte, zip(numericTE, dwteStart).map { $0 + Double($1) }, atol: 1e-5, rtol: 1e-5) <= 1)
        #expect(layerWorstError(dwpe, zip(numericPE, dwpeStart).map { $0 + Double($1) }, atol: 1e-5, rtol: 1e-5) <= 1)
    }
}
