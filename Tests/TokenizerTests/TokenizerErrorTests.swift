import TestSupport
import Foundation
import Testing
@testable import Tokenizer

@Suite struct TokenizerErrorTests {
    /// The first 5 kB of tinyshakespeare in a fresh directory, to train tokenizers on.
    struct SmallCorpus {
        let directory: String
        let corpus: String
        var model: String { directory + "/m.model" }

        init() throws {
            directory = try Fixtures.temporaryDirectory()
            corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 5_000, to: directory, name: "s.txt")
        }

        func train(_ options: TokenizerTrainingOptions) throws -> SentencePieceTokenizer {
            try SentencePieceTokenizer.train(files: [corpus], modelPath: model, options: options)
        }

        /// The error training with `options` throws; nil when it trains.
        func failure(_ options: TokenizerTrainingOptions) -> TokenizerError? {
            do { _ = try train(options); return nil } catch { return error as? TokenizerError }
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test func vocabularyTooLargeNamesTheLargestSizeAndThatSizeWorks() throws {
        let small = try SmallCorpus()
        defer { small.remove() }
        var options = TokenizerTrainingOptions()
        options.vocabularySize = 50_000
        guard case let .vocabularyTooLarge(name, requested, maximum)? = small.failure(options) else {
            Issue.record("training a 50000-piece vocabulary on 5 kB should fail as too large")
            return
        }
        #expect(name == small.corpus && requested == 50_000)
        #expect(maximum > 100 && maximum < 50_000)
        #expect(!FileManager.default.fileExists(atPath: small.model))
        let message = TokenizerError.vocabularyTooLarge(corpus: small.corpus, requested: 50_000, maximum: maximum).description
        #expect(message.contains("the largest is \(maximum)") && message.hasPrefix(small.corpus))
        options.vocabularySize = maximum
        #expect(try small.train(options).vocabularySize == maximum)
    }

    @Test func vocabularyTooSmallNamesTheSmallestSizeAndThatSizeWorks() throws {
        let small = try SmallCorpus()
        defer { small.remove() }
        var options = TokenizerTrainingOptions()
        options.vocabularySize = 20
        guard case let .vocabularyTooSmall(name, requested, minimum)? = small.failure(options) else {
            Issue.record("a 20-piece BPE vocabulary cannot hold every character of Shakespeare")
            return
        }
        #expect(name == small.corpus && requested == 20)
        // Every distinct character of the text (letters, punctuation, space) plus the 6 reserved pieces.
        let characters = Set(try String(contentsOfFile: small.corpus, encoding: .utf8).unicodeScalars).subtracting(["\n"]).count
        #expect(minimum == characters + options.reservedPieceCount)
        let message = TokenizerError.vocabularyTooSmall(corpus: small.corpus, requested: 20, minimum: minimum).description
        #expect(message.hasPrefix(small.corpus) && message.contains("the smallest is \(minimum)"))
        #expect(message.contains("--vocab-size \(minimum) or more"))
        #expect(!FileManager.default.fileExists(atPath: small.model))
        options.vocabularySize = minimum
        #expect(try small.train(options).vocabularySize == minimum)
    }

    /// A vocabulary no larger than the special pieces (<unk>, <s>, </s>, <pad>, "\n", "\t", and with byte
    /// fallback 256 bytes) is refused before SentencePiece runs, for every model type.
    @Test func vocabularyWithoutRoomForTextIsRefusedUpFront() throws {
        let small = try SmallCorpus()
        defer { small.remove() }
        for type in TokenizerTrainingOptions.ModelType.allCases {
            for byteFallback in [false, true] {
                var options = TokenizerTrainingOptions()
                options.modelType = type
                options.byteFallback = byteFallback
                let reserved = byteFallback ? 262 : 6
                #expect(options.reservedPieceCount == reserved)
                options.vocabularySize = reserved
                guard case let .invalidOption(message)? = small.failure(options) else {
                    Issue.record("\(type) with \(reserved) pieces should be refused")
                    continue
                }
                #expect(message.contains("\(reserved) are reserved") && message.contains("--vocab-size \(reserved + 1) or more"))
            }
        }
        var chars = TokenizerTrainingOptions()
        chars.modelType = .char
        chars.vocabularySize = 7
        #expect(try small.train(chars).vocabularySize == 7)
    }

    @Test func badCorpora() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = directory + "/m.model"
        func train(_ file: String) throws { _ = try SentencePieceTokenizer.train(files: [file], modelPath: model) }

        #expect(throws: TokenizerError.fileNotFound(path: directory + "/missing.txt")) { try train(directory + "/missing.txt") }
        #expect(throws: TokenizerError.notAFile(path: directory)) { try train(directory) }
        // A FIFO (as `<(zcat corpus.gz)` gives) is refused before it is opened: that would wait for a writer.
        #expect(mkfifo(directory + "/fifo", 0o600) == 0)
        #expect(throws: TokenizerError.notARegularFile(path: directory + "/fifo")) { try train(directory + "/fifo") }
        #expect(throws: TokenizerError.notARegularFile(path: "/dev/zero")) { try train("/dev/zero") }
        _ = FileManager.default.createFile(atPath: directory + "/empty.txt", contents: Data())
        #expect(throws: TokenizerError.emptyFile(path: directory + "/empty.txt")) { try train(directory + "/empty.txt") }
        // Line 3 holds a Latin-1 byte.
        _ = FileManager.default.createFile(atPath: directory + "/latin1.txt", contents: Data("one\ntwo\nna".utf8 + [0xEF, 0x76, 0x65] + Data("\n".utf8)))
        #expect(throws: TokenizerError.invalidUTF8(path: directory + "/latin1.txt", line: 3, byteOffset: 10)) {
            try train(directory + "/latin1.txt")
        }
        // UTF-16 (as Windows tools save "Unicode" text) and UTF-32 are named as such, in either byte order; a file of
        // one byte 0xFF is plain invalid UTF-8.
        for (name, bom, encoding, wide) in [("le.txt", [UInt8(0xFF), 0xFE], "UTF-16", String.Encoding.utf16LittleEndian),
                                            ("be.txt", [0xFE, 0xFF], "UTF-16", .utf16BigEndian),
                                            ("le32.txt", [0xFF, 0xFE, 0, 0], "UTF-32", .utf32LittleEndian),
                                            ("be32.txt", [0, 0, 0xFE, 0xFF], "UTF-32", .utf32BigEndian)] {
            _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bom) + "one\n".data(using: wide)!)
            #expect(throws: TokenizerError.notUTF8(path: directory + "/" + name, encoding: encoding)) {
                try train(directory + "/" + name)
            }
        }
        _ = FileManager.default.createFile(atPath: directory + "/ff.txt", contents: Data([0xFF]))
        #expect(throws: TokenizerError.invalidUTF8(path: directory + "/ff.txt", line: 1, byteOffset: 0)) { try train(directory + "/ff.txt") }
        #expect(!FileManager.default.fileExists(atPath: model))
    }

    @Test func corruptAndMissingModels() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corrupt = directory + "/corrupt.model"
        _ = FileManager.default.createFile(atPath: corrupt, contents: Data((0..<500).map { UInt8(truncatingIfNeeded: $0 &* 37) }))
        do {
            _ = try SentencePieceTokenizer(contentsOf: corrupt)
            Issue.record("a corrupt model must not load")
        } catch let TokenizerError.corruptModel(path, _) {
            #expect(path == corrupt)
        }
        #expect(throws: TokenizerError.fileNotFound(path: directory + "/none.model")) {
            try SentencePieceTokenizer(contentsOf: directory + "/none.model")
        }
        #expect(throws: TokenizerError.notAFile(path: directory)) { try SentencePieceTokenizer(contentsOf: directory) }
    }

    @Test func invalidUTF8InsideALargeFileIsFoundAtItsLineAcrossChunks() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 2000 lines of "é" (2 bytes each) so that reads of 7 bytes cut sequences in half; a bad byte on line 1500.
        var bytes: [UInt8] = []
        for line in 1...2000 {
            bytes += Array("é line é\n".utf8)
            if line == 1499 { bytes += [0xC3, 0x28, 0x0A] }   // line 1500: lead byte without continuation
        }
        let path = directory + "/bad.txt"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let offset = 1499 * Array("é line é\n".utf8).count
        #expect(throws: TokenizerError.invalidUTF8(path: path, line: 1500, byteOffset: offset)) {
            try InputFile.scanCorpus(path, chunkBytes: 7)
        }
        // Without the bad line the same chunked scan accepts the file.
        let good = directory + "/good.txt"
        _ = FileManager.default.createFile(atPath: good, contents: Data(String(repeating: "é line é\n", count: 2000).utf8))
        let summary = try InputFile.scanCorpus(good, chunkBytes: 7)
        #expect(summary.lines == 2000 && summary.bytes == 2000 * 11)
    }

    /// The scan counts "▁" (E2 96 81) also when reads cut it (reads of 2 bytes cut every one).
    @Test func theScanCountsSpaceMarksAcrossReads() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/marks.txt"
        try "a\u{2581}b \u{2581}\u{2581}\n\u{2581}x\u{2582}\n".write(toFile: path, atomically: true, encoding: .utf8)
        for chunk in [2, 3, 5, 1 << 20] { #expect(try InputFile.scanCorpus(path, chunkBytes: chunk).spaceMarks == 4) }
    }

    /// The scan counts a "\r" not followed by "\n" (classic Mac OS line breaks) and lines too long to train on, also
    /// when reads cut a "\r\n" in two, and a "\r" that ends the file.
    @Test func theScanCountsLoneCarriageReturnsAndLongLinesAcrossReads() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/breaks.txt"
        let long = String(repeating: "x", count: InputFile.maxTrainingLineBytes + 1)
        try "a\r\nb\rc\r\r\n\(long)\r\n\(long)d\r".write(toFile: path, atomically: true, encoding: .utf8)
        for chunk in [1, 2, 3, 5, 1 << 20] {
            let summary = try InputFile.scanCorpus(path, chunkBytes: chunk)
            #expect(summary.loneCarriageReturns == 3 && summary.longLines == 2 && summary.lines == 3, "chunk \(chunk)")
        }
    }

    @Test func utf8Validator() {
        func firstBad(_ bytes: [UInt8]) -> Int? { bytes.withUnsafeBytes { InputFile.firstInvalidUTF8($0) } }
        #expect(firstBad(Array("plain ascii, é, 日本, 🙂".utf8)) == nil)
        #expect(firstBad([0x41, 0xC0, 0x80]) == 1)              // overlong NUL
        #expect(firstBad([0x41, 0x42, 0xED, 0xA0, 0x80]) == 2)  // UTF-16 surrogate
        #expect(firstBad([0xF4, 0x90, 0x80, 0x80]) == 0)        // above U+10FFFF
        #expect(firstBad([0x41, 0xE6, 0x97]) == 1)              // truncated at the end
        #expect(firstBad([0x80]) == 0)                          // lone continuation byte
    }
}
