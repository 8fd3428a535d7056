import Testing
@testable import Kernels

@Suite struct DropoutTests {
    /// Every element is either dropped (0) or kept and scaled by 1 / (1 - p), exactly as `isKept` says, for
    /// lengths that exercise the eight-lane steps and the scalar tail, on one and two threads.
    @Test(arguments: [1, 37, 100_003], [1, 2])
    func forwardKeepsExactlyTheMaskedElementsScaled(count: Int, threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        var rng = LayerRandom(seed: 21)
        let x = rng.floats(count)
        var out = [Float](repeating: .nan, count: count)
        let mask = DropoutMask(probability: 0.3, key: 77, site: 4)
        Dropout.forward(out: &out, input: x, count: count, mask: mask, pool: pool)
        let scale: Float = 1 / (1 - 0.3)
        for i in 0..<count {
            #expect(out[i] == (mask.isKept(index: i) ? x[i] * scale : 0), "element \(i)")
        }
    }

    /// The backward pass applies the forward's mask to the incoming gradient (the mask is regenerated from
    /// the key and the site), in place as the model calls it.
    @Test func backwardUsesTheForwardMask() {
        let count = 1001
        var rng = LayerRandom(seed: 22)
        let x = rng.floats(count), dout = rng.floats(count)
        let mask = DropoutMask(probability: 0.5, key: 3, site: 1)
        var y = [Float](repeating: 0, count: count)
        Dropout.forward(out: &y, input: x, count: count, mask: mask)
        var d = dout
        d.withUnsafeMutableBufferPointer { p in
            Dropout.backward(dinput: p.baseAddress!, dout: p.baseAddress!, count: count, mask: mask)
        }
        for i in 0..<count {
            // y = m x / (1 - p), so dy/dx = m / (1 - p): zero exactly where y was zeroed.
            #expect(d[i] == (y[i] == 0 && x[i] != 0 ? 0 : dout[i] * 2), "element \(i)")
        }
    }

    /// The kept fraction is 1 - p (binomial: 200,000 draws give a standard deviation of about 0.001) and the
    /// masks of different keys or sites are different.
    @Test(arguments: [Float(0.1), 0.5, 0.9])
    func keptFractionIsOneMinusP(probability: Float) {
        let count = 200_000
        let mask = DropoutMask(probability: probability, key: 11, site: 0)
        let kept = (0..<count).filter { mask.isKept(index: $0) }.count
        #expect(abs(Double(kept) / Double(count) - Double(1 - probability)) < 0.006)
        let half = DropoutMask(probability: 0.5, key: 11, site: 0)
        let otherSite = DropoutMask(probability: 0.5, key: 11, site: 1)
        let otherKey = DropoutMask(probability: 0.5, key: 12, site: 0)
        // Independent masks disagree on about half the elements.
        let siteDifferences = (0..<1000).filter { half.isKept(index: $0) != otherSite.isKept(index: $0) }.count
        let keyDifferences = (0..<1000).filter { half.isKept(index: $0) != otherKey.isKept(index: $0) }.count
        #expect(siteDifferences > 400 && siteDifferences < 600)
        #expect(keyDifferences > 400 && keyDifferences < 600)
    }

    /// A mask with an offset is the tail of the mask without one: a shard of a batch (its elements from
    /// `offset` on) draws exactly the elements of the whole batch's mask.
    @Test func offsetShiftsTheWholeMask() {
        let count = 1003, offset = 517
        var rng = LayerRandom(seed: 24)
        let x = rng.floats(offset + count)
        var whole = [Float](repeating: .nan, count: offset + count)
        var part = [Float](repeating: .nan, count: count)
        let mask = DropoutMask(probability: 0.4, key: 9, site: 2)
        Dropout.forward(out: &whole, input: x, count: offset + count, mask: mask)
        Dropout.forward(out: &part, input: Array(x[offset...]), count: count,
                        mask: DropoutMask(probability: 0.4, key: 9, site: 2, offset: offset))
        #expect(part == Array(whole[offset...]))
    }

    /// Probability 0 keeps everything unchanged.
    @Test func probabilityZeroIsTheIdentity() {
        var rng = LayerRandom(seed: 23)
        let x = rng.floats(999)
        var out = [Float](repeating: .nan, count: 999)
        Dropout.forward(out: &out, input: x, count: 999, mask: DropoutMask(probability: 0, key: 1, site: 0))
        #expect(out == x)
    }
}
