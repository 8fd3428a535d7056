import TestSupport
import Foundation
import Testing
import Tokenizer
@testable import Training

@Suite struct CorpusPreparationTests {
    func preparation(_ corpora: [String], _ out: String, vocabulary: Int = 300) -> CorpusPreparation {
        var preparation = CorpusPreparation(corpora: corpora, outputDirectory: out)
        preparation.tokenizerOptions.vocabularySize = vocabulary
        return preparation
    }

    /// What is in a directory besides the given names (temporary directories of failed runs, partial files).
    func leftovers(in directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    @Test func decodingTrainThenValGivesBackTheCorporaExactly() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 50_000, to: directory, name: "a.txt")
        let second = directory + "/b.txt"
        try "Second file:  two spaces,\ttab\n\nand no final newline".write(toFile: second, atomically: true, encoding: .utf8)
        let out = directory + "/data"
        let result = try preparation([first, second], out).run()
        #expect(!result.reused)

        let tokenizer = try SentencePieceTokenizer(contentsOf: out + "/tokenizer.model")
        let train = try TokenFile(path: out + "/train.npy"), val = try TokenFile(path: out + "/val.npy")
        let all = train.allTokens() + val.allTokens()
        #expect(train.count == Int(Double(all.count) * 0.9))
        #expect(result.manifest.trainTokens == train.count && result.manifest.valTokens == val.count)
        // Exactly one EOS, between the files; it decodes to nothing.
        let eos = try #require(tokenizer.eosId)
        #expect(all.filter { $0 == eos }.count == 1)
        let expected = try Data(contentsOf: URL(fileURLWithPath: first)) + Data(contentsOf: URL(fileURLWithPath: second))
        #expect(try tokenizer.decodeToBytes(all) == Array(expected))
        let eosAt = try #require(all.firstIndex(of: eos))
        #expect(try tokenizer.decodeToBytes(Array(all[..<eosAt])) == Array(try Data(contentsOf: URL(fileURLWithPath: first))))
        #expect(Set(leftovers(in: directory)) == ["a.txt", "b.txt", "data"])
        #expect(Set(leftovers(in: out)) == Set(CorpusPreparation.outputFiles))
    }

    @Test func theWholeKJVRoundTripsByteForByte() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/kjv"
        var run = preparation([Fixtures.kjv], out, vocabulary: 2000)
        run.tokenizerOptions.maximumSentences = 0
        _ = try run.run()
        let tokenizer = try SentencePieceTokenizer(contentsOf: out + "/tokenizer.model")
        let all = try TokenFile(path: out + "/train.npy").allTokens() + TokenFile(path: out + "/val.npy").allTokens()
        #expect(try tokenizer.decodeToBytes(all) == Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.kjv))))
    }

    @Test func aSecondRunReusesAndChangedInputsAreRefused() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 30_000, to: directory, name: "a.txt")
        let out = directory + "/data"
        let first = try preparation([corpus], out).run()
        let trainBytes = try Data(contentsOf: URL(fileURLWithPath: out + "/train.npy"))
        let again = try preparation([corpus], out).run()
        #expect(again.reused && again.manifest == first.manifest)
        // An output edited since (same token count, another id) is not reused: it is named as damaged.
        var edited = trainBytes
        edited[edited.count - 1] ^= 1
        try edited.write(to: URL(fileURLWithPath: out + "/train.npy"))
        #expect(throws: PreparationError.outputHasOtherContents(path: out, reason: "an incomplete or damaged preparation")) {
            try preparation([corpus], out).run()
        }
        try trainBytes.write(to: URL(fileURLWithPath: out + "/train.npy"))

        // Other options: refused without --overwrite, and nothing changes.
        #expect(throws: PreparationError.outputHasOtherContents(path: out, reason: "a preparation of other input (tokenizer.vocabularySize 300 there, 250 now)")) {
            try preparation([corpus], out, vocabulary: 250).run()
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/train.npy")) == trainBytes)
        // A changed corpus: refused too.
        try (try String(contentsOfFile: corpus, encoding: .utf8) + "One more line.\n").write(toFile: corpus, atomically: true, encoding: .utf8)
        #expect(throws: PreparationError.outputHasOtherContents(path: out, reason: "a preparation of other input (the corpus files or their contents)")) {
            try preparation([corpus], out).run()
        }
        // A given tokenizer where one was trained: said as that, not as each of the trained one's settings.
        try FileManager.default.copyItem(atPath: out + "/tokenizer.model", toPath: directory + "/given.model")
        var given = preparation([corpus], out)
        given.existingTokenizer = directory + "/given.model"
        #expect(throws: PreparationError.outputHasOtherContents(path: out, reason: "a preparation of other input (the corpus files or their contents; a trained tokenizer there, a given one (--tokenizer) now)")) {
            try given.run()
        }
        try FileManager.default.removeItem(atPath: directory + "/given.model")
        var overwrite = preparation([corpus], out, vocabulary: 250)
        overwrite.overwrite = true
        let replaced = try overwrite.run()
        #expect(!replaced.reused && replaced.manifest.vocabularySize == 250)
        #expect(try SentencePieceTokenizer(contentsOf: out + "/tokenizer.model").vocabularySize == 250)
        #expect(Set(leftovers(in: directory)) == ["a.txt", "data"])

        // A directory with unrelated files is refused.
        let other = directory + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: other + "/notes.txt", contents: Data("mine".utf8))
        #expect(throws: PreparationError.outputHasOtherContents(path: other, reason: "other files (notes.txt)")) {
            try preparation([corpus], other).run()
        }
    }

    /// A validation fraction that leaves no training token is refused (it wrote an empty train.npy), and leaves
    /// nothing behind.
    @Test func anEmptyTrainingPartIsRefused() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 5_000, to: directory, name: "a.txt")
        var almostAll = preparation([corpus], directory + "/data")
        almostAll.valFraction = 0.99999
        do {
            _ = try almostAll.run()
            Issue.record("prepared an empty training part")
        } catch let error as PreparationError {
            #expect(error.description.hasPrefix("\(corpus): --val-fraction 0.99999 leaves no token of the corpus's "), "\(error)")
        }
        #expect(Set(leftovers(in: directory)) == ["a.txt"])
    }

    /// An output path under a file names the file, before any work.
    @Test func anOutputUnderAFileNamesTheFile() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 5_000, to: directory, name: "a.txt")
        #expect(throws: PreparationError.outputNotADirectory(path: corpus)) {
            try preparation([corpus], corpus + "/sub/out").run()
        }
    }

    /// The same text given twice (under two names) is prepared, with a warning: validation would be memorised.
    @Test func theSameTextTwiceIsPointedOut() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "a.txt")
        try FileManager.default.copyItem(atPath: corpus, toPath: directory + "/copy.txt")
        final class Lines { var all: [String] = [] }
        let lines = Lines()
        // Three times: one warning (for the first repeat).
        var twice = preparation([corpus, directory + "/copy.txt", corpus], directory + "/data")
        twice.log = { lines.all.append($0) }
        _ = try twice.run()
        #expect(lines.all.filter { $0.hasPrefix("warning: \(directory)/copy.txt holds the same text as \(corpus)") }.count == 1,
                "\(lines.all)")
        #expect(lines.all.filter { $0.contains("the same text") || $0.contains("given twice") }.count == 1, "\(lines.all)")
    }

    /// Unknown tokens are pointed out with advice that works: byte fallback for subword and char models, another
    /// model type for a word model (whose byte-fallback pieces lose the spaces).
    @Test func unknownTokensGetAdviceThatWorks() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "a.txt")
        final class Lines { var all: [String] = [] }
        let lines = Lines()
        var words = preparation([corpus], directory + "/words", vocabulary: 300)
        words.tokenizerOptions.modelType = .word
        words.log = { lines.all.append($0) }
        _ = try words.run()
        let warning = try #require(lines.all.first { $0.hasPrefix("warning: ") && $0.contains("unknown (<unk>)") }, "\(lines.all)")
        #expect(warning.hasSuffix("a word model cannot spell the words it did not keep: use --tokenizer-type bpe or unigram for exact text"))
        func decoded(_ out: String) throws -> [UInt8] {
            let tokenizer = try SentencePieceTokenizer(contentsOf: out + "/tokenizer.model")
            return try tokenizer.decodeToBytes(try TokenFile(path: out + "/train.npy").allTokens() + TokenFile(path: out + "/val.npy").allTokens())
        }
        let text = Array(try Data(contentsOf: URL(fileURLWithPath: corpus)))
        #expect(try decoded(directory + "/words") != text)
        // Following the advice: a bpe model of the same size gives the text back exactly, with no warning.
        lines.all = []
        var subwords = preparation([corpus], directory + "/bpe", vocabulary: 300)
        subwords.log = { lines.all.append($0) }
        _ = try subwords.run()
        #expect(!lines.all.contains { $0.hasPrefix("warning: ") }, "\(lines.all)")
        #expect(try decoded(directory + "/bpe") == text)
        // Byte fallback leaves no <unk> in a word model, but its bytes decode without their spaces: that is said too.
        lines.all = []
        var wordBytes = preparation([corpus], directory + "/word-bytes", vocabulary: 600)
        wordBytes.tokenizerOptions.modelType = .word
        wordBytes.tokenizerOptions.byteFallback = true
        wordBytes.log = { lines.all.append($0) }
        _ = try wordBytes.run()
        #expect(lines.all.contains { $0.hasPrefix("warning: a word model spells the words it did not keep as bytes (") }, "\(lines.all)")
        #expect(try decoded(directory + "/word-bytes") != text)
    }

    @Test func anExistingTokenizerIsUsedAndCopied() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "a.txt")
        var options = TokenizerTrainingOptions()
        options.modelType = .char
        _ = try SentencePieceTokenizer.train(files: [corpus], modelPath: directory + "/char.model", options: options)
        var run = preparation([corpus], directory + "/data")
        run.existingTokenizer = directory + "/char.model"
        run.valFraction = 0
        let result = try run.run()
        #expect(result.manifest.valTokens == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/data/tokenizer.model"))
                == Data(contentsOf: URL(fileURLWithPath: directory + "/char.model")))
        #expect(try TokenFile(path: directory + "/data/val.npy").count == 0)
        // A char model gives one token per character (the slice is ASCII).
        let bytes = try Data(contentsOf: URL(fileURLWithPath: corpus)).count
        #expect(result.manifest.trainTokens == bytes)
    }

    @Test func aTokenizerWithoutALineBreakPieceIsRefused() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 10_000, to: directory, name: "a.txt")
        var options = TokenizerTrainingOptions()
        options.whitespacePieces = false
        options.vocabularySize = 200
        _ = try SentencePieceTokenizer.train(files: [corpus], modelPath: directory + "/plain.model", options: options)
        var run = preparation([corpus], directory + "/data")
        run.existingTokenizer = directory + "/plain.model"
        #expect(throws: TokenizerError.cannotRepresentLineBreaks(model: directory + "/plain.model")) { try run.run() }
        #expect(!FileManager.default.fileExists(atPath: directory + "/data"))
    }

    /// s.txt in `directory`: 20 KB of Shakespeare, then `line`.
    private func shakespeare(endingWith line: String, in directory: String) throws -> String {
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "s.txt")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: corpus))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.utf8))
        try handle.close()
        return corpus
    }

    /// A NUL byte in the text is read as an unknown character: the warning names the file that holds it and
    /// that removing it is the remedy (the count alone left the cause to guess).
    @Test func nulBytesAreNamedAsTheUnknownCharacters() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try shakespeare(endingWith: "a\u{0}b\n", in: directory)
        var preparation = CorpusPreparation(corpora: [corpus], outputDirectory: directory + "/data")
        preparation.tokenizerOptions.modelType = .char
        preparation.tokenizerOptions.vocabularySize = 100
        var logged: [String] = []
        preparation.log = { logged.append($0) }
        _ = try preparation.run()
        #expect(logged.contains { $0.hasPrefix("warning: 1 token is unknown (<unk>) (\(corpus) holds 1 NUL byte, which no text "
                                               + "does: remove them), so decoding will not give back the corpus exactly; ") },
                "\(logged)")
    }

    /// SentencePiece decodes every "▁" (U+2581, its mark for a space) as a space, so a text holding its own does not
    /// come back exactly: the warning names the file and the count (the promise of exact text was silently broken).
    @Test func spaceMarksInTheTextAreNamed() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try shakespeare(endingWith: "SentencePiece writes \u{2581}a for \" a\" and\u{2581}\u{2581}so on.\n", in: directory)
        let clean = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 5_000, to: directory, name: "clean.txt")
        var run = preparation([clean, corpus], directory + "/data")
        run.tokenizerOptions.modelType = .char
        var logged: [String] = []
        run.log = { logged.append($0) }
        _ = try run.run()
        #expect(logged.filter { $0.contains("U+2581") } == ["warning: \(corpus) holds 3 \u{2581} (U+2581, the mark SentencePiece "
            + "writes for a space), which decode as spaces, so decoding will not give back its text exactly"], "\(logged)")
        // What it warns about.
        let tokenizer = try SentencePieceTokenizer(contentsOf: directory + "/data/tokenizer.model")
        #expect(try tokenizer.decode(tokenizer.encode("a\u{2581}b")) == "a b")
    }

    /// SentencePiece leaves lines longer than 4192 bytes out of a tokenizer's training without a word: a corpus of
    /// long paragraphs trained its tokenizer on the few short lines, silently. The warning names the file; a corpus
    /// whose lines end in "\r" alone (one long line to SentencePiece) is named as such, warned about or refused.
    @Test func linesTooLongToTrainOnAreNamed() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let short = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 5_000, to: directory, name: "short.txt")
        let text = try String(contentsOfFile: short, encoding: .utf8)
        let long = directory + "/long.txt", mac = directory + "/mac.txt"
        try (text.replacingOccurrences(of: "\n", with: " ") + "\n" + text).write(toFile: long, atomically: true, encoding: .utf8)
        try text.replacingOccurrences(of: "\n", with: "\r").write(toFile: mac, atomically: true, encoding: .utf8)
        var logged: [String] = []
        var run = preparation([short, long, mac], directory + "/data")
        run.tokenizerOptions.modelType = .char
        run.log = { logged.append($0) }
        _ = try run.run()
        let warning = "warning: \(long): 1 line is longer than 4192 bytes, which SentencePiece leaves out of the tokenizer's "
            + "training (they are encoded all the same)"
        #expect(logged.filter { $0.contains("longer than") } == [warning, warning.replacingOccurrences(of: long, with: mac)
            + "; its lines end in a carriage return alone (\\r, as classic Mac OS wrote them): convert them to \\n"], "\(logged)")
        #expect(throws: TokenizerError.carriageReturnLineBreaks(path: mac)) { try preparation([mac], directory + "/mac").run() }
    }

    @Test func errorsLeaveNothingBehind() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 5_000, to: directory, name: "good.txt")
        _ = FileManager.default.createFile(atPath: directory + "/empty.txt", contents: Data())
        _ = FileManager.default.createFile(atPath: directory + "/binary.txt", contents: Data([0x41, 0x0A, 0xFF, 0xFE, 0x00]))
        _ = FileManager.default.createFile(atPath: directory + "/corrupt.model", contents: Data(repeating: 0x5A, count: 100))
        let out = directory + "/data"
        let before = Set(leftovers(in: directory))

        #expect(throws: TokenizerError.fileNotFound(path: directory + "/missing.txt")) { try preparation([directory + "/missing.txt"], out).run() }
        #expect(throws: TokenizerError.emptyFile(path: directory + "/empty.txt")) { try preparation([good, directory + "/empty.txt"], out).run() }
        #expect(throws: TokenizerError.notAFile(path: directory)) { try preparation([directory], out).run() }
        #expect(throws: TokenizerError.invalidUTF8(path: directory + "/binary.txt", line: 2, byteOffset: 2)) {
            try preparation([directory + "/binary.txt"], out).run()
        }
        do {
            _ = try preparation([good], out, vocabulary: 60_000).run()
            Issue.record("a 60000-piece vocabulary on 5 kB must fail")
        } catch let TokenizerError.vocabularyTooLarge(_, requested, maximum) {
            #expect(requested == 60_000 && maximum < 60_000)
        }
        var corrupt = preparation([good], out)
        corrupt.existingTokenizer = directory + "/corrupt.model"
        do {
            _ = try corrupt.run()
            Issue.record("a corrupt tokenizer must be refused")
        } catch let TokenizerError.corruptModel(path, _) {
            #expect(path == directory + "/corrupt.model")
        }
        #expect(throws: PreparationError.invalidValFraction(1)) {
            var run = preparation([good], out)
            run.valFraction = 1
            _ = try run.run()
        }
        #expect(Set(leftovers(in: directory)) == before, "a failed preparation left files behind")
    }

    /// A corpus written to while it is prepared (a log still growing) is refused, naming it, and nothing is left
    /// behind: its tokens held the appended text while the manifest recorded the text scanned before.
    @Test func aCorpusChangedWhileItIsPreparedIsRefused() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "growing.txt")
        var run = preparation([corpus], directory + "/data")
        // Between the scan and the encoding (as the tokenizer is trained), another program appends a line.
        run.log = { line in
            guard line.hasPrefix("training a "), let handle = FileHandle(forWritingAtPath: corpus) else { return }
            handle.seekToEndOfFile()
            handle.write(Data("Appended while it was prepared.\n".utf8))
            handle.closeFile()
        }
        #expect(throws: PreparationError.changedWhilePreparing(path: corpus)) { try run.run() }
        #expect(Set(leftovers(in: directory)) == ["growing.txt"], "a refused preparation left files behind")
    }
}

/// `valCorpora` (`--val-corpus`): held-out files make val.npy, all of the corpora are trained on.
@Suite struct HeldOutValidationTests {
    @Test func validationFilesMakeValNpyAndEveryCorpusIsTrainedOn() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 30_000, to: directory, name: "a.txt")
        let first = directory + "/v1.txt", second = directory + "/v2.txt"
        try "First Citizen:\nWe are accounted poor citizens.\n".write(toFile: first, atomically: true, encoding: .utf8)
        try "MENENIUS:\nWhy, masters, my good friends, Zounds!\n".write(toFile: second, atomically: true, encoding: .utf8)
        var preparation = CorpusPreparation(corpora: [corpus], outputDirectory: directory + "/data")
        preparation.tokenizerOptions.modelType = .char
        preparation.tokenizerOptions.vocabularySize = 200
        preparation.valCorpora = [first, second]
        var logged: [String] = []
        preparation.log = { logged.append($0) }
        let result = try preparation.run()

        let tokenizer = try SentencePieceTokenizer(contentsOf: result.tokenizerPath)
        let train = try TokenFile(path: result.trainPath).allTokens(), val = try TokenFile(path: result.valPath).allTokens()
        // Training: the whole corpus, exactly. Validation: the two files, an EOS between them.
        #expect(try tokenizer.decodeToBytes(train) == Array(try Data(contentsOf: URL(fileURLWithPath: corpus))))
        let eos = try #require(tokenizer.eosId)
        let cut = try #require(val.firstIndex(of: eos))
        #expect(val.filter { $0 == eos }.count == 1)
        #expect(try tokenizer.decodeToBytes(Array(val[..<cut])) == Array("First Citizen:\nWe are accounted poor citizens.\n".utf8))
        #expect(result.manifest.trainTokens == train.count && result.manifest.valTokens == val.count)
        #expect(result.manifest.valCorpora?.map(\.path) == [first, second] && result.manifest.settings.valFraction == nil)
        // "Z" is not in the first 30 kB of Shakespeare: the tokenizer learnt from the corpus only, so it is <unk>.
        #expect(val.contains(tokenizer.unknownId) && !train.contains(tokenizer.unknownId))
        #expect(logged.contains { $0.hasPrefix("warning: 1 token is unknown (<unk>), so decoding will not give back the validation files (characters the corpus lacks") }, "\(logged)")

        // The same inputs are reused; other validation files, or none, are another preparation.
        #expect(try preparation.run().reused)
        var other = preparation
        other.valCorpora = [second]
        #expect(throws: PreparationError.self) { try other.run() }
        other.valCorpora = []
        do { _ = try other.run(); Issue.record("a preparation without validation files reused the held-out one") } catch {
            #expect("\(error)".contains("validation on held-out files (--val-corpus) there, on the last 0.1 of the corpus now"), "\(error)")
        }
    }

    /// Several files on each side: an EOS between the files of a side (none between the sides), each file decoded
    /// back exactly; reordered validation files, or a switch to a split of the corpus, are other input.
    @Test func severalFilesOnEachSide() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let a = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "a.txt")
        let b = directory + "/b.txt", v1 = directory + "/v1.txt", v2 = directory + "/v2.txt"
        try "Second Citizen:\nWould you proceed especially against Caius Marcius?\n".write(toFile: b, atomically: true, encoding: .utf8)
        try "All:\nAgainst him first.\n".write(toFile: v1, atomically: true, encoding: .utf8)
        try "First Citizen:\nHe's a very dog to the commonalty.\n".write(toFile: v2, atomically: true, encoding: .utf8)
        var preparation = CorpusPreparation(corpora: [a, b], outputDirectory: directory + "/data")
        preparation.tokenizerOptions.modelType = .char
        preparation.valCorpora = [v1, v2]
        let result = try preparation.run()
        let tokenizer = try SentencePieceTokenizer(contentsOf: result.tokenizerPath)
        let eos = try #require(tokenizer.eosId)
        for (path, files) in [(result.trainPath, [a, b]), (result.valPath, [v1, v2])] {
            let parts = try TokenFile(path: path).allTokens().split(separator: eos, omittingEmptySubsequences: false)
            #expect(parts.count == 2, "\(path)")
            for (part, file) in zip(parts, files) {
                #expect(try tokenizer.decodeToBytes(Array(part)) == Array(try Data(contentsOf: URL(fileURLWithPath: file))), "\(file)")
            }
        }
        for (change, says) in [({ (p: inout CorpusPreparation) in p.valCorpora = [v2, v1] }, "the validation files (--val-corpus) or their contents"),
                               ({ (p: inout CorpusPreparation) in p.valCorpora = [] }, "validation on held-out files (--val-corpus) there, on the last 0.1 of the corpus now")] {
            var other = preparation
            change(&other)
            do { _ = try other.run(); Issue.record("other input reused: \(other.valCorpora)") } catch {
                #expect("\(error)".contains(says) && !"\(error)".contains("valFraction"), "\(error)")
            }
        }
    }

    @Test func aValidationFileGivenTwiceIsNamedOnce() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "a.txt")
        try "All:\nAgainst him first.\n".write(toFile: directory + "/v.txt", atomically: true, encoding: .utf8)
        var preparation = CorpusPreparation(corpora: [corpus], outputDirectory: directory + "/data")
        preparation.tokenizerOptions.modelType = .char
        preparation.valCorpora = [directory + "/v.txt", directory + "/v.txt", directory + "/v.txt"]
        var logged: [String] = []
        preparation.log = { logged.append($0) }
        _ = try preparation.run()
        #expect(logged.filter { $0.hasPrefix("warning:") } == ["warning: the validation file \(directory)/v.txt is given twice; its text is validated on twice"],
                "\(logged)")
    }

    @Test func aValidationFileThatIsTrainedOnIsNamed() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "a.txt")
        try FileManager.default.copyItem(atPath: corpus, toPath: directory + "/copy.txt")
        var preparation = CorpusPreparation(corpora: [corpus], outputDirectory: directory + "/data")
        preparation.tokenizerOptions.modelType = .char
        preparation.valCorpora = [directory + "/copy.txt"]
        var logged: [String] = []
        preparation.log = { logged.append($0) }
        _ = try preparation.run()
        #expect(logged.contains("warning: the validation file \(directory)/copy.txt holds the same text as \(corpus), which is "
                                + "trained on; its validation loss will not say how the model does on unseen text"), "\(logged)")
    }
}
