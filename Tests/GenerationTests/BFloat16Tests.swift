import TestSupport
import Foundation
import GPT
import Testing

@Suite struct BFloat16Tests {
    /// Teacher-forced perplexity of a text under KV-cache decoding: prefill the first token, then append each
    /// true next token; mean of -log softmax(logits)[next].
    static func perplexity(_ decoder: BatchDecoder, tokens: [Int32]) throws -> Double {
        let V = decoder.model.config.vocabSize
        try decoder.prefill(slot: 0, tokens: [tokens[0]])
        var total = 0.0
        for t in 1..<tokens.count {
            let logits = decoder.logits(slot: 0)
            var maximum = -Double.infinity
            for v in 0..<V { maximum = max(maximum, Double(logits[v])) }
            var sum = 0.0
            for v in 0..<V { sum += Foundation.exp(Double(logits[v]) - maximum) }
            total += maximum + Foundation.log(sum) - Double(logits[Int(tokens[t])])
            try decoder.append(tokens[t], to: 0)
            decoder.advance()
        }
        return Foundation.exp(total / Double(tokens.count - 1))
    }

    /// bf16 weights: perplexity of held-out text (the end of kjv.txt, which the fixture never trained on)
    /// within 0.5% of fp32's, and logits within 2% of the largest logit.
    @Test func perplexityWithinHalfAPercentOfFloat32() throws {
        let generator = try TinyCheckpoint.generator()
        let text = try String(contentsOfFile: Fixtures.packageRoot.path + "/corpora/kjv.txt", encoding: .utf8)
        let tokens = Array(try generator.tokenizer.encode(String(text.suffix(2000))).prefix(120))
        let fp32 = try BatchDecoder(model: generator.model, slots: 1)
        let bf16 = try BatchDecoder(model: generator.model, slots: 1, weights: .bfloat16)
        let p32 = try Self.perplexity(fp32, tokens: tokens)
        let p16 = try Self.perplexity(bf16, tokens: tokens)
        #expect(abs(p16 - p32) / p32 <= 0.005, "fp32 \(p32), bf16 \(p16)")
        var worst: Float = 0, largest: Float = 0
        for v in 0..<generator.model.config.vocabSize {
            worst = max(worst, abs(fp32.logits(slot: 0)[v] - bf16.logits(slot: 0)[v]))
            largest = max(largest, abs(fp32.logits(slot: 0)[v]))
        }
        #expect(worst <= 0.02 * largest, "max difference \(worst), largest logit \(largest)")
    }

    /// The bf16 kernels against the fp32 decoder's steps over the same rounded weights, for 1 and 3 rows and widths that
    /// are not multiples of 16 (odd shapes from a model with width 40).
    @Test func bf16StepsMatchFloat32StepsOnRoundedWeights() throws {
        let config = GPTConfig(layers: 1, heads: 2, width: 40, context: 8, vocabSize: 37)
        let model = try GPT(config: config, seed: 3)
        // Round every matrix to bf16 in place: then fp32 and bf16 steps read the same values.
        for i in 0..<model.layout.decayedCount {
            let bits = model.parameters.pointer[i].bitPattern
            model.parameters.pointer[i] = Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
        }
        let fp32 = try BatchDecoder(model: model, slots: 3)
        let bf16 = try BatchDecoder(model: model, slots: 3, weights: .bfloat16)
        for decoder in [fp32, bf16] {
            for slot in 0..<3 { try decoder.prefill(slot: slot, tokens: [Int32(slot), 5]) }
            for step in 0..<4 {
                for slot in 0..<3 { try decoder.append(Int32((step * 7 + slot) % 37), to: slot) }
                decoder.advance()
            }
        }
        for slot in 0..<3 {
            for v in 0..<37 {
                let a = fp32.logits(slot: slot)[v], b = bf16.logits(slot: slot)[v]
                #expect(abs(a - b) <= 1e-5 * (1 + abs(a)), "slot \(slot) token \(v): \(a) vs \(b)")
            }
        }
    }
}
