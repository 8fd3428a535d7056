import Testing
import Glibc
@testable import Kernels

/// Plain causal attention in Double: qkv [B, T, 3C] -> out [B, T, C]; with `dropout`, weight (b, h, i, j) is
/// kept (scaled by 1 / (1 - p)) when the mask's `isKept` says so for index ((b * heads + h) * T + i) * T + j.
private func referenceAttention(_ qkv: [Double], batch: Int, time: Int, channels: Int, heads: Int,
                                dropout: DropoutMask? = nil) -> [Double] {
    let hs = channels / heads
    let scale = 1 / Double(hs).squareRoot()
    var out = [Double](repeating: 0, count: batch * time * channels)
    for b in 0..<batch {
        for h in 0..<heads {
            for i in 0..<time {
                let q = (b * time + i) * 3 * channels + h * hs
                var scores = [Double](repeating: 0, count: i + 1)
                for j in 0...i {
                    let k = (b * time + j) * 3 * channels + channels + h * hs
                    var dot = 0.0
                    for d in 0..<hs { dot += qkv[q + d] * qkv[k + d] }
                    scores[j] = dot * scale
                }
                let m = scores.max()!
                let e = scores.map { exp($0 - m) }
                let sum = e.reduce(0, +)
                for j in 0...i {
                    var weight = e[j] / sum
                    if let dropout {
                        let index = ((b * heads + h) * time + i) * time + j
                        let kept = dropout.isKept(index: index)
                        weight = kept ? weight / (1 - Double(dropout.probability)) : 0
                    }
                    let v = (b * time + j) * 3 * channels + 2 * channels + h * hs
                    for d in 0..<hs { out[(b * time + i) * channels + h * hs + d] += weight * qkv[v + d] }
                }
            }
        }
    }
    return out
}

@Suite struct AttentionTests {
    struct Shape: CustomStringConvertible {
        let batch, time, channels, heads: Int
        var description: String { "B\(batch) T\(time) C\(channels) H\(heads)" }
    }

    // Odd sizes: T not a multiple of the 6-row tile or the 16/32/64-column blocks, one and several heads,
    // head sizes that are and are not multiples of 16. With AVX-512 the tile products take 64 columns at a
    // time, then 32, then 16: head size 48 (a 32 and a 16 block) over 70 positions mixes those two in every
    // product, and the scores of its last tiles take a 64-column block; head sizes 64 and 80 (64 + 16) take
    // 64-column blocks in every product. Head sizes 12 and 10 are not multiples of 8, the width of the
    // transposed gathers' register blocks (their last columns move one by one).
    static let shapes = [
        Shape(batch: 1, time: 1, channels: 8, heads: 1),
        Shape(batch: 2, time: 11, channels: 16, heads: 2),
        Shape(batch: 1, time: 37, channels: 24, heads: 1),
        Shape(batch: 2, time: 20, channels: 64, heads: 4),
        Shape(batch: 1, time: 9, channels: 96, heads: 3),
        Shape(batch: 1, time: 70, channels: 96, heads: 2),
        Shape(batch: 1, time: 45, channels: 128, heads: 2),
        Shape(batch: 1, time: 26, channels: 80, heads: 1),
        Shape(batch: 1, time: 13, channels: 12, heads: 1),
        Shape(batch: 2, time: 17, channels: 30, heads: 3),
    ]

    /// Query tiles in groups of two (each phase of a head then runs once a group, as at long sequences); by
    /// default these sizes take all tiles in one group.
    static func groupInPairs(_ attention: CausalSelfAttention, time: Int) {
        attention.groupFloats = 2 * AttentionTile.rows * CausalSelfAttention.paddedStride(time)
    }

    @Test(arguments: shapes, [1, 2])
    func forwardMatchesReference(shape: Shape, threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 11)
        let (b, t, c, h) = (shape.batch, shape.time, shape.channels, shape.heads)
        // Sized larger than used, as the model does for shorter sequences; with two threads, groups of 2 tiles.
        let attention = CausalSelfAttention(maxBatch: b + 1, maxTime: t + 5, channels: c, heads: h, pool: pool)
        if threads == 2 { Self.groupInPairs(attention, time: t) }
        var qkv = rng.floats(b * t * 3 * c, scale: 2)
        var out = [Float](repeating: .nan, count: b * t * c)
        attention.forward(out: &out, qkv: &qkv, batch: b, time: t)
        let expected = referenceAttention(qkv.map(Double.init), batch: b, time: t, channels: c, heads: h)
        #expect(layerWorstError(out, expected, atol: 1e-5, rtol: 1e-4) <= 1, "\(shape)")
    }

    @Test(arguments: shapes, [false, true])
    func backwardMatchesFiniteDifferences(shape: Shape, pairs: Bool) {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 12)
        let (b, t, c, h) = (shape.batch, shape.time, shape.channels, shape.heads)
        let attention = CausalSelfAttention(maxBatch: b, maxTime: t, channels: c, heads: h, pool: pool)
        if pairs { Self.groupInPairs(attention, time: t) }
        var qkv = rng.floats(b * t * 3 * c, scale: 2)
        let upstream = rng.floats(b * t * c)
        var out = [Float](repeating: 0, count: b * t * c)
        attention.forward(out: &out, qkv: &qkv, batch: b, time: t)
        // accumulate: true onto a known prefill checks both the gradient and the += contract.
        let prefill = rng.floats(b * t * 3 * c)
        var dqkv = prefill
        attention.backward(dqkv: &dqkv, dout: upstream, qkv: qkv, out: out, batch: b, time: t, accumulate: true)
        // L(qkv) = sum out(qkv) * upstream, in Double.
        let g = upstream.map(Double.init)
        // Finite differences at up to 240 coordinates spread over q, k and v (all of them for small shapes).
        let probes = layerSampleIndices(qkv.count, limit: 240, rng: &rng)
        let numeric = layerNumericalGradient(qkv.map(Double.init), at: probes) { x in
            let o = referenceAttention(x, batch: b, time: t, channels: c, heads: h)
            var s = 0.0
            for i in 0..<o.count { s += o[i] * g[i] }
            return s
        }
        let expected = probes.map { numeric[$0] + Double(prefill[$0]) }
        // Float kernel against a Double reference: entries are O(1), sums over at most 37 * 32 terms.
        #expect(layerWorstError(probes.map { dqkv[$0] }, expected, atol: 1e-4, rtol: 1e-4) <= 1, "\(shape)")

        // accumulate: false overwrites.
        var fresh = [Float](repeating: 123, count: dqkv.count)
        attention.backward(dqkv: &fresh, dout: upstream, qkv: qkv, out: out, batch: b, time: t, accumulate: false)
        #expect(layerWorstError(probes.map { fresh[$0] }, probes.map { numeric[$0] }, atol: 1e-4, rtol: 1e-4) <= 1,
                "\(shape)")
    }

    /// Dropout on the attention weights: the forward against the masked reference, and the backward against
    /// finite differences of that reference (the mask is fixed by the key, so the function is deterministic).
    /// A forward without a mask afterwards is plain attention again.
    @Test(arguments: shapes)
    func dropoutOnTheWeights(shape: Shape) {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 13)
        let (b, t, c, h) = (shape.batch, shape.time, shape.channels, shape.heads)
        let mask = DropoutMask(probability: 0.3, key: 41, site: 2)
        let attention = CausalSelfAttention(maxBatch: b, maxTime: t + 3, channels: c, heads: h, dropsWeights: true,
                                            pool: pool)
        var qkv = rng.floats(b * t * 3 * c, scale: 2)
        var out = [Float](repeating: .nan, count: b * t * c)
        attention.forward(out: &out, qkv: &qkv, batch: b, time: t, dropout: mask)
        let x = qkv.map(Double.init)
        let expected = referenceAttention(x, batch: b, time: t, channels: c, heads: h, dropout: mask)
        #expect(layerWorstError(out, expected, atol: 1e-5, rtol: 1e-4) <= 1, "\(shape)")

        let upstream = rng.floats(b * t * c)
        var dqkv = [Float](repeating: 7, count: qkv.count)
        attention.backward(dqkv: &dqkv, dout: upstream, qkv: qkv, out: out, batch: b, time: t, accumulate: false)
        let g = upstream.map(Double.init)
        let probes = layerSampleIndices(qkv.count, limit: 240, rng: &rng)
        let numeric = layerNumericalGradient(x, at: probes) { y in
            let o = referenceAttention(y, batch: b, time: t, channels: c, heads: h, dropout: mask)
            var s = 0.0
            for i in 0..<o.count { s += o[i] * g[i] }
            return s
        }
        #expect(layerWorstError(probes.map { dqkv[$0] }, probes.map { numeric[$0] }, atol: 1e-4, rtol: 1e-4) <= 1,
                "\(shape)")

        attention.forward(out: &out, qkv: &qkv, batch: b, time: t)
        let plain = referenceAttention(x, batch: b, time: t, channels: c, heads: h)
        #expect(layerWorstError(out, plain, atol: 1e-5, rtol: 1e-4) <= 1, "\(shape)")
    }

    @Test func futureTokensDoNotChangeEarlierOutputs() {
        var rng = LayerRandom(seed: 13)
        let (b, t, c, h) = (2, 19, 32, 2)
        let attention = CausalSelfAttention(maxBatch: b, maxTime: t, channels: c, heads: h)
        var qkv = rng.floats(b * t * 3 * c)
        var before = [Float](repeating: 0, count: b * t * c)
        attention.forward(out: &before, qkv: &qkv, batch: b, time: t)
        // Change the k and v of token 9 in every sequence.
        let changed = 9
        for bi in 0..<b {
            let row = (bi * t + changed) * 3 * c
            for j in c..<(3 * c) { qkv[row + j] += 1.5 }
        }
        var after = [Float](repeating: 0, count: b * t * c)
        attention.forward(out: &after, qkv: &qkv, batch: b, time: t)
        for bi in 0..<b {
            for ti in 0..<t {
                let row = Array(before[((bi * t + ti) * c)..<((bi * t + ti + 1) * c)])
                let rowAfter = Array(after[((bi * t + ti) * c)..<((bi * t + ti + 1) * c)])
                if ti < changed {
                    #expect(row == rowAfter, "b\(bi) t\(ti) must not see token \(changed)")
                } else {
                    #expect(row != rowAfter, "b\(bi) t\(ti) must see token \(changed)")
                }
            }
        }
    }

    /// P's and dS's columns from T on are left unwritten (`scoreColumns`): a call after a longer sequence, which
    /// left its own values there, gives the bits of a fresh instance. T = 61 caps the last tile's 80 columns
    /// at 64 (and takes every tile in one product with the softmax in registers, with AVX-512); head sizes 32,
    /// 10 and 48.
    @Test(arguments: [(61, 64, 2), (61, 30, 3), (40, 96, 2)])
    func aShorterSequenceAfterALongerOneGivesTheSameBits(time t: Int, channels c: Int, heads h: Int) {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 14)
        let (b, longer) = (2, 70)
        func run(_ attention: CausalSelfAttention, _ qkv: [Float], time: Int) -> (out: [Float], dqkv: [Float]) {
            var qkv = qkv
            var out = [Float](repeating: 0, count: b * time * c)
            attention.forward(out: &out, qkv: &qkv, batch: b, time: time)
            let upstream = (0..<out.count).map { Float(($0 * 7919) % 13) / 13 - 0.5 }
            var dqkv = [Float](repeating: 0, count: qkv.count)
            attention.backward(dqkv: &dqkv, dout: upstream, qkv: qkv, out: out, batch: b, time: time, accumulate: false)
            return (out, dqkv)
        }
        let qkv = rng.floats(b * t * 3 * c, scale: 2)
        let used = CausalSelfAttention(maxBatch: b, maxTime: longer, channels: c, heads: h, pool: pool)
        _ = run(used, rng.floats(b * longer * 3 * c, scale: 3), time: longer)
        let fresh = CausalSelfAttention(maxBatch: b, maxTime: longer, channels: c, heads: h, pool: pool)
        let (out, dqkv) = run(used, qkv, time: t), (expectedOut, expectedDqkv) = run(fresh, qkv, time: t)
        #expect(out.map(\.bitPattern) == expectedOut.map(\.bitPattern))
        #expect(dqkv.map(\.bitPattern) == expectedDqkv.map(\.bitPattern))
    }

    @Test func reportsItsMemory() {
        let attention = CausalSelfAttention(maxBatch: 8, maxTime: 256, channels: 384, heads: 6, pool: ThreadPool(threads: 1))
        // The saved probabilities alone: 8 * 6 * 256 * 256 floats.
        #expect(attention.allocatedBytes >= 8 * 6 * 256 * 256 * 4)
        #expect(attention.allocatedBytes < 8 * 6 * 256 * 256 * 4 + 4 << 20)
    }
}
