import Testing
import Glibc
@testable import Kernels

/// -log softmax(x)[target] in Double, by log-sum-exp.
private func referenceLoss(_ x: ArraySlice<Double>, target: Int) -> Double {
    let m = x.max()!
    return m + log(x.map { exp($0 - m) }.reduce(0, +)) - x[x.startIndex + target]
}

@Suite struct CrossEntropyTests {
    @Test(arguments: [16, 37], [1, 2])
    func gradientMatchesFiniteDifferencesWithMaskedRows(vocab: Int, threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        let rows = 6
        var rng = LayerRandom(seed: 40)
        let logits = rng.floats(rows * vocab, scale: 3)
        let targets: [Int32] = (0..<rows).map { _ in Int32(rng.int(below: vocab)) }
        // Row 2 masked out; the others weighted.
        let weights: [Float] = [1, 0.5, 0, 2, 1, 0.25]
        let scale: Float = 1 / 3.75
        var work = logits
        var losses = [Float](repeating: .nan, count: rows)
        let total = CrossEntropy.forwardBackward(logits: &work, losses: &losses, targets: targets, weights: weights,
                                                 rows: rows, vocab: vocab, gradientScale: scale, pool: pool)
        let xd = logits.map(Double.init)
        let expectedLosses = (0..<rows).map { referenceLoss(xd[($0 * vocab)..<(($0 + 1) * vocab)], target: Int(targets[$0])) }
        // Every row's loss is reported, the masked one too; the masked one does not count in the total.
        #expect(layerWorstError(losses, expectedLosses, atol: 1e-5, rtol: 1e-5) <= 1)
        let expectedTotal = (0..<rows).map { Double(weights[$0]) * expectedLosses[$0] }.reduce(0, +)
        #expect(abs(total - expectedTotal) <= 1e-5 * abs(expectedTotal))
        // dlogits = d/dlogits of gradientScale * sum_n w_n loss_n
        let numeric = layerNumericalGradient(xd) { x in
            Double(scale) * (0..<rows).map {
                Double(weights[$0]) * referenceLoss(x[($0 * vocab)..<(($0 + 1) * vocab)], target: Int(targets[$0]))
            }.reduce(0, +)
        }
        #expect(layerWorstError(work, numeric, atol: 1e-6, rtol: 1e-4) <= 1)
        #expect(work[(2 * vocab)..<(3 * vocab)].allSatisfy { $0 == 0 }, "a masked row has zero gradient")
    }

    @Test func nilWeightsMeanOneEverywhereAndForwardLeavesLogitsAlone() {
        let (rows, vocab) = (4, 21)
        var rng = LayerRandom(seed: 41)
        let logits = rng.floats(rows * vocab, scale: 2)
        let targets: [Int32] = [0, 20, 7, 7]
        var losses = [Float](repeating: 0, count: rows)
        let total = CrossEntropy.forward(losses: &losses, logits: logits, targets: targets, weights: nil,
                                         rows: rows, vocab: vocab)
        let xd = logits.map(Double.init)
        let expected = (0..<rows).map { referenceLoss(xd[($0 * vocab)..<(($0 + 1) * vocab)], target: Int(targets[$0])) }
        #expect(layerWorstError(losses, expected, atol: 1e-5, rtol: 1e-5) <= 1)
        #expect(abs(total - expected.reduce(0, +)) <= 1e-5 * expected.reduce(0, +))
        // Rows of the gradient with weight 1 sum to zero (softmax sums to 1, minus the one-hot).
        var work = logits
        var losses2 = [Float](repeating: 0, count: rows)
        _ = CrossEntropy.forwardBackward(logits: &work, losses: &losses2, targets: targets, weights: nil,
                                         rows: rows, vocab: vocab, gradientScale: 1)
        #expect(losses2 == losses)
        for r in 0..<rows { #expect(abs(work[(r * vocab)..<((r + 1) * vocab)].reduce(0, +)) < 1e-6) }
    }

    @Test func largeLogitsStayFinite() {
        let (rows, vocab) = (3, 40)
        var rng = LayerRandom(seed: 42)
        // Logits around +-1e4 with spreads of 50: exp of them would overflow without the max shift.
        var logits = rng.floats(rows * vocab, scale: 50)
        for i in 0..<logits.count { logits[i] += (i / vocab == 1 ? -1e4 : 1e4) }
        let targets: [Int32] = [3, 39, 0]
        var work = logits
        var losses = [Float](repeating: .nan, count: rows)
        let total = CrossEntropy.forwardBackward(logits: &work, losses: &losses, targets: targets, weights: nil,
                                                 rows: rows, vocab: vocab, gradientScale: 1)
        #expect(total.isFinite && work.allSatisfy { $0.isFinite })
        let xd = logits.map(Double.init)
        let expected = (0..<rows).map { referenceLoss(xd[($0 * vocab)..<(($0 + 1) * vocab)], target: Int(targets[$0])) }
        // Differences of logits near 1e4 are exact in Float (same binade), so the loss is good to Float precision.
        #expect(layerWorstError(losses, expected, atol: 1e-3, rtol: 1e-5) <= 1)
        for r in 0..<rows {
            let m = xd[(r * vocab)..<((r + 1) * vocab)].max()!
            let e = xd[(r * vocab)..<((r + 1) * vocab)].map { exp($0 - m) }
            let s = e.reduce(0, +)
            let grad = e.enumerated().map { $0.element / s - ($0.offset == Int(targets[r]) ? 1 : 0) }
            #expect(layerWorstError(Array(work[(r * vocab)..<((r + 1) * vocab)]), grad, atol: 1e-6, rtol: 1e-4) <= 1)
        }
    }

    @Test func ignoredTargetOnMaskedRow() {
        let vocab = 8
        var logits: [Float] = (0..<(2 * vocab)).map { Float($0) * 0.1 }
        var losses = [Float](repeating: .nan, count: 2)
        let total = CrossEntropy.forwardBackward(logits: &logits, losses: &losses, targets: [-1, 5], weights: [0, 1],
                                                 rows: 2, vocab: vocab, gradientScale: 1)
        #expect(losses[0] == 0 && logits[0..<vocab].allSatisfy { $0 == 0 })
        #expect(abs(total - Double(losses[1])) < 1e-9 && losses[1] > 0)
    }
}
