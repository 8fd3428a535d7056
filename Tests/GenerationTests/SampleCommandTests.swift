import TestSupport
import GPT
import Kernels
import Generation
import Foundation
import Sampling
import Testing

@Suite(.serialized) struct SampleCommandTests {
    static let checkpoint = TinyCheckpoint.directory

    /// Ctrl-Z at the prompt suspends sample as job control expects, and `fg` brings the line back as it was. (The
    /// line editor's mode turns the terminal's suspend key off: ^Z was typed into the prompt instead.) sample runs
    /// as a job of an interactive shell here: a process group without a shell to continue it ignores ^Z.
    @Test func ctrlZSuspendsTheSessionAndFgResumesIt() throws {
        let binary = try #require(SampleCommand.path)
        let shell = try TerminalSession(program: "/bin/bash", arguments: ["--norc", "--noprofile", "-i"])
        shell.send("PS1='SH$ '\r")
        #expect(shell.waitFor("SH$ "), "\(shell.transcript)")
        shell.send("'\(binary)' --checkpoint '\(Self.checkpoint)' --max-tokens 4 --seed 1\r")
        #expect(shell.waitFor("/help for commands"), "\(shell.transcript)")
        Thread.sleep(forTimeInterval: 0.3)   // (the editing mode after the prompt, as in interactiveSessionOnATerminal)
        shell.send("And G")
        Thread.sleep(forTimeInterval: 0.2)
        shell.send("\u{1A}")
        #expect(shell.waitFor("Stopped"), "\(shell.transcript)")
        var mark = shell.transcript.endIndex
        shell.send("fg\r")
        #expect(shell.waitFor("> And G", after: mark), "the line is not redrawn: \(shell.transcript)")
        Thread.sleep(forTimeInterval: 0.2)
        mark = shell.transcript.endIndex
        shell.send("od said\r")
        #expect(shell.waitFor("[4 tokens, ", after: mark), "\(shell.transcript)")
        mark = shell.transcript.endIndex
        shell.send("/quit\r")
        #expect(shell.waitFor("SH$ ", after: mark), "\(shell.transcript)")
        shell.send("exit\r")
        #expect(shell.waitForExit(timeout: 10) == 0, "\(shell.transcript)")
    }

    /// Every line is typed only once the prompt "> " is shown (libedit may flush input typed earlier,
    /// when it puts the terminal in its editing mode).
    @Test func interactiveSessionOnATerminal() throws {
        let session = try TerminalSession(arguments: ["--checkpoint", Self.checkpoint, "--max-tokens", "12", "--seed", "4"])
        var mark = session.transcript.startIndex
        func type(_ line: String) {
            #expect(session.waitFor("> ", after: mark), "no prompt: \(session.transcript)")
            // libedit prints the prompt and then switches the terminal to its editing mode; a key typed in
            // between is handled by the kernel's cooked mode (a Ctrl-D there is lost). A person never types
            // that fast: give it a moment.
            Thread.sleep(forTimeInterval: 0.2)
            mark = session.transcript.endIndex
            session.send(line)
        }
        #expect(session.waitFor("/help for commands"), "\(session.transcript)")
        // A command.
        type("/temperature 0.5\r")
        #expect(session.waitFor("temperature 0.5, top-k 0", after: mark), "\(session.transcript)")
        // Characters beyond ASCII reach the session as typed (the line editor, in the C locale, dropped them: this
        // "/stop 日本é" was "/stop ", which cleared every stop string).
        type("/stop 日本é\r")
        #expect(session.waitFor("stop \"日本é\"", after: mark), "\(session.transcript)")
        type("/stop\r")
        #expect(session.waitFor("no stop strings", after: mark), "\(session.transcript)")
        // A question: the answer streams, then a line with tokens and tokens/s.
        type("And God said\r")
        #expect(session.waitFor("tokens/s]", after: mark), "\(session.transcript)")
        #expect(session.transcript[mark...].contains("[12 tokens, "))
        // A long answer stopped by Ctrl-C: the session goes on.
        type("/max-tokens 1000000\r")
        #expect(session.waitFor("max-tokens 1000000", after: mark))
        type("The LORD\r")
        #expect(session.waitFor("The LORD", after: mark))
        let answerStart = session.transcript.endIndex
        // Ctrl-C once the answer has been streaming for a while (40 characters).
        #expect(session.waitFor(count: 40, after: answerStart), "the answer should stream: \(session.transcript)")
        session.send("\u{03}")
        #expect(session.waitFor("tokens/s, stopped]", after: answerStart), "\(session.transcript)")
        type("/settings\r")
        #expect(session.waitFor("max-tokens 1000000", after: mark), "the session should still run: \(session.transcript)")
        // A SIGINT at the prompt (as a Ctrl-C typed between an answer and the prompt arrives) is spent on that
        // line: the next answer runs whole (it stopped at its first token).
        type("/max-tokens 8\r")
        #expect(session.waitFor("max-tokens 8,", after: mark))
        #expect(session.waitFor("> ", after: mark))
        Thread.sleep(forTimeInterval: 0.2)
        kill(session.samplePid, SIGINT)
        type("And God said\r")
        #expect(session.waitFor("tokens/s", after: mark), "\(session.transcript)")
        #expect(session.transcript[mark...].contains("[8 tokens, ") && !session.transcript[mark...].contains("stopped]"),
                "\(session.transcript[mark...])")
        // Ctrl-D leaves.
        type("\u{04}")
        var status = session.waitForExit(timeout: 5)
        for _ in 0..<3 where status == nil {   // a very slow machine: the first Ctrl-D may still be too early
            session.send("\u{04}")
            status = session.waitForExit(timeout: 5)
        }
        #expect(status == 0, "\(session.transcript)")
    }

    /// With stdout redirected (a log of the session), the prompt and the typed line show on the terminal (stderr;
    /// there was no prompt anywhere) and the log gets each question as "> line" before its answer.
    @Test func aRedirectedSessionPromptsOnTheTerminalAndLogsTheQuestions() throws {
        let log = NSTemporaryDirectory() + "sample-session-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let session = try TerminalSession(arguments: ["--checkpoint", Self.checkpoint, "--max-tokens", "3"], stdout: handle)
        #expect(session.waitFor("> "), "no prompt on the terminal: \(session.transcript)")
        Thread.sleep(forTimeInterval: 0.2)
        session.send("And God said\r")
        #expect(session.waitFor("> ", after: session.transcript.index(session.transcript.startIndex, offsetBy: 2)),
                "\(session.transcript)")
        Thread.sleep(forTimeInterval: 0.2)
        session.send("\u{04}")
        #expect(session.waitForExit(timeout: 10) == 0, "\(session.transcript)")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("> And God said\n") && text.contains("[3 tokens, "), "\(text)")
    }

    /// `kill` (SIGTERM) at the prompt ends the session with 143, as the other tools end (each signal was
    /// forgotten as a cancelled line, and only SIGKILL ended it).
    @Test func killEndsTheInteractiveSession() throws {
        let session = try TerminalSession(arguments: ["--checkpoint", Self.checkpoint, "--max-tokens", "4"])
        #expect(session.waitFor("> "), "\(session.transcript)")
        Thread.sleep(forTimeInterval: 0.2)
        kill(session.samplePid, SIGTERM)
        #expect(session.waitForExit(timeout: 10) == 143, "\(session.transcript)")
    }

    /// Every sampling option has its command: /repetition-penalty and /stop change the next answer as the options
    /// do, /settings shows them and the weights, /help lists them, and a bad value is refused by name.
    @Test func interactiveCommandsForEveryOption() throws {
        let session = try TerminalSession(arguments: ["--checkpoint", Self.checkpoint, "--max-tokens", "12", "--temperature", "0"])
        var mark = session.transcript.startIndex
        func type(_ line: String) {
            #expect(session.waitFor("> ", after: mark), "no prompt: \(session.transcript)")
            Thread.sleep(forTimeInterval: 0.2)   // as in interactiveSessionOnATerminal
            mark = session.transcript.endIndex
            session.send(line)
        }
        /// What the session prints for `text` (the terminal shows a line break as CR LF).
        func shown(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: "\r\n") }
        #expect(session.waitFor("/help for commands"), "\(session.transcript)")
        #expect(session.waitFor("> ") && !session.transcript.contains("completion checkpoint"), "\(session.transcript)")
        type("/help\r")
        #expect(session.waitFor("/quit", after: mark), "\(session.transcript)")
        #expect(session.transcript[mark...].contains("/repetition-penalty X") && session.transcript[mark...].contains("/stop TEXT"))

        // The greedy answer with a repetition penalty, as the library gives it (and not the answer without it).
        let generator = try TinyCheckpoint.generator()
        var plain = SamplingSettings.greedy
        plain.maxNewTokens = 12
        var penalized = plain
        penalized.repetitionPenalty = 1.3
        let withPenalty = try #require(try generator.generate(prompt: GoldenTests.prompt, settings: penalized, seed: 0))
        let without = try #require(try generator.generate(prompt: GoldenTests.prompt, settings: plain, seed: 0))
        #expect(withPenalty.text != without.text)
        type("/repetition-penalty 1.3\r")
        #expect(session.waitFor("repetition-penalty 1.3, max-tokens 12", after: mark), "\(session.transcript)")
        type(GoldenTests.prompt + "\r")
        #expect(session.waitFor("tokens/s]", after: mark), "\(session.transcript)")
        #expect(session.transcript[mark...].contains(shown(withPenalty.text) + "\r\n[\(withPenalty.tokenCount) tokens"),
                "\(String(reflecting: withPenalty.text)): \(session.transcript[mark...])")

        // A stop string ends the answer before it, as --stop does.
        var stopped = plain
        stopped.stopStrings = ["fle"]
        let toStop = try #require(try generator.generate(prompt: GoldenTests.prompt, settings: stopped, seed: 0))
        #expect(toStop.finishReason == .stopString)
        type("/repetition-penalty 1\r")
        #expect(session.waitFor("repetition-penalty 1.0,", after: mark), "\(session.transcript)")
        type("/stop fle\r")
        #expect(session.waitFor("stop \"fle\", weights fp32", after: mark), "\(session.transcript)")
        type("/reset\r")
        #expect(session.waitFor("(conversation forgotten)", after: mark))
        type(GoldenTests.prompt + "\r")
        #expect(session.waitFor("tokens/s]", after: mark), "\(session.transcript)")
        #expect(session.transcript[mark...].contains(GoldenTests.prompt + "\r\n" + shown(toStop.text) + "\r\n[\(toStop.tokenCount) tokens"),
                "\(String(reflecting: toStop.text)): \(session.transcript[mark...])")
        // The conversation so far is the next answer's context: the last prompt and answer, a line break, the new
        // prompt (an answer that differs from the one the prompt alone gets).
        func answers(to followUp: String) throws -> (inContext: Completion, alone: Completion) {
            (try #require(try generator.generate(prompt: GoldenTests.prompt + toStop.text + "\n" + followUp, settings: stopped, seed: 0)),
             try #require(try generator.generate(prompt: followUp, settings: stopped, seed: 0)))
        }
        let followUp = try #require(try ["And the LORD said", "And", "t", "O", "the"].first {
            let (inContext, alone) = try answers(to: $0)
            return inContext.text != alone.text
        })
        let inContext = try answers(to: followUp).inContext
        type(followUp + "\r")
        #expect(session.waitFor("tokens/s]", after: mark), "\(session.transcript)")
        #expect(session.transcript[mark...].contains(followUp + "\r\n" + shown(inContext.text) + "\r\n[\(inContext.tokenCount) tokens"),
                "\(String(reflecting: inContext.text)): \(session.transcript[mark...])")

        // \n stands for a line break; /stop alone removes them all; /settings shows it all.
        type("/stop \\n\r")
        #expect(session.waitFor("stop \"fle\" \"\\n\", weights fp32", after: mark), "\(session.transcript)")
        // \s stands for a space (the line's own trailing spaces are trimmed away).
        type("/stop a:\\s  \r")
        #expect(session.waitFor("stop \"fle\" \"\\n\" \"a: \", weights fp32", after: mark), "\(session.transcript)")
        // Spaces at both ends of the rest of the line are dropped, leading ones too.
        type("/stop    b  \r")
        #expect(session.waitFor("stop \"fle\" \"\\n\" \"a: \" \"b\", weights fp32", after: mark), "\(session.transcript)")
        type("/stop\r")
        #expect(session.waitFor("seed ", after: mark), "\(session.transcript)")
        type("/settings\r")
        #expect(session.waitFor("weights fp32", after: mark), "\(session.transcript)")
        #expect(session.transcript[mark...].contains("temperature 0.0, top-k 0, top-p 0.9, min-p 0.0, repetition-penalty 1.0, "
                                                     + "max-tokens 12, seed "), "\(session.transcript[mark...])")
        #expect(session.transcript[mark...].contains(", no stop strings, weights fp32"), "\(session.transcript[mark...])")
        // Bad values are refused by name; the settings stay.
        type("/repetition-penalty 0\r")
        #expect(session.waitFor("error: repetition-penalty must be a finite number > 0", after: mark), "\(session.transcript)")
        type("/repetition-penalty\r")
        #expect(session.waitFor("error: /repetition-penalty needs one number", after: mark), "\(session.transcript)")
        type("/settings\r")
        #expect(session.waitFor("repetition-penalty 1.0,", after: mark), "\(session.transcript)")
        // A command without an argument refuses one ("/quit now" quit, "/reset all" reset); "//" starts a prompt
        // with "/" (no prompt could).
        type("/quit now\r")
        #expect(session.waitFor("error: /quit takes no argument (got \"now\")", after: mark), "\(session.transcript)")
        type("//etc/passwd\r")
        #expect(session.waitFor("tokens/s]", after: mark), "\(session.transcript)")
        #expect(!session.transcript[mark...].contains("unknown command"), "\(session.transcript[mark...])")
        type("/quit\r")
        #expect(session.waitForExit(timeout: 10) == 0, "\(session.transcript)")
    }

    @Test func oneShotAndStdinLines() throws {
        let once = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--prompt", GoldenTests.prompt,
                                          "--temperature", "0", "--max-tokens", "60"])
        #expect(once.status == 0, "\(once.stderr)")
        #expect(once.stdout == GoldenTests.prompt + GoldenTests.golden + "\n")
        // Prompts on stdin (a blank line is skipped): each prompt and its sample (seed derive(1, n)), and an empty
        // line between one sample and the next, none before the first or after the last.
        let lines = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--max-tokens", "24", "--seed", "1"],
                                          stdin: "And God said\n\nBlessed\n")
        #expect(lines.status == 0, "\(lines.stderr)")
        let generator = try TinyCheckpoint.generator()
        var samples: [String] = []
        for (n, prompt) in ["And God said", "Blessed"].enumerated() {
            let seed = SeedDerivation.seed(base: 1, promptIndex: n, sampleIndex: 0)
            let completion = try #require(try generator.generate(prompt: prompt, settings: SamplingSettings(maxNewTokens: 24), seed: seed))
            samples.append(prompt + completion.text + "\n")
        }
        #expect(lines.stdout == samples.joined(separator: "\n"), "\(lines.stdout)")
        // A line of stdin that is not UTF-8 is named by its number, like a prompts file's line.
        let latin1 = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--max-tokens", "3", "--seed", "1"],
                                           stdinBytes: Data("And God\n\n".utf8) + Data([0x63, 0x61, 0x66, 0xE9, 0x0A]))
        #expect(latin1.status == 1 && latin1.stderr == "error: stdin:3: is not valid UTF-8 text\n", "\(latin1.stderr)")
        #expect(latin1.stdout.hasPrefix("And God") && !latin1.stdout.contains("\u{FFFD}"))
        // A prompt file that is a device reads like a file: /dev/null is the empty prompt, which starts from BOS.
        let empty = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--prompt-file", "/dev/null",
                                           "--max-tokens", "5", "--seed", "1"])
        #expect(empty.status == 0 && !empty.stdout.isEmpty, "\(empty.stderr)")
    }

    /// Without --seed, a one-shot or stdin run says the seed it drew (one line on stderr) and that seed repeats the
    /// text; with --seed, or greedy (which draws nothing at random), nothing is said.
    @Test func randomSeedIsShownAndRepeatsTheText() throws {
        for stdin in [nil, "And God said\nBlessed\n"] as [String?] {
            let given = stdin == nil ? ["--prompt", "And God said"] : []
            let arguments = ["--checkpoint", Self.checkpoint, "--max-tokens", "12"] + given
            let drawn = try SampleCommand.run(arguments, stdin: stdin)
            #expect(drawn.status == 0, "\(drawn.stderr)")
            let lines = drawn.stderr.split(separator: "\n").map(String.init)
            let seed = try #require(lines.first?.split(separator: " ").dropFirst().first.flatMap { UInt64($0) },
                                    "\(drawn.stderr)")
            #expect(lines == ["seed \(seed) (random; pass --seed \(seed) to repeat)"], "\(drawn.stderr)")
            let repeated = try SampleCommand.run(arguments + ["--seed", "\(seed)"], stdin: stdin)
            #expect(repeated.status == 0 && repeated.stderr.isEmpty, "\(repeated.stderr)")
            #expect(repeated.stdout == drawn.stdout && !drawn.stdout.isEmpty)
        }
        let greedy = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--max-tokens", "12", "--prompt", "And God said",
                                            "--temperature", "0"])
        #expect(greedy.status == 0 && greedy.stderr.isEmpty, "\(greedy.stderr)")
        // Input without a prompt samples nothing, so it needs no seed.
        let empty = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--max-tokens", "12"], stdin: "\n  \n")
        #expect(empty.status == 0 && empty.stderr.isEmpty && empty.stdout.isEmpty, "\(empty.stderr)")
    }

    /// `sample` with its standard output going to `stdout` (stdin: `stdin`, else /dev/null): its termination and
    /// its standard error.
    /// A stdout that cannot be written (a full disk; /dev/full) is an error, in one-shot and stdin modes: the text
    /// is lost, and a script must not go on as if it were there (it used to exit 0 without a word). A closed pipe
    /// (`| head`) ends the run quietly, but not with status 0.
    @Test func stdoutWriteErrorsFail() throws {
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let arguments = ["--checkpoint", Self.checkpoint, "--max-tokens", "20", "--seed", "1", "--threads", "1"]
        for (given, stdin) in [(["--prompt", "And God said"], nil), ([], "And God said\nBlessed\n")] as [([String], String?)] {
            let (process, stderr) = try SampleCommand.run(arguments + given, stdout: full, stdin: stdin)
            #expect(process.terminationReason == .exit && process.terminationStatus == 1, "\(given)")
            #expect(stderr == "error: stdout: No space left on device\n", "\(given): \(stderr)")
        }
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let (process, stderr) = try SampleCommand.run(arguments + ["--prompt", "And God said", "--max-tokens", "1000"],
                                        stdout: pipe.fileHandleForWriting)
        // Killed by SIGPIPE, as `cat` would be: a shell reports status 141 (128 + 13).
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGPIPE)
        #expect(stderr.isEmpty, "\(stderr)")
    }

    /// The text outgrew the context (60 new tokens, a context of 32): stdout holds exactly the text, and one line
    /// on stderr says so once the text is done. In one file (`> log 2>&1`, as in a terminal) that line follows the
    /// text instead of splitting one of its lines, and no empty line is added.
    @Test func contextNoteFollowsTheText() throws {
        let arguments = ["--checkpoint", Self.checkpoint, "--prompt", GoldenTests.prompt, "--temperature", "0", "--max-tokens", "60"]
        let note = "note: the text outgrew the model's context of 32 tokens; past it, each token was generated from only "
            + "the last 24 to 32 tokens\n"
        let apart = try SampleCommand.run(arguments)
        #expect(apart.status == 0, "\(apart.stderr)")
        #expect(apart.stdout == GoldenTests.prompt + GoldenTests.golden + "\n")
        #expect(apart.stderr == note, "\(apart.stderr)")
        let merged = try SampleCommand.run(arguments, mergingOutput: true)
        #expect(merged.stdout == GoldenTests.prompt + GoldenTests.golden + "\n" + note, "\(merged.stdout)")
        // Prompts on stdin: one note at the end, counting the samples that outgrew the context.
        // 20 new tokens: the long prompt's text outgrows the context of 32, the short ones' do not.
        let lines = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--temperature", "0", "--max-tokens", "20"],
                                          stdin: "And\nAnd the LORD spake unto Moses, saying, Speak unto\nBlessed\n")
        #expect(lines.status == 0, "\(lines.stderr)")
        let notes = lines.stderr.split(separator: "\n").filter { $0.hasPrefix("note:") }
        #expect(notes == ["note: 1 of 3 samples outgrew the model's context of 32 tokens; past it, each token was "
                          + "generated from only the last 24 to 32 tokens"], "\(lines.stderr)")
        #expect(!lines.stdout.contains("note:"))
        // A text that stays within the context has no note.
        let short = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--prompt", "And", "--temperature", "0",
                                           "--max-tokens", "10"])
        #expect(short.status == 0 && short.stderr.isEmpty, "\(short.stderr)")
    }

    /// `--weights bf16`: the steps read a bfloat16 copy of the matrices. On the tiny checkpoint its greedy
    /// text is the fp32 golden text (the rounding moves logits by far less than the gaps between the best
    /// tokens here); an unknown value is refused by name.
    @Test func bfloat16WeightsGiveTheGoldenGreedyText() throws {
        let run = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--prompt", GoldenTests.prompt,
                                         "--temperature", "0", "--max-tokens", "60", "--weights", "bf16"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == GoldenTests.prompt + GoldenTests.golden + "\n")
        let bad = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--prompt", "x", "--weights", "fp16"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("'fp16' is invalid for '--weights"), "\(bad.stderr)")
    }

    @Test func batchToJSONLinesWithResumeAndCarriedFields() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let prompts = directory + "/prompts.jsonl", out = directory + "/out.jsonl"
        try "{\"prompt\": \"And God said\", \"id\": 7}\n{\"prompt\": \"Blessed\"}\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        let arguments = ["--checkpoint", Self.checkpoint, "--prompts", prompts, "--out", out, "--samples-per-prompt", "2",
                         "--max-tokens", "6", "--seed", "9"]
        let first = try SampleCommand.run(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["prompt"] is String && object["completion"] is String && object["tokens"] as? Int == 6)
            #expect(object["seed"] is NSNumber && object["settings"] is [String: Any])
        }
        #expect(lines[0].contains("\"id\": 7") && !lines[2].contains("\"id\""))
        // Never overwritten without --overwrite; --resume with everything done does nothing.
        let again = try SampleCommand.run(arguments)
        #expect(again.status != 0 && again.stderr == "error: \(out): already exists; pass --overwrite to replace it or --resume to continue it\n")
        // Remove the last sample: --resume regenerates exactly it (same seed, same text).
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        let resumed = try SampleCommand.run(arguments + ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n") == lines)
    }

    @Test func batchToDirectory() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "And God said\nBlessed\n".write(toFile: directory + "/p.txt", atomically: true, encoding: .utf8)
        let result = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--prompts", directory + "/p.txt",
                                            "--out-dir", directory + "/out", "--max-tokens", "4"])
        #expect(result.status == 0, "\(result.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/out").sorted()
        #expect(files == ["prompt-0000-sample-0.txt", "prompt-0001-sample-0.txt", "settings.json"])
        #expect(try String(contentsOfFile: directory + "/out/prompt-0001-sample-0.txt", encoding: .utf8).hasPrefix("Blessed"))
    }

    @Test func longPromptIsTruncatedWithAWarning() throws {
        let long = String(repeating: "and the LORD spake unto Moses, saying ", count: 20)
        let result = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--prompt", long, "--max-tokens", "3", "--seed", "1"])
        #expect(result.status == 0)
        #expect(result.stderr.hasPrefix("warning: the prompt is longer than the model's context of 32 tokens; its first "), "\(result.stderr)")
    }

    /// Bad input: one line "error: ..." naming the file, no trap; status 64 for an option out of range (a usage
    /// error, found before the checkpoint is read), 1 for the rest.
    @Test func badInputIsOneClearLine() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A checkpoint whose tokenizer does not belong to the model (vocabulary 256 vs a model of 100).
        let mismatched = directory + "/mismatched"
        try FileManager.default.createDirectory(atPath: mismatched, withIntermediateDirectories: true)
        for name in ["model.safetensors", "tokenizer.model"] {
            try FileManager.default.copyItem(atPath: Self.checkpoint + "/" + name, toPath: mismatched + "/" + name)
        }
        let config = try String(contentsOfFile: Self.checkpoint + "/config.json", encoding: .utf8)
        try config.replacingOccurrences(of: "\"n_embd\" : 64", with: "\"n_embd\" : 32")
            .write(toFile: mismatched + "/config.json", atomically: true, encoding: .utf8)
        let noTokenizer = directory + "/notokenizer"
        try FileManager.default.createDirectory(atPath: noTokenizer, withIntermediateDirectories: true)
        for name in ["model.safetensors", "config.json"] {
            try FileManager.default.copyItem(atPath: Self.checkpoint + "/" + name, toPath: noTokenizer + "/" + name)
        }
        // A valid checkpoint whose tokenizer (256 pieces) does not match its vocabulary (300).
        let otherVocabulary = directory + "/othervocab"
        try Checkpoint.save(try GPT(config: GPTConfig(layers: 1, heads: 2, width: 16, context: 8, vocabSize: 300), seed: 1),
                            to: otherVocabulary,
                            extraFiles: [CheckpointFile(name: "tokenizer.model", contents: .copy(fromPath: Self.checkpoint + "/tokenizer.model"))])
        // A tokenizer.model that is not the one the checkpoint was saved with (its fingerprint in config.json): another
        // tokenizer of the same size gave garbage text without a word. Here the file gets one more byte; the check
        // compares bytes before the file is parsed.
        let swapped = directory + "/swapped"
        let model = try Checkpoint.load(from: Self.checkpoint, includeTrainingState: false).model
        try Checkpoint.save(model, to: swapped, extraFiles: [try CheckpointFile.snapshot(name: "tokenizer.model",
                                                                                         of: Self.checkpoint + "/tokenizer.model")])
        let recorded = try #require(try Checkpoint.readConfig(directory: swapped).hf.swiftlet?.tokenizerFingerprint)
        #expect(recorded == FNV1a.hex(of: try Data(contentsOf: URL(fileURLWithPath: Self.checkpoint + "/tokenizer.model"))))
        #expect(try SampleCommand.run(["--checkpoint", swapped, "--prompt", "x", "--max-tokens", "1"]).status == 0)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: swapped + "/tokenizer.model"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0x0A]))
        try handle.close()
        // A classifier made by finetune: its head cannot generate text.
        let classifier = directory + "/classifier"
        let body = try Checkpoint.load(from: Self.checkpoint, includeTrainingState: false).model
        try ClassifierCheckpoint.save(try SequenceClassifier(model: body, labels: ["law", "psalms"], padTokenId: 0), to: classifier,
                                      extraFiles: [CheckpointFile(name: "tokenizer.model", contents: .copy(fromPath: Self.checkpoint + "/tokenizer.model"))])
        #expect(FileManager.default.createFile(atPath: directory + "/empty.txt", contents: Data()))
        try "{\"prompt\": \"ok\"}\n{\"prompt\": 3}\n".write(toFile: directory + "/bad.jsonl", atomically: true, encoding: .utf8)
        try "x\n".write(toFile: directory + "/p.txt", atomically: true, encoding: .utf8)
        #expect(FileManager.default.createFile(atPath: directory + "/taken.jsonl", contents: Data("{}\n".utf8)))

        let cases: [(arguments: [String], says: String, status: Int32)] = [
            (["--checkpoint", directory + "/missing", "--prompt", "x"], "\(directory)/missing: no such checkpoint or run directory", 1),
            (["--checkpoint", mismatched, "--prompt", "x"], "\(mismatched)/model.safetensors", 1),
            (["--checkpoint", noTokenizer, "--prompt", "x"], "\(noTokenizer)/tokenizer.model", 1),
            (["--checkpoint", otherVocabulary, "--prompt", "x"],
             "\(otherVocabulary): the tokenizer has 256 tokens but the model's vocabulary has 300", 1),
            (["--checkpoint", swapped, "--prompt", "x"],
             "\(swapped)/tokenizer.model: not the tokenizer this model was saved with", 1),
            (["--checkpoint", classifier, "--prompt", "x"],
             "\(classifier): a classification checkpoint (finetune --task classify) cannot generate text", 1),
            (["--checkpoint", Self.checkpoint, "--prompts", directory + "/empty.txt", "--out", directory + "/o.jsonl"],
             "\(directory)/empty.txt: is empty", 1),
            (["--checkpoint", Self.checkpoint, "--prompts", directory + "/bad.jsonl", "--out", directory + "/o.jsonl"],
             "\(directory)/bad.jsonl:2: ", 1),
            (["--checkpoint", Self.checkpoint, "--prompts", directory + "/p.txt", "--out", directory + "/taken.jsonl"],
             "\(directory)/taken.jsonl: already exists", 1),
            (["--checkpoint", Self.checkpoint, "--prompt", "x", "--top-p", "2"], "error: --top-p must be in (0, 1]", 64),
            (["--checkpoint", Self.checkpoint, "--prompt", "x", "--stop", ""], "error: --stop: a stop string must not be empty", 64),
            (["--checkpoint", Self.checkpoint, "--prompt-file", directory + "/none.txt"], "\(directory)/none.txt: no such file", 1),
            (["--checkpoint", Self.checkpoint, "--prompt-file", directory], "\(directory): is a directory", 1),
            // Sizes far beyond memory are refused before anything is allocated (they ended in a fatal error). The
            // decoder has no more slots than samples, so a batch this large needs that many samples to be refused.
            (["--checkpoint", Self.checkpoint, "--prompts", directory + "/p.txt", "--out", directory + "/o.jsonl",
              "--batch", "99999999999", "--samples-per-prompt", "90000000"], "error: --batch-size: decoding 90000000 sequences together", 1),
            (["--checkpoint", Self.checkpoint, "--prompts", directory + "/p.txt", "--out", directory + "/o.jsonl",
              "--samples-per-prompt", "99999999999"], "is more than the 100000000 samples a run may make", 1),   // with the prompts counted
            (["--checkpoint", Self.checkpoint, "--prompt", "x", "--threads", "99999"], "--threads must be at most 1024", 64),
            (["--checkpoint", Self.checkpoint, "--prompts", directory + "/p.txt", "--out", directory + "/o.csv"],
             "--out: \(directory)/o.csv: batch output is JSON Lines", 64),
            // A directory holding other files is not an output directory (its settings.json would be replaced).
            (["--checkpoint", Self.checkpoint, "--prompts", directory + "/p.txt", "--out-dir", directory],
             "\(directory): holds other files (", 1),
        ]
        for (arguments, says, status) in cases {
            let result = try SampleCommand.run(arguments)
            #expect(result.status == status, "\(arguments): status \(result.status)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("error: ") && lines[0].contains(says), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"), "\(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/o.jsonl"))
        #expect(try String(contentsOfFile: directory + "/taken.jsonl", encoding: .utf8) == "{}\n")
        // The same batch size for a one-prompt file just decodes that prompt (one slot, not 99999999999).
        let capped = try SampleCommand.run(["--checkpoint", Self.checkpoint, "--prompts", directory + "/p.txt",
                                            "--out", directory + "/capped.jsonl", "--batch-size", "99999999999",
                                            "--max-tokens", "4"])
        #expect(capped.status == 0, "\(capped.stderr)")
    }
}

/// A completion checkpoint (made by `finetune`) stores its prompt layout in config.json; `sample` applies it.
@Suite struct PromptTemplateTests {
    @Test func completionCheckpointTemplateIsApplied() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["model.safetensors", "tokenizer.model"] {
            try FileManager.default.copyItem(atPath: TinyCheckpoint.directory + "/" + name, toPath: directory + "/" + name)
        }
        let config = try String(contentsOfFile: TinyCheckpoint.directory + "/config.json", encoding: .utf8)
        try config.replacingOccurrences(of: "\"notes\" : {", with: "\"notes\" : {\n      \"prompt_template\" : \"Q: {prompt}\\nA:\",")
            .write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
        // The interactive session says that the template is applied, and shows it.
        let session = try TerminalSession(arguments: ["--checkpoint", directory])
        #expect(session.waitFor("> "), "\(session.transcript)")
        #expect(session.transcript.contains("completion checkpoint: each prompt is sent laid out as \"Q: {prompt}\\nA:\", "
                                            + "and the answer continues it"), "\(session.transcript)")
        Thread.sleep(forTimeInterval: 0.2)   // libedit's editing mode first (see interactiveSessionOnATerminal)
        session.send("/quit\r")
        #expect(session.waitForExit(timeout: 10) == 0, "\(session.transcript)")
        let result = try SampleCommand.run(["--checkpoint", directory, "--prompt", "Who begat Enos", "--temperature", "0",
                                            "--max-tokens", "8"])
        #expect(result.status == 0, "\(result.stderr)")
        let generator = try TinyCheckpoint.generator()
        var settings = SamplingSettings.greedy
        settings.maxNewTokens = 8
        let expected = try #require(try generator.generate(prompt: "Q: Who begat Enos\nA:", settings: settings, seed: 0))
        #expect(result.stdout == "Q: Who begat Enos\nA:" + expected.text + "\n")
        // A prompt file's final line break (as editors and `echo` leave it) is not part of the prompt the template
        // lays out: the same prompt as --prompt's.
        for ending in ["\n", "\r\n", ""] {
            try ("Who begat Enos" + ending).write(toFile: directory + "/prompt.txt", atomically: true, encoding: .utf8)
            let fromFile = try SampleCommand.run(["--checkpoint", directory, "--prompt-file", directory + "/prompt.txt",
                                                  "--temperature", "0", "--max-tokens", "8"])
            #expect(fromFile.status == 0 && fromFile.stdout == result.stdout, "\(ending.debugDescription): \(fromFile.stdout)")
        }
        // A batch run's files in directory mode start with the prompt as the model saw it, too.
        try "Who begat Enos\n".write(toFile: directory + "/prompts.txt", atomically: true, encoding: .utf8)
        let batch = try SampleCommand.run(["--checkpoint", directory, "--prompts", directory + "/prompts.txt",
                                           "--out-dir", directory + "/out", "--temperature", "0", "--max-tokens", "8"])
        #expect(batch.status == 0, "\(batch.stderr)")
        #expect(try String(contentsOfFile: directory + "/out/prompt-0000-sample-0.txt", encoding: .utf8)
                == "Q: Who begat Enos\nA:" + expected.text)
    }
}
