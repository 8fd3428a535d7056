import Foundation
import Testing
import TestSupport
import FineTuneData
import GPT

/// A fine-tuned checkpoint remembers the fields it was trained on (config.json swiftlet.notes), and `evaluate`
/// and `predict` read them by default; options given still win, and checkpoints without them keep the defaults.
@Suite(.serialized) struct StoredFieldsTests {
    static let quick = ["--batch-size", "4", "--threads", "1"]

    /// The first `count` rows of a shipped file with its fields renamed (`"text":` -> `"verse":`, ...).
    static func renamed(_ scratch: Scratch, _ file: String, _ count: Int, as name: String,
                        _ names: [(String, String)]) throws -> String {
        var text = try String(contentsOfFile: try scratch.head(of: file, count, as: "original-" + name), encoding: .utf8)
        for (old, new) in names { text = text.replacingOccurrences(of: "\"\(old)\": ", with: "\"\(new)\": ") }
        return scratch.write(name, text)
    }

    static func notes(_ checkpoint: String) throws -> [String: String] {
        try Checkpoint.readConfig(directory: checkpoint).hf.swiftlet?.notes ?? [:]
    }

    @Test func aClassifierRemembersItsFields() throws {
        let scratch = Scratch()
        let data = try Self.renamed(scratch, Fixture.shippedTrain, 24, as: "verses.jsonl", [("text", "verse"), ("label", "part")])
        let out = scratch.path + "/run"
        let train = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                             "--text-field", "verse", "--label-field", "part", "--val-fraction", "0.25",
                                             "--steps", "1", "--out", out] + Self.quick)
        #expect(train.status == 0, "stderr: \(train.stderr)")
        for checkpoint in [out + "/best", out + "/latest"] {
            let notes = try Self.notes(checkpoint)
            #expect(notes["text_field"] == "verse" && notes["label_field"] == "part", "\(notes)")
            #expect(notes["prompt_field"] == nil && notes["completion_field"] == nil, "\(notes)")
        }
        let evaluation = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data, "--json", "--threads", "1"])
        #expect(evaluation.status == 0, "stderr: \(evaluation.stderr)")
        let report = try JSONDecoder().decode(ClassificationReport.self, from: Data(evaluation.stdout.utf8))
        #expect(report.examples == 24)
        let predictions = scratch.path + "/p.jsonl"
        let predict = try FinetuneCommand.run(["predict", "--checkpoint", out, "--input", data, "--out", predictions,
                                               "--threads", "1"])
        #expect(predict.status == 0, "stderr: \(predict.stderr)")
        #expect(try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n").count == 24)
        // Data without the stored field: the message says where that name came from (the user never typed it).
        let plain = try scratch.head(of: Fixture.shippedTrain, 4, as: "plain.jsonl")
        expectError(try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", plain]),
                    startsWith: "\(plain):1: missing field 'verse' (the row has 'text', 'label'); pick one with --text-field "
                        + "('verse' is the field \(out)/best was trained with)")
        expectError(try FinetuneCommand.run(["predict", "--checkpoint", out, "--input", plain, "--out", scratch.path + "/r.jsonl"]),
                    startsWith: "\(plain):1: missing field 'verse' (the row has 'text', 'label'); pick one with --text-field "
                        + "('verse' is the field \(out)/best was trained with)")
        // An option given wins over the stored field.
        expectError(try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data, "--text-field", "text"]),
                    startsWith: "\(data):1: missing field 'text' (the row has 'verse', 'part'); pick one with --text-field")
        expectError(try FinetuneCommand.run(["predict", "--checkpoint", out, "--input", data, "--out", scratch.path + "/q.jsonl",
                                             "--text-field", "text"]),
                    startsWith: "\(data):1: missing field 'text' (the row has 'verse', 'part'); pick one with --text-field")
    }

    @Test func aCompletionModelRemembersItsFields() throws {
        let scratch = Scratch()
        let data = try Self.renamed(scratch, Fixture.shippedCompletion, 12, as: "qa.jsonl", [("prompt", "q"), ("completion", "a")])
        let out = scratch.path + "/run"
        let train = try FinetuneCommand.run(["--task", "complete", "--checkpoint", Fixture.languageModel, "--data", data,
                                             "--prompt-field", "q", "--completion-field", "a", "--steps", "1",
                                             "--out", out] + Self.quick)
        #expect(train.status == 0, "stderr: \(train.stderr)")
        let notes = try Self.notes(out + "/best")
        #expect(notes["prompt_field"] == "q" && notes["completion_field"] == "a" && notes["text_field"] == nil, "\(notes)")
        let evaluation = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data, "--json", "--threads", "1"])
        #expect(evaluation.status == 0, "stderr: \(evaluation.stderr)")
        #expect(try JSONDecoder().decode(CompletionReport.self, from: Data(evaluation.stdout.utf8)).examples == 12)
        expectError(try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data, "--completion-field", "answer"]),
                    startsWith: "\(data):1: missing field 'answer' (the row has 'q', 'a'); pick one with --completion-field")
        // A classifier fine-tuned from it records its own fields only: no prompt fields, no prompt template.
        #expect(notes["prompt_template"] != nil, "\(notes)")
        let verses = try scratch.head(of: Fixture.shippedTrain, 24, as: "verses.jsonl")
        let classifier = try FinetuneCommand.run(["--task", "classify", "--checkpoint", out, "--data", verses,
                                                  "--val-fraction", "0.25", "--steps", "1", "--out", scratch.path + "/cls"] + Self.quick)
        #expect(classifier.status == 0, "stderr: \(classifier.stderr)")
        let classifierNotes = try Self.notes(scratch.path + "/cls/best")
        #expect(classifierNotes["text_field"] == "text" && classifierNotes["prompt_field"] == nil
                && classifierNotes["prompt_template"] == nil, "\(classifierNotes)")
    }

    /// Checkpoints of older versions store no fields: evaluate and predict read text/label and prompt/completion.
    @Test func aCheckpointWithoutFieldsKeepsTheDefaults() throws {
        let scratch = Scratch()
        #expect(try Self.notes(Fixture.classifier)["text_field"] == nil)
        let texts = try scratch.head(of: Fixture.shippedTrain, 8, as: "texts.jsonl")
        let evaluation = try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.classifier, "--data", texts, "--json"])
        #expect(evaluation.status == 0, "stderr: \(evaluation.stderr)")
        let predict = try FinetuneCommand.run(["predict", "--checkpoint", Fixture.classifier, "--input", texts,
                                               "--out", scratch.path + "/p.jsonl"])
        #expect(predict.status == 0, "stderr: \(predict.stderr)")
        #expect(try Self.notes(Fixture.languageModel)["prompt_field"] == nil)
        let pairs = try scratch.head(of: Fixture.shippedCompletion, 8, as: "pairs.jsonl")
        let completion = try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.languageModel, "--data", pairs, "--json"])
        #expect(completion.status == 0, "stderr: \(completion.stderr)")
    }
}
