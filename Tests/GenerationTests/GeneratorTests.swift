import Foundation
import Generation
import GPT
import Sampling
import Testing

@Suite struct GeneratorTests {
    static let prompts = ["And God said", "The LORD is my shepherd", "Blessed", "In the beginning God created the heaven"]

    /// Each prompt decoded in a batch (different prompt lengths, one slot reused when a shorter answer ends)
    /// gives the text it gives alone with the same seed.
    @Test func batchGivesTheSameTextAsEachPromptAlone() throws {
        let settings = SamplingSettings(temperature: 1, topK: 40, topP: 0.9, maxNewTokens: 16)
        let requests = Self.prompts.enumerated().map {
            GenerationRequest(prompt: $0.element, seed: SeedDerivation.seed(base: 11, promptIndex: $0.offset, sampleIndex: 0))
        }
        let alone = try TinyCheckpoint.generator(maxBatch: 1)
        let single = try requests.map { try alone.generate([$0], settings: settings)[0]! }
        // 3 slots (the matrix-vector path) and 6 slots (more rows than it takes: 4 at a time, and the
        // decoder's own head), with 8 requests so that slots are reused.
        let all = requests + requests.map { GenerationRequest(prompt: $0.prompt + " and", seed: $0.seed &+ 1) }
        let singles = try all.map { try alone.generate([$0], settings: settings)[0]! }
        for slots in [3, 6] {
            let batched = try TinyCheckpoint.generator(maxBatch: slots).generate(all, settings: settings)
            for i in all.indices {
                #expect(batched[i]?.text == singles[i].text, "\(slots) slots, prompt \(i)")
                #expect(batched[i]?.tokenCount == singles[i].tokenCount)
            }
        }
        // Different seeds give different texts (the seed is used).
        #expect(Set(single.map(\.text)).count == requests.count)
    }

    @Test func sameSeedSameTextAndStopStringsAreNeverPrinted() throws {
        let generator = try TinyCheckpoint.generator()
        let settings = SamplingSettings(temperature: 0.8, maxNewTokens: 30)
        let a = try #require(try generator.generate(prompt: "And God said", settings: settings, seed: 3))
        let b = try #require(try generator.generate(prompt: "And God said", settings: settings, seed: 3))
        #expect(a.text == b.text)
        // Stop at the first "the" the model writes: the text ends right before it.
        let cut = try #require(a.text.range(of: "the"), "the sample should contain 'the': \(a.text)")
        var stopping = settings
        stopping.stopStrings = ["the"]
        var streamed = ""
        let c = try #require(try generator.generate(prompt: "And God said", settings: stopping, seed: 3, onEvent: {
            if case let .text(_, t) = $0 { streamed += t }
        }))
        #expect(c.finishReason == .stopString)
        #expect(c.text == String(a.text[..<cut.lowerBound]))
        #expect(streamed == c.text)
    }

    @Test func cancellationStopsAtOnce() throws {
        let generator = try TinyCheckpoint.generator()
        var checks = 0
        let c = try #require(try generator.generate(prompt: "And", settings: SamplingSettings(maxNewTokens: 100), seed: 1,
                                                    shouldStop: { checks += 1; return checks >= 5 }))
        #expect(c.finishReason == .cancelled)
        #expect(c.tokenCount == 5)
    }

    @Test func longPromptsAreLeftTruncatedWithAWarning() throws {
        let generator = try TinyCheckpoint.generator()
        let long = String(repeating: "and the LORD spake unto Moses, saying ", count: 20)
        let tokens = try generator.tokenizer.encode(long)
        var dropped: Int?
        let c = try #require(try generator.generate(prompt: long, settings: SamplingSettings(maxNewTokens: 3), seed: 1, onEvent: {
            if case let .promptTruncated(_, n, context) = $0 { dropped = n; #expect(context == 32) }
        }))
        #expect(dropped == tokens.count - 32)
        #expect(c.promptTokenCount == 32 && c.truncatedPromptTokens == tokens.count - 32)
    }

    @Test func invalidSettingsAreRefused() throws {
        let generator = try TinyCheckpoint.generator()
        #expect(throws: SamplingSettingsError.self) {
            try generator.generate(prompt: "x", settings: SamplingSettings(topP: 1.5), seed: 1)
        }
        // A batch of no sequences is refused, not taken as one.
        #expect(throws: DecoderError.noSlots(slots: 0)) {
            _ = try TextGenerator(model: generator.model, tokenizer: generator.tokenizer, maxBatch: 0)
        }
    }
}
