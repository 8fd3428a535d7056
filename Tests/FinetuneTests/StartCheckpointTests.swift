import TestSupport
import Foundation
import Testing
import GPT

/// What `finetune` does with the checkpoint it starts from: it never lets `--out` (with or without `--overwrite`)
/// replace it, refuses a tokenizer that does not belong to the model, and records it as an absolute path.
@Suite(.serialized) struct StartCheckpointTests {
    static let quick = ["--steps", "1", "--batch-size", "4", "--threads", "1"]

    /// A copy of the tiny language model laid out as a run directory holding only best/.
    static func runCopy(in scratch: Scratch) throws -> String {
        let run = scratch.path + "/pcopy"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixture.languageModel, toPath: run + "/best")
        return run
    }

    @Test func outNeverReplacesTheStartingCheckpoint() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 16, as: "train.jsonl")
        let run = try Self.runCopy(in: scratch)
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/link", withDestinationPath: run)
        let weights = try Data(contentsOf: URL(fileURLWithPath: run + "/best/model.safetensors"))
        let cases: [(checkpoint: String, out: String, says: String)] = [
            (run, run, "holds the starting checkpoint \(run)/best"),
            (run + "/best", run, "holds the starting checkpoint \(run)/best"),
            (run + "/best", run + "/best", "is the starting checkpoint"),
            (run, run + "/best/sub", "lies inside the starting checkpoint \(run)/best"),
            (run, scratch.path + "/link", "holds the starting checkpoint \(run)/best"),
            (scratch.path + "/link/best", run + "/./", "holds the starting checkpoint"),
        ]
        for (checkpoint, out, says) in cases {
            for overwrite in [[], ["--overwrite"]] {
                let output = try FinetuneCommand.run(["--task", "classify", "--checkpoint", checkpoint, "--data", data,
                                                      "--out", out] + overwrite + Self.quick)
                expectError(output, startsWith: "--out: \(out) \(says)")
                #expect(try Data(contentsOf: URL(fileURLWithPath: run + "/best/model.safetensors")) == weights)
                #expect(try FileManager.default.contentsOfDirectory(atPath: run) == ["best"])
                #expect(try FileManager.default.contentsOfDirectory(atPath: run + "/best").sorted()
                        == ["config.json", "model.safetensors", "tokenizer.model"])
            }
        }
    }

    @Test func outThatIsAFileIsNamed() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 16, as: "train.jsonl")
        let file = scratch.write("taken.txt", "not a run\n")
        let fresh = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                             "--out", file] + Self.quick)
        expectError(fresh, startsWith: "--out: \(file) is a file, not a run directory")
        expectError(try FinetuneCommand.run(["--resume", "--out", file]), startsWith: "--out: \(file) is a file, not a run directory")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "not a run\n")
    }

    /// A tokenizer.model with another vocabulary than the model's (here 256 pieces against 96) is named with
    /// its checkpoint in train, evaluate and predict, whatever the data.
    @Test func tokenizerOfAnotherVocabularyIsRefused() throws {
        let scratch = Scratch()
        let other = Fixtures.packageRoot.appendingPathComponent("Tests/GenerationTests/Fixtures/tiny-kjv/tokenizer.model").path
        func mismatched(_ source: String, _ name: String) throws -> String {
            let copy = scratch.path + "/" + name
            try FileManager.default.copyItem(atPath: source, toPath: copy)
            try FileManager.default.removeItem(atPath: copy + "/tokenizer.model")
            try FileManager.default.copyItem(atPath: other, toPath: copy + "/tokenizer.model")
            return copy
        }
        let lm = try mismatched(Fixture.languageModel, "lm"), classifier = try mismatched(Fixture.classifier, "classifier")
        let texts = try scratch.head(of: Fixture.shippedTrain, 16, as: "train.jsonl")
        let pairs = try scratch.head(of: Fixture.shippedCompletion, 8, as: "pairs.jsonl")
        let says = ": the tokenizer has 256 tokens but the model's vocabulary has 96: they do not belong together"
        expectError(try FinetuneCommand.run(["--task", "classify", "--checkpoint", lm, "--data", texts,
                                             "--out", scratch.path + "/run"] + Self.quick), startsWith: lm + says)
        expectError(try FinetuneCommand.run(["evaluate", "--checkpoint", classifier, "--data", texts]), startsWith: classifier + says)
        expectError(try FinetuneCommand.run(["evaluate", "--checkpoint", lm, "--data", pairs]), startsWith: lm + says)
        expectError(try FinetuneCommand.run(["predict", "--checkpoint", classifier, "--input", texts,
                                             "--out", scratch.path + "/p.jsonl"]), startsWith: classifier + says)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/run"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/p.jsonl"))
    }

    /// finetuned_from is absolute and standardized, whatever directory the run started in and however the
    /// path was written.
    @Test func finetunedFromIsAnAbsolutePath() throws {
        let scratch = Scratch()
        try FileManager.default.copyItem(atPath: Fixture.languageModel, toPath: scratch.path + "/lm")
        _ = try scratch.head(of: Fixture.shippedTrain, 16, as: "train.jsonl")
        let output = try FinetuneCommand.run(["--task", "classify", "--checkpoint", "./lm/../lm/", "--data", "train.jsonl",
                                              "--val-fraction", "0.25", "--out", "run"] + Self.quick, in: scratch.path)
        #expect(output.status == 0, "stderr: \(output.stderr)")
        let notes = try Checkpoint.readConfig(directory: scratch.path + "/run/latest").hf.swiftlet?.notes
        let expected = URL(fileURLWithPath: scratch.path).resolvingSymlinksInPath().path + "/lm"
        #expect(notes?["finetuned_from"] == expected)
    }

    /// The fine-tuned checkpoint notes the data it was tuned on (`data`, and `val_data` for a --val-file) as
    /// absolute paths, not the starting checkpoint's pretraining data; a resume that finds the data moved notes
    /// where it is now.
    @Test func theFineTuningDataIsNoted() throws {
        let scratch = Scratch()
        #expect(try Checkpoint.readConfig(directory: Fixture.languageModel).hf.swiftlet?.notes["data"] == "/tmp/tinylm/data")
        let train = try scratch.head(of: Fixture.shippedTrain, 16, as: "train.jsonl")
        _ = try scratch.head(of: Fixture.shippedTest, 4, as: "held.jsonl")
        let here = URL(fileURLWithPath: scratch.path).resolvingSymlinksInPath().path
        func notes(_ checkpoint: String) throws -> [String: String] {
            try Checkpoint.readConfig(directory: checkpoint).hf.swiftlet?.notes ?? [:]
        }
        let split = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data",
                                             "train.jsonl", "--val-fraction", "0.25", "--out", "split"] + Self.quick,
                                            in: scratch.path)
        #expect(split.status == 0, "stderr: \(split.stderr)")
        for checkpoint in ["best", "latest"] {
            let noted = try notes(scratch.path + "/split/" + checkpoint)
            #expect(noted["data"] == here + "/train.jsonl" && noted["val_data"] == nil, "\(noted)")
        }
        let held = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data",
                                            "./train.jsonl", "--val-file", "held.jsonl", "--out", "held"] + Self.quick,
                                           in: scratch.path)
        #expect(held.status == 0, "stderr: \(held.stderr)")
        let noted = try notes(scratch.path + "/held/latest")
        #expect(noted["data"] == here + "/train.jsonl" && noted["val_data"] == here + "/held.jsonl", "\(noted)")
        // Resumed with the data moved.
        try FileManager.default.moveItem(atPath: train, toPath: scratch.path + "/moved.jsonl")
        let resumed = try FinetuneCommand.run(["--resume", "--out", "held", "--steps", "2", "--data", "moved.jsonl",
                                               "--threads", "1"], in: scratch.path)
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        #expect(try notes(scratch.path + "/held/latest")["data"] == here + "/moved.jsonl")
    }
}
