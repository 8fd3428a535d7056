import Foundation
import Testing
import TestSupport

/// `finetune`'s option checks: a bad value of one option is a usage error (exit 64, "see --help") whichever
/// option it is; sizes past `RunSizeLimits` and options only the other task reads are refused by name (exit 1).
@Suite(.serialized) struct OptionChecksTests {
    static let quick = ["--batch-size", "4", "--threads", "1"]

    static func base(_ scratch: Scratch, task: String = "classify") throws -> [String] {
        let data = task == "classify" ? try scratch.head(of: Fixture.shippedTrain, 16, as: "train.jsonl")
            : try scratch.head(of: Fixture.shippedCompletion, 16, as: "pairs.jsonl")
        return ["--task", task, "--checkpoint", Fixture.languageModel, "--data", data, "--val-fraction", "0.25",
                "--out", scratch.path + "/run", "--threads", "1"]
    }

    @Test func singleOptionValuesAreUsageErrors() throws {
        let scratch = Scratch()
        let base = try Self.base(scratch)
        let cases = [(["--batch-size", "0"], "--batch-size must be 1 to 1048576 (got 0)"),
                     (["--steps", "0"], "--steps must be 1 to 1000000000 (got 0)"),
                     (["--lr", "0"], "--lr must be a positive number (got 0.0)"),
                     (["--grad-accum", "0"], "--grad-accum must be 1 to 1048576 (got 0)"),
                     (["--grad-accum", "1000000000"], "--grad-accum must be 1 to 1048576 (got 1000000000)"),
                     (["--warmup-steps", "-1"], "--warmup-steps must not be negative (got -1)"),
                     (["--weight-decay", "-1"], "--weight-decay must not be negative (got -1.0)"),
                     (["--patience", "-1"], "--patience must be 0 (off) or positive (got -1)"),
                     (["--epochs", "0"], "--epochs must be positive (got 0.0)")]
        for (option, message) in cases {
            expectUsageError(try FinetuneCommand.run(base + option), message)
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/run"))
    }

    /// A checkpoint another tool wrote with unequal GPT-2 dropout rates has no one dropout to fine-tune with:
    /// the run is refused until --dropout chooses one (such a checkpoint samples and evaluates as it is).
    @Test func unequalDropoutRatesNeedADropout() throws {
        let scratch = Scratch()
        let checkpoint = scratch.path + "/hf"
        try FileManager.default.copyItem(atPath: Fixture.languageModel, toPath: checkpoint)
        let configPath = checkpoint + "/config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        config["swiftlet"] = nil
        config["attn_pdrop"] = 0.1
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        var arguments = try Self.base(scratch)
        arguments[arguments.firstIndex(of: Fixture.languageModel)!] = checkpoint
        expectError(try FinetuneCommand.run(arguments + ["--steps", "1"]),
                    startsWith: "--dropout: \(checkpoint)/config.json: attn_pdrop 0.1, embd_pdrop 0.0, resid_pdrop 0.0 differ; "
                        + "Swiftlet applies one dropout at all three sites: choose it with --dropout")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/run"))
        let output = try FinetuneCommand.run(arguments + ["--steps", "1", "--dropout", "0.05"])
        #expect(output.status == 0, "\(output.stderr)")
    }

    /// `--epochs 1e300` used to overflow into a 1-step run; a step of more examples than the bound is refused.
    @Test func runsTooLargeToEndAreRefused() throws {
        let scratch = Scratch()
        let base = try Self.base(scratch)
        expectError(try FinetuneCommand.run(base + ["--epochs", "1e300"]),
                    startsWith: "--epochs: 1e+300 passes over the training data take more than the 1000000000 steps a run may take")
        expectError(try FinetuneCommand.run(base + ["--epochs", "1e9", "--batch-size", "4"]),
                    startsWith: "--epochs: 1000000000.0 passes over the training data take more than the 1000000000 steps")
        expectError(try FinetuneCommand.run(base + ["--batch-size", "16", "--grad-accum", "100000"]),
                    startsWith: "--grad-accum: --batch-size 16 x --grad-accum 100000 is 1600000 examples a step, more than the 1048576")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/run"))
    }

    @Test func optionsOfTheOtherTaskAreRefusedByName() throws {
        let scratch = Scratch()
        let classify = try Self.base(scratch), complete = try Self.base(scratch, task: "complete")
        // Usage errors while parsing (exit 64), before the checkpoint is even looked for.
        let missing = ["--checkpoint", scratch.path + "/no-such-checkpoint"]
        for (option, value) in [("--prompt-field", "x"), ("--completion-field", "x"), ("--template", "{prompt}")] {
            expectUsageError(try FinetuneCommand.run(classify + missing + [option, value]),
                             "\(option): applies to --task complete only")
        }
        for (option, value) in [("--text-field", "x"), ("--label-field", "x"), ("--class-weights", "balanced"),
                                ("--lm-loss-weight", "0.5")] {
            expectUsageError(try FinetuneCommand.run(complete + missing + [option, value]),
                             "\(option): applies to --task classify only")
        }
        let pairs = scratch.path + "/pairs.jsonl", texts = scratch.path + "/train.jsonl"
        for option in ["--template", "--prompt-field", "--completion-field"] {
            expectError(try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.classifier, "--data", texts, option, "x{prompt}"]),
                        startsWith: "\(option): applies to completion models; \(Fixture.classifier) is a classifier")
        }
        for option in ["--text-field", "--label-field"] {
            expectError(try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.languageModel, "--data", pairs, option, "x"]),
                        startsWith: "\(option): applies to classifiers; \(Fixture.languageModel) is not one")
        }
    }

    /// A one-step run with a longer warm-up gets pretrain's note, and its counts read in the singular.
    @Test func warmUpLongerThanTheRunIsNotedAndOneStepIsSingular() throws {
        let scratch = Scratch()
        let output = try FinetuneCommand.run(try Self.base(scratch) + ["--steps", "1", "--warmup-steps", "5",
                                                                       "--batch-size", "1"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("; 1 step of 1 example ("), "\(output.stderr)")
        #expect(output.stderr.contains("note: the run ends before its warm-up (--warmup-steps 5, --steps 1): "
            + "the learning rate never reaches --lr and never decays"), "\(output.stderr)")
        #expect(output.stdout.hasPrefix("finished 1 step in "), "\(output.stdout)")
    }

    /// The start line counts its examples in the right number ("1 validation example").
    @Test func oneValidationExampleIsSingular() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 16, as: "train.jsonl")
        let validation = try scratch.head(of: Fixture.shippedTrain, 1, as: "one.jsonl")
        let output = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                              "--val-file", validation, "--steps", "1", "--out", scratch.path + "/run"]
                                             + Self.quick)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains(": 16 training examples / 1 validation example; "), "\(output.stderr)")
    }

    /// A validation set left empty (its one row's label is unknown to training): the note counts it in the
    /// singular, and the last lines name latest/ but no best/, which no evaluation made.
    @Test func anEmptyValidationSetNamesNoBestCheckpoint() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 16, as: "train.jsonl")
        let unknown = scratch.write("unknown.jsonl", #"{"text": "Jesus wept.", "label": "zzz"}"# + "\n")
        let out = scratch.path + "/run"
        let output = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                              "--val-file", unknown, "--steps", "1", "--out", out] + Self.quick)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("\(unknown): 1 validation example has a label the training data lacks (zzz); "
                                       + "left out of validation"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/best"))
        #expect(output.stdout.contains("\ncheckpoints: \(out)/latest (latest); metrics: \(out)/metrics.jsonl"),
                "\(output.stdout)")
        #expect(!output.stdout.contains("/best"), "\(output.stdout)")
        // With validation examples, best/ is made and named.
        let validation = try scratch.head(of: Fixture.shippedTrain, 2, as: "held.jsonl")
        let evaluated = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                                 "--val-file", validation, "--steps", "1", "--out", out, "--overwrite"]
                                                + Self.quick)
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        #expect(FileManager.default.fileExists(atPath: out + "/best"))
        #expect(evaluated.stdout.contains("\ncheckpoints: \(out)/best (best), \(out)/latest (latest); "), "\(evaluated.stdout)")
    }

    /// A step larger than the training set is said to be one (a --grad-accum typo made a step of many epochs).
    @Test func aStepLargerThanTheDataIsNoted() throws {
        let scratch = Scratch()
        let output = try FinetuneCommand.run(try Self.base(scratch) + ["--steps", "1", "--batch-size", "8", "--grad-accum", "3"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("note: a step of 24 examples (--batch-size x --grad-accum) is more than the 11 "
                                       + "training examples: each step passes over them 2.2 times"), "\(output.stderr)")
    }

    /// A bad template stored in a checkpoint names its config.json, not a --template that was never given.
    @Test func aBadStoredTemplateNamesTheCheckpoint() throws {
        let scratch = Scratch()
        let copy = scratch.path + "/model"
        try FileManager.default.copyItem(atPath: Fixture.languageModel, toPath: copy)
        let config = copy + "/config.json"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any])
        var swiftlet = json["swiftlet"] as? [String: Any] ?? [:]
        swiftlet["notes"] = ["prompt_template": "no placeholder"]
        json["swiftlet"] = swiftlet
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: config))
        let pairs = try scratch.head(of: Fixture.shippedCompletion, 4, as: "pairs.jsonl")
        expectError(try FinetuneCommand.run(["evaluate", "--checkpoint", copy, "--data", pairs, "--threads", "1"]),
                    startsWith: "\(config): the stored prompt template (swiftlet.notes.prompt_template) must contain {prompt} exactly once (got \"no placeholder\")")
        // A --template given is still blamed on the option (a usage error).
        expectUsageError(try FinetuneCommand.run(["evaluate", "--checkpoint", copy, "--data", pairs, "--template", "bad"]),
                         #"--template: must contain {prompt} exactly once (got "bad")"#, command: "evaluate")
    }
}
