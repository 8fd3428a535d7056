import Foundation
import Testing
import TestSupport
import FineTuning
import FineTuneData
import GPT
import Training
import Tokenizer

/// Examples longer than the model's context are cut to fit it, and counted: `finetune` says how many of a file's
/// examples lost what (at the start of training, `evaluate` and `predict`), and refuses training data in which
/// no prompt fits at all.
@Suite(.serialized) struct ContextCutTests {
    static let quick = ["--batch-size", "2", "--threads", "1"]
    static let tokenizer = { try! SentencePieceTokenizer(contentsOf: Fixture.languageModel + "/tokenizer.model") }()
    static let longText = String(repeating: "and the king said unto them ", count: 6)

    static func tokens(_ text: String) throws -> Int { try tokenizer.encode(text).count }

    @Test func completionCutsAreCounted() throws {
        let eos = try #require(Self.tokenizer.eosId)
        let completion = "and the king said unto them"
        // The completion and its EOS exactly fill context + 1 tokens: a pair with it keeps none of its prompt.
        let context = try Self.tokens(completion)
        let fitting = try Self.tokens("In") + Self.tokens(" amen") + 1
        try #require(context >= 6 && fitting <= context + 1)
        let pairs = try [("In", " amen"),                      // fits
                         (Self.longText, " amen"),            // loses the start of its prompt
                         ("In", completion),                  // loses its whole prompt
                         ("In", completion + completion),     // loses its whole prompt and the end of its completion
                         ("", completion + completion)]       // no prompt to lose; loses the end of its completion
            .map { try TaskEncoding.completion(prompt: $0.0, completion: $0.1, template: "{prompt}",
                                               tokenizer: Self.tokenizer, eos: eos, context: context) }
        #expect(pairs.map(\.promptTokensCut).map { $0 > 0 } == [false, true, true, true, false])
        #expect(pairs.map(\.completionTokensCut).map { $0 > 0 } == [false, false, false, true, true])
        let cuts = CompletionCuts(pairs)
        let counts: [Int] = [cuts.examples, cuts.cut, cuts.promptShortened, cuts.promptLost, cuts.completionShortened]
        #expect(counts == [5, 4, 1, 2, 2])
        // What was cut adds up to what the pair had.
        let whole = try Self.tokens(Self.longText) + Self.tokens(" amen") + 1
        #expect(pairs[1].sequence.count + pairs[1].promptTokensCut == whole)
    }

    /// Library callers: a context below 1 and labels outside the classifier's are errors, not traps (or, in
    /// -Ounchecked builds, reads past an array).
    @Test func badContextsAndLabelsAreRefused() throws {
        let eos = try #require(Self.tokenizer.eosId)
        #expect(throws: FineTuneError.invalidOption(option: "context", message: "must be at least 1 (got -1)")) {
            _ = try TaskEncoding.texts([("Jesus wept", 0, 1)], file: "x.jsonl", tokenizer: Self.tokenizer, context: -1)
        }
        #expect(throws: FineTuneError.invalidOption(option: "context", message: "must be at least 1 (got 0)")) {
            _ = try TaskEncoding.completion(prompt: "In", completion: " amen", template: "{prompt}",
                                            tokenizer: Self.tokenizer, eos: eos, context: 0)
        }
        let classifier = try ClassifierCheckpoint.load(from: Fixture.classifier, includeTrainingState: false).classifier
        let texts = try TaskEncoding.texts([("Jesus wept", classifier.labelCount, 1)], file: "x.jsonl",
                                           tokenizer: Self.tokenizer, context: 8)
        #expect(throws: MetricsError.idOutOfRange(id: classifier.labelCount, labelCount: classifier.labelCount)) {
            _ = try ClassifierInference.evaluate(classifier, texts: texts, batchSize: 2)
        }
        var options = TrainingOptions()
        options.context = 24
        options.batchSize = 1
        var settings = TaskSettings(task: .classify)
        settings.classWeights = "balanced"
        #expect(throws: ClassifierError.labelOutOfRange(row: 0, label: classifier.labelCount, labelCount: classifier.labelCount)) {
            _ = try ClassificationTask(classifier: classifier, train: texts, validation: [],
                                       options: options, settings: settings)
        }
    }

    @Test func textCutsAreCounted() throws {
        let short = try Self.tokens("Jesus wept"), long = try Self.tokens(Self.longText)
        let context = short + 1
        let texts = try TaskEncoding.texts([("Jesus wept", 0, 1), (Self.longText, 1, 2), (Self.longText, 0, 3)],
                                           file: "x.jsonl", tokenizer: Self.tokenizer, context: context)
        #expect(texts.map(\.tokensCut) == [0, long - context, long - context])
        #expect(TextCuts(texts).examples == 3 && TextCuts(texts).cut == 2)
    }

    /// The fixture model's context is 24 tokens.
    @Test func trainEvaluateAndPredictSayWhatWasCut() throws {
        let scratch = Scratch()
        let line = { (text: String, label: String) in #"{"text": "\#(text)", "label": "\#(label)"}"# }
        let (short, long) = (try Self.tokens("Jesus wept"), try Self.tokens(Self.longText))
        try #require(short < 24 && long > 24)
        let texts = scratch.write("texts.jsonl", [line("Jesus wept", "gospels"), line(Self.longText, "history"),
                                                  line("Amen", "history"), line(Self.longText, "gospels")]
            .joined(separator: "\n"))
        let held = scratch.write("held.jsonl", line(Self.longText, "history"))
        let out = scratch.path + "/classifier"
        let train = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", texts,
                                             "--val-file", held, "--steps", "1", "--out", out] + Self.quick)
        #expect(train.status == 0, "stderr: \(train.stderr)")
        #expect(train.stderr.contains("note: \(texts): 2 of 4 training texts are longer than the model's context of "
                                      + "24 tokens: only the first 24 tokens are read (the end is cut)\n"), "\(train.stderr)")
        #expect(train.stderr.contains("note: \(held): 1 of 1 validation text is longer than the model's context of 24 tokens"),
                "\(train.stderr)")
        let evaluate = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", texts, "--threads", "1"])
        #expect(evaluate.status == 0 && evaluate.stderr.contains("note: \(texts): 2 of 4 texts are longer than the model's context"),
                "\(evaluate.stderr)")
        let predict = try FinetuneCommand.run(["predict", "--checkpoint", out, "--input", held, "--out", scratch.path + "/p.jsonl"])
        #expect(predict.status == 0 && predict.stderr.contains("note: \(held): 1 of 1 text is longer than the model's context"),
                "\(predict.stderr)")
        // Texts that fit: no note.
        let fitting = scratch.write("fit.jsonl", line("Jesus wept", "gospels"))
        let quiet = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", fitting, "--threads", "1"])
        #expect(quiet.status == 0 && !quiet.stderr.contains("note:"), "\(quiet.stderr)")
    }

    @Test func completionTrainingSaysWhatWasCutAndRefusesDataWithNoPromptLeft() throws {
        let scratch = Scratch()
        let pair = { (prompt: String, completion: String) in #"{"prompt": "\#(prompt)", "completion": "\#(completion)"}"# }
        let fits = try Self.tokens("In the beginning") + Self.tokens(" God created") + 1
        try #require(fits <= 25)
        let data = scratch.write("pairs.jsonl", [pair("In the beginning", " God created"), pair("Jesus", " wept"),
                                                 pair(Self.longText, " amen"), pair("In", Self.longText)]
            .joined(separator: "\n"))
        let out = scratch.path + "/completion"
        let train = try FinetuneCommand.run(["--task", "complete", "--checkpoint", Fixture.languageModel, "--data", data,
                                             "--template", "{prompt}", "--val-file", data, "--steps", "1", "--out", out]
                                            + Self.quick)
        #expect(train.status == 0, "stderr: \(train.stderr)")
        let cut = "do not fit the model's context of 24 tokens: 1 loses the start of its prompt; 1 loses its whole prompt "
            + "and template, leaving a completion with no prompt at all; 1 loses the end of its completion and its "
            + "end-of-sequence token\n"
        #expect(train.stderr.contains("note: \(data): 2 of 4 training pairs " + cut), "\(train.stderr)")
        #expect(train.stderr.contains("note: \(data): 2 of 4 validation pairs " + cut), "\(train.stderr)")
        let evaluate = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data, "--threads", "1"])
        #expect(evaluate.status == 0 && evaluate.stderr.contains("note: \(data): 2 of 4 pairs " + cut), "\(evaluate.stderr)")
        // Resuming says it again.
        let resumed = try FinetuneCommand.run(["--resume", "--out", out, "--steps", "2", "--threads", "1"])
        #expect(resumed.status == 0 && resumed.stderr.contains("note: \(data): 2 of 4 training pairs " + cut), "\(resumed.stderr)")

        // Every completion alone fills the context: no pair keeps any prompt, so nothing conditions the completions.
        let hopeless = scratch.write("long.jsonl", [pair("In", Self.longText), pair("Jesus", Self.longText)].joined(separator: "\n"))
        expectError(try FinetuneCommand.run(["--task", "complete", "--checkpoint", Fixture.languageModel, "--data", hopeless,
                                             "--val-fraction", "0.5", "--steps", "1", "--out", scratch.path + "/x"] + Self.quick),
                    startsWith: "\(hopeless): in its only training pair the completion alone fills the model's context of "
                        + "24 tokens, so no prompt is left to learn from")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/x"))
    }
}
