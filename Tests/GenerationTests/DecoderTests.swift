import GPT
import Testing

/// KV-cache decoding against full recomputation: after every prefill and every step, a slot's next-token
/// logits must equal the last row of `GPT.forward` over the slot's window (the tokens it conditions on).
/// Tolerance: |kv - full| <= 1e-4 + 1e-4 |full| per logit; the two differ only by summation order (a
/// matrix-vector kernel against the packed GEMM, one-query attention against the tiled kernel).
@Suite struct DecoderTests {
    static let config = GPTConfig(layers: 2, heads: 2, width: 32, context: 12, vocabSize: 40)

    static func expectMatchesFullForward(_ model: GPT, _ decoder: BatchDecoder, slot: Int,
                                         _ label: String) throws {
        let window = Array(decoder.window(slot: slot))
        let full = try model.forward(tokens: window, batch: 1, time: window.count)
        let V = model.config.vocabSize
        let last = Array(full[(window.count - 1) * V ..< window.count * V])
        let cached = Array(UnsafeBufferPointer(start: decoder.logits(slot: slot), count: V))
        var worst: Float = 0
        for v in 0..<V { worst = max(worst, abs(cached[v] - last[v]) / (1 + abs(last[v]))) }
        #expect(worst <= 1e-4, "\(label): slot \(slot), window \(window.count): max scaled difference \(worst)")
    }

    /// Larger weights than GPT-2's 0.02 init so that attention is far from uniform and errors would show.
    static func model(seed: UInt64) throws -> GPT {
        let model = try GPT(config: config, seed: seed)
        for i in 0..<model.layout.decayedCount { model.parameters.pointer[i] *= 10 }
        return model
    }

    @Test func singleSequenceEveryPositionAndAcrossSlides() throws {
        let model = try Self.model(seed: 1)
        let decoder = try BatchDecoder(model: model, slots: 1, slideKeep: 8)
        try decoder.prefill(slot: 0, tokens: [3, 17, 5, 9])
        try Self.expectMatchesFullForward(model, decoder, slot: 0, "prefill")
        var generator = SeededGenerator(seed: 7)
        for step in 0..<20 {   // runs past the context of 12: two slides
            try decoder.append(Int32(generator.next() % 40), to: 0)
            decoder.advance()
            #expect(decoder.length(slot: 0) <= 12)
            try Self.expectMatchesFullForward(model, decoder, slot: 0, "step \(step)")
        }
        // 4 + 8 steps fill the 12 positions; step 9 slides to 8 tokens; steps 14 and 19 slide again.
        #expect(decoder.slideCount(slot: 0) == 3)
    }

    @Test func batchWithPromptsOfDifferentLengths() throws {
        let model = try Self.model(seed: 2)
        let decoder = try BatchDecoder(model: model, slots: 3)
        let prompts: [[Int32]] = [[1, 2, 3, 4, 5, 6, 7], [8], [9, 10, 11]]
        for (slot, prompt) in prompts.enumerated() {
            try decoder.prefill(slot: slot, tokens: prompt)
            try Self.expectMatchesFullForward(model, decoder, slot: slot, "prefill")
        }
        var generator = SeededGenerator(seed: 3)
        for step in 0..<10 {
            for slot in 0..<3 where !(slot == 1 && step % 3 == 2) {   // slot 1 skips some steps
                try decoder.append(Int32(generator.next() % 40), to: slot)
            }
            decoder.advance()
            for slot in 0..<3 { try Self.expectMatchesFullForward(model, decoder, slot: slot, "step \(step)") }
        }
        // Slot 0: 7 + 5 steps fill the context; the default window keeps 9, so steps 6 and 10 slide.
        #expect(decoder.slideCount(slot: 0) == 2)
    }

    /// A step with six rows: PanelProduct's 4-row tile then its 2-row tile, in every projection and the head.
    @Test func batchOfSixRunsFourRowsThenTwoRows() throws {
        let model = try Self.model(seed: 4)
        let decoder = try BatchDecoder(model: model, slots: 6)
        for slot in 0..<6 { try decoder.prefill(slot: slot, tokens: Array(Int32(slot)...Int32(slot + slot))) }
        for step in 0..<3 {
            for slot in 0..<6 { try decoder.append(Int32(step + slot), to: slot) }
            decoder.advance()
            for slot in 0..<6 { try Self.expectMatchesFullForward(model, decoder, slot: slot, "step \(step)") }
        }
    }

    /// Decoding 7 sequences together gives each of them bit-identical logits to decoding it alone (every
    /// output element is summed in the same order whatever the number of rows), fp32 and bf16.
    @Test func batchLogitsAreBitIdenticalToDecodingAlone() throws {
        let model = try Self.model(seed: 6)
        let V = model.config.vocabSize, n = 7
        for weights in DecoderWeights.allCases {
            let together = try BatchDecoder(model: model, slots: n, weights: weights)
            let alone = try BatchDecoder(model: model, slots: 1, weights: weights)
            for slot in 0..<n { try together.prefill(slot: slot, tokens: [Int32(slot), Int32(2 * slot + 1)]) }
            for step in 0..<4 {
                for slot in 0..<n { try together.append(Int32((5 * step + 3 * slot) % V), to: slot) }
                together.advance()
            }
            for slot in 0..<n {
                try alone.prefill(slot: 0, tokens: [Int32(slot), Int32(2 * slot + 1)])
                for step in 0..<4 {
                    try alone.append(Int32((5 * step + 3 * slot) % V), to: 0)
                    alone.advance()
                }
                let a = Array(UnsafeBufferPointer(start: alone.logits(slot: 0), count: V))
                let b = Array(UnsafeBufferPointer(start: together.logits(slot: slot), count: V))
                #expect(a == b, "\(weights) slot \(slot)")
            }
        }
    }

    /// The decoding copy of the weights: every matrix in 16-column panels, 4 bytes a value in fp32, 2 in bf16.
    @Test func decodingCopySize() throws {
        let model = try Self.model(seed: 7)
        let C = Self.config.width, V = Self.config.vocabSize, L = Self.config.layers
        func padded(_ k: Int, _ n: Int) -> Int { k * ((n + 15) / 16 * 16) }
        let values = L * (padded(C, 3 * C) + padded(C, C) + padded(C, 4 * C) + padded(4 * C, C)) + padded(C, V)
        #expect(try BatchDecoder(model: model, slots: 3).decodingWeightBytes == 4 * values)
        #expect(try BatchDecoder(model: model, slots: 1, weights: .bfloat16).decodingWeightBytes == 2 * values)
    }

    @Test func refusesBadInput() throws {
        let model = try Self.model(seed: 5)
        let decoder = try BatchDecoder(model: model, slots: 2)
        #expect(throws: DecoderError.emptyPrompt) { try decoder.prefill(slot: 0, tokens: []) }
        #expect(throws: DecoderError.promptLongerThanContext(length: 13, context: 12)) {
            try decoder.prefill(slot: 0, tokens: [Int32](repeating: 1, count: 13))
        }
        #expect(throws: DecoderError.tokenOutOfRange(token: 40, vocabSize: 40)) { try decoder.prefill(slot: 0, tokens: [40]) }
        #expect(throws: DecoderError.slotOutOfRange(slot: 2, slots: 2)) { try decoder.prefill(slot: 2, tokens: [1]) }
        #expect(throws: DecoderError.slotNotPrefilled(slot: 1)) { try decoder.append(1, to: 1) }
        #expect(throws: DecoderError.invalidSlideKeep(keep: 13, context: 12)) {
            _ = try BatchDecoder(model: model, slots: 1, slideKeep: 13)
        }
        #expect(throws: DecoderError.noSlots(slots: 0)) { _ = try BatchDecoder(model: model, slots: 0) }
    }

    /// A slot outside 0..<slots stops the program with the slot named (these accessors read raw buffers; the
    /// check must survive -Ounchecked, so it is not a precondition).
    @Test func slotAccessorsStopOnASlotOutsideTheDecoder() async {
        await #expect(processExitsWith: .failure) {
            _ = try BatchDecoder(model: try DecoderTests.model(seed: 5), slots: 2).length(slot: 2)
        }
        await #expect(processExitsWith: .failure) {
            _ = try BatchDecoder(model: try DecoderTests.model(seed: 5), slots: 2).window(slot: -1)
        }
        await #expect(processExitsWith: .failure) {
            _ = try BatchDecoder(model: try DecoderTests.model(seed: 5), slots: 2).logits(slot: 3)
        }
        await #expect(processExitsWith: .failure) {
            _ = try BatchDecoder(model: try DecoderTests.model(seed: 5), slots: 2).slideCount(slot: 2)
        }
    }

    /// A decoder made before the model is trained decodes with the trained weights afterwards: its steps read a
    /// copy of the weights, made again once `parameterRevision` moves (an update, or a direct write announced
    /// with `parametersChanged()`). Its logits equal a new decoder's bit for bit, and differ from before.
    @Test func anExistingDecoderReadsTheWeightsAfterTheModelChanges() throws {
        let model = try Self.model(seed: 8)
        let V = model.config.vocabSize
        let decoder = try BatchDecoder(model: model, slots: 1)
        func decode(_ decoder: BatchDecoder) throws -> [Float] {
            try decoder.prefill(slot: 0, tokens: [4, 11, 2])
            for token: Int32 in [7, 30, 1] {
                try decoder.append(token, to: 0)
                decoder.advance()
            }
            return Array(UnsafeBufferPointer(start: decoder.logits(slot: 0), count: V))
        }
        let before = try decode(decoder)
        model.zeroGradients()
        _ = try model.forwardBackward(tokens: [4, 11, 2, 7, 30, 1], targets: [11, 2, 7, 30, 1, 9], batch: 1, time: 6)
        model.update(learningRate: 1e-2, step: 1)
        let trained = try decode(decoder)
        #expect(trained != before)
        #expect(trained == (try decode(try BatchDecoder(model: model, slots: 1))))
        for i in 0..<model.layout.totalCount { model.parameters.pointer[i] *= 0.5 }
        model.parametersChanged()
        #expect(try decode(decoder) == (try decode(try BatchDecoder(model: model, slots: 1))))
    }
}
