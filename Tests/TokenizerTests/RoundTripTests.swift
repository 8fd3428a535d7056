import TestSupport
import Foundation
import Testing
@testable import Tokenizer

@Suite struct RoundTripTests {
    /// Lines with what SentencePiece's defaults would lose: repeated, leading and trailing spaces, tabs,
    /// blank lines, punctuation, non-ASCII.
    static let tricky = "  Two leading spaces,   three inside;\ttab!\n\n\nTrailing space \n'Quotes' -- \"dashes\" (and) [brackets]...\nCafé naïve — “curly” 日本\n"

    static func trainingFiles(in directory: String) throws -> [String] {
        let shakespeare = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 40_000, to: directory, name: "s.txt")
        let extra = directory + "/extra.txt"
        try (String(repeating: tricky, count: 3)).write(toFile: extra, atomically: true, encoding: .utf8)
        return [shakespeare, extra]
    }

    /// (`word` is left out: a word model has no way to spell a word outside its vocabulary, so it is exact
    /// only on text made of known words; see `wordModelRoundTripsKnownText`.)
    @Test(arguments: [TokenizerTrainingOptions.ModelType.bpe, .unigram, .char])
    func identityNormalizationRoundTripsExactly(type: TokenizerTrainingOptions.ModelType) throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = TokenizerTrainingOptions()
        options.modelType = type
        options.vocabularySize = 400
        let files = try Self.trainingFiles(in: directory)
        let tokenizer = try SentencePieceTokenizer.train(files: files, modelPath: directory + "/m.model", options: options)

        for text in [Self.tricky, "no newline at the end", "\n", "", "   ", "a\n\nb  \n  c"] {
            let ids = try tokenizer.encode(text)
            #expect(try tokenizer.decode(ids) == text, "\(type): \(text.debugDescription)")
        }
        // A whole file, streamed in small chunks on 2 threads, decodes to its exact bytes.
        let expected = try Data(contentsOf: URL(fileURLWithPath: files[0]))
        let ids = try CorpusEncoder(tokenizer: tokenizer, threads: 2, chunkBytes: 512).encode(file: files[0])
        #expect(try tokenizer.decodeToBytes(ids) == Array(expected))
        #expect(ids.filter { $0 == tokenizer.unknownId }.isEmpty)
    }

    @Test func wordModelRoundTripsKnownText() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = directory + "/words.txt"
        try String(repeating: "the cat  sat on the mat.\n\nthe dog sat\n", count: 5).write(toFile: corpus, atomically: true, encoding: .utf8)
        var options = TokenizerTrainingOptions()
        options.modelType = .word
        options.vocabularySize = 14   // the 8 words of the corpus, 4 specials and the 2 whitespace pieces
        let tokenizer = try SentencePieceTokenizer.train(files: [corpus], modelPath: directory + "/m.model", options: options)
        let text = "the dog  sat on the mat.\n\nthe cat\n"
        #expect(try tokenizer.decode(tokenizer.encode(text)) == text)
    }

    @Test func nfkcNormalizationRoundTripsToTheNormalizedText() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = TokenizerTrainingOptions()
        options.normalization = "nmt_nfkc"
        options.vocabularySize = 300
        let tokenizer = try SentencePieceTokenizer.train(files: try Self.trainingFiles(in: directory),
                                                         modelPath: directory + "/m.model", options: options)
        // NFKC folds the ligature "ﬁ" to "fi" and full-width letters to ASCII.
        #expect(try tokenizer.decode(tokenizer.encode("ﬁne ＡＢ words")) == "fine AB words")
    }

    @Test func specialIdsAndPieces() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = TokenizerTrainingOptions()
        options.vocabularySize = 300
        options.userDefinedSymbols = ["<sep>"]
        let tokenizer = try SentencePieceTokenizer.train(files: try Self.trainingFiles(in: directory),
                                                         modelPath: directory + "/m.model", options: options)
        #expect(tokenizer.vocabularySize == 300)
        #expect(tokenizer.unknownId == 0 && tokenizer.bosId == 1 && tokenizer.eosId == 2 && tokenizer.padId == 3)
        #expect(tokenizer.newlineId == 4)
        #expect(tokenizer.piece(for: 4) == "\n")
        #expect(tokenizer.piece(for: 5) == "\t")
        #expect(tokenizer.id(for: "<sep>") == 6)
        #expect(tokenizer.id(for: "no such piece") == nil)
        #expect(try tokenizer.encode("a<sep>b").contains(6))
        for id in Int32(0)..<Int32(tokenizer.vocabularySize) {
            #expect(tokenizer.id(for: tokenizer.piece(for: id)) == id)
        }
        #expect(tokenizer.isUnknown(0) && tokenizer.isControl(1) && tokenizer.isControl(2))
        #expect(throws: TokenizerError.idOutOfRange(id: 300, vocabularySize: 300)) { try tokenizer.decode([300]) }
    }

    @Test func byteFallbackSpellsUnseenCharactersAsBytes() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = TokenizerTrainingOptions()
        options.vocabularySize = 400
        options.byteFallback = true
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 30_000, to: directory, name: "s.txt")
        let tokenizer = try SentencePieceTokenizer.train(files: [corpus], modelPath: directory + "/m.model", options: options)
        let text = "Unseen: 日本語 ∑ 🙂\n"
        let ids = try tokenizer.encode(text)
        #expect(ids.filter { $0 == tokenizer.unknownId }.isEmpty)
        #expect(ids.contains { tokenizer.isByte($0) })
        #expect(try tokenizer.decode(ids) == text)
    }
}
