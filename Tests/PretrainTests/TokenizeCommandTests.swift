import TestSupport
import Foundation
import Testing

@Suite struct TokenizeCommandTests {
    /// `pretrain tokenize` prints exactly what spm_encode prints, for ids and pieces.
    @Test(arguments: ["ids", "pieces"])
    func printsWhatSpmEncodePrints(format: String) throws {
        let spmEncode = "/usr/bin/spm_encode"
        try #require(FileManager.default.isExecutableFile(atPath: spmEncode),
                     "\(spmEncode) is missing: install Debian's `sentencepiece` package (apt-get install sentencepiece)")
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "s.txt")
        // A line holding a NUL byte: its piece is printed as the NUL byte it is, and nothing after it is lost.
        var text = try Data(contentsOf: URL(fileURLWithPath: corpus))
        text.insert(contentsOf: Data("a\u{0}b\n".utf8), at: 2_000)
        try text.write(to: URL(fileURLWithPath: corpus))
        let prepared = try PretrainCommand.run(["prepare", "--corpus", corpus, "--vocab-size", "300", "--out", directory + "/data"])
        try #require(prepared.status == 0, "\(prepared.stderr)")
        let model = directory + "/data/tokenizer.model"

        let ours = try PretrainCommand.run(["tokenize", "--tokenizer", model, "--input", corpus, "--format", format])
        #expect(ours.status == 0, "\(ours.stderr)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: spmEncode)
        process.arguments = ["--model", model, "--output_format=\(format == "ids" ? "id" : "piece")", "--input", corpus]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let theirs = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(ours.stdout == theirs && ours.stdout.utf8.count > 20_000 / 3)

        // Standard input works the same way.
        let piped = try PretrainCommand.run(["tokenize", "--tokenizer", model, "--format", format],
                                            stdin: try String(contentsOfFile: corpus, encoding: .utf8))
        #expect(piped.stdout == theirs)
    }

    @Test func badModelAndInput() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = try PretrainCommand.run(["tokenize", "--tokenizer", directory + "/none.model"])
        #expect(missing.status != 0 && missing.stderr == "error: \(directory)/none.model: no such file\n")
        _ = FileManager.default.createFile(atPath: directory + "/bad.model", contents: Data(repeating: 7, count: 64))
        let corrupt = try PretrainCommand.run(["tokenize", "--tokenizer", directory + "/bad.model"])
        #expect(corrupt.status != 0 && corrupt.stderr == "error: \(directory)/bad.model: not a valid SentencePiece model "
                + "(it does not parse as one)\n", "\(corrupt.stderr)")
        _ = FileManager.default.createFile(atPath: directory + "/empty.model", contents: Data())
        let empty = try PretrainCommand.run(["tokenize", "--tokenizer", directory + "/empty.model"])
        #expect(empty.status == 1 && empty.stderr == "error: \(directory)/empty.model: the file is empty\n", "\(empty.stderr)")
        // A FIFO as the model is refused at once (SentencePiece would wait for a writer).
        #expect(mkfifo(directory + "/fifo.model", 0o600) == 0)
        let fifo = try PretrainCommand.run(["tokenize", "--tokenizer", directory + "/fifo.model"])
        #expect(fifo.status == 1 && fifo.stderr == "error: \(directory)/fifo.model: not a valid SentencePiece model "
                + "(a pipe or a device, not a .model file)\n", "\(fifo.stderr)")
        // Input that is not UTF-8: the lines before the bad one are printed, then one error line names it.
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 5_000, to: directory, name: "s.txt")
        let prepared = try PretrainCommand.run(["prepare", "--corpus", corpus, "--tokenizer-type", "char", "--out", directory + "/data"])
        try #require(prepared.status == 0, "\(prepared.stderr)")
        try Data("First line\nSecond line\n".utf8 + [0xFF, 0x0A]).write(to: URL(fileURLWithPath: directory + "/bad.txt"))
        let bad = try PretrainCommand.run(["tokenize", "--tokenizer", directory + "/data/tokenizer.model", "--input", directory + "/bad.txt"])
        #expect(bad.status == 1 && bad.stdout.split(separator: "\n").count == 2, "\(bad.stdout)")
        #expect(bad.stderr == "error: \(directory)/bad.txt: line 3 is not valid UTF-8 (bad byte at offset 23); the text must be UTF-8\n",
                "\(bad.stderr)")
    }
}
