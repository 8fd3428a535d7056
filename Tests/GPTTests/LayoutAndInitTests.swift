import Foundation
import Testing
@testable import GPT
import Kernels

@Suite struct LayoutAndInitTests {
    @Test func namesShapesAndRegions() {
        let c = GPTConfig(layers: 2, heads: 2, width: 8, context: 16, vocabSize: 11)
        let layout = ParameterLayout(config: c)
        let shapes = Dictionary(uniqueKeysWithValues: layout.slots.map { ($0.name, $0.shape) })
        #expect(shapes["transformer.wte.weight"] == [11, 8])
        #expect(shapes["transformer.wpe.weight"] == [16, 8])
        for l in 0..<2 {
            let h = "transformer.h.\(l)."
            #expect(shapes[h + "ln_1.weight"] == [8] && shapes[h + "ln_1.bias"] == [8])
            #expect(shapes[h + "attn.c_attn.weight"] == [8, 24] && shapes[h + "attn.c_attn.bias"] == [24])
            #expect(shapes[h + "attn.c_proj.weight"] == [8, 8] && shapes[h + "attn.c_proj.bias"] == [8])
            #expect(shapes[h + "ln_2.weight"] == [8] && shapes[h + "ln_2.bias"] == [8])
            #expect(shapes[h + "mlp.c_fc.weight"] == [8, 32] && shapes[h + "mlp.c_fc.bias"] == [32])
            #expect(shapes[h + "mlp.c_proj.weight"] == [32, 8] && shapes[h + "mlp.c_proj.bias"] == [8])
        }
        #expect(shapes["transformer.ln_f.weight"] == [8] && shapes["transformer.ln_f.bias"] == [8])
        #expect(layout.slots.count == 2 + 2 * 12 + 2)
        // Decayed = exactly the 2-D tensors, all in [0, decayedCount); the rest after it; no overlaps.
        var end = 0
        for slot in layout.slots {
            #expect(slot.decayed == (slot.shape.count == 2))
            #expect(slot.offset >= end && slot.offset % 16 == 0)
            end = slot.offset + slot.count
            if slot.decayed { #expect(end <= layout.decayedCount) } else { #expect(slot.offset >= layout.decayedCount) }
        }
        #expect(end <= layout.totalCount)
        #expect(layout.parameterCount == ParameterLayout.parameterCount(of: c))
    }

    @Test func gpt2HasItsKnownParameterCount() {
        #expect(ParameterLayout.parameterCount(of: .gpt2()) == 124_439_808)
        #expect(ParameterLayout(config: .gpt2()).parameterCount == 124_439_808)
    }

    @Test func initialisationStatistics() throws {
        let c = GPTConfig(layers: 4, heads: 4, width: 64, context: 32, vocabSize: 300)
        let model = try GPT(config: c, seed: 1)
        func stats(_ name: String) -> (mean: Double, std: Double) {
            let v = model.parameterValues(named: name)!.map(Double.init)
            let mean = v.reduce(0, +) / Double(v.count)
            return (mean, (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)).squareRoot())
        }
        let residual = 0.02 / (2.0 * 4).squareRoot()
        for (name, std) in [("transformer.wte.weight", 0.02), ("transformer.wpe.weight", 0.02),
                            ("transformer.h.1.attn.c_attn.weight", 0.02), ("transformer.h.2.mlp.c_fc.weight", 0.02),
                            ("transformer.h.0.attn.c_proj.weight", residual), ("transformer.h.3.mlp.c_proj.weight", residual)] {
            let s = stats(name)
            // >= 4096 samples: the sample std is within ~3% of the true one with overwhelming probability.
            #expect(abs(s.std - std) < 0.05 * std, "\(name) std \(s.std)")
            #expect(abs(s.mean) < 0.1 * std, "\(name) mean \(s.mean)")
        }
        #expect(model.parameterValues(named: "transformer.h.0.ln_1.weight")!.allSatisfy { $0 == 1 })
        #expect(model.parameterValues(named: "transformer.ln_f.bias")!.allSatisfy { $0 == 0 })
        #expect(model.parameterValues(named: "transformer.h.2.mlp.c_fc.bias")!.allSatisfy { $0 == 0 })
        // Same seed, same model; another seed, another model.
        let again = try GPT(config: c, seed: 1), other = try GPT(config: c, seed: 2)
        #expect(again.parameters.values == model.parameters.values)
        #expect(other.parameters.values != model.parameters.values)
    }

    @Test func generatorStateRestores() {
        var g = SeededGenerator(seed: 99)
        _ = (0..<10).map { _ in g.next() }
        var copy = SeededGenerator(state: g.state)!
        #expect((0..<5).map { _ in g.nextNormal() } == (0..<5).map { _ in copy.nextNormal() })
        #expect(SeededGenerator(state: [0, 0, 0, 0]) == nil)
        #expect(SeededGenerator(state: [1, 2]) == nil)
    }

    @Test func presetsAndValidation() throws {
        #expect(GPTConfig.tiny(vocabSize: 65) == GPTConfig(layers: 4, heads: 4, width: 128, context: 64, vocabSize: 65))
        #expect(GPTConfig.small(vocabSize: 65) == GPTConfig(layers: 6, heads: 6, width: 384, context: 256, vocabSize: 65))
        #expect(GPTConfig.gpt2() == GPTConfig(layers: 12, heads: 12, width: 768, context: 1024, vocabSize: 50257))
        #expect(try GPTConfig.preset(named: "small", vocabSize: 65).overriding(layers: 2, context: 128).layers == 2)
        #expect(throws: GPTConfigError.unknownPreset("huge", known: GPTConfig.presetNames)) {
            try GPTConfig.preset(named: "huge", vocabSize: 65)
        }
        #expect(throws: GPTConfigError.headsDoNotDivideWidth(heads: 5, width: 128)) {
            try GPTConfig.tiny(vocabSize: 65).overriding(heads: 5)
        }
        #expect(throws: GPTConfigError.notPositive("layers", 0)) { try GPTConfig.tiny(vocabSize: 65).overriding(layers: 0) }
        #expect(throws: GPTConfigError.notPositive("vocabulary size", -1)) { try GPTConfig.tiny(vocabSize: -1).validate() }
        #expect(throws: GPTConfigError.invalidDropout(1.5)) { try GPTConfig.tiny(vocabSize: 65).overriding(dropout: 1.5) }
        #expect(throws: GPTConfigError.invalidDropout(-0.1)) { try GPTConfig.tiny(vocabSize: 65).overriding(dropout: -0.1) }
        #expect(throws: GPTConfigError.invalidEpsilon(0)) { try GPTConfig.tiny(vocabSize: 65).overriding(layerNormEpsilon: 0) }
        // Sizes whose exact parameter count would overflow Int are refused as too large, not trapped on.
        let tiny = GPTConfig.tiny(vocabSize: 65)
        for (width, context) in [(1 << 32, 64), (128, Int.max)] {
            let error = #expect(throws: GPTConfigError.self) { try tiny.overriding(heads: 1, width: width, context: context) }
            #expect(error?.description == "the model would have more than 10^15 parameters, more than Swiftlet supports (at most 2^36)")
        }
        // Just past the limit the count is exact: width 1, vocabulary 1, one layer (25 parameters), context
        // 2^36 - 27, so (1 + context + 2) + 25 = 2^36 + 1.
        #expect(throws: GPTConfigError.tooLarge(Double(1 << 36) + 1)) {
            try GPTConfig(layers: 1, heads: 1, width: 1, context: (1 << 36) - 27, vocabSize: 1).validate()
        }
        #expect(throws: Never.self) {
            try GPTConfig(layers: 1, heads: 1, width: 1, context: (1 << 36) - 28, vocabSize: 1).validate()
        }
    }

    @Test func badBatchesAreTypedErrors() throws {
        let model = try GPT(config: GPTConfig(layers: 1, heads: 1, width: 4, context: 4, vocabSize: 5), seed: 0)
        #expect(throws: GPTError.sequenceLongerThanContext(time: 5, context: 4)) {
            try model.forward(tokens: [Int32](repeating: 0, count: 5), batch: 1, time: 5)
        }
        #expect(throws: GPTError.tokenOutOfRange(token: 5, position: 1, vocabSize: 5)) {
            try model.forward(tokens: [0, 5], batch: 1, time: 2)
        }
        #expect(throws: GPTError.targetOutOfRange(token: -1, position: 0, vocabSize: 5)) {
            try model.loss(tokens: [0, 1], targets: [-1, 1], batch: 1, time: 2)
        }
        #expect(throws: GPTError.invalidWeight(weight: -1, position: 1)) {
            try model.forwardBackward(tokens: [0, 1], targets: [1, 1], weights: [1, -1], batch: 1, time: 2)
        }
        #expect(throws: GPTError.wrongInputCount(count: 3, batch: 1, time: 2)) {
            try model.forward(tokens: [0, 1, 2], batch: 1, time: 2)
        }
        #expect(throws: GPTError.emptyBatch(batch: 0, time: 2)) { try model.forward(tokens: [], batch: 0, time: 2) }
    }

    /// Activations are planned once and grow only when a larger shape is asked. (One thread: the model's own
    /// activations; ShardedPassTests plans the shards'.)
    @Test func activationsArePlannedOnce() throws {
        let model = try GPT(config: GPTConfig(layers: 1, heads: 2, width: 8, context: 8, vocabSize: 7), seed: 0,
                            pool: ThreadPool(threads: 1))
        #expect(model.memory.activationBytes == 0)
        try model.reserve(batch: 2, time: 8)
        let planned = model.memory
        #expect(planned.activationBytes > 0)
        _ = try model.forward(tokens: [Int32](repeating: 1, count: 3 * 2), batch: 3, time: 2)  // more rows of a smaller T
        #expect(model.memory.activationBytes > planned.activationBytes)
        let grown = model.memory.activationBytes
        _ = try model.forward(tokens: [Int32](repeating: 1, count: 8), batch: 1, time: 8)
        #expect(model.memory.activationBytes == grown)
        #expect(planned.parameterBytes == model.layout.totalCount * 4)
        // A plan larger than the batch gives the same results as an exact one.
        let exact = try GPT(config: model.config, seed: 0, pool: model.pool)
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6], targets: [Int32] = [2, 3, 4, 5, 6, 0]
        exact.zeroGradients()
        model.zeroGradients()
        let a = try exact.forwardBackward(tokens: tokens, targets: targets, batch: 2, time: 3)
        let b = try model.forwardBackward(tokens: tokens, targets: targets, batch: 2, time: 3)
        #expect(a == b && exact.gradients.values == model.gradients.values)
        // The report counts the gradients and moments training makes: what the model holds after an update.
        model.update(learningRate: 1e-3, step: 1)
        #expect(planned.momentBytes + planned.gradientBytes == model.trainingBufferBytes)
    }
}
