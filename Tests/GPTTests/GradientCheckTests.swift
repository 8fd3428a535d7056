import Foundation
import Testing
@testable import GPT

/// Whole-model gradient check: the model's analytic gradients (Float, through the kernels) against central
/// finite differences of an independent Double forward pass (ReferenceGPT), on a tiny configuration.
///
/// Tolerance: the Double differences with h = 1e-4 have truncation error ~h^2 * f''' (about 1e-8 here) and
/// rounding error ~1e-16 / h, so they are exact to Float precision; the Float backward pass accumulates
/// rounding of relative size ~1e-7 per operation over a few dozen terms (the worst entry measured here is
/// ~5e-6). |analytic - numeric| must stay below 1e-4 * max(|numeric|, 1e-2): a wrong term in any backward
/// formula changes a gradient by far more.
@Suite struct GradientCheckTests {
    static let config = GPTConfig(layers: 2, heads: 2, width: 8, context: 8, vocabSize: 11)

    static func batch() -> (tokens: [Int32], targets: [Int32], weights: [Float]) {
        var generator = SeededGenerator(seed: 7)
        let n = 2 * 7   // batch 2, time 7 (shorter than the context on purpose)
        let tokens = (0..<n).map { _ in Int32(generator.next() % 11) }
        let targets = (0..<n).map { _ in Int32(generator.next() % 11) }
        let weights = (0..<n).map { i in i % 5 == 3 ? Float(0) : Float(0.5 + generator.nextUniform()) }
        return (tokens, targets, weights)
    }

    /// A model whose biases and layer norms are randomised too, so their gradients are not special.
    static func model(dropout: Float = 0) throws -> GPT {
        let model = try GPT(config: config.overriding(dropout: dropout), seed: 42)
        var generator = SeededGenerator(seed: 43)
        for slot in model.layout.slots where !slot.decayed {
            for i in 0..<slot.count {
                model.parameters.pointer[slot.offset + i] += Float(generator.nextNormal() * 0.1)
            }
        }
        // Larger weights than the 0.02 init make attention and GELU non-trivial.
        for slot in model.layout.slots where slot.decayed {
            for i in 0..<slot.count { model.parameters.pointer[slot.offset + i] *= 10 }
        }
        return model
    }

    @Test(arguments: [false, true])
    func gradientsMatchFiniteDifferences(weighted: Bool) throws {
        try checkGradients(weighted: weighted, dropout: nil)
    }

    /// A training pass with dropout: the masks are a function of the key, so the pass is a deterministic
    /// function of the parameters and the reference applies the same masks.
    @Test func gradientsMatchFiniteDifferencesWithDropout() throws {
        try checkGradients(weighted: true, dropout: (probability: 0.25, key: 99))
    }

    private func checkGradients(weighted: Bool, dropout: (probability: Float, key: UInt64)?) throws {
        let model = try Self.model(dropout: dropout?.probability ?? 0)
        let (tokens, targets, weights) = Self.batch()
        let w: [Float]? = weighted ? weights : nil
        model.zeroGradients()
        let loss = try model.forwardBackward(tokens: tokens, targets: targets, weights: w, batch: 2, time: 7,
                                             dropoutKey: dropout?.key)
        var reference = ReferenceGPT(model: model)
        reference.dropout = dropout
        let referenceLoss = reference.loss(tokens: tokens, targets: targets, weights: w, batch: 2, time: 7)
        #expect(abs(loss - referenceLoss) <= 1e-5 * abs(referenceLoss))

        var checked = 0
        var worst = 0.0
        for slot in model.layout.slots {
            // Several entries from every tensor: first, last and a few spread between.
            let picks = Set([0, slot.count - 1, slot.count / 3, slot.count / 2, (2 * slot.count) / 3])
            for index in picks.sorted() {
                let original = reference.tensors[slot.name]![index]
                let h = 1e-4
                reference.tensors[slot.name]![index] = original + h
                let plus = reference.loss(tokens: tokens, targets: targets, weights: w, batch: 2, time: 7)
                reference.tensors[slot.name]![index] = original - h
                let minus = reference.loss(tokens: tokens, targets: targets, weights: w, batch: 2, time: 7)
                reference.tensors[slot.name]![index] = original
                let numeric = (plus - minus) / (2 * h)
                let analytic = Double(model.gradients.pointer[slot.offset + index])
                let error = abs(analytic - numeric) / max(abs(numeric), 1e-2)
                worst = max(worst, error)
                #expect(error < 1e-4, "\(slot.name)[\(index)]: analytic \(analytic), numeric \(numeric)")
                checked += 1
            }
        }
        #expect(checked >= 5 * model.layout.slots.count - 20)
        print("gradient check (weighted: \(weighted), dropout: \(dropout?.probability ?? 0)): \(checked) entries, worst relative error \(worst)")
    }

    /// Dropout is a training-pass matter: without a key (or with probability 0) the loss is the evaluation
    /// loss; with a key it is not, and the same key gives the same loss.
    @Test func dropoutOnlyWithAKey() throws {
        let model = try Self.model(dropout: 0.25)
        let (tokens, targets, _) = Self.batch()
        let evaluation = try model.loss(tokens: tokens, targets: targets, batch: 2, time: 7)
        let plain = try model.forwardBackward(tokens: tokens, targets: targets, batch: 2, time: 7)
        let dropped = try model.forwardBackward(tokens: tokens, targets: targets, batch: 2, time: 7, dropoutKey: 5)
        let again = try model.forwardBackward(tokens: tokens, targets: targets, batch: 2, time: 7, dropoutKey: 5)
        let other = try model.forwardBackward(tokens: tokens, targets: targets, batch: 2, time: 7, dropoutKey: 6)
        #expect(abs(plain - evaluation) <= 1e-6 * evaluation)
        #expect(abs(dropped - evaluation) > 1e-3 * evaluation)
        #expect(dropped == again)
        #expect(other != dropped)
        // The array form with a key checks the counts as without one.
        #expect(throws: GPTError.wrongInputCount(count: 13, batch: 2, time: 7)) {
            try model.forwardBackward(tokens: Array(tokens.dropLast()), targets: targets, batch: 2, time: 7, dropoutKey: 5)
        }
        let noDropout = try Self.model()
        let keyed = try noDropout.forwardBackward(tokens: tokens, targets: targets, batch: 2, time: 7, dropoutKey: 5)
        let unkeyed = try noDropout.loss(tokens: tokens, targets: targets, batch: 2, time: 7)
        #expect(abs(keyed - unkeyed) <= 1e-6 * unkeyed)
    }

    @Test func logitsMatchReference() throws {
        let model = try Self.model()
        let (tokens, _, _) = Self.batch()
        let logits = try model.forward(tokens: tokens, batch: 2, time: 7)
        let expected = ReferenceGPT(model: model).logits(tokens: tokens, batch: 2, time: 7)
        let scale = expected.map { abs($0) }.max()!
        for i in 0..<expected.count { #expect(abs(Double(logits[i]) - expected[i]) <= 1e-5 * scale) }
    }

    /// The padding between tensors is never touched by a step, and gradients accumulate across calls.
    @Test func gradientsAccumulateAcrossCalls() throws {
        let model = try Self.model()
        let (tokens, targets, _) = Self.batch()
        model.zeroGradients()
        try model.forwardBackward(tokens: tokens, targets: targets, batch: 2, time: 7)
        let once = model.gradients.values
        try model.forwardBackward(tokens: tokens, targets: targets, batch: 2, time: 7)
        let twice = model.gradients.values
        for i in 0..<once.count { #expect(abs(twice[i] - 2 * once[i]) <= 1e-6 + 1e-5 * abs(once[i])) }
        var covered = [Bool](repeating: false, count: model.layout.totalCount)
        for slot in model.layout.slots { for i in 0..<slot.count { covered[slot.offset + i] = true } }
        for i in 0..<covered.count where !covered[i] { #expect(twice[i] == 0 && model.parameters.pointer[i] == 0) }
    }

    /// Two micro-batches with the scale 1 / (all positions) accumulate the gradient of the whole batch.
    @Test func microBatchesAccumulateToTheWholeBatch() throws {
        let model = try Self.model()
        let (tokens, targets, _) = Self.batch()   // 2 sequences of 7
        model.zeroGradients()
        let whole = try model.forwardBackward(tokens: tokens, targets: targets, batch: 2, time: 7)
        let expected = model.gradients.values
        model.zeroGradients()
        var sum = 0.0
        for half in 0..<2 {
            let range = (half * 7)..<(half * 7 + 7)
            sum += try model.forwardBackward(tokens: Array(tokens[range]), targets: Array(targets[range]),
                                             batch: 1, time: 7, gradientScale: 1.0 / 14)
        }
        #expect(abs(sum / 2 - whole) <= 1e-6 * abs(whole))
        let actual = model.gradients.values
        let scale = expected.map { abs($0) }.max()!
        for i in 0..<expected.count { #expect(abs(actual[i] - expected[i]) <= 1e-5 * scale) }
    }
}

