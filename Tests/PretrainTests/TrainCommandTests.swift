import TestSupport
import GPT
import Tokenizer
import Training
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
        let norms = try MetricsLog.read(URL(fileURLWithPath: dir + "/run/metrics.jsonl")).map(\.gradNorm)
        #expect(norms.count == 8 && norms.allSatisfy { $0.map { $0.isFinite && $0 > 0 } ?? false }, "\(norms)")
        #expect(result.stderr.contains("validation loss"))
        #expect(result.stdout.contains("finished 8 steps"))
        #expect(result.stdout.hasSuffix("\nnext: sample --checkpoint \(dir)/run; the whole validation text: pretrain evaluate --checkpoint \(dir)/run\n"),
                "\(result.stdout)")
        // One step is one step.
        let one = try PretrainCommand.run(["--data", data, "--out", dir + "/one", "--steps", "1", "--eval-every", "0"] + Self.tinyModel)
        #expect(one.status == 0 && one.stdout.contains("finished 1 step in"), "\(one.stdout)")
        #expect((one.stdout + one.stderr).contains("; 1 step; seed"), "\(one.stderr)")
        // A loss curve that cannot be written is a warning (it failed silently); the run and its checkpoints stand.
        try FileManager.default.removeItem(atPath: dir + "/one/loss.svg")
        try FileManager.default.createDirectory(atPath: dir + "/one/loss.svg", withIntermediateDirectories: false)
        let blocked = try PretrainCommand.run(["--resume", "--out", dir + "/one", "--steps", "2"])
        #expect(blocked.status == 0 && blocked.stderr.contains("warning: the loss curve was not drawn: \(dir)/one/loss.svg"), "\(blocked.stderr)")
        #expect(!blocked.stdout.contains("loss curve:") && one.stdout.contains("; loss curve: \(dir)/one/loss.svg"), "\(blocked.stdout)")
        #expect(try Self.trainLosses(dir + "/one").count == 2)
    }

    /// --sample-every: samples at the given steps with their seeds, the same ones when the run is repeated, kept by a
    /// resume, and the training untouched (the losses equal a run without samples, bit for bit).
    @Test func samplesWhileTrainingWithoutChangingIt() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let base = ["--data", data, "--steps", "8", "--eval-every", "4"] + Self.tinyModel
        let plain = try PretrainCommand.run(base + ["--out", dir + "/plain"])
        #expect(plain.status == 0, "\(plain.stderr)")
        /// The samples a run printed: header line -> the text after it.
        func samples(_ stderr: String) -> [(String, String)] {
            let lines = stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            return lines.indices.filter { lines[$0].hasPrefix("step ") && lines[$0].contains(" sample (seed ") }
                .map { (lines[$0], lines[$0 + 1]) }
        }
        var printed: [[(String, String)]] = []
        for run in ["sampled", "again"] {
            let result = try PretrainCommand.run(base + ["--out", dir + "/" + run, "--sample-every", "3", "--sample-tokens", "12",
                                                         "--sample-prompt", "ROMEO:"])
            #expect(result.status == 0, "\(result.stderr)")
            printed.append(samples(result.stderr))
            #expect(printed.last!.map { $0.0.prefix(14) } == ["step 3 sample ", "step 6 sample "], "\(result.stderr)")
            #expect(try Self.trainLosses(dir + "/" + run) == (try Self.trainLosses(dir + "/plain")))
        }
        #expect(printed[0].map(\.0) == printed[1].map(\.0) && printed[0].map(\.1) == printed[1].map(\.1))
        #expect(printed[0].allSatisfy { $0.1.hasPrefix("ROMEO:") && $0.1.count > 6 }, "\(printed[0])")
        // A prompt longer than the context: noted once, and each sample shows only the end the model sees.
        let long = "JULIET:" + String(repeating: " ROMEO:", count: 60)
        let cut = try PretrainCommand.run(base + ["--out", dir + "/cut", "--sample-every", "8", "--sample-tokens", "4",
                                                  "--sample-prompt", long])
        let shown = samples(cut.stderr)
        #expect(cut.status == 0 && cut.stderr.contains("note: the --sample-prompt is ") && shown.count == 1, "\(cut.stderr)")
        #expect(shown.allSatisfy { $0.1.hasPrefix("…") && !$0.1.contains("JULIET") && $0.1.contains("ROMEO:") }, "\(shown)")
        // A resume keeps the run's sampling (the options are recorded), unless given again.
        let half = try PretrainCommand.run(["--data", data, "--steps", "4", "--eval-every", "4"] + Self.tinyModel
                                           + ["--out", dir + "/half", "--sample-every", "3", "--sample-tokens", "12"])
        let resumed = try PretrainCommand.run(["--resume", "--out", dir + "/half", "--steps", "8"])
        #expect(half.status == 0 && resumed.status == 0, "\(half.stderr)\(resumed.stderr)")
        #expect(samples(half.stderr).map { $0.0.prefix(14) } == ["step 3 sample "]
                && samples(resumed.stderr).map { $0.0.prefix(14) } == ["step 6 sample "], "\(resumed.stderr)")
        let off = try PretrainCommand.run(["--resume", "--out", dir + "/half", "--steps", "10", "--sample-every", "0"])
        #expect(off.status == 0 && samples(off.stderr).isEmpty, "\(off.stderr)")
        #expect(off.stderr.contains("overriding --steps, the --sample-every options\n"), "\(off.stderr)")
        // Its sampling off, the run refuses a sample option alone rather than ignore it.
        let alone = try PretrainCommand.run(["--resume", "--out", dir + "/half", "--steps", "11", "--sample-tokens", "9"])
        #expect(alone.status == 1 && alone.stderr == "error: --sample-tokens: applies with --sample-every N (N > 0), and this "
                + "run samples nothing; give --sample-every too\n", "\(alone.stderr)")
        let refused = try PretrainCommand.run(base + ["--out", dir + "/refused", "--sample-every", "-1"])
        #expect(refused.status == 64 && refused.stderr.hasPrefix("error: --sample-every must be 0 (off) or positive (got -1)"))
    }

    /// --init-from: a new run starts from a checkpoint's weights, shape and tokenizer (fresh moments and schedule).
    @Test func startsFromACheckpointsWeights() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let first = try PretrainCommand.run(["--data", data, "--out", dir + "/first", "--steps", "8", "--eval-every", "4",
                                             "--dropout", "0.1"] + Self.tinyModel)
        #expect(first.status == 0, "\(first.stderr)")
        // One step at a learning rate of 1e-9 moves no weight by more than about 1e-9: the run holds the checkpoint's.
        let next = try PretrainCommand.run(["--init-from", dir + "/first", "--data", data, "--out", dir + "/next", "--steps", "1",
                                            "--lr", "1e-9", "--min-lr", "1e-9", "--eval-every", "0", "--seed", "5"])
        let said = next.stdout + next.stderr
        #expect(next.status == 0 && said.contains("new run in \(dir)/next: initialized from \(dir)/first/best, 2 layers")
                && said.contains("starting from \(dir)/first/best's weights, dropout 0.1 (the checkpoint's)")
                && said.contains("step 0: validation loss "), "\(said)")
        let origin = try Checkpoint.load(from: dir + "/first/best", includeTrainingState: false)
        let started = try Checkpoint.load(from: dir + "/next/latest")
        #expect(started.model.config == origin.model.config && started.model.config.dropout == 0.1)
        for slot in origin.model.layout.slots {
            let a = try #require(origin.model.parameterValues(named: slot.name)), b = try #require(started.model.parameterValues(named: slot.name))
            #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-6 }, "\(slot.name)")
        }
        // The start is evaluated and kept as best/: a step at a ruinous learning rate does not replace it.
        let ruined = try PretrainCommand.run(["--init-from", dir + "/first", "--data", data, "--out", dir + "/ruined", "--steps", "1",
                                              "--lr", "1", "--min-lr", "1", "--grad-clip", "0", "--seed", "5"])
        #expect(ruined.status == 0 && ruined.stderr.contains("step 0: validation loss ") && ruined.stderr.contains("step 1: validation loss "),
                "\(ruined.stderr)")
        #expect(ruined.stdout.contains("note: no evaluation beat the starting weights, so best/ holds them"), "\(ruined.stdout)")
        let best = try Checkpoint.load(from: dir + "/ruined/best")
        #expect(best.trainingState?.step == 0 && best.hfConfig.swiftlet?.notes["val_loss"] != nil)
        let logged = try MetricsLog.read(URL(fileURLWithPath: dir + "/ruined/metrics.jsonl"))
        #expect(logged.map(\.step) == [0, 1] && logged[0].trainLoss == nil && logged[0].valLoss != nil, "\(logged)")
        for slot in origin.model.layout.slots {
            #expect(best.model.parameterValues(named: slot.name) == origin.model.parameterValues(named: slot.name), "\(slot.name)")
        }
        #expect(started.trainingState?.step == 1)
        #expect(started.hfConfig.swiftlet?.notes["initialized_from"] == dir + "/first/best")
        // A resume keeps the note; --dropout sets the dropout of a new run from the checkpoint.
        let resumed = try PretrainCommand.run(["--resume", "--out", dir + "/next", "--steps", "2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Checkpoint.readConfig(directory: dir + "/next/latest").hf.swiftlet?.notes["initialized_from"] == dir + "/first/best")
        let undropped = try PretrainCommand.run(["--init-from", dir + "/first", "--data", data, "--out", dir + "/undropped",
                                                 "--steps", "1", "--dropout", "0", "--eval-every", "0"])
        #expect(undropped.status == 0 && (undropped.stdout + undropped.stderr).contains("at learning rate 1e-04 (the default from a "
                + "checkpoint: a tenth of a new run's), dropout 0\n"), "\(undropped.stdout)\(undropped.stderr)")
        #expect(try Checkpoint.readConfig(directory: dir + "/undropped/latest").model.dropout == 0)
        // A checkpoint another tool wrote with unequal dropout rates needs --dropout (Swiftlet has one rate).
        try FileManager.default.copyItem(atPath: dir + "/first/best", toPath: dir + "/foreign")
        let configURL = URL(fileURLWithPath: dir + "/foreign/config.json")
        var foreign = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        foreign["swiftlet"] = nil
        foreign["resid_pdrop"] = 0.2
        try JSONSerialization.data(withJSONObject: foreign).write(to: configURL)
        let unequal = try PretrainCommand.run(["--init-from", dir + "/foreign", "--data", data, "--out", dir + "/refused",
                                               "--steps", "1"])
        #expect(unequal.status == 1 && unequal.stderr.hasPrefix("error: --dropout: \(dir)/foreign/config.json: attn_pdrop 0.1, "
                + "embd_pdrop 0.1, resid_pdrop 0.2 differ; Swiftlet applies one dropout at all three sites"), "\(unequal.stderr)")
        // --corpus files are encoded with the checkpoint's tokenizer.
        let corpus = dir + "/corpus.txt"
        let fromCorpus = try PretrainCommand.run(["--init-from", dir + "/first", "--corpus", corpus, "--out", dir + "/corpus-run",
                                                  "--steps", "2", "--batch-size", "2", "--eval-every", "0"])
        #expect(fromCorpus.status == 0, "\(fromCorpus.stderr)")
        #expect(FileManager.default.contents(atPath: dir + "/corpus-run/data/tokenizer.model")
                == FileManager.default.contents(atPath: dir + "/first/best/tokenizer.model"))

        // What the checkpoint fixes cannot be given; a classifier, or data of another tokenizer, is refused.
        for (arguments, says) in [(["--preset", "tiny"], "--preset cannot be given with --init-from"),
                                  (["--width", "32"], "--width cannot be given with --init-from"),
                                  (["--context", "8"], "--context cannot be given with --init-from"),
                                  (["--vocab-size", "50"], "--vocab-size cannot be given with --init-from"),
                                  (["--byte-fallback"], "--byte-fallback cannot be given with --init-from"),
                                  (["--resume"], "--resume continues a run; --init-from starts a new one")] {
            let result = try PretrainCommand.run(["--init-from", dir + "/first", "--out", dir + "/refused"] + arguments)
            #expect(result.status == 64 && result.stderr.hasPrefix("error: \(says)"), "\(arguments): \(result.stderr)")
        }
        #expect(try PretrainCommand.run(["--init-from", "", "--out", dir + "/refused"]).stderr.hasPrefix("error: --init-from must name a checkpoint"))
        let missing = try PretrainCommand.run(["--init-from", dir + "/none", "--data", data, "--out", dir + "/refused"])
        #expect(missing.status == 1 && missing.stderr.hasPrefix("error: --init-from: \(dir)/none"), "\(missing.stderr)")
        // A run written over the checkpoint it starts from would delete it: refused, even with --overwrite.
        for out in [dir + "/first", dir + "/first/best", dir + "/first/best/inner"] {
            let over = try PretrainCommand.run(["--init-from", dir + "/first", "--data", data, "--out", out, "--overwrite"])
            #expect(over.status == 1 && over.stderr.hasPrefix("error: --out: \(out) "), "\(out): \(over.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: dir + "/first/best/model.safetensors")
                && !FileManager.default.fileExists(atPath: dir + "/first/best/inner"))
        let classifier = Fixtures.packageRoot.appendingPathComponent("Tests/FinetuneTests/Fixtures/tiny-classifier").path
        let fromClassifier = try PretrainCommand.run(["--init-from", classifier, "--data", data, "--out", dir + "/refused"])
        #expect(fromClassifier.status == 1 && fromClassifier.stderr.contains("is a classification checkpoint"), "\(fromClassifier.stderr)")
        try "0123456789\n9876543210\n".write(toFile: dir + "/digits.txt", atomically: true, encoding: .utf8)
        #expect(try PretrainCommand.run(["prepare", "--corpus", dir + "/digits.txt", "--tokenizer-type", "char",
                                         "--val-fraction", "0.5", "--out", dir + "/digits"]).status == 0)
        let otherTokens = try PretrainCommand.run(["--init-from", dir + "/first", "--data", dir + "/digits", "--out", dir + "/refused"])
        #expect(otherTokens.status == 1 && otherTokens.stderr.contains("--data: \(dir)/digits was prepared with another tokenizer"),
                "\(otherTokens.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/refused"))
    }

    /// --val-corpus: a held-out file is the validation set (its tokens, not the corpus's end); the run keeps it.
    @Test func validatesOnAHeldOutFile() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: dir, name: "corpus.txt")
        let heldOut = dir + "/held-out.txt"
        try String(repeating: "KING RICHARD II:\nA lark, a lark, a lark; and so it goes.\n", count: 3)
            .write(toFile: heldOut, atomically: true, encoding: .utf8)
        #expect(try PretrainCommand.run(["--corpus", corpus, "--val-corpus", heldOut, "--val-fraction", "0.2"]).status == 64)
        let run = try PretrainCommand.run(["--corpus", corpus, "--val-corpus", heldOut, "--tokenizer-type", "char",
                                           "--out", dir + "/run", "--steps", "4", "--eval-every", "2"] + Self.tinyModel)
        #expect(run.status == 0, "\(run.stderr)")
        let prepared = try #require(PreparationManifest.read(from: dir + "/run/data/" + PreparationManifest.fileName))
        let trainTokens = try TokenFile(path: dir + "/run/data/train.npy").count
        // Characters: a token a byte of the held-out text, and of the whole corpus.
        let corpusBytes = try Data(contentsOf: URL(fileURLWithPath: corpus)).count
        #expect(prepared.valTokens == 3 * 57 && prepared.trainTokens == trainTokens && trainTokens == corpusBytes, "\(prepared)")
        #expect(try Self.trainLosses(dir + "/run").count == 4 && run.stderr.contains("step 4: validation loss"))
        // It belongs to the preparation: a resume, or prepared data, cannot take another.
        let resumed = try PretrainCommand.run(["--resume", "--out", dir + "/run", "--val-corpus", corpus])
        #expect(resumed.status == 1 && resumed.stderr == "error: --resume: a resumed run keeps its data; leave out --val-corpus (--data may say where it is now)\n",
                "\(resumed.stderr)")
        let withData = try PretrainCommand.run(["--data", dir + "/run/data", "--val-corpus", heldOut, "--out", dir + "/other"])
        #expect(withData.status == 64 && withData.stderr.hasPrefix("error: --val-corpus applies when preparing --corpus files"),
                "\(withData.stderr)")
        // Characters only the held-out text holds ("Z" is not in the corpus): <unk> without --byte-fallback, bytes with it;
        // either way `evaluate` divides by the file's own size.
        let zounds = dir + "/zounds.txt"
        try String(repeating: "MERCUTIO:\nZounds, a dog, a rat, a mouse, a cat!\n", count: 3).write(toFile: zounds, atomically: true, encoding: .utf8)
        let zoundsBytes = try Data(contentsOf: URL(fileURLWithPath: zounds)).count
        for (name, fallback) in [("unk", [String]()), ("bytes", ["--byte-fallback"])] {
            let trained = try PretrainCommand.run(["--corpus", corpus, "--val-corpus", zounds, "--tokenizer-type", "char",
                                                   "--out", dir + "/" + name, "--steps", "2"] + fallback + Self.tinyModel)
            #expect(trained.status == 0 && trained.stdout.contains("unknown (<unk>)") == fallback.isEmpty, "\(trained.stdout)")
            let evaluated = try PretrainCommand.run(["evaluate", "--checkpoint", dir + "/" + name])
            #expect(evaluated.status == 0 && evaluated.stdout.hasSuffix(", \(zoundsBytes) bytes)\n"),
                    "\(name): \(evaluated.stdout)\(evaluated.stderr)")
        }

        // A held-out file shorter than a window names itself.
        try "KING:\n".write(toFile: dir + "/short.txt", atomically: true, encoding: .utf8)
        let short = try PretrainCommand.run(["--corpus", corpus, "--val-corpus", dir + "/short.txt", "--tokenizer-type", "char",
                                             "--out", dir + "/short", "--steps", "4"] + Self.tinyModel)
        #expect(short.status == 1 && short.stderr.contains("error: --val-corpus: \(dir)/short.txt is 6 tokens, shorter than one "
                                                             + "training window (17 tokens: --context + 1)"), "\(short.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/short"))
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
        #expect(other.stderr.contains("note: this run trained on 2 threads and resumes on 1;"), "\(other.stderr)")
        let same = try PretrainCommand.run(["--resume", "--out", run, "--steps", "8", "--threads", "1"])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(!same.stderr.contains("and resumes on"), "\(same.stderr)")
    }

    /// Each checkpoint's config.json says which step it holds and, for an evaluated step, its validation loss (the
    /// value metrics.jsonl logs for that step), so best/ can be told from latest/ without reading the log.
    @Test func checkpointsSayTheirStepAndValidationLoss() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let run = dir + "/run"
        let result = try PretrainCommand.run(["--data", data, "--out", run, "--steps", "6", "--eval-every", "3",
                                              "--checkpoint-every", "0"] + Self.oneBlock)
        #expect(result.status == 0, "\(result.stderr)")
        let logged = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let evaluated = logged.compactMap { line in (line["val_loss"] as? Double).map { (line["step"] as! Int, $0) } }
        #expect(evaluated.map(\.0) == [3, 6])
        let best = try #require(evaluated.min { $0.1 < $1.1 })
        let bestNotes = try #require(try Checkpoint.readConfig(directory: run + "/best").hf.swiftlet?.notes)
        #expect(bestNotes["step"] == String(best.0))
        #expect(Double(try #require(bestNotes["val_loss"])) == best.1)
        // The preset's shape was overridden: the start line says so, and config.json records no preset's name.
        #expect(result.stderr.contains("tiny preset with --layers, --heads, --width, --context given, 1 layer, 2 heads, "),
                "\(result.stderr)")
        #expect(try Checkpoint.readConfig(directory: run + "/latest").hf.swiftlet?.preset == "custom")
        let latestNotes = try #require(try Checkpoint.readConfig(directory: run + "/latest").hf.swiftlet?.notes)
        #expect(latestNotes["step"] == "6")
        // Paths are written as they are (JSONEncoder's default escapes every slash as \/).
        let configText = try String(contentsOfFile: run + "/latest/config.json", encoding: .utf8)
        #expect(configText.contains("\"data\" : \"\(latestNotes["data"] ?? "?")\"") && !configText.contains("\\/"), "\(configText)")
        // So are they in the training state's header, which holds the run's record as a JSON string.
        let state = String(decoding: try Data(contentsOf: URL(fileURLWithPath: run + "/latest/training_state.safetensors")).prefix(65_536), as: UTF8.self)
        #expect(state.contains("/data") && !state.contains("\\/"))
        #expect(Double(try #require(latestNotes["val_loss"])) == evaluated[1].1)
    }

    /// --patience stops a run after that many evaluations without a new best (best/ keeps the best); a resume
    /// keeps it stopped until given a larger --patience, and counts the evaluations since the best across the stop.
    @Test func patienceStopsARunThatNoLongerImproves() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let run = dir + "/run"
        // A learning rate this high makes the validation loss jump about from step to step.
        let first = try PretrainCommand.run(["--data", data, "--out", run, "--steps", "60", "--eval-every", "2",
                                             "--patience", "2", "--lr", "0.3"] + Self.oneBlock)
        #expect(first.status == 0, "\(first.stderr)")
        func evaluations() throws -> [(step: Int, loss: Double)] {
            try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
                let line = try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
                return (line["val_loss"] as? Double).map { (line["step"] as! Int, $0) }
            }
        }
        // It stopped at the second evaluation in a row that did not beat the best before them, and not earlier.
        let seen = try evaluations()
        let stop = try #require(seen.last).step
        #expect(stop < 60)
        func sinceBest(_ e: [(step: Int, loss: Double)]) -> Int {
            var best = Double.infinity, since = 0
            for (_, loss) in e { if loss < best { best = loss; since = 0 } else { since += 1 } }
            return since
        }
        #expect(sinceBest(seen) == 2 && !seen.dropLast().indices.contains { sinceBest(Array(seen[...$0])) >= 2 })
        let bestStep = try #require(seen.min { $0.loss < $1.loss }).step
        #expect(first.stdout.contains("stopped early (patience 2) after \(stop) steps"), "\(first.stdout)")
        #expect(try Checkpoint.readConfig(directory: run + "/best").hf.swiftlet?.notes["step"] == String(bestStep))

        let again = try PretrainCommand.run(["--resume", "--out", run, "--steps", "80"])
        #expect(again.status == 0 && again.stderr.contains("the run in \(run) stopped early at step \(stop) (no better "
            + "validation loss in 2 evaluations); give a larger --patience (or 0) with --resume to go on"), "\(again.stderr)")
        #expect(!again.stderr.contains("learning-rate schedule"), "\(again.stderr)")   // no step of it will run
        let more = try PretrainCommand.run(["--resume", "--out", run, "--patience", "4"])
        #expect(more.status == 0 && more.stderr.contains("; overriding --patience\n"), "\(more.stderr)")
        let after = try evaluations()
        try #require(after.count > seen.count)
        // Stopped by the new patience at the fourth evaluation without a new best (counted across the stop), or ran
        // to step 60 without four in a row; either way, no evaluation before the last had reached four.
        let resumedStop = try #require(after.last).step
        #expect(resumedStop < 60 ? sinceBest(after) == 4 : (resumedStop == 60 && sinceBest(after) < 4), "\(after)")
        #expect(!(seen.count..<(after.count - 1)).contains { sinceBest(Array(after[...$0])) >= 4 }, "\(after)")
        // A patience that cannot act is pointed out: one evaluation at the end, or none at all.
        let once = try PretrainCommand.run(["--data", data, "--out", dir + "/once", "--steps", "4", "--eval-every", "0",
                                            "--patience", "2"] + Self.oneBlock)
        #expect(once.status == 0 && once.stderr.contains("note: --patience 2 cannot stop this run early: it evaluates "
            + "only at its last step (--eval-every 0)"), "\(once.stderr)")
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: dir, name: "c.txt")
        let blind = try PretrainCommand.run(["--corpus", corpus, "--tokenizer-type", "char", "--val-fraction", "0",
                                             "--out", dir + "/blind", "--steps", "4", "--patience", "2"] + Self.oneBlock)
        #expect(blind.status == 0 && blind.stderr.contains("note: --patience 2 cannot stop this run early: it has no "
            + "validation data"), "\(blind.stderr)")
        // ... and its closing line names no best/, which such a run does not write.
        #expect(blind.stdout.contains("checkpoints: \(dir)/blind/latest (latest);") && !blind.stdout.contains("(best)"),
                "\(blind.stdout)")
        #expect(blind.stdout.hasSuffix("\nnext: sample --checkpoint \(dir)/blind\n"), "\(blind.stdout)")
        let refused = try PretrainCommand.run(["--data", data, "--out", dir + "/other", "--patience", "-1"] + Self.oneBlock)
        #expect(refused.status == 64 && refused.stderr.hasPrefix("error: --patience must be 0 (off) or positive (got -1)"),
                "\(refused.stderr)")
    }

    /// A finished run resumed with more --steps runs on a stretched cosine, so its rate jumps back up: the resume
    /// says so, with the rate the next step then runs at (as metrics.jsonl records it).
    @Test func resumingWithMoreStepsNotesTheScheduleChange() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let run = dir + "/run"
        let first = try PretrainCommand.run(["--data", data, "--out", run, "--steps", "6", "--eval-every", "0",
                                             "--warmup-steps", "2"] + Self.oneBlock)
        #expect(first.status == 0, "\(first.stderr)")
        let resumed = try PretrainCommand.run(["--resume", "--out", run, "--steps", "12"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let rates = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["lr"] as! Double
        }
        #expect(rates.count == 12)
        #expect(rates[6] > 2 * rates[5])   // past its end, the saved schedule stays at --min-lr (1e-4)
        #expect(resumed.stderr.contains("note: the learning-rate schedule changed (now warm-up 2, cosine to step 12): step 7 "
            + "runs at lr \(String(format: "%.2e", rates[6])), where the saved schedule had 1.00e-04"),
            "\(resumed.stderr)")
    }

    /// Another --eval-batches (or --batch-size) on resume changes the validation windows the loss estimates from;
    /// the best so far was measured the old way, and a note says so (the same windows say nothing: a step of
    /// --batch-size 1 x --grad-accum 2 evaluates the windows of --batch-size 2).
    @Test func resumingWithOtherEvaluationBatchesSaysSo() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let run = dir + "/run"
        let first = try PretrainCommand.run(["--data", data, "--out", run, "--steps", "4", "--eval-every", "2"] + Self.oneBlock)
        #expect(first.status == 0, "\(first.stderr)")
        let same = try PretrainCommand.run(["--resume", "--out", run, "--steps", "6", "--eval-batches", "1"])
        #expect(same.status == 0 && !same.stderr.contains("validation losses from now on"), "\(same.stderr)")
        // The resume line lists what changed: a value given again as it was is not an override.
        #expect(same.stderr.contains("resuming \(run) at step 4 of 6; overriding --steps\n"), "\(same.stderr)")
        let notes = try #require(try Checkpoint.readConfig(directory: run + "/best").hf.swiftlet?.notes)
        let best = try #require(notes["val_loss"].flatMap(Double.init)), bestStep = try #require(notes["step"])
        let other = try PretrainCommand.run(["--resume", "--out", run, "--steps", "8", "--eval-batches", "3"])
        #expect(other.status == 0, "\(other.stderr)")
        #expect(other.stderr.contains("at step 6 of 8; overriding --steps, --eval-batches\n"), "\(other.stderr)")
        #expect(other.stderr.contains("note: validation losses from now on are means over 6 windows (--eval-batches x "
            + "--batch-size x --grad-accum), the best so far (\(String(format: "%.4f", best)) at step \(bestStep)) over 2: a "
            + "new best may then come from the estimate rather than the model"), "\(other.stderr)")
        // Back to 1 batch of 2: the note compares with the windows the best was measured with, which may now be 6.
        let state = try #require(try Checkpoint.readTrainingState(directory: run + "/latest"))
        let record = try RunRecord.decode(state.configuration, path: run)
        let measured = try #require(record.bestEvalWindows)
        let back = try PretrainCommand.run(["--resume", "--out", run, "--steps", "10", "--eval-batches", "1"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.stderr.contains(") over \(measured): a new best") == (measured != 2), "best over \(measured): \(back.stderr)")
        // Another batch size is other windows (it said nothing); the same step split in two is the same windows.
        // A run whose every evaluation took 2 windows (batch 2, one batch):
        let steady = dir + "/steady"
        let started = try PretrainCommand.run(["--data", data, "--out", steady, "--steps", "4", "--eval-every", "2"] + Self.oneBlock)
        #expect(started.status == 0, "\(started.stderr)")
        let split = try PretrainCommand.run(["--resume", "--out", steady, "--steps", "6", "--batch-size", "1", "--grad-accum", "2"])
        #expect(split.status == 0 && !split.stderr.contains("validation losses from now on"), "\(split.stderr)")
        let half = try PretrainCommand.run(["--resume", "--out", steady, "--steps", "8", "--batch-size", "1", "--grad-accum", "1"])
        #expect(half.status == 0 && half.stderr.contains("means over 1 window (--eval-batches x --batch-size x --grad-accum), "
                                                         + "the best so far ("), "\(half.stderr)")
        #expect(half.stderr.contains(") over 2: a new best"), "\(half.stderr)")
    }

    /// More threads than cores is allowed (the results are the same) but slower, and the summary says so; the
    /// thread count is spelled as a count ("1 thread").
    @Test func moreThreadsThanCoresAreNoted() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let many = try PretrainCommand.run(["--data", data, "--out", dir + "/many", "--steps", "1", "--threads", "\(cores + 1)"]
                                           + Self.oneBlock)
        #expect(many.status == 0 && many.stderr.contains("note: --threads \(cores + 1) is more than the \(cores) cores here"),
                "\(many.stderr)")
        let one = try PretrainCommand.run(["--data", data, "--out", dir + "/one", "--steps", "1", "--threads", "1"] + Self.oneBlock)
        #expect(one.status == 0 && one.stderr.contains("; 1 thread\n") && !one.stderr.contains("more than the"), "\(one.stderr)")
    }

    /// Ctrl-C saves latest/ and exits, saying so at once; --resume finishes the run with the losses of an
    /// uninterrupted one. The Ctrl-C arrives twice in a row, as `timeout -s INT` and some shells deliver it
    /// (to the process and to its group): that is still one request, not "quit without saving".
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
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let metrics = dir + "/interrupted/metrics.jsonl"
        Fixtures.waitForLines(in: metrics, atLeast: 3, timeout: 120)
        kill(process.processIdentifier, SIGINT)
        kill(process.processIdentifier, SIGINT)
        let messages = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(messages.contains("Ctrl-C: stopping after this step (or this micro-batch of it) and saving \(dir)/interrupted/latest"), "\(messages)")
        #expect(!messages.contains("quit without saving"), "\(messages)")
        let stoppedAt = try Self.trainLosses(dir + "/interrupted").count
        #expect(stoppedAt >= 3 && stoppedAt < 60, "stopped after \(stoppedAt) steps")

        let resumed = try PretrainCommand.run(["--resume", "--out", dir + "/interrupted"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming \(dir)/interrupted at step \(stoppedAt) of 60"))
        #expect(try Self.trainLosses(dir + "/interrupted") == (try Self.trainLosses(dir + "/straight")))
    }

    /// `pretrain --resume` of a fine-tuning run points to `finetune --resume` (it named an unexpected tensor).
    @Test func aFineTuningRunIsResumedByFinetune() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FinetuneTests/Fixtures").path
        try FileManager.default.createDirectory(atPath: dir + "/run", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixtures + "/tiny-classifier", toPath: dir + "/run/latest")
        let resumed = try PretrainCommand.run(["--resume", "--out", dir + "/run"])
        #expect(resumed.status == 1 && resumed.stderr == "error: --resume: \(dir)/run holds a fine-tuned classifier; continue "
                + "it with finetune --resume --out \(dir)/run\n", "\(resumed.stderr)")
        // A prompt -> completion run too (its model is a language model; it was taken for pretrain's and failed on
        // its data file, named as a data directory).
        let pairs = dir + "/pairs.jsonl"
        try "{\"prompt\": \"In the beginning\", \"completion\": \" God created\"}\n".write(toFile: pairs, atomically: true, encoding: .utf8)
        let completion = try BuiltExecutable("finetune").run(["--task", "complete", "--checkpoint", fixtures + "/tiny-lm",
                                                              "--data", pairs, "--val-file", pairs, "--steps", "1",
                                                              "--threads", "1", "--out", dir + "/complete"])
        #expect(completion.status == 0, "\(completion.stderr)")
        let refused = try PretrainCommand.run(["--resume", "--out", dir + "/complete"])
        #expect(refused.status == 1 && refused.stderr == "error: --resume: \(dir)/complete holds a fine-tuning run; continue "
                + "it with finetune --resume --out \(dir)/complete\n", "\(refused.stderr)")
    }

    /// And the other way round: `finetune --resume` on a pretraining run names the command that continues it.
    @Test func aPretrainingRunIsResumedByPretrain() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let run = dir + "/run"
        let trained = try PretrainCommand.run(["--data", data, "--out", run, "--steps", "2"] + Self.oneBlock)
        #expect(trained.status == 0, "\(trained.stderr)")
        let resumed = try BuiltExecutable("finetune").run(["--resume", "--out", run])
        #expect(resumed.status == 1 && resumed.stderr == "error: --resume: \(run) holds a pretraining run, not a fine-tuning "
                + "one; continue it with pretrain --resume --out \(run)\n", "\(resumed.stderr)")
    }

    /// A run directory that a live run holds (its lock, taken here as a training process takes it) is refused by
    /// a second --resume and by --overwrite, before either touches metrics.jsonl or a checkpoint; a new run into a
    /// directory another process has just made and locked (its setup under way) leaves that directory alone.
    @Test func aRunInUseIsLeftAlone() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let first = try PretrainCommand.run(["--data", data, "--steps", "2", "--out", dir + "/run"] + Self.tinyModel)
        #expect(first.status == 0, "\(first.stderr)")
        let metrics = try Data(contentsOf: URL(fileURLWithPath: dir + "/run/metrics.jsonl"))
        let live = RunDirectory(path: dir + "/run"), starting = RunDirectory(path: dir + "/starting")
        try live.lock()
        try starting.createAndLock()
        defer { live.unlock(); starting.unlock() }
        for arguments in [["--resume", "--steps", "4"], ["--data", data, "--overwrite", "--steps", "2"] + Self.tinyModel] {
            let refused = try PretrainCommand.run(arguments + ["--out", dir + "/run"])
            #expect(refused.status == 1 && refused.stderr == "error: --out: \(dir)/run is in use: another process is "
                    + "training in it now; wait for it to stop, or choose another --out\n", "\(arguments): \(refused.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/run/metrics.jsonl")) == metrics)
        let second = try PretrainCommand.run(["--data", data, "--steps", "2", "--out", dir + "/starting"] + Self.tinyModel)
        #expect(second.status == 1 && second.stderr.contains("\(dir)/starting is in use"), "\(second.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/starting"))
    }

    /// `kill` (SIGTERM) and a closed terminal (SIGHUP) stop a run the way Ctrl-C does: latest/ saved, exit status
    /// 128 + the signal's number (143, 129). Output pipes that
    /// were closed (`pretrain | head -1`) do not kill the run between two checkpoints (SIGPIPE is ignored).
    @Test(arguments: [SIGTERM, SIGHUP])
    func killAndAClosedPipeStillSave(signal: Int32) throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = try Self.preparedData(in: dir)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(PretrainCommand.path))
        process.arguments = ["--data", data, "--steps", "100000", "--eval-every", "0", "--out", dir + "/run"] + Self.tinyModel
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        try stdout.fileHandleForReading.close()
        try stderr.fileHandleForReading.close()
        let metrics = dir + "/run/metrics.jsonl"
        Fixtures.waitForLines(in: metrics, atLeast: 3, timeout: 120)
        kill(process.processIdentifier, signal)   // `kill`, or a closed terminal
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 128 + signal)
        let saved = try #require(try? Checkpoint.load(from: dir + "/run/latest").trainingState?.step)
        let logged = try Self.trainLosses(dir + "/run").count
        #expect(saved >= 3 && saved == logged)
    }

    /// A resumed run keeps its model and its data: options that would change them are refused by name, data
    /// encoded with another tokenizer (even of the same size) is refused, and the run resumes from any directory
    /// (it records its data directory as an absolute path).
    @Test func resumeKeepsItsModelAndData() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: dir, name: "corpus.txt")
        // Prepared with a relative --out, and trained with a relative --data, from `dir`.
        let prepared = try PretrainCommand.run(["prepare", "--corpus", corpus, "--tokenizer-type", "char", "--vocab-size", "100",
                                                "--out", "data"], in: dir)
        #expect(prepared.status == 0, "\(prepared.stderr)")
        let first = try PretrainCommand.run(["--data", "data", "--steps", "2", "--out", "run"] + Self.tinyModel, in: dir)
        #expect(first.status == 0, "\(first.stderr)")

        func expectRefused(_ arguments: [String], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try PretrainCommand.run(["--resume", "--out", dir + "/run"] + arguments)
            #expect(result.status == 1 && result.stderr.contains(fragment), "\(arguments): \(result.stderr)",
                    sourceLocation: sourceLocation)
        }
        try expectRefused(["--preset", "small"], "a resumed run keeps its model's shape; leave out --preset")
        try expectRefused(["--vocab-size", "50", "--tokenizer-type", "bpe"], "keeps its data; leave out --tokenizer-type, --vocab-size (")
        try expectRefused(["--val-fraction", "0.5"], "leave out --val-fraction (")
        try expectRefused(["--seed", "4"], "come from it); leave out --seed")
        try expectRefused(["--steps", "1"], "--steps: the run in \(dir)/run is at step 2; give more steps than that to go on")
        try expectRefused(["--lr", "1e-9"], "--lr: 1e-09 is below the run's minimum learning rate")
        // Another tokenizer with the same number of pieces: the ids would mean other characters.
        let other = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: dir, name: "other.txt")
        // The same characters, the rarest of them made the most frequent: the same vocabulary size, other ids.
        let text = try String(contentsOfFile: other, encoding: .utf8)
        let rarest = Dictionary(text.map { ($0, 1) }, uniquingKeysWith: +).filter { $0.key.isLetter }.min { $0.value < $1.value }!.key
        // (In lines of 50: SentencePiece trains on lines of at most 4192 bytes, so one line of 5000 was not seen.)
        try (text + String(repeating: String(repeating: rarest, count: 50) + "\n", count: 100))
            .write(toFile: other, atomically: true, encoding: .utf8)
        let otherData = dir + "/other-data"
        let reversed = try PretrainCommand.run(["prepare", "--corpus", other, "--tokenizer-type", "char", "--vocab-size", "100",
                                                "--out", otherData])
        #expect(reversed.status == 0, "\(reversed.stderr)")
        let ours = try Data(contentsOf: URL(fileURLWithPath: dir + "/data/tokenizer.model"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: otherData + "/tokenizer.model")) != ours)
        try expectRefused(["--data", otherData, "--steps", "4"], "is not the tokenizer this run was trained with")
        // The run's own tokenizer over another text: the ids mean the same characters, but it is not the run's data.
        let retokenized = try PretrainCommand.run(["prepare", "--corpus", other, "--tokenizer", dir + "/data/tokenizer.model",
                                                   "--out", dir + "/same-tokenizer"])
        #expect(retokenized.status == 0, "\(retokenized.stderr)")
        try expectRefused(["--data", dir + "/same-tokenizer", "--steps", "4"],
                          "--data: \(dir)/same-tokenizer is not the data this run trained on (its token files changed since the run started)")
        #expect(try Self.trainLosses(dir + "/run").count == 2)

        // From another directory, with the relative paths the run started with.
        let resumed = try PretrainCommand.run(["--resume", "--out", dir + "/run", "--steps", "4", "--threads", "1"], in: "/")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.trainLosses(dir + "/run").count == 4)
        // A copy of the data whose tokenizer.model differs in bytes but not in vocabulary (an unknown protobuf
        // field appended, as older models held file paths) is the run's data.
        try FileManager.default.copyItem(atPath: dir + "/data", toPath: dir + "/data-copy")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/data-copy/tokenizer.model"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0xF8, 0x07, 0x01]))   // field 127, varint 1
        try handle.close()
        let copied = try PretrainCommand.run(["--resume", "--out", dir + "/run", "--steps", "5", "--threads", "1",
                                              "--data", dir + "/data-copy"])
        #expect(copied.status == 0, "\(copied.stderr)")
        #expect(try Self.trainLosses(dir + "/run").count == 5)
    }

    /// --overwrite replaces a run prepared from other corpus files (its OUT/data too), and a preparation stopped
    /// before it could clean up leaves no temporary directory behind the next one.
    @Test func overwriteReplacesARunOfAnotherCorpus() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: dir, name: "corpus.txt")
        let arguments = ["--tokenizer-type", "char", "--vocab-size", "100", "--steps", "2", "--out", dir + "/run"] + Self.tinyModel
        let first = try PretrainCommand.run(["--corpus", corpus] + arguments)
        #expect(first.status == 0, "\(first.stderr)")
        // An abandoned temporary directory of a preparation whose process is gone (no process holds its lock).
        let abandoned = dir + "/run/.data.prepare-4194305"
        try FileManager.default.createDirectory(atPath: abandoned, withIntermediateDirectories: true)
        let again = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 30_000, to: dir, name: "longer.txt")
        let refused = try PretrainCommand.run(["--corpus", again] + arguments)
        #expect(refused.status == 1 && refused.stderr.contains("--overwrite"), "\(refused.stderr)")
        // An --overwrite refused after the new corpus was prepared (a batch beyond memory) leaves the old run's
        // data in place, and the old run resumes.
        let tokenizer = try Data(contentsOf: URL(fileURLWithPath: dir + "/run/data/tokenizer.model"))
        let tooLarge = try PretrainCommand.run(["--corpus", again, "--overwrite"] + arguments + ["--batch-size", "99999999999"])
        #expect(tooLarge.status == 1 && tooLarge.stderr.contains("GB of memory here"), "\(tooLarge.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/run/data/tokenizer.model")) == tokenizer)
        #expect(!FileManager.default.fileExists(atPath: dir + "/run/.data-replacement"))
        let resumed = try PretrainCommand.run(["--resume", "--out", dir + "/run", "--steps", "3"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let replaced = try PretrainCommand.run(["--corpus", again, "--overwrite"] + arguments)
        #expect(replaced.status == 0, "\(replaced.stderr)")
        let manifest = try String(contentsOfFile: dir + "/run/data/manifest.json", encoding: .utf8)
        #expect(manifest.contains("longer.txt") && !manifest.contains("corpus.txt"), "\(manifest)")
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        // A run moved with the data it prepared resumes on that data, wherever it now is.
        try FileManager.default.moveItem(atPath: dir + "/run", toPath: dir + "/moved")
        let moved = try PretrainCommand.run(["--resume", "--out", dir + "/moved", "--steps", "3"])
        #expect(moved.status == 0, "\(moved.stderr)")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/moved/latest/config.json")))
        let notes = ((config as? [String: Any])?["swiftlet"] as? [String: Any])?["notes"] as? [String: String]
        #expect(notes?["data"] == dir + "/moved/data", "\(String(describing: notes))")
        // Its data moved elsewhere, the run says where to give it, and resumes on it with --data.
        try FileManager.default.moveItem(atPath: dir + "/moved/data", toPath: dir + "/data-elsewhere")
        let gone = try PretrainCommand.run(["--resume", "--out", dir + "/moved", "--steps", "4"])
        #expect(gone.status == 1 && gone.stderr == "error: --resume: the run's data, \(dir)/moved/data, is gone; give its new "
                + "place with --data\n", "\(gone.stderr)")
        let found = try PretrainCommand.run(["--resume", "--out", dir + "/moved", "--steps", "4", "--data", dir + "/data-elsewhere"])
        #expect(found.status == 0, "\(found.stderr)")
    }

    /// A .npy of uint32 ids, written byte by byte (`TokenFileWriter` takes Int32 ids, which cannot hold 2^31 and up).
    static func writeUInt32Tokens(_ ids: [UInt32], to path: String) throws {
        var header = "{'descr': '<u4', 'fortran_order': False, 'shape': (\(ids.count),), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count % 256), UInt8(header.utf8.count / 256)]
        bytes += Array(header.utf8)
        for id in ids { withUnsafeBytes(of: id.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
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
        try expectError(["--data", dir + "/nowhere"] + out, "--data: \(dir)/nowhere does not exist")
        try expectError(["--data", dir + "/short.txt"] + out, "--data: \(dir)/short.txt holds no prepared data")
        // A checkpoint given as --data is named as one (it was "train.npy: cannot open the token file").
        try FileManager.default.createDirectory(atPath: dir + "/checkpoint", withIntermediateDirectories: true)
        try "{}".write(toFile: dir + "/checkpoint/config.json", atomically: true, encoding: .utf8)
        try "tokenizer".write(toFile: dir + "/checkpoint/tokenizer.model", atomically: true, encoding: .utf8)
        try expectError(["--data", dir + "/checkpoint"] + out, "--data: \(dir)/checkpoint is a checkpoint, not prepared data")
        try expectError(["--data", data, "--heads", "3", "--width", "16"] + out, "--heads: the number of heads (3) must divide the width (16)")
        try expectError(["--data", data, "--out", dir + "/short.txt"], "--out: \(dir)/short.txt is a file, not a run directory")
        // A batch far beyond memory is refused before anything is allocated (it used to end in a fatal error).
        try expectError(["--data", data, "--batch-size", "99999999999"] + out, "--batch-size: a batch of 99999999999 x 64 tokens")
        // A run stopped before its first checkpoint: a new run is told it can only replace it, as --resume says.
        try FileManager.default.createDirectory(atPath: dir + "/half", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: dir + "/half/metrics.jsonl", contents: Data()))
        try expectError(["--data", data, "--out", dir + "/half"], "already holds a run that saved no checkpoint to resume (metrics.jsonl)")
        try expectError(["--resume", "--out", dir + "/half"], "holds no checkpoint to resume")
        // Options are checked before a corpus is prepared: nothing is trained or written for a refused value.
        let refusedCorpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: dir, name: "refused.txt")
        try expectError(["--corpus", refusedCorpus, "--tokenizer-type", "char", "--heads", "3", "--width", "16", "--out", dir + "/refused"],
                        "heads (3) must divide the width (16)")
        try expectError(["--corpus", refusedCorpus, "--tokenizer-type", "char", "--batch-size", "99999999", "--out", dir + "/refused"],
                        "--batch-size: a batch of 99999999 x 64 tokens")
        #expect(!FileManager.default.fileExists(atPath: dir + "/refused/data"), "prepared a corpus for a refused run")
        // Token ids beyond the tokenizer's vocabulary are refused before training (a uint32 id of 2^31 or more
        // passed the check as a negative number, and the run stopped when a batch first drew it).
        let vocabulary = try SentencePieceTokenizer(contentsOf: data + "/tokenizer.model").vocabularySize
        for (name, id) in [("first-beyond", UInt32(vocabulary)), ("top-bit", UInt32.max)] {
            let bad = dir + "/" + name
            try FileManager.default.copyItem(atPath: data, toPath: bad)
            try FileManager.default.removeItem(atPath: bad + "/manifest.json")   // token files made elsewhere
            try Self.writeUInt32Tokens([1, 2, id, 3] + Array(repeating: 4, count: 100), to: bad + "/train.npy")
            try expectError(["--data", bad] + out, "\(bad)/train.npy: holds token id \(id), outside the model's vocabulary of \(vocabulary)")
        }
        // A prepared directory whose files are no longer those its manifest.json records is refused (it trained on
        // swapped train/val files, or on ids of another tokenizer, with exit 0); so is a manifest that does not parse.
        let otherTokenizer = dir + "/other-data"
        _ = try PretrainCommand.run(["prepare", "--corpus", refusedCorpus, "--tokenizer-type", "bpe", "--vocab-size", "120",
                                     "--out", otherTokenizer])
        let changes: [(String, (String) throws -> Void, String)] = [
            ("swapped", { d in
                try FileManager.default.moveItem(atPath: d + "/val.npy", toPath: d + "/tmp.npy")
                try FileManager.default.moveItem(atPath: d + "/train.npy", toPath: d + "/val.npy")
                try FileManager.default.moveItem(atPath: d + "/tmp.npy", toPath: d + "/train.npy")
            }, "train.npy: not the file `pretrain prepare` wrote (manifest.json records another fingerprint); prepare the data again, or remove manifest.json"),
            ("retokenized", { d in
                try FileManager.default.removeItem(atPath: d + "/tokenizer.model")
                try FileManager.default.copyItem(atPath: otherTokenizer + "/tokenizer.model", toPath: d + "/tokenizer.model")
            }, "tokenizer.model: not the file `pretrain prepare` wrote"),
            ("no-val", { d in try FileManager.default.removeItem(atPath: d + "/val.npy") }, "val.npy: missing, though manifest.json records it"),
            ("bad-manifest", { d in try "{".write(toFile: d + "/manifest.json", atomically: true, encoding: .utf8) },
             "manifest.json: not a manifest `pretrain prepare` wrote"),
        ]
        for (name, change, fragment) in changes {
            let changed = dir + "/" + name
            try FileManager.default.copyItem(atPath: data, toPath: changed)
            try change(changed)
            try expectError(["--data", changed] + out, "\(changed)/" + fragment)
            #expect(!FileManager.default.fileExists(atPath: dir + "/run"), "a refused run left its directory")
        }
        try expectError(["--corpus", dir + "/short.txt", "--tokenizer-type", "char", "--vocab-size", "100", "--context", "64"] + out,
                        "--corpus: the training part of \(dir)/short.txt is 5 tokens, shorter than one training window")
        // That refused run leaves no run directory behind (its prepared data would block a retry with another corpus).
        #expect(!FileManager.default.fileExists(atPath: dir + "/run"))
        try expectError(["--resume"] + out, "--resume: \(dir)/run does not exist: there is no run to resume")
        // Usage errors found by argument-parser (a value that does not parse, an unknown option) and the checks
        // of single options are one line too, naming the help to read, with its usage exit status 64.
        for (arguments, fragment) in [(["--steps", "abc"], "The value 'abc' is invalid for '--steps <steps>' (see 'pretrain train --help')"),
                                      (["--data", data, "--batch-size", "0"], "--batch-size: must be at least 1 (got 0) (see 'pretrain train --help')"),
                                      (["--data", data, "--grad-accum", "1000000000"], "--grad-accum: must be 1 to 1048576 (got 1000000000)"),
                                      // Typos for a run or an evaluation that never ends.
                                      (["--data", data, "--steps", "9223372036854775807"], "--steps: must be 1 to 1000000000 (got 9223372036854775807)"),
                                      (["--data", data, "--eval-batches", "1000001"], "--eval-batches: must be 1 to 1000000 (got 1000001)"),
                                      (["--data", data, "--layers", "0"], "--layers: model layers must be positive (got 0)"),
                                      (["--data", data, "--preset", "huge"], "--preset: unknown preset 'huge'"),
                                      (["--data", data, "--dropout", "1.5"], "--dropout: dropout must be in [0, 1) (got 1.5)"),
                                      (["--data", data, "--lr=-1"], "--lr: must be a positive number (got -1.0)"),
                                      (["--data", data, "--lr", "-1"], "--lr"),   // a negative value without "=" too
                                      (["--corpus", refusedCorpus, "--tokenizer-type", "char", "--warmup-steps=-1"],
                                       "--warmup-steps: must not be negative"),
                                      (["prepare", "--bogus"], "Unknown option '--bogus'"),
                                      // A mistyped command is named (it had been taken for the default command's input).
                                      (["evalute", "--data", data], "'evalute' is neither a command of pretrain (train, prepare, evaluate, tokenize, decode) nor an option's value"),
                                      (["--threads", "2", "evaluate"], "'evaluate' is a command of pretrain: give it first (pretrain evaluate ...)"),
                                      (["--corpus", refusedCorpus, refusedCorpus], "is no option's value: give each file with its own --corpus"),
                                      (["--data", data, "--sample-prompt", "JULIET:"], "--sample-prompt applies with --sample-every N (N > 0)"),
                                      (["--data", data, "--sample-tokens", "9", "--sample-every", "0"], "--sample-tokens applies with --sample-every N (N > 0)"),
                                      (["--tokenizer-type", "bogus"], "--tokenizer-type: 'bogus' is not one of bpe, unigram, char, word"),
                                      (["--vocab-size", "0"], "--vocab-size must be 1 to 1073741824 (got 0)"),
                                      (["prepare", "--val-fraction", "1"], "--val-fraction must be at least 0 and below 1 (got 1.0)"),
                                      (["--val-fraction", "1"], "--val-fraction must be at least 0 and below 1 (got 1.0)"),
                                      (["--corpus", ""], "--corpus must name a file (got an empty name)"),
                                      (["--data", data, "--corpus", refusedCorpus], "give either --data or --corpus, not both"),
                                      (["--data", data, "--vocab-size", "300"], "--vocab-size applies when preparing --corpus files"),
                                      (["--corpus", refusedCorpus, "--vocab-size", "5"], "--vocab-size"),
                                      (["prepare", "--corpus", dir + "/short.txt"], "--out must name a directory"),
                                      (["--data", data], "--out must name a directory")] {
            // (An empty --out, given last, is refused before any work: it prepared the corpus, then failed.)
            let result = try PretrainCommand.run(arguments + (fragment.hasPrefix("--out") ? ["--out", ""] : out))
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
        try expectError(["--data", data, "--steps", "2", "--min-lr", "0.5"] + Self.tinyModel + out,
                        "--min-lr: must be between 0 and --lr (got 0.5, and --lr is 0.001)")
        // A checkpoint given as --out is not a run directory: nothing is written into it.
        try expectError(["--data", data, "--steps", "2", "--overwrite", "--out", dir + "/run/latest"] + Self.tinyModel,
                        "--out: \(dir)/run/latest is a checkpoint, not a run directory")
        #expect(!FileManager.default.fileExists(atPath: dir + "/run/latest/latest"))
        // With --overwrite, a refused option or a bad corpus still costs the old run nothing.
        let refusedUsage = try PretrainCommand.run(["--data", data, "--steps", "2", "--overwrite"] + Self.tinyModel + out
                                                   + ["--batch-size", "0"])
        #expect(refusedUsage.status == 64 && refusedUsage.stderr.contains("--batch-size: must be at least 1"))
        try expectError(["--data", data, "--steps", "2", "--overwrite", "--min-lr", "0.5"] + Self.tinyModel + out,
                        "--min-lr: must be between 0 and --lr")
        try expectError(["--corpus", dir + "/missing.txt", "--overwrite"] + Self.tinyModel + out, "missing.txt")
        for file in ["latest/model.safetensors", "best/model.safetensors", "metrics.jsonl", "loss.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/run/" + file), "--overwrite removed \(file) of a run it never replaced")
        }
        #expect(try Self.trainLosses(dir + "/run").count == 2)
        try expectError(["--resume", "--layers", "3"] + out, "keeps its model's shape; leave out --layers")
        // Something other than a checkpoint directory in best/'s place is refused before training (the run trained,
        // then failed to save, losing the steps); a link that leads nowhere too.
        try FileManager.default.moveItem(atPath: dir + "/run/best", toPath: dir + "/best-aside")
        for blocker in ["file", "dangling link"] {
            if blocker == "file" { try "notes".write(toFile: dir + "/run/best", atomically: true, encoding: .utf8) }
            else { try FileManager.default.createSymbolicLink(atPath: dir + "/run/best", withDestinationPath: dir + "/nowhere") }
            try expectError(["--resume", "--steps", "3"] + out,
                            "--out: \(dir)/run/best is not a checkpoint directory, and the run saves one there; move it away")
            try FileManager.default.removeItem(atPath: dir + "/run/best")
        }
        try FileManager.default.moveItem(atPath: dir + "/best-aside", toPath: dir + "/run/best")
        #expect(try Self.trainLosses(dir + "/run").count == 2)
        // A new run with --overwrite replaces such a best/ (a link that leads nowhere was left, and failed its save).
        try FileManager.default.copyItem(atPath: dir + "/run", toPath: dir + "/run-copy")
        try FileManager.default.removeItem(atPath: dir + "/run-copy/best")
        try FileManager.default.createSymbolicLink(atPath: dir + "/run-copy/best", withDestinationPath: dir + "/nowhere")
        let replaced = try PretrainCommand.run(["--data", data, "--steps", "2", "--overwrite", "--out", dir + "/run-copy"] + Self.tinyModel)
        #expect(replaced.status == 0, "\(replaced.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir + "/run-copy/best/model.safetensors"))

        // A checkpoint whose vocabulary does not match the data's tokenizer.
        let other = dir + "/other"
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: dir, name: "again.txt")
        let prepared = try PretrainCommand.run(["prepare", "--corpus", corpus, "--vocab-size", "120", "--out", other])
        #expect(prepared.status == 0, "\(prepared.stderr)")
        try expectError(["--resume", "--data", other] + out, "vocabulary")
    }
}
