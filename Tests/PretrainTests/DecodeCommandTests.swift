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
        let range = "is outside the vocabulary (ids 0 to \(size - 1))"
        for (input, error, format) in [("5 6\n7 x 8\n", "line 2: \"x\" is not a token id", "ids"),
                                       ("5 6\n-1\n", "line 2: \"-1\" \(range)", "ids"),
                                       ("5\n\(size)\n", "line 2: \"\(size)\" \(range)", "ids"),
                                       ("5\n99999999999\n", "line 2: \"99999999999\" \(range)", "ids"),
                                       ("5\n--5\n", "line 2: \"--5\" is not a token id", "ids"),
                                       // A control character in a bad token is escaped, not printed raw.
                                       ("5\n7\u{1B}[2J\n", "line 2: \"7\\u{1B}[2J\" is not a token id", "ids")] {
            let result = try PretrainCommand.run(["decode", "--tokenizer", model, "--format", format], stdin: input)
            #expect(result.status == 1 && result.stderr == "error: <stdin>: \(error)\n", "\(result.stderr)")
            #expect(result.stdout.split(separator: "\n", omittingEmptySubsequences: false).count == 2, "\(result.stdout)")
        }
        // A device as --input is refused at once, by both commands (/dev/zero grew without bound); a pipe is read.
        for command in ["decode", "tokenize"] {
            let device = try PretrainCommand.run([command, "--tokenizer", model, "--input", "/dev/zero"])
            #expect(device.status == 1 && device.stderr == "error: /dev/zero: is a device, not a text file (one like /dev/zero "
                    + "never ends); give a file or a pipe\n", "\(device.stderr)")
        }
        let piped = try PretrainCommand.run(["decode", "--tokenizer", model, "--input", "/dev/stdin"], stdin: "5 6\n")
        #expect(piped.status == 0 && piped.stdout.split(separator: "\n").count == 1, "\(piped.stderr)")
        // Bytes that are not UTF-8 are named as tokenize names them.
        let latin1 = try PretrainCommand.run(["decode", "--tokenizer", model], stdinBytes: Data("5\n".utf8 + [0xFF, 0x0A]))
        #expect(latin1.status == 1 && latin1.stdout.count == 2 && latin1.stderr == "error: <stdin>: line 2 is not valid UTF-8 "
                + "(bad byte at offset 2); the text must be UTF-8\n", "\(latin1.stderr)")
        // A Windows line ending is not part of the last id; a tab piece is a piece, not a separator.
        let text = "To be,\tor not\n"
        let ids = try PretrainCommand.run(["tokenize", "--tokenizer", model], stdin: text)
        let crlf = try PretrainCommand.run(["decode", "--tokenizer", model], stdin: ids.stdout.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(crlf.status == 0 && crlf.stdout == text, "\(crlf.stderr)")
        // A byte-order mark before the first id (Notepad's "UTF-8") is not part of it; one later on is refused.
        let marked = try PretrainCommand.run(["decode", "--tokenizer", model], stdin: "\u{FEFF}" + ids.stdout)
        #expect(marked.status == 0 && marked.stdout == text, "\(marked.stderr)")
        let later = try PretrainCommand.run(["decode", "--tokenizer", model], stdin: ids.stdout + "\u{FEFF}5\n")
        #expect(later.status == 1 && later.stderr.contains("line 2:"), "\(later.stderr)")
        let pieces = try PretrainCommand.run(["tokenize", "--tokenizer", model, "--format", "pieces"], stdin: text)
        #expect(pieces.stdout.contains("\t"))
        let back = try PretrainCommand.run(["decode", "--tokenizer", model, "--format", "pieces"], stdin: pieces.stdout)
        #expect(back.status == 0 && back.stdout == text, "\(back.stdout)")
        // Text outside the vocabulary comes back too: tokenize prints it as it is (as spm_encode does), decode reads
        // such a piece as its own text, and splits only at spaces, also before a combining mark or an emoji modifier.
        let odd = "Cafe\u{301} e\u{301} \u{1F44D}\u{1F3FD} x\u{2003}y\r\n"
        let oddPieces = try PretrainCommand.run(["tokenize", "--tokenizer", model, "--format", "pieces"], stdin: odd)
        let oddBack = try PretrainCommand.run(["decode", "--tokenizer", model, "--format", "pieces"], stdin: oddPieces.stdout)
        #expect(oddBack.status == 0 && oddBack.stdout == odd, "\(oddPieces.stdout) -> \(oddBack.stdout) \(oddBack.stderr)")
        // A write that fails (a full disk) is an error, not a short output and status 0.
        try "5 6\n".write(toFile: directory + "/ids.txt", atomically: true, encoding: .utf8)
        for command in [["decode", "--input", directory + "/ids.txt"], ["tokenize", "--input", corpus]] {
            let full = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
            let (process, said) = try PretrainCommand.run(command + ["--tokenizer", model], stdout: full)
            #expect(process.terminationStatus == 1 && said == "error: stdout: cannot be written (No space left on device)\n",
                    "\(command[0]): \(said)")
        }
        let missing = try PretrainCommand.run(["decode", "--tokenizer", model, "--input", directory + "/none.txt"])
        #expect(missing.status == 1 && missing.stderr == "error: \(directory)/none.txt: no such file\n", "\(missing.stderr)")
    }
}
