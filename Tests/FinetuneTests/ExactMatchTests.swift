import Foundation
import Testing
import TestSupport
import FineTuneData

/// `finetune evaluate --generate` completes each prompt greedily and counts the completions equal to their
/// reference: checked against `sample --temperature 0`, which lays out and completes a prompt the same way.
@Suite struct ExactMatchTests {
    @Test func countsTheCompletionsThatEqualTheirReference() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedCompletion, 12, as: "train.jsonl")
        let out = scratch.path + "/run"
        let train = try FinetuneCommand.run(["--task", "complete", "--checkpoint", Fixture.languageModel, "--data", data,
                                             "--template", #"Q: {prompt}\nA:"#, "--steps", "1", "--out", out,
                                             "--batch-size", "4", "--threads", "1"])
        #expect(train.status == 0, "stderr: \(train.stderr)")
        // What the model says to two prompts, as `sample` prints it: the laid-out prompt, then the completion.
        let sample = BuiltExecutable("sample")
        var rows: [String] = []
        for prompt in ["The LORD is my shepherd;", "A wise son maketh a glad father:"] {
            let said = try sample.run(["--checkpoint", out + "/best", "--prompt", prompt, "--temperature", "0",
                                       "--max-tokens", "4", "--threads", "1"])
            try #require(said.status == 0, "\(said.stderr)")
            let laidOut = "Q: \(prompt)\nA:"
            try #require(said.stdout.hasPrefix(laidOut) && said.stdout.hasSuffix("\n"), "\(said.stdout)")
            let completion = String(said.stdout.dropFirst(laidOut.count).dropLast())
            rows.append(try Self.row(prompt: prompt, completion: completion))
        }
        rows.append(try Self.row(prompt: "Go to the ant, thou sluggard;", completion: "no model says this"))
        let test = scratch.write("test.jsonl", rows.joined(separator: "\n") + "\n")

        let result = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", test, "--generate",
                                              "--max-tokens", "4", "--json", "--threads", "1"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let report = try JSONDecoder().decode(CompletionReport.self, from: Data(result.stdout.utf8))
        #expect(report.examples == 3 && report.exactMatches == 2 && report.exactMatch == 2.0 / 3.0, "\(result.stdout)")
        let text = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", test, "--generate",
                                            "--max-tokens", "4", "--threads", "1"])
        #expect(text.stdout.contains("   exact match 2 of 3 (66.67%)"), "\(text.stdout)")
        // A batch far larger than the file decodes its three prompts in three slots (the cache is made per slot).
        let wide = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", test, "--generate",
                                            "--max-tokens", "4", "--batch-size", "100000000", "--threads", "1"])
        #expect(wide.status == 0 && wide.stdout.contains("   exact match 2 of 3 (66.67%)"), "\(wide.stderr)")
        // Without --generate, no exact-match figures.
        let plain = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", test, "--json", "--threads", "1"])
        #expect(!plain.stdout.contains("exact_match"), "\(plain.stdout)")
    }

    @Test func generateIsForCompletionModelsAndMaxTokensForGenerate() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 4, as: "verses.jsonl")
        expectError(try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.classifier, "--data", data, "--generate"]),
                    startsWith: "--generate: applies to completion models")
        expectUsageError(try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.languageModel, "--data", data,
                                                  "--max-tokens", "3"]), "--max-tokens applies with --generate", command: "evaluate")
        expectUsageError(try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.languageModel, "--data", data,
                                                  "--generate", "--max-tokens", "0"]), "--max-tokens must be at least 1 (got 0)",
                         command: "evaluate")
    }

    static func row(prompt: String, completion: String) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: ["prompt": prompt, "completion": completion],
                                                    options: [.sortedKeys]), as: UTF8.self)
    }
}
