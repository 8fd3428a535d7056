import TestSupport
import Foundation
import Testing
@testable import Tokenizer

/// Ids (and pieces) must equal those of Debian's spm_encode for the same model, line by line.
@Suite struct SpmEncodeParityTests {
    static let spmEncode = "/usr/bin/spm_encode"

    /// Runs spm_encode on a file and returns its output lines.
    static func spmEncodeLines(model: String, input: String, format: String) throws -> [String] {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outputPath = directory + "/out.txt"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: spmEncode)
        process.arguments = ["--model", model, "--output_format=\(format)", "--input", input]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let text = try String(contentsOfFile: outputPath, encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    @Test(arguments: [(TokenizerTrainingOptions.ModelType.bpe, 600), (.unigram, 500), (.char, 200)])
    func idsEqualSpmEncodeOnEveryLine(type: TokenizerTrainingOptions.ModelType, vocabulary: Int) throws {
        try requireSentencePieceTools([Self.spmEncode])
        let (directory, corpus, _, tokenizer) = try shakespeareTokenizer(type: type, vocabulary: vocabulary, modelName: "m.model")
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let expected = try Self.spmEncodeLines(model: directory + "/m.model", input: corpus, format: "id")
        let lines = try String(contentsOfFile: corpus, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let corpusLines = lines.last == "" ? Array(lines.dropLast()) : Array(lines)
        #expect(expected.count == corpusLines.count)
        var mismatches = 0
        for (line, spmLine) in zip(corpusLines, expected) {
            let ours = try tokenizer.encode(String(line)).map(String.init).joined(separator: " ")
            if ours != spmLine { mismatches += 1 }
        }
        #expect(mismatches == 0, "\(mismatches) of \(corpusLines.count) lines differ from spm_encode")

        // Pieces too (first 200 lines).
        let expectedPieces = try Self.spmEncodeLines(model: directory + "/m.model", input: corpus, format: "piece")
        #expect(expectedPieces.count == corpusLines.count)
        for (line, spmLine) in zip(corpusLines.prefix(200), expectedPieces) {
            #expect(try tokenizer.encodeToPieces(String(line)).joined(separator: " ") == spmLine)
        }
    }

    /// The segment cache is on for the models it is exact for, off for unigram, and gives the same ids as
    /// SentencePiece without it on the whole of tinyshakespeare.
    @Test(arguments: TokenizerTrainingOptions.ModelType.allCases)
    func segmentCacheGivesSentencePiecesIds(type: TokenizerTrainingOptions.ModelType) throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 100_000, to: directory, name: "s.txt")
        var options = TokenizerTrainingOptions()
        options.modelType = type
        options.vocabularySize = type == .word ? 1000 : 500
        options.byteFallback = type == .bpe
        let tokenizer = try SentencePieceTokenizer.train(files: [corpus], modelPath: directory + "/m.model", options: options)
        #expect(tokenizer.usesSegmentCache == (type != .unigram))
        let cached = try CorpusEncoder(tokenizer: tokenizer, threads: 2).encode(file: Fixtures.shakespeare)
        tokenizer.usesSegmentCache = false
        #expect(!tokenizer.usesSegmentCache)
        let plain = try CorpusEncoder(tokenizer: tokenizer, threads: 2).encode(file: Fixtures.shakespeare)
        #expect(cached == plain)
    }

    /// A thread's cache never serves a model other than the one that filled it, even when a freed model's
    /// memory is reused by the next one.
    @Test func cachesAreNeverSharedBetweenModels() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 30_000, to: directory, name: "s.txt")
        let line = "First Citizen: Before we proceed any further, hear me speak."
        var options = TokenizerTrainingOptions()
        for size in [300, 500] {
            options.vocabularySize = size
            _ = try SentencePieceTokenizer.train(files: [corpus], modelPath: directory + "/m\(size).model", options: options)
        }
        for _ in 0..<3 {
            for size in [300, 500] {
                let tokenizer = try SentencePieceTokenizer(contentsOf: directory + "/m\(size).model")
                let cached = try tokenizer.encode(line)
                tokenizer.usesSegmentCache = false
                #expect(cached == (try tokenizer.encode(line)), "vocabulary \(size)")
            }
        }
    }

    /// NFKC normalization (or a dummy prefix) turns the cache off.
    @Test func segmentCacheIsOffForOtherNormalizations() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "s.txt")
        var options = TokenizerTrainingOptions()
        options.normalization = "nmt_nfkc"
        options.vocabularySize = 300
        let tokenizer = try SentencePieceTokenizer.train(files: [corpus], modelPath: directory + "/m.model", options: options)
        #expect(!tokenizer.usesSegmentCache)
        tokenizer.usesSegmentCache = true
        #expect(!tokenizer.usesSegmentCache)
    }

    @Test func ksjvBPEMatchesSpmEncode() throws {
        try requireSentencePieceTools([Self.spmEncode])
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.kjv, bytes: 600_000, to: directory, name: "kjv.txt")
        var options = TokenizerTrainingOptions()
        options.vocabularySize = 2000
        let tokenizer = try SentencePieceTokenizer.train(files: [corpus], modelPath: directory + "/m.model", options: options)
        #expect(tokenizer.usesSegmentCache)
        let expected = try Self.spmEncodeLines(model: directory + "/m.model", input: corpus, format: "id")
        // The whole file at once (line breaks between lines) equals spm_encode's lines joined by the newline id.
        let newline = try #require(tokenizer.newlineId)
        let joined = expected.map { $0.split(separator: " ").map { Int32($0)! } }
        let flat = joined.flatMap { $0 + [newline] }
        #expect(try CorpusEncoder(tokenizer: tokenizer, threads: 2, chunkBytes: 1000).encode(file: corpus) == flat)
    }
}
