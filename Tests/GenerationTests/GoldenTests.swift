import Generation
import Sampling
import Testing

/// Greedy output of the committed tiny checkpoint (2 layers, 64 wide, context 32, trained 150 steps on the
/// King James Bible). 60 new tokens run past the context of 32, so the window slides on the way.
/// Regenerate with scripts/make-generation-fixture.sh, then paste the text this test prints on failure.
@Suite struct GoldenTests {
    static let prompt = "In the beginning God"
    static let golden = ", and the fle, and the fle, and the fe, and the fe, and the fle, and the fle, and the fle, and the fle, and the fle, and the fle, and"

    @Test func greedyTextOfTheTinyCheckpoint() throws {
        let generator = try TinyCheckpoint.generator()
        var settings = SamplingSettings.greedy
        settings.maxNewTokens = 60
        var streamed = ""
        var slid = 0
        let completion = try #require(try generator.generate(prompt: Self.prompt, settings: settings, seed: 0, onEvent: {
            if case let .text(_, text) = $0 { streamed += text }
            if case .contextSlid = $0 { slid += 1 }
        }))
        #expect(completion.text == Self.golden, "new golden text: \(String(reflecting: completion.text))")
        #expect(streamed == completion.text)
        #expect(completion.finishReason == .length && completion.tokenCount == 60)
        #expect(slid == 1 && completion.slides >= 1)
    }

    /// The per-token byte table gives SentencePiece's own decoding, byte-fallback pieces and spaces included
    /// (Swiftlet's tokenizers add no dummy prefix, so not even a leading space differs).
    @Test func pieceBytesMatchTheTokenizer() throws {
        let generator = try TinyCheckpoint.generator()
        for text in ["In the beginning God created", "caf\u{E9} \u{2603} \u{1D11E} na\u{EF}ve", "  two  spaces\tand tab"] {
            let ids = try generator.tokenizer.encode(text)
            let decoded = String(decoding: generator.pieces.bytes(of: ids), as: UTF8.self)
            #expect(decoded == (try generator.tokenizer.decode(ids)), "\(ids) \(String(reflecting: decoded))")
        }
    }
}
