import TestSupport
import Foundation
import Testing
import Training

@Suite struct PrepareCommandTests {
    @Test func preparesThenReuses() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 30_000, to: directory, name: "s.txt")
        let arguments = ["prepare", "--corpus", corpus, "--tokenizer-type", "unigram", "--vocab-size", "300",
                         "--val-fraction", "0.2", "--threads", "2", "--out", directory + "/data"]
        let first = try PretrainCommand.run(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("wrote \(directory)/data"))
        for name in ["tokenizer.model", "train.npy", "val.npy", "manifest.json"] {
            #expect(FileManager.default.fileExists(atPath: directory + "/data/" + name))
        }
        let second = try PretrainCommand.run(arguments)
        #expect(second.status == 0)
        // One line says it, not two.
        #expect(second.stdout.hasPrefix("reused \(directory)/data (prepared before from the same corpus and options): "
            + "tokenizer.model"), "\(second.stdout)")
        #expect(second.stdout.split(separator: "\n").count == 1, "\(second.stdout)")
    }

    /// Never into a checkpoint (its tokenizer.model belongs to its model: `--overwrite` replaced it, and the
    /// checkpoint no longer loaded), nor into a run that trains now (its checkpoints take their tokenizer from
    /// its data), even with --overwrite; nothing there changes.
    @Test func refusesACheckpointAndALiveRun() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 5_000, to: directory, name: "s.txt")
        let checkpoint = directory + "/checkpoint", run = directory + "/run"
        for path in [checkpoint, run + "/data"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try "the old tokenizer".write(toFile: path + "/tokenizer.model", atomically: true, encoding: .utf8)
        }
        try "{}".write(toFile: checkpoint + "/config.json", atomically: true, encoding: .utf8)
        func prepare(_ out: String) throws -> BuiltExecutable.Output {
            try PretrainCommand.run(["prepare", "--corpus", corpus, "--tokenizer-type", "char", "--vocab-size", "100",
                                     "--out", out, "--overwrite"])
        }
        let intoCheckpoint = try prepare(checkpoint)
        #expect(intoCheckpoint.status == 1 && intoCheckpoint.stderr == "error: \(checkpoint): the output directory is a "
            + "checkpoint (it holds config.json or model.safetensors), whose tokenizer.model belongs to its model; choose "
            + "another --out (even --overwrite does not write there)\n", "\(intoCheckpoint.stderr)")
        // A run training in `run` holds its lock (here this test process does).
        let live = RunDirectory(path: run)
        try live.lock()
        let intoLiveRun = try prepare(run + "/data")
        live.unlock()
        #expect(intoLiveRun.status == 1 && intoLiveRun.stderr.hasPrefix("error: \(run)/data: a run is training in \(run) now"),
                "\(intoLiveRun.stderr)")
        for path in [checkpoint, run + "/data"] {
            #expect(try String(contentsOfFile: path + "/tokenizer.model", encoding: .utf8) == "the old tokenizer")
            #expect(!FileManager.default.fileExists(atPath: path + "/train.npy"))
        }
        // Once the run has stopped, the data may be prepared again.
        #expect(try prepare(run + "/data").status == 0)
    }

    /// Run from elsewhere with no --corpus, both commands say where the default corpus was looked for and how to
    /// give one, and leave nothing behind.
    @Test func theDefaultCorpusMissingHereIsExplained() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for arguments in [["prepare"], ["--steps", "2", "--out", "run"]] {
            let result = try PretrainCommand.run(arguments, in: directory)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr == "error: --corpus: corpora/kjv.txt: no such file; the default corpus is looked up in "
                + "the working directory (\(directory)): run from Swiftlet's directory or give --corpus FILE\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
        // Given by the user, the same path is just a missing file.
        let given = try PretrainCommand.run(["prepare", "--corpus", "corpora/kjv.txt"], in: directory)
        #expect(given.status == 1 && given.stderr == "error: corpora/kjv.txt: no such file\n", "\(given.stderr)")
    }

    /// Each bad input: exit status 1 (it depends on the files, not on the options alone), one line "error: <file>: ..." on stderr, no output directory and
    /// nothing else left in the working directory.
    @Test func badInputsAreOneLineErrorsAndLeaveNothing() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 5_000, to: directory, name: "good.txt")
        _ = FileManager.default.createFile(atPath: directory + "/empty.txt", contents: Data())
        _ = FileManager.default.createFile(atPath: directory + "/latin1.txt", contents: Data("caf".utf8 + [0xE9] + Data("\n".utf8)))
        _ = FileManager.default.createFile(atPath: directory + "/corrupt.model", contents: Data("not a model".utf8))
        _ = FileManager.default.createFile(atPath: directory + "/zeros.bin", contents: Data(count: 5_000))
        // One line of 5,000 bytes: SentencePiece skips lines over 4,192 bytes and had nothing left to train on.
        _ = FileManager.default.createFile(atPath: directory + "/oneline.txt", contents: Data(String(repeating: "to be or not ", count: 385).utf8))
        try FileManager.default.createDirectory(atPath: directory + "/taken", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory + "/taken/mine.txt", contents: Data("keep".utf8))
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: directory))

        let out = directory + "/data"
        let cases: [(arguments: [String], file: String, says: String)] = [
            (["--corpus", directory + "/missing.txt"], directory + "/missing.txt", "no such file"),
            (["--corpus", directory + "/empty.txt"], directory + "/empty.txt", "empty"),
            (["--corpus", directory + "/taken"], directory + "/taken", "is a directory"),
            (["--corpus", directory + "/latin1.txt"], directory + "/latin1.txt", "line 1 is not valid UTF-8"),
            (["--corpus", good, "--vocab-size", "50000"], good, "the largest is "),
            (["--corpus", good, "--tokenizer", directory + "/corrupt.model"], directory + "/corrupt.model", "not a valid SentencePiece model"),
            (["--corpus", directory + "/oneline.txt"], directory + "/oneline.txt", "no line is 1 to 4192 bytes long"),
            // Zeros (valid UTF-8, no line break) were "no line is 1 to 4192 bytes long": say what the file holds.
            (["--corpus", directory + "/zeros.bin"], directory + "/zeros.bin", "no line of text to train a tokenizer on, and 5000 NUL bytes"),
        ]
        for (arguments, file, says) in cases {
            let result = try PretrainCommand.run(["prepare"] + arguments + ["--out", out])
            #expect(result.status == 1, "\(arguments): status \(result.status)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("error: \(file): ") && lines[0].contains(says),
                    "\(arguments): \(result.stderr)")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory)) == before, "\(arguments) left files behind")
        }

        // Options SentencePiece would refuse with a message from its internals are refused as options (usage
        // errors, exit status 64), as is one that a given tokenizer makes pointless.
        for (arguments, says) in [(["--character-coverage", "0.9"], "--character-coverage must be in [0.98, 1] (got 0.9)"),
                                  (["--max-sentences", "100"], "--max-sentences must be 0 (all lines) or more than 100 (got 100)"),
                                  (["--vocab-size", "99999999999"], "--vocab-size must be at most 1073741824"),
                                  (["--vocab-size", "2000000000", "--tokenizer-type", "unigram"], "--vocab-size must be at most 1073741824"),
                                  (["--tokenizer", directory + "/corrupt.model", "--vocab-size", "300"],
                                   "--vocab-size trains a tokenizer, but --tokenizer \(directory)/corrupt.model gives one"),
                                  (["--tokenizer", directory + "/corrupt.model", "--byte-fallback"],
                                   "--byte-fallback trains a tokenizer, but --tokenizer"),
                                  (["--val-corpus", good, "--val-fraction", "0.2"], "give either --val-fraction or --val-corpus, not both")] {
            let result = try PretrainCommand.run(["prepare", "--corpus", good] + arguments + ["--out", out])
            let lines = result.stderr.split(separator: "\n")
            #expect(result.status == 64 && lines.count == 1 && lines[0].hasPrefix("error: ") && lines[0].contains(says),
                    "\(arguments): \(result.stderr)")
            #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory)) == before, "\(arguments) left files behind")
        }

        // The largest vocabulary named in the message really works.
        let tooLarge = try PretrainCommand.run(["prepare", "--corpus", good, "--vocab-size", "50000", "--out", out])
        let largest = try #require(Int(tooLarge.stderr.components(separatedBy: "the largest is ").last?.prefix(while: \.isNumber) ?? ""))
        let fits = try PretrainCommand.run(["prepare", "--corpus", good, "--vocab-size", String(largest), "--out", out])
        #expect(fits.status == 0, "\(fits.stderr)")

        // An output directory with other contents is refused and left alone.
        let taken = try PretrainCommand.run(["prepare", "--corpus", good, "--vocab-size", "200", "--out", directory + "/taken"])
        #expect(taken.status == 1)
        #expect(taken.stderr.hasPrefix("error: \(directory)/taken: the output directory already holds other files (mine.txt)"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/taken") == ["mine.txt"])
        // And a prepared directory is not replaced by other options without --overwrite.
        let changed = try PretrainCommand.run(["prepare", "--corpus", good, "--vocab-size", "200", "--out", out])
        #expect(changed.status == 1 && changed.stderr.contains("--overwrite"))
        let overwritten = try PretrainCommand.run(["prepare", "--corpus", good, "--vocab-size", "200", "--overwrite", "--out", out])
        #expect(overwritten.status == 0 && overwritten.stdout.contains("200 pieces"), "\(overwritten.stderr)")
    }
}
