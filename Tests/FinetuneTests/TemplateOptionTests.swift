import TestSupport
import Foundation
import Testing
import FineTuneData
import FineTuning
import GPT

/// `--template` reads `\n`, `\t` and `\\` as a line break, a tab and a backslash, as the help and README write
/// templates, in train and in evaluate.
@Suite struct TemplateOptionTests {
    @Test func escapesAreInterpreted() throws {
        #expect(try TaskSettings.template(fromOption: #"Q: {prompt}\nA:"#) == "Q: {prompt}\nA:")
        #expect(try TaskSettings.template(fromOption: #"{prompt}\n"#) == TaskSettings.defaultTemplate)
        #expect(try TaskSettings.template(fromOption: #"a\tb\\nc"#) == "a\tb\\nc")
        #expect(try TaskSettings.template(fromOption: "real\nbreak {prompt}") == "real\nbreak {prompt}")
        #expect(throws: FineTuneError.invalidOption(option: "--template", message: #"unknown escape '\r' (only \n, \t and \\ are interpreted)"#)) {
            try TaskSettings.template(fromOption: #"{prompt}\r"#)
        }
        #expect(throws: FineTuneError.invalidOption(option: "--template", message: #"ends with a lone backslash (write \\ for one)"#)) {
            try TaskSettings.template(fromOption: #"{prompt}\"#)
        }
    }

    @Test func trainStoresAndEvaluateUsesTheInterpretedTemplate() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedCompletion, 12, as: "pairs.jsonl")
        let out = scratch.path + "/run"
        let typed = #"Q: {prompt}\nA:"#
        let train = try FinetuneCommand.run(["--task", "complete", "--checkpoint", Fixture.languageModel, "--data", data,
                                             "--template", typed, "--steps", "1", "--batch-size", "4", "--threads", "1",
                                             "--out", out])
        #expect(train.status == 0, "stderr: \(train.stderr)")
        #expect(try Checkpoint.readConfig(directory: out + "/latest").hf.swiftlet?.notes["prompt_template"] == "Q: {prompt}\nA:")
        let stored = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data, "--json", "--threads", "1"])
        let given = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data, "--json", "--threads", "1",
                                             "--template", typed])
        #expect(stored.status == 0 && given.status == 0, "stderr: \(stored.stderr) \(given.stderr)")
        let a = try JSONDecoder().decode(CompletionReport.self, from: Data(stored.stdout.utf8))
        let b = try JSONDecoder().decode(CompletionReport.self, from: Data(given.stdout.utf8))
        #expect(a.tokens == b.tokens && a.meanLoss == b.meanLoss)
        // A malformed template is a mistake in the option itself: a usage error, before anything is read.
        expectUsageError(try FinetuneCommand.run(["--task", "complete", "--checkpoint", Fixture.languageModel, "--data", data,
                                                  "--template", #"{prompt}\r"#, "--out", scratch.path + "/bad"]),
                         #"--template: unknown escape '\r' (only \n, \t and \\ are interpreted)"#)
        // evaluate too: a template that does not parse is a usage error before anything is read (it was status 1,
        // where train's is 64, as README says of any value that does not parse).
        expectUsageError(try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data, "--template", "Q:"]),
                         #"--template: must contain {prompt} exactly once (got "Q:")"#, command: "evaluate")
    }
}
