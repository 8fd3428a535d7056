import TestSupport
import Foundation
import Testing

/// Batch mode (`--prompts ... --out`): Ctrl-C, and what `--resume` accepts.
@Suite(.serialized) struct SampleBatchTests {
    static let checkpoint = TinyCheckpoint.directory

    /// Ctrl-C keeps the samples written so far, says how to continue, and exits 130 as pretrain and finetune
    /// do, so `sample ... && next` does not go on with a partial output.
    @Test func ctrlCExits130() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let prompts = directory + "/many.txt", out = directory + "/out.jsonl", log = directory + "/stderr"
        try (1...300).map { "Prompt number \($0):" }.joined(separator: "\n").write(toFile: prompts, atomically: true, encoding: .utf8)
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(SampleCommand.path))
        process.arguments = ["--checkpoint", Self.checkpoint, "--prompts", prompts, "--out", out, "--max-tokens", "200",
                             "--batch", "1", "--threads", "1", "--seed", "3"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        Fixtures.waitForLines(in: out, atLeast: 1, timeout: 60)
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let stderr = try String(contentsOfFile: log, encoding: .utf8)
        #expect(stderr.contains("stopped: ") && stderr.contains("samples written to \(out); --resume continues"), "\(stderr)")
        let written = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").count
        #expect(written >= 1 && written < 300)
    }

    /// Ctrl-C in a one-shot run stops the completion and exits with status 130 too, after what was printed.
    @Test func ctrlCStopsAOneShotRunWith130() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(SampleCommand.path))
        process.arguments = ["--checkpoint", Self.checkpoint, "--prompt", "And God said", "--max-tokens", "1000000",
                             "--threads", "1", "--seed", "3"]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        var printed = Data()
        while printed.count < 200 { printed.append(stdout.fileHandleForReading.availableData) }
        process.interrupt()
        printed.append(stdout.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(String(decoding: printed, as: UTF8.self).hasPrefix("And God said"))
    }

    /// --resume continues an output only with what wrote it: another checkpoint, seed or sampling setting is
    /// refused by name and the output is left as it was; without --seed it continues the recorded seed.
    @Test func resumeRefusesOtherSettingsAndKeepsTheSeed() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let prompts = directory + "/p.txt", out = directory + "/out.jsonl", copy = directory + "/copy"
        try "And God said\nBlessed\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: Self.checkpoint, toPath: copy)
        let arguments = ["--prompts", prompts, "--out", out, "--samples-per-prompt", "2", "--max-tokens", "5", "--threads", "1"]
        let first = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--seed", "9"] + arguments)
        #expect(first.status == 0, "\(first.stderr)")
        // Without a terminal, progress lines count samples (as the bar does), not steps.
        let progress = first.stderr.split(separator: "\n").filter { $0.contains(" | tokens ") }
        #expect(!progress.isEmpty && progress.allSatisfy { $0.hasPrefix("sample ") }, "\(first.stderr)")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["checkpoint"] as? String == URL(fileURLWithPath: Self.checkpoint).standardizedFileURL.path)
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        let cut = try String(contentsOfFile: out, encoding: .utf8)
        let refused: [([String], String)] = [
            (["--checkpoint", copy, "--seed", "9", "--temperature", "0.5"], "--checkpoint "),
            (["--checkpoint", Self.checkpoint, "--seed", "8"], "--seed 9, not 8"),
            (["--checkpoint", Self.checkpoint, "--temperature", "0.5"], "--temperature 1, not 0.5"),
            (["--checkpoint", Self.checkpoint, "--weights", "bf16"], "--weights fp32, not bf16"),
        ]
        for (given, says) in refused {
            let result = try SampleCommand.run(given + arguments + ["--resume"])
            #expect(result.status == 1, "\(given)")
            #expect(result.stderr.hasPrefix("error: \(out):1: written with \(says)") && result.stderr.split(separator: "\n").count == 1,
                    "\(given): \(result.stderr)")
            #expect(try String(contentsOfFile: out, encoding: .utf8) == cut)
        }
        let resumed = try SampleCommand.run(["--checkpoint", Self.checkpoint] + arguments + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n") == lines)
    }

    /// --out-dir --resume with another prompts file is refused, naming the first sample file that belongs to other
    /// prompts, and nothing is added (it used to add the new prompts' samples to the old ones without a word).
    @Test func outDirResumeRefusesAnotherPromptsFile() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let promptsA = directory + "/a.txt", promptsB = directory + "/b.txt", out = directory + "/mix"
        try "And God said\nBlessed\nThe LORD\n".write(toFile: promptsA, atomically: true, encoding: .utf8)
        try "Woe\nWoe\nWoe\nWoe\n".write(toFile: promptsB, atomically: true, encoding: .utf8)
        let arguments = ["--checkpoint", Self.checkpoint, "--out-dir", out, "--max-tokens", "4", "--seed", "1", "--threads", "1"]
        let first = try SampleCommand.run(arguments + ["--prompts", promptsA])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        let resumed = try SampleCommand.run(arguments + ["--prompts", promptsB, "--resume"])
        #expect(resumed.status == 1)
        #expect(resumed.stderr == "error: \(out)/prompt-0000-sample-0.txt: does not start with the prompt of line 1 of the prompts file; it was made from another prompts file (use --overwrite to start over)\n", "\(resumed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == before)
    }

    /// A bad value of one sampling option is a usage error, as --batch-size 0 and --threads 0 are: exit status 64 and
    /// "(see 'sample --help')", found before the checkpoint is read (they exited 1, after loading it).
    @Test func badSamplingValuesAreUsageErrors() throws {
        let cases: [([String], String)] = [
            (["--max-tokens", "0"], "--max-tokens must be >= 1, got 0"),
            (["--top-k", "-1"], "--top-k must be >= 0 (0 turns it off), got -1"),
            (["--top-p", "0"], "--top-p must be in (0, 1] (1 turns it off), got 0.0"),
            (["--temperature", "-1"], "--temperature must be a finite number >= 0 (0 means greedy), got -1.0"),
            (["--stop", ""], "--stop: a stop string must not be empty"),
            (["--batch", "0"], "--batch-size must be at least 1 (got 0)"),
        ]
        for (given, says) in cases {
            let result = try SampleCommand.run(["--checkpoint", "/nonexistent", "--prompts", "p.txt", "--out", "o.jsonl"] + given)
            #expect(result.status == 64, "\(given)")
            #expect(result.stderr == "error: \(says) (see 'sample --help')\n", "\(given): \(result.stderr)")
        }
    }

    /// `--out` naming the prompts file is refused even with --overwrite, and the prompts are kept (they were
    /// replaced by the samples, with exit status 0).
    @Test func outIsNeverThePromptsFile() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let prompts = directory + "/p.txt"
        try "And God said\nBlessed\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        let result = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--prompts", prompts, "--out", prompts, "--overwrite",
                                            "--max-tokens", "4", "--seed", "1", "--threads", "1"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: \(prompts): is the prompts file \(prompts) itself; give another --out\n", "\(result.stderr)")
        #expect(try String(contentsOfFile: prompts, encoding: .utf8) == "And God said\nBlessed\n")
    }

    /// The notes count in the right number: "wrote 1 sample (1 token)", "resuming: 1 sample already in the output"
    /// (they said "1 samples").
    @Test func notesCountInTheRightNumber() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let prompts = directory + "/p.txt", out = directory + "/out.jsonl"
        try "And God said\nBlessed\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        let arguments = ["--checkpoint", Self.checkpoint, "--prompts", prompts, "--out", out, "--max-tokens", "1",
                         "--seed", "1", "--threads", "1"]
        let first = try SampleCommand.run(arguments)
        #expect(first.status == 0 && first.stderr.hasSuffix("wrote 2 samples (2 tokens) to \(out)\n"), "\(first.stderr)")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        try (lines[0] + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        let resumed = try SampleCommand.run(arguments + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.hasPrefix("resuming: 1 sample already in the output, 1 to go\n"), "\(resumed.stderr)")
        #expect(resumed.stderr.hasSuffix("wrote 1 sample (1 token) to \(out)\n"), "\(resumed.stderr)")
    }

    /// --samples-per-prompt and --batch mean something only in batch mode: elsewhere they are refused, not ignored.
    @Test func batchOptionsNeedPrompts() throws {
        for (given, says) in [(["--samples-per-prompt", "3"], "--samples-per-prompt needs"), (["--batch-size", "2"], "--batch-size needs"), (["--batch", "2"], "--batch-size needs")] {
            let result = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--prompt", "x"] + given)
            #expect(result.status == 64)
            #expect(result.stderr == "error: \(says) --prompts (batch mode) (see 'sample --help')\n", "\(result.stderr)")
        }
    }
}
