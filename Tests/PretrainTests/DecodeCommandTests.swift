import TestSupport
import Foundation
import Testing

@Suite struct DecodeCommandTests {
    /// `pretrain decode` gives back the text `pretrain tokenize` encoded, and prints what spm_decode prints.
    @Test(arguments: ["ids", "pieces"])
    func undoesTokenizeAsSpmDecodeDoes(format: String) throws {
        let spmDecode = "/usr/bin/spm_decode"
        try #require(FileManager.default.isExecutableFile(atPath: spmDecode),
                     "\(spmDecode) is missing: install Debian's `sentencepiece` package (apt-get install sentencepiece)")
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "s.txt")
        let prepared = try PretrainCommand.run(["prepare", "--corpus", corpus, "--vocab-size", "300", "--out", directory + "/data"])
        try #require(prepared.status == 0, "\(prepared.stderr)")
        let model = directory + "/data/tokenizer.model"
        let encoded = try PretrainCommand.run(["tokenize", "--tokenizer", model, "--input", corpus, "--format", format])
        try #require(encoded.status == 0, "\(encoded.stderr)")
        try encoded.stdout.write(toFile: directory + "/tokens.txt", atomically: true, encoding: .utf8)

        let ours = try PretrainCommand.run(["decode", "--tokenizer", model, "--input", directory + "/tokens.txt", "--format", format])
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(ours.stdout == (try String(contentsOfFile: corpus, encoding: .utf8)))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: spmDecode)
        process.arguments = ["--model", model, "--input_format=\(format == "ids" ? "id" : "piece")", "--input", directory + "/tokens.txt"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let theirs = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(ours.stdout == theirs)
        // Standard input works the same way.
        let piped = try PretrainCommand.run(["decode", "--tokenizer", model, "--format", format], stdin: encoded.stdout)
        #expect(piped.stdout == theirs)
    }

    /// A token that is not an id of the vocabulary (or a piece of it) ends the run with one line naming the input
    /// and the line; the lines before it are printed.
    @Test func badTokensAreNamedWithTheirLine() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 5_000, to: directory, name: "s.txt")
        let prepared = try PretrainCommand.run(["prepare", "--corpus", corpus, "--tokenizer-type", "char", "--out", directory + "/data"])
        try #require(prepared.status == 0, "\(prepared.stderr)")
        let model = directory + "/data/tokenizer.model"
        // "wrote DIR: tokenizer.model (70 pieces), ..."
        let sizeText = prepared.stdout.components(separatedBy: "tokenizer.model (").dropFirst().first?.prefix { $0.isNumber }
        let size = try #require(sizeText.flatMap { Int($0) })
        for (input, error, format) in [("5 6\n7 x 8\n", "line 2: 'x' is not a token id", "ids"),
                                       ("5 6\n-1\n", "line 2: token id -1 is outside the vocabulary (ids 0 to \(size - 1))", "ids"),
                                       ("5\n\(size)\n", "line 2: token id \(size) is outside the vocabulary (ids 0 to \(size - 1))", "ids"),
                                       ("a b\nzz\n", "line 2: 'zz' is not a piece of \(model)", "pieces")] {
            let result = try PretrainCommand.run(["decode", "--tokenizer", model, "--format", format], stdin: input)
            #expect(result.status == 1 && result.stderr == "error: <stdin>: \(error)\n", "\(result.stderr)")
            #expect(result.stdout.split(separator: "\n", omittingEmptySubsequences: false).count == 2, "\(result.stdout)")
        }
        let missing = try PretrainCommand.run(["decode", "--tokenizer", model, "--input", directory + "/none.txt"])
        #expect(missing.status == 1 && missing.stderr == "error: \(directory)/none.txt: no such file\n", "\(missing.stderr)")
    }
}
