import Generation
import GPT
import Sampling
import Testing

/// Greedy output of the committed tiny checkpoint (2 layers, 64 wide, context 32, trained 150 steps on the
/// King James Bible). 60 new tokens run past the context of 32, so the window slides on the way.
/// The golden text is checked against the plain model's argmax below (`greedyTextIsThePlainModelsArgmax`); after
/// regenerating the checkpoint with scripts/make-generation-fixture.sh, paste the text these tests print.
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

    /// The greedy text from the plain model, an independent reference for the KV cache, the slide and the greedy
    /// loop: each new token is the argmax (lowest id on ties) of `GPT.forward` over the whole window, and a window
    /// that would outgrow the context keeps its newest three quarters (24 of 32), as `BatchDecoder` documents.
    @Test func greedyTextIsThePlainModelsArgmax() throws {
        let model = try Checkpoint.load(from: TinyCheckpoint.directory, includeTrainingState: false).model
        let tokenizer = try TinyCheckpoint.generator().tokenizer
        let (context, vocab) = (model.config.context, model.config.vocabSize)
        var window = try tokenizer.encode(Self.prompt)
        var generated: [Int32] = []
        var slides = 0
        while generated.count < 60 {
            let logits = try model.forward(tokens: window, batch: 1, time: window.count)
            let last = logits[(window.count - 1) * vocab ..< window.count * vocab]
            let next = Int32(last.indices.min { last[$0] > last[$1] || (last[$0] == last[$1] && $0 < $1) }! - last.startIndex)
            #expect(next != tokenizer.eosId, "the reference reached EOS after \(generated.count) tokens")
            generated.append(next)
            window.append(next)
            if window.count > context { window.removeFirst(window.count - (context - context / 4)); slides += 1 }
        }
        #expect(slides >= 1)
        let text = try tokenizer.decode(generated)
        #expect(text == Self.golden, "plain model: \(String(reflecting: text))")
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
