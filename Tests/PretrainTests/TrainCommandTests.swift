import TestSupport
import Foundation
import Testing
import Glibc

/// `pretrain` (training) end to end on a very small model, so that the debug build runs it in seconds.
@Suite struct TrainCommandTests {
    /// A tiny model: 2 blocks of width 16, windows of 16 characters.
    static let tinyModel = ["--layers", "2", "--heads", "2", "--width", "16", "--context", "16", "--batch-size", "2",
                            "--eval-batches", "2", "--warmup-steps", "2", "--seed", "3"]

    /// The tiny model with one block and the default warm-up, for checks of the options' defaults.
    static let oneBlock = ["--layers", "1", "--heads", "2", "--width", "16", "--context", "16", "--batch-size", "2",
                           "--eval-batches", "1", "--seed", "3"]

    /// A prepared character-level corpus from the first 20 kB of tinyshakespeare.
    static func preparedData(in directory: String) throws -> String {
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: directory, name: "corpus.txt")
        let data = directory + "/data"
        let prepared = try PretrainCommand.run(["prepare", "--corpus", corpus, "--tokenizer-type", "char",
                                                "--vocab-size", "100", "--out", data])
        #expect(prepared.status == 0, "\(prepared.stderr)")
        return data
    }

    static func trainLosses(_ run: String) throws -> [Double] {
        try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
            return object["train_loss"] as! Double
        }
    }

    @Test func trainsAndWritesARunDirectory() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let result = try PretrainCommand.run(["--data", data, "--out", dir + "/run", "--steps", "8", "--eval-every", "4"] + Self.tinyModel)
        #expect(result.status == 0, "\(result.stderr)")
        for file in ["latest/config.json", "latest/model.safetensors", "latest/tokenizer.model",
                     "latest/training_state.safetensors", "best/model.safetensors", "metrics.jsonl", "loss.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/run/" + file), "missing \(file)")
        }
        #expect(try Self.trainLosses(dir + "/run").count == 8)
        #expect(result.stderr.contains("validation loss"))
        #expect(result.stdout.contains("finished 8 steps"))
    }

    /// Without --warmup-steps, a 40-step run warms up over 4 steps (a tenth of it), not the 100 of a long run:
    /// lr = 1e-3 (k + 1) / 4 for steps k = 0..3, then the cosine decay from 1e-3 towards 1e-4.
    @Test func aShortRunWarmsUpOverATenthOfItsSteps() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let result = try PretrainCommand.run(["--data", data, "--out", dir + "/run", "--steps", "40", "--eval-every", "0"] + Self.oneBlock)
        #expect(result.status == 0, "\(result.stderr)")
        let rates = try String(contentsOfFile: dir + "/run/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["lr"] as! Double
        }
        #expect(rates.count == 40)
        #expect(!result.stderr.contains("warm-up"), "\(result.stderr)")
        for (k, expected) in [(0, 2.5e-4), (1, 5e-4), (2, 7.5e-4), (3, 1e-3)] {
            #expect(abs(rates[k] - expected) < 1e-9, "step \(k + 1): lr \(rates[k])")
        }
        // Step k >= 4: 1e-4 + 0.5 (1 + cos(pi (k - 4) / 36)) 9e-4.
        for k in [4, 5, 22, 39] {
            let expected = 1e-4 + 0.5 * (1 + cos(Double.pi * Double(k - 4) / 36)) * 9e-4
            #expect(abs(rates[k] - expected) < 1e-9, "step \(k + 1): lr \(rates[k])")
        }
    }

    /// A warm-up longer than the run is allowed (the user asked for it) but pointed out.
    @Test func aWarmUpLongerThanTheRunIsPointedOut() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let result = try PretrainCommand.run(["--data", data, "--out", dir + "/run", "--steps", "4", "--eval-every", "0",
                                              "--warmup-steps", "50"] + Self.oneBlock)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("note: the run ends before its warm-up (--warmup-steps 50, --steps 4)"), "\(result.stderr)")
    }

    /// A resume on another thread count says that its losses are not bit for bit an uninterrupted run's; one on
    /// the count the run last trained with says nothing.
    @Test func resumingOnAnotherThreadCountSaysSo() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let run = dir + "/run"
        let first = try PretrainCommand.run(["--data", data, "--out", run, "--steps", "4", "--eval-every", "0",
                                             "--threads", "2"] + Self.tinyModel)
        #expect(first.status == 0, "\(first.stderr)")
        let other = try PretrainCommand.run(["--resume", "--out", run, "--steps", "6", "--threads", "1"])
        #expect(other.status == 0, "\(other.stderr)")
        #expect(other.stderr.contains("note: this run trained on 2 thread(s) and resumes on 1"), "\(other.stderr)")
        let same = try PretrainCommand.run(["--resume", "--out", run, "--steps", "8", "--threads", "1"])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(!same.stderr.contains("thread(s) and resumes on"), "\(same.stderr)")
    }

    /// Ctrl-C saves latest/ and exits; --resume finishes the run with the losses of an uninterrupted one.
    @Test func ctrlCSavesAndResumeMatchesAnUninterruptedRun() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let arguments = ["--data", data, "--steps", "60", "--eval-every", "20"] + Self.tinyModel
        let straight = try PretrainCommand.run(arguments + ["--out", dir + "/straight"])
        #expect(straight.status == 0, "\(straight.stderr)")

        // Start the same run, interrupt it once a few steps are logged.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(PretrainCommand.path))
        process.arguments = arguments + ["--out", dir + "/interrupted"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let metrics = dir + "/interrupted/metrics.jsonl"
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: metrics, encoding: .utf8), text.split(separator: "\n").count >= 3 { break }
            usleep(5_000)
        }
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let stoppedAt = try Self.trainLosses(dir + "/interrupted").count
        #expect(stoppedAt >= 3 && stoppedAt < 60, "stopped after \(stoppedAt) steps")

        let resumed = try PretrainCommand.run(["--resume", "--out", dir + "/interrupted"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming \(dir)/interrupted at step \(stoppedAt) of 60"))
        #expect(try Self.trainLosses(dir + "/interrupted") == (try Self.trainLosses(dir + "/straight")))
    }

    /// Every user error: exit status 1 and one line on stderr that says what is wrong, never a crash.
    @Test func badInputGivesOneClearLine() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        try "to be\n".write(toFile: dir + "/short.txt", atomically: true, encoding: .utf8)

        func expectError(_ arguments: [String], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try PretrainCommand.run(arguments)
            #expect(result.status == 1, "exit status \(result.status) for \(arguments)", sourceLocation: sourceLocation)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("error: ") && result.stderr.contains(fragment),
                    "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        }
        let out = ["--out", dir + "/run"]
        try expectError(["--corpus", dir + "/missing.txt"] + out, "missing.txt")
        try expectError(["--data", data, "--heads", "3", "--width", "16"] + out, "heads (3) must divide the width (16)")
        try expectError(["--data", data, "--batch-size", "0"] + out, "--batch-size: must be at least 1")
        // Options are checked before a corpus is prepared: nothing is trained or written for a refused value.
        let refusedCorpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: dir, name: "refused.txt")
        try expectError(["--corpus", refusedCorpus, "--tokenizer-type", "char", "--heads", "3", "--width", "16", "--out", dir + "/refused"],
                        "heads (3) must divide the width (16)")
        try expectError(["--corpus", refusedCorpus, "--tokenizer-type", "char", "--warmup-steps=-1", "--out", dir + "/refused"],
                        "--warmup-steps: must not be negative")
        #expect(!FileManager.default.fileExists(atPath: dir + "/refused/data"), "prepared a corpus for a refused run")
        try expectError(["--data", data, "--dropout", "1.5"] + out, "dropout must be in [0, 1) (got 1.5)")
        try expectError(["--data", data, "--lr=-1"] + out, "--lr")
        try expectError(["--data", data, "--lr", "-1"] + out, "--lr")   // a negative value without "=" reaches the same check
        try expectError(["--corpus", dir + "/short.txt", "--tokenizer-type", "char", "--vocab-size", "100", "--context", "64"] + out,
                        "shorter than one training window")
        try expectError(["--resume"] + out, "holds no checkpoint to resume")
        // Usage errors found by argument-parser (a value that does not parse, an unknown option) are one line too,
        // naming the help to read, with its usage exit status 64.
        for (arguments, fragment) in [(["--steps", "abc"], "The value 'abc' is invalid for '--steps <steps>' (see 'pretrain --help')"),
                                      (["prepare", "--bogus"], "Unknown option '--bogus'")] {
            let result = try PretrainCommand.run(arguments + out)
            #expect(result.status == 64, "exit status \(result.status) for \(arguments)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("error: ") && result.stderr.contains(fragment), "stderr: \(result.stderr)")
        }
        #expect(try PretrainCommand.run(["prepare", "--bogus"]).stderr.hasSuffix("(see 'pretrain prepare --help')\n"))

        // An existing run is never replaced silently, and stays loadable.
        let first = try PretrainCommand.run(["--data", data, "--steps", "2"] + Self.tinyModel + out)
        #expect(first.status == 0, "\(first.stderr)")
        try expectError(["--data", data, "--steps", "2"] + Self.tinyModel + out, "--resume")
        #expect(FileManager.default.fileExists(atPath: dir + "/run/latest/model.safetensors"))
        // A wrong option is named before the directory's run (so fixing one error does not reveal another).
        try expectError(["--data", data, "--steps", "2", "--dropout", "1.5"] + Self.tinyModel + out,
                        "dropout must be in [0, 1) (got 1.5)")
        // With --overwrite, a refused option or a bad corpus still costs the old run nothing.
        try expectError(["--data", data, "--steps", "2", "--overwrite"] + Self.tinyModel + out + ["--batch-size", "0"],
                        "--batch-size: must be at least 1")
        try expectError(["--corpus", dir + "/missing.txt", "--overwrite"] + Self.tinyModel + out, "missing.txt")
        for file in ["latest/model.safetensors", "best/model.safetensors", "metrics.jsonl", "loss.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/run/" + file), "--overwrite removed \(file) of a run it never replaced")
        }
        #expect(try Self.trainLosses(dir + "/run").count == 2)
        try expectError(["--resume", "--layers", "3"] + out, "cannot change")

        // A checkpoint whose vocabulary does not match the data's tokenizer.
        let other = dir + "/other"
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: dir, name: "again.txt")
        let prepared = try PretrainCommand.run(["prepare", "--corpus", corpus, "--vocab-size", "120", "--out", other])
        #expect(prepared.status == 0, "\(prepared.stderr)")
        try expectError(["--resume", "--data", other] + out, "vocabulary")
    }
}
