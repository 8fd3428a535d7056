import TestSupport
import Foundation
import Testing
import FineTuneData
import GPT
import Tokenizer
import Training

/// The `finetune` executable end to end on the tiny fixture model (quick in debug builds): train, evaluate,
/// predict, resume; and bad input, each ending with one `error: ...` line naming the file (and line).
@Suite(.serialized) struct FinetuneCommandTests {
    static let quick = ["--batch-size", "4", "--threads", "1"]

    @Test func classifyTrainEvaluatePredict() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 48, as: "train.jsonl")
        let out = scratch.path + "/run"
        let train = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                             "--val-fraction", "0.25", "--steps", "4", "--eval-every", "2",
                                             "--lm-loss-weight", "0.5", "--class-weights", "balanced",
                                             "--freeze-layers", "1", "--out", out] + Self.quick)
        #expect(train.status == 0, "stderr: \(train.stderr)")
        #expect(train.stdout.contains("finished 4 steps in "))
        // The commands the run names next work as printed, once FILE and PREDICTIONS are filled in.
        let next = try #require(train.stdout.split(separator: "\n").last.map(String.init))
        #expect(next == "next: finetune evaluate --checkpoint \(out) --data FILE; finetune predict --checkpoint "
                        + "\(out) --input FILE --out PREDICTIONS.jsonl", "\(train.stdout)")
        for command in next.dropFirst("next: ".count).components(separatedBy: "; ") {
            let words = command.replacingOccurrences(of: "FILE", with: data)
                .replacingOccurrences(of: "PREDICTIONS", with: scratch.path + "/next").split(separator: " ").map(String.init)
            #expect(words.first == "finetune")
            let result = try FinetuneCommand.run(Array(words.dropFirst()))
            #expect(result.status == 0, "\(command): \(result.stderr)")
        }
        let records = try MetricsLog.readLines(out + "/metrics.jsonl")
        #expect(records.map { $0["step"] as? Int } == [1, 2, 3, 4])
        #expect(records[1]["macro_f1"] != nil && records[1]["accuracy"] != nil && records[1]["val_loss"] != nil)
        #expect(records[0]["examples_per_s"] != nil && records[0]["macro_f1"] == nil)
        let loaded = try ClassifierCheckpoint.load(from: out + "/best")
        #expect(loaded.classifier.labelCount >= 2)
        // Frozen: embeddings and block 0 equal the starting checkpoint's.
        let start = try Checkpoint.load(from: Fixture.languageModel, includeTrainingState: false).model
        #expect(loaded.classifier.model.parameterValues(named: "transformer.wte.weight") == start.parameterValues(named: "transformer.wte.weight"))
        #expect(loaded.classifier.model.parameterValues(named: "transformer.h.0.mlp.c_fc.weight") == start.parameterValues(named: "transformer.h.0.mlp.c_fc.weight"))
        #expect(loaded.classifier.model.parameterValues(named: "transformer.h.1.mlp.c_fc.weight") != start.parameterValues(named: "transformer.h.1.mlp.c_fc.weight"))

        let evaluation = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data, "--json"])
        #expect(evaluation.status == 0, "stderr: \(evaluation.stderr)")
        let report = try JSONDecoder().decode(ClassificationReport.self, from: Data(evaluation.stdout.utf8))
        #expect(report.examples == 48 && report.unknownLabels == 0)
        #expect(report.meanLoss.map { $0.isFinite && $0 > 0 } == true, "evaluate --json reports the mean loss")
        #expect(report.confusion.matrix.flatMap { $0 }.reduce(0, +) == 48)
        let table = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data])
        #expect(table.stdout.contains("macro F1") && table.stdout.contains("confusion"))

        let predictions = scratch.path + "/predictions.jsonl"
        // The hidden partial output of a predict that was killed (no process holds its lock) goes with the next one.
        let killed = scratch.path + "/.predictions.jsonl.partial-4194305"
        try Data("{\"text\": \"half".utf8).write(to: URL(fileURLWithPath: killed))
        let predict = try FinetuneCommand.run(["predict", "--checkpoint", out, "--input", data, "--out", predictions])
        #expect(predict.status == 0, "stderr: \(predict.stderr)")
        #expect(!FileManager.default.fileExists(atPath: killed))
        let lines = try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 48)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["text"] != nil && first["label"] != nil)
        let probabilities = try #require(first["probabilities"] as? [String: Double])
        #expect(Set(probabilities.keys) == Set(loaded.classifier.labels))
        #expect(abs(probabilities.values.reduce(0, +) - 1) < 1e-4)
        #expect(probabilities[first["predicted_label"] as? String ?? ""] == probabilities.values.max())
        // Every row's probabilities are the softmax of the classifier's logits for its own text alone (batch 1, no
        // padding, the text's first `context` tokens), so no row gets another's; evaluate's accuracy and mean loss
        // are those of these probabilities against the rows' labels.
        let tokenizer = try SentencePieceTokenizer(contentsOf: out + "/best/tokenizer.model")
        let context = loaded.classifier.model.config.context
        var (correct, lossSum) = (0, 0.0)
        for line in lines {
            let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let tokens = Array(try tokenizer.encode(try #require(row["text"] as? String)).prefix(context))
            let logits = try loaded.classifier.logits(tokens: tokens, lengths: [tokens.count], batch: 1, time: tokens.count).map(Double.init)
            let exps = logits.map { exp($0 - logits.max()!) }
            let expected = exps.map { $0 / exps.reduce(0, +) }
            let written = try #require(row["probabilities"] as? [String: Double])
            for (k, label) in loaded.classifier.labels.enumerated() {
                #expect(abs((written[label] ?? -1) - expected[k]) < 1e-5, "\(label): \(written[label] ?? -1) vs \(expected[k])")
            }
            let label = try #require(row["label"] as? String)
            let gold = try #require(loaded.classifier.labels.firstIndex(of: label))
            if row["predicted_label"] as? String == loaded.classifier.labels[gold] { correct += 1 }
            lossSum -= log(expected[gold])
        }
        #expect(abs(report.accuracy - Double(correct) / 48) < 1e-12, "accuracy \(report.accuracy), predictions \(correct) of 48")
        #expect(abs((report.meanLoss ?? 0) - lossSum / 48) < 1e-4 * lossSum / 48, "mean loss \(report.meanLoss ?? 0) vs \(lossSum / 48)")
        // The output is never clobbered silently.
        let again = try FinetuneCommand.run(["predict", "--checkpoint", out, "--input", data, "--out", predictions])
        expectError(again, startsWith: "\(predictions): the output file already exists; choose another path or pass --overwrite")
    }

    /// `predict` reads a pipe (`--input <(zcat x.gz)`, here a FIFO with a writer); `train`, which reads its data
    /// again to resume, refuses one by name.
    @Test func aPipeIsReadByPredictAndRefusedByTrain() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 10, as: "in.jsonl")
        let fifo = scratch.path + "/pipe.jsonl"   // the format comes from the name
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "exec cat '\(data)' > '\(fifo)'"]
        try writer.run()
        let predict = try FinetuneCommand.run(["predict", "--checkpoint", Fixture.classifier, "--input", fifo,
                                               "--out", scratch.path + "/p.jsonl"])
        if writer.isRunning { writer.terminate() }   // (blocked opening the FIFO if predict never read it)
        writer.waitUntilExit()
        #expect(predict.status == 0, "stderr: \(predict.stderr)")
        #expect(try String(contentsOfFile: scratch.path + "/p.jsonl", encoding: .utf8).split(separator: "\n").count == 10)
        let train = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", fifo,
                                             "--out", scratch.path + "/run"] + Self.quick)
        expectError(train, startsWith: "--data: \(fifo) is a pipe or a device, not a regular file")
        // A device is refused at once (a link to /dev/zero would be read without end).
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/zero.jsonl", withDestinationPath: "/dev/zero")
        let zero = try FinetuneCommand.run(["predict", "--checkpoint", Fixture.classifier, "--input", scratch.path + "/zero.jsonl",
                                            "--out", scratch.path + "/z.jsonl"])
        expectError(zero, startsWith: "\(scratch.path)/zero.jsonl: cannot be read: a device, not a data file")
    }

    @Test func resumeContinuesTheRun() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 40, as: "train.jsonl")
        let out = scratch.path + "/run"
        let common = ["--data", data, "--val-fraction", "0.25", "--eval-every", "2", "--out", out] + Self.quick
        // Started with relative paths; resumed below from another working directory.
        #expect(data == scratch.path + "/train.jsonl")
        let first = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--steps", "2",
                                             "--data", "train.jsonl", "--val-fraction", "0.25", "--eval-every", "2",
                                             "--out", "run"] + Self.quick, in: scratch.path)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        let before = try MetricsLog.readLines(out + "/metrics.jsonl")
        let exists = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--steps", "2"] + common)
        expectError(exists, startsWith: "--out: \(out) already holds a run")
        // A wrong hyperparameter is named before the existing run.
        let badRate = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--steps", "2",
                                               "--lr", "-1"] + common)
        expectUsageError(badRate, "--lr must be a positive number (got -1.0)")
        // A mistyped command is named, not reported as the --out its line lacks.
        expectUsageError(try FinetuneCommand.run(["evalute", "--checkpoint", out, "--data", data]),
                         "'evalute' is neither a command of finetune (train, evaluate, predict) nor an option's value")
        // A command after an option is said to come first.
        expectUsageError(try FinetuneCommand.run(["--threads", "1", "evaluate", "--checkpoint", out, "--data", data]),
                         "'evaluate' is a command of finetune: give it first (finetune evaluate ...)")
        // With --overwrite, a run that cannot start (a missing start checkpoint) leaves the old one as it was.
        let failed = try FinetuneCommand.run(["--task", "classify", "--checkpoint", scratch.path + "/nowhere", "--steps", "2",
                                              "--overwrite"] + common)
        expectError(failed, startsWith: "\(scratch.path)/nowhere")
        #expect(try MetricsLog.readLines(out + "/metrics.jsonl").count == before.count)
        #expect(FileManager.default.fileExists(atPath: out + "/latest/model.safetensors"))
        // Settings a resumed run keeps are refused by name, not ignored.
        let changed = try FinetuneCommand.run(["--resume", "--out", out, "--steps", "3", "--lr", "0.1"])
        expectError(changed, startsWith: "--resume: a resumed run keeps the settings it started with; leave out --lr (with --resume, only --steps")
        // So is a data file edited since the run started (its examples and split would not be the run's); put back,
        // the run resumes.
        let original = try Data(contentsOf: URL(fileURLWithPath: data))
        try (original + Data(#"{"text": "one more verse", "label": "law"}"#.utf8 + [0x0A])).write(to: URL(fileURLWithPath: data))
        let edited = try FinetuneCommand.run(["--resume", "--out", out, "--steps", "3"])
        expectError(edited, startsWith: "\(data): changed since the run in \(out) started; a resumed run trains on the data it started with")
        try original.write(to: URL(fileURLWithPath: data))
        let resumed = try FinetuneCommand.run(["--resume", "--out", out, "--steps", "3", "--threads", "1"], in: "/")
        #expect(resumed.status == 0, "stderr: \(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming \(out) at step 2"))
        let after = try MetricsLog.readLines(out + "/metrics.jsonl")
        #expect(after.map { $0["step"] as? Int } == [1, 2, 3])
        // The run finished at step 2: a third step stretches the schedule, and the resume says at what rate.
        let rate = String(format: "%.2e", try #require(after[2]["lr"] as? Double))
        #expect(resumed.stderr.contains("note: the learning-rate schedule changed") && resumed.stderr.contains("step 3 runs at lr \(rate)"),
                "stderr: \(resumed.stderr)")
        #expect((after[0]["train_loss"] as? Double) == (before[0]["train_loss"] as? Double))
        #expect(try ClassifierCheckpoint.load(from: out + "/latest").trainingState?.step == 3)
        // The data file moved: the run says so, and resumes on it where it is now, if it holds the same examples.
        try FileManager.default.moveItem(atPath: data, toPath: scratch.path + "/moved.jsonl")
        let gone = try FinetuneCommand.run(["--resume", "--out", out, "--steps", "4"])
        expectError(gone, startsWith: "--resume: the run's data file \(data) is gone; give its new place with --data")
        let other = try scratch.head(of: Fixture.shippedTrain, 41, as: "other.jsonl")
        let wrong = try FinetuneCommand.run(["--resume", "--out", out, "--steps", "4", "--data", other])
        expectError(wrong, startsWith: "--data: \(other) is not the data the run in \(out) started with")
        let moved = try FinetuneCommand.run(["--resume", "--out", out, "--steps", "4", "--threads", "1",
                                             "--data", scratch.path + "/moved.jsonl"])
        #expect(moved.status == 0, "stderr: \(moved.stderr)")
        #expect(try MetricsLog.readLines(out + "/metrics.jsonl").map { $0["step"] as? Int } == [1, 2, 3, 4])
        let noSplit = try FinetuneCommand.run(["--resume", "--out", out, "--steps", "5", "--val-file", other])
        expectError(noSplit, startsWith: "--val-file: the run in \(out) splits its validation examples off --data")
        // A run record whose task or labels are not the checkpoint's is the training state's error, and latest/ is
        // left as it was (a classifier resumed as a completion run was saved as a language model, its head lost).
        for (name, change, says) in [("as-completion", { (task: inout [String: Any]) in task["task"] = "complete" },
                                      "its task 'complete' is not that of the classifier checkpoint in"),
                                     ("relabelled", { (task: inout [String: Any]) in task["labels"] = Array((task["labels"] as! [String]).reversed()) },
                                      "its labels are not those of")] {
            let copy = scratch.path + "/" + name
            try FileManager.default.copyItem(atPath: out, toPath: copy)
            try Self.editTaskSettings(of: copy + "/latest", change)
            let weights = try Data(contentsOf: URL(fileURLWithPath: copy + "/latest/model.safetensors"))
            let refused = try FinetuneCommand.run(["--resume", "--out", copy, "--steps", "5", "--data", scratch.path + "/moved.jsonl"])
            expectError(refused, startsWith: "\(copy)/latest/training_state.safetensors: the saved run configuration is damaged: \(says)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: copy + "/latest/model.safetensors")) == weights)
        }
    }

    /// Rewrites the fine-tuning task settings saved in `checkpoint`'s training state (JSON inside the run record,
    /// inside the state, inside the safetensors header), the tensors as they were.
    static func editTaskSettings(of checkpoint: String, _ change: (inout [String: Any]) -> Void) throws {
        let path = checkpoint + "/training_state.safetensors"
        let file = try Safetensors.File(path: path)
        func object(_ text: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        }
        func text(_ object: [String: Any]) throws -> String { String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) }
        var state = try object(file.metadata["swiftlet_training_state"]!)
        var record = try object(state["configuration"] as! String)
        var task = try object(record["task"] as! String)
        change(&task)
        record["task"] = try text(task)
        state["configuration"] = try text(record)
        var metadata = file.metadata
        metadata["swiftlet_training_state"] = try text(state)
        let tensors = try file.entries.keys.sorted().map { ($0, file.entries[$0]!.shape, try file.floats($0)) }
        let buffers = tensors.map { UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, $0.2.count)) }
        defer { buffers.forEach { $0.deallocate() } }
        for (buffer, tensor) in zip(buffers, tensors) { _ = buffer.initialize(from: tensor.2) }
        try Safetensors.write(zip(tensors, buffers).map { Safetensors.Source(name: $0.0, shape: $0.1, data: UnsafePointer($1.baseAddress!)) },
                              metadata: metadata, to: path)
    }

    /// --dropout: fine-tuning drops (the first step's loss differs from a run without it on the same seed and
    /// data), the checkpoint records it, a resumed run keeps it, and an impossible value is refused by name.
    @Test func dropoutIsAppliedRecordedAndKept() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 40, as: "train.jsonl")
        let common = ["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                      "--val-fraction", "0.25", "--steps", "2", "--eval-every", "2"] + Self.quick
        let plain = try FinetuneCommand.run(common + ["--out", scratch.path + "/plain"])
        let dropped = try FinetuneCommand.run(common + ["--dropout", "0.3", "--out", scratch.path + "/dropped"])
        #expect(plain.status == 0 && dropped.status == 0, "stderr: \(plain.stderr) \(dropped.stderr)")
        func firstLoss(_ run: String) throws -> Double? {
            try MetricsLog.readLines(scratch.path + "/" + run + "/metrics.jsonl").first?["train_loss"] as? Double
        }
        let plainLoss = try #require(try firstLoss("plain")), droppedLoss = try #require(try firstLoss("dropped"))
        #expect(abs(plainLoss - droppedLoss) > 1e-4, "losses \(plainLoss) and \(droppedLoss)")
        let configData = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/dropped/latest/config.json"))
        let config = try #require(try JSONSerialization.jsonObject(with: configData) as? [String: Any])
        // A classifier's config.json holds paths (finetuned_from, data) as they are, without JSON's optional \/.
        #expect(!String(decoding: configData, as: UTF8.self).contains("\\/"))
        for key in ["resid_pdrop", "embd_pdrop", "attn_pdrop"] {
            #expect(abs((config[key] as? Double ?? -1) - 0.3) < 1e-6, "\(key): \(config[key] ?? "missing")")
        }
        expectError(try FinetuneCommand.run(["--resume", "--out", scratch.path + "/dropped", "--steps", "3", "--dropout", "0.1"]),
                    startsWith: "--resume: a resumed run keeps the settings it started with; leave out --dropout (")
        expectUsageError(try FinetuneCommand.run(common + ["--dropout", "1.5", "--out", scratch.path + "/bad"]),
                         "--dropout must be in [0, 1) (got 1.5)")
    }

    /// Ctrl-C saves latest/ and exits 130; --resume finishes with the training losses of an uninterrupted run.
    @Test func ctrlCThenResumeMatchesAnUninterruptedRun() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 40, as: "train.jsonl")
        let arguments = ["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                         "--val-fraction", "0.25", "--steps", "30", "--eval-every", "10", "--lm-loss-weight", "0.3"] + Self.quick
        let straight = try FinetuneCommand.run(arguments + ["--out", scratch.path + "/straight"])
        #expect(straight.status == 0, "\(straight.stderr)")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(FinetuneCommand.path))
        process.arguments = arguments + ["--out", scratch.path + "/interrupted"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let metrics = scratch.path + "/interrupted/metrics.jsonl"
        Fixtures.waitForLines(in: metrics, atLeast: 3, timeout: 120)
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        func trainLosses(_ run: String) throws -> [Double] {
            try MetricsLog.readLines(scratch.path + "/" + run + "/metrics.jsonl").compactMap { $0["train_loss"] as? Double }
        }
        let stoppedAt = try trainLosses("interrupted").count
        #expect(stoppedAt >= 3 && stoppedAt < 30, "stopped after \(stoppedAt) steps")
        let resumed = try FinetuneCommand.run(["--resume", "--out", scratch.path + "/interrupted", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try trainLosses("interrupted") == (try trainLosses("straight")))
        let a = try ClassifierCheckpoint.load(from: scratch.path + "/interrupted/latest").classifier
        let b = try ClassifierCheckpoint.load(from: scratch.path + "/straight/latest").classifier
        #expect(a.score.values == b.score.values && a.model.parameters.values == b.model.parameters.values)
    }

    /// More --threads than cores is allowed but slower, and the summary says so (as pretrain's does), in a new run
    /// and in a resumed one; a count of cores or fewer gets no note.
    @Test func moreThreadsThanCoresAreNoted() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 24, as: "train.jsonl")
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let note = "note: --threads \(cores + 1) is more than the \(cores) cores here"
        let out = scratch.path + "/run"
        let many = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                            "--steps", "1", "--batch-size", "4", "--threads", "\(cores + 1)", "--out", out])
        #expect(many.status == 0 && many.stderr.contains(note), "\(many.stderr)")
        let resumed = try FinetuneCommand.run(["--resume", "--out", out, "--steps", "2", "--threads", "\(cores + 1)"])
        #expect(resumed.status == 0 && resumed.stderr.contains(note), "\(resumed.stderr)")
        let one = try FinetuneCommand.run(["--resume", "--out", out, "--steps", "3", "--threads", "1"])
        #expect(one.status == 0 && !one.stderr.contains("more than the"), "\(one.stderr)")
    }

    /// --patience: the run stops after that many evaluations without a new best (a learning rate too small to
    /// change any prediction keeps macro F1 flat after the first evaluation).
    @Test func patienceStopsEarly() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 24, as: "train.jsonl")
        let out = scratch.path + "/run"
        let run = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                           "--val-fraction", "0.25", "--steps", "20", "--eval-every", "1", "--patience", "2",
                                           "--lr", "1e-9", "--out", out] + Self.quick)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stdout.contains("stopped early (patience 2) after 3 steps"), "stdout: \(run.stdout)")
        #expect(try MetricsLog.readLines(out + "/metrics.jsonl").count == 3)
        #expect(try ClassifierCheckpoint.load(from: out + "/best").trainingState?.step == 1)
        #expect(try ClassifierCheckpoint.load(from: out + "/latest").trainingState?.step == 3)
        // Resuming it trains no further (it trained another --eval-every steps each time), until --patience grows.
        let again = try FinetuneCommand.run(["--resume", "--out", out])
        #expect(again.status == 0 && again.stderr.contains("stopped early at step 3"), "stderr: \(again.stderr)")
        #expect(try MetricsLog.readLines(out + "/metrics.jsonl").count == 3)
        let patient = try FinetuneCommand.run(["--resume", "--out", out, "--patience", "4"])
        #expect(patient.status == 0, "stderr: \(patient.stderr)")
        #expect(try MetricsLog.readLines(out + "/metrics.jsonl").count > 3)
    }

    @Test func completionTrainAndEvaluate() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedCompletion, 30, as: "pairs.jsonl")
        let out = scratch.path + "/run"
        let train = try FinetuneCommand.run(["--task", "complete", "--checkpoint", Fixture.languageModel, "--data", data,
                                             "--template", "Q: {prompt}\n", "--steps", "3", "--eval-every", "3",
                                             "--out", out] + Self.quick)
        #expect(train.status == 0, "stderr: \(train.stderr)")
        let loaded = try Checkpoint.load(from: out + "/best")
        #expect(loaded.hfConfig.swiftlet?.notes["prompt_template"] == "Q: {prompt}\n")
        let evaluation = try FinetuneCommand.run(["evaluate", "--checkpoint", out, "--data", data, "--json"])
        #expect(evaluation.status == 0, "stderr: \(evaluation.stderr)")
        let report = try JSONDecoder().decode(CompletionReport.self, from: Data(evaluation.stdout.utf8))
        #expect(report.examples == 30 && report.tokens > 30 && report.meanLoss > 0)
        #expect(abs(report.perplexity - exp(report.meanLoss)) < 1e-6 * report.perplexity)
        // The same figure from the plain model: each pair laid out as the README says ("Q: " prompt "\n", then the
        // completion and EOS; a pair over context + 1 tokens loses prompt tokens from its start, then completion
        // tokens from its end), then -log softmax of GPT.forward's logits at each completion token, in Double.
        let model = loaded.model
        let tokenizer = try SentencePieceTokenizer(contentsOf: out + "/best/tokenizer.model")
        let eos = try #require(tokenizer.eosId)
        let (context, vocab) = (model.config.context, model.config.vocabSize)
        var (lossSum, counted) = (0.0, 0)
        for line in try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n") {
            let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            var prompt = try tokenizer.encode("Q: " + row["prompt"]! + "\n")
            var completion = try tokenizer.encode(row["completion"]!) + [eos]
            let over = prompt.count + completion.count - (context + 1)
            if over > 0 {
                prompt.removeFirst(min(over, prompt.count))
                completion.removeLast(max(0, completion.count - (context + 1)))
            }
            let sequence = prompt + completion
            let logits = try model.forward(tokens: Array(sequence.dropLast()), batch: 1, time: sequence.count - 1).map(Double.init)
            for position in max(prompt.count, 1)..<sequence.count {   // the token at `position` is predicted from before it
                let row = logits[(position - 1) * vocab ..< position * vocab]
                let top = row.max()!
                lossSum += top + log(row.map { exp($0 - top) }.reduce(0, +)) - row[row.startIndex + Int(sequence[position])]
                counted += 1
            }
        }
        #expect(report.tokens == counted)
        #expect(abs(report.meanLoss - lossSum / Double(counted)) < 1e-5 * report.meanLoss, "\(report.meanLoss) vs \(lossSum / Double(counted))")
        // A completion model is not a classifier; the error names the command that completes prompts.
        let predict = try FinetuneCommand.run(["predict", "--checkpoint", out, "--input", data, "--out", scratch.path + "/p.jsonl"])
        expectError(predict, startsWith: "\(out)/best: not a classifier checkpoint")
        #expect(predict.stderr.contains("run sample --checkpoint \(out)/best --prompts FILE.jsonl"), "stderr: \(predict.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/p.jsonl"))
        let bad = try FinetuneCommand.run(["--task", "complete", "--checkpoint", Fixture.languageModel, "--data", data,
                                           "--template", "no placeholder", "--out", scratch.path + "/x"] + Self.quick)
        expectUsageError(bad, "--template: must contain {prompt} exactly once (got \"no placeholder\")")
        // Quoted as Swift writes strings, so a line break in it does not cut the one-line error short.
        let twoLines = try FinetuneCommand.run(["--task", "complete", "--checkpoint", Fixture.languageModel, "--data", data,
                                                "--template", #"Question:\nAnswer:"#, "--out", scratch.path + "/x"] + Self.quick)
        expectUsageError(twoLines, #"--template: must contain {prompt} exactly once (got "Question:\nAnswer:")"#)
        // With --task classify, a --template is refused as the other task's option.
        expectUsageError(try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                                  "--template", "bad", "--out", scratch.path + "/x"] + Self.quick),
                         "--template: applies to --task complete only")
    }

    /// The schedule's defaults, as the README gives them: 3 epochs, a warm-up over 5% of the steps, then a cosine
    /// from --lr 3e-4 down towards a tenth of it; an evaluation twice an epoch and at the end.
    @Test func defaultScheduleFollowsTheEpochs() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 120, as: "train.jsonl")   // 90 to train on: 23 steps of 4
        let run = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                           "--val-fraction", "0.25", "--out", scratch.path + "/run"] + Self.quick)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let records = try MetricsLog.readLines(scratch.path + "/run/metrics.jsonl")
        #expect(records.compactMap { $0["step"] as? Int } == Array(1...69))
        #expect(records.filter { $0["val_loss"] != nil }.compactMap { $0["step"] as? Int } == [11, 22, 33, 44, 55, 66, 69])
        let rates = records.compactMap { $0["lr"] as? Double }
        // A warm-up of 69 / 20 = 3 steps (1/3, 2/3 and all of the peak), then the cosine from the peak falls every
        // step towards 3e-5.
        for (step, fraction) in [(0, 1.0 / 3), (1, 2.0 / 3), (2, 1.0), (3, 1.0)] {
            #expect(abs(rates[step] - 3e-4 * fraction) < 1e-12, "step \(step + 1): \(rates)")
        }
        #expect(zip(rates.dropFirst(3), rates.dropFirst(4)).allSatisfy { $0 > $1 } && rates.last! > 3e-5 && rates.last! < 3.2e-5,
                "\(rates)")
    }

    /// Settings that cannot do what they are for are pointed out: validation on the training file itself, and a
    /// patience that no evaluation before the last step can act on.
    @Test func validatingOnTheTrainingDataAndAPatienceThatCannotActAreNoted() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 16, as: "train.jsonl")
        let copy = try scratch.head(of: Fixture.shippedTrain, 16, as: "copy.jsonl")
        let run = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                           "--val-file", copy, "--steps", "2", "--patience", "2", "--eval-every", "0",
                                           "--out", scratch.path + "/run"] + Self.quick)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let output = run.stdout + run.stderr
        #expect(output.contains("note: --val-file \(copy) holds the same text as --data \(data): the validation figures "
                                + "measure what the model has learnt by heart"), "\(output)")
        #expect(output.contains("note: --patience 2 cannot stop this run early: it evaluates only at its last step (--eval-every 0)"),
                "\(output)")
        // Two evaluations before the last step leave room for one after the best: patience 2 cannot act either.
        let other = try scratch.head(of: Fixture.shippedTest, 16, as: "other.jsonl")
        let short = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                             "--val-file", other, "--steps", "3", "--patience", "2", "--eval-every", "1",
                                             "--out", scratch.path + "/short"] + Self.quick)
        #expect((short.stdout + short.stderr).contains("note: --patience 2 cannot stop this run early: it evaluates 2 times "
                + "before its last step (--eval-every 1), so at most 1 evaluation can follow the best"), "\(short.stderr)")
        // A validation file of other rows, evaluated four times before the end: neither note.
        let fine = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", data,
                                            "--val-file", other, "--steps", "5", "--patience", "2", "--eval-every", "1",
                                            "--out", scratch.path + "/fine"] + Self.quick)
        let fineOutput = fine.stdout + fine.stderr
        #expect(fine.status == 0 && !fineOutput.contains("note: --"), "\(fineOutput)")
    }

    @Test func malformedRowsNameFileAndLine() throws {
        let scratch = Scratch()
        let good = #"{"text": "In the beginning", "label": "law"}"# + "\n" + #"{"text": "Jesus wept", "label": "gospels"}"# + "\n"
        let cases: [(String, String)] = [
            ("bad.jsonl", good + #"{"text": "unterminated"# + "\n"),
            ("missing.jsonl", good + #"{"text": "no label here"}"# + "\n"),
            ("bad.csv", "text,label\nIn the beginning,law\nJesus wept,gospels\n\"never closed,law\n"),
            ("bad.tsv", "text\tlabel\nIn the beginning\tlaw\nJesus wept\tgospels\nonly one field\n"),
        ]
        for (name, contents) in cases {
            let file = scratch.write(name, contents)
            let output = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", file,
                                                  "--steps", "1", "--out", scratch.path + "/run-" + name] + Self.quick)
            let line = name == "bad.csv" ? 4 : (name == "bad.tsv" ? 4 : 3)
            expectError(output, startsWith: "\(file):\(line): ")
        }
        // --skip-bad-rows: the bad row is skipped and reported; the two good ones train.
        let file = scratch.write("skip.jsonl", good + "not json\n" + good)
        let skipped = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", file,
                                               "--skip-bad-rows", "--val-fraction", "0.25", "--steps", "1",
                                               "--out", scratch.path + "/skip"] + Self.quick)
        #expect(skipped.status == 0, "stderr: \(skipped.stderr)")
        #expect(skipped.stderr.contains("\(file): skipped 1 malformed row, kept 4"))
        #expect(skipped.stderr.contains("\(file):3: "))
    }

    @Test func singleLabelAndUnknownLabels() throws {
        let scratch = Scratch()
        let single = scratch.write("single.jsonl", (0..<6).map { #"{"text": "verse \#($0)", "label": "law"}"# }.joined(separator: "\n"))
        let output = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", single,
                                              "--val-file", single, "--steps", "1", "--out", scratch.path + "/run"] + Self.quick)
        expectError(output, startsWith: single)
        #expect(output.stderr.contains("law"))

        // Evaluation data with labels the classifier never saw: reported on stderr and counted, not scored.
        let classifier = try ClassifierCheckpoint.load(from: Fixture.classifier).classifier
        let known = classifier.labels[0]
        let eval = scratch.write("eval.jsonl", [
            #"{"text": "In the beginning", "label": "\#(known)"}"#,
            #"{"text": "Jesus wept", "label": "psalms"}"#,
            #"{"text": "Amen", "label": "psalms"}"#,
            #"{"text": "Selah", "label": "hymns"}"#,
        ].joined(separator: "\n"))
        let evaluation = try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.classifier, "--data", eval, "--json"])
        #expect(evaluation.status == 0, "stderr: \(evaluation.stderr)")
        #expect(evaluation.stderr.contains("3 of 4 examples have labels the model does not know ('hymns' x1, 'psalms' x2)"))
        #expect(evaluation.stderr.contains("\(eval):2: label 'psalms'"))
        let report = try JSONDecoder().decode(ClassificationReport.self, from: Data(evaluation.stdout.utf8))
        #expect(report.unknownLabels == 3 && report.examples == 1)
        // One is said in the singular.
        let one = scratch.write("one.jsonl", [#"{"text": "In the beginning", "label": "\#(known)"}"#,
                                              #"{"text": "Selah", "label": "hymns"}"#].joined(separator: "\n"))
        let oneUnknown = try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.classifier, "--data", one, "--json"])
        #expect(oneUnknown.stderr.contains("1 of 2 examples has a label the model does not know ('hymns' x1); it is counted, "
                                       + "not scored"), "\(oneUnknown.stderr)")
    }

    /// The majority-class baseline: the run's summary names the training data's most common label and scores it on
    /// validation; the checkpoint records the label, and `evaluate` scores always predicting it on other data
    /// (accuracy = its share there; macro F1 = its F1, 2 share / (1 + share), over the labels in the data or
    /// predicted). A checkpoint without the record (the fixture, written before it existed) takes the evaluated
    /// data's most common label and says so.
    @Test func majorityBaselineIsReported() throws {
        let scratch = Scratch()
        func rows(_ labels: [String]) -> String {
            labels.enumerated().map { #"{"text": "verse \#($0.offset) of the \#($0.element)", "label": "\#($0.element)"}"# }
                .joined(separator: "\n")
        }
        // Training: "law" 5 of 9; validation: "law" 1 of 4; evaluation: "law" 2 of 5, "wisdom" the most common there.
        let train = scratch.write("train.jsonl", rows(["law", "gospels", "law", "wisdom", "law", "gospels", "law", "wisdom", "law"]))
        let validation = scratch.write("val.jsonl", rows(["gospels", "law", "wisdom", "wisdom"]))
        let eval = scratch.write("eval.jsonl", rows(["wisdom", "law", "wisdom", "law", "wisdom"]))
        let out = scratch.path + "/run"
        let run = try FinetuneCommand.run(["--task", "classify", "--checkpoint", Fixture.languageModel, "--data", train,
                                           "--val-file", validation, "--steps", "1", "--out", out] + Self.quick)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("majority class 'law' (55.6% of the training examples): always predicting it scores "
                                    + "accuracy 0.2500, macro F1 0.1333 on validation"), "\(run.stderr)")
        func baseline(_ checkpoint: String) throws -> (BaselineScores?, String) {
            let json = try FinetuneCommand.run(["evaluate", "--checkpoint", checkpoint, "--data", eval, "--json"])
            #expect(json.status == 0, "stderr: \(json.stderr)")
            let report = try JSONDecoder().decode(ClassificationReport.self, from: Data(json.stdout.utf8))
            let text = try FinetuneCommand.run(["evaluate", "--checkpoint", checkpoint, "--data", eval])
            return (report.majorityBaseline, text.stdout)
        }
        let (trained, text) = try baseline(out)
        #expect(trained.map { ($0.label, $0.source) } ?? ("", .evaluated) == ("law", .training))
        #expect(abs((trained?.accuracy ?? 0) - 0.4) < 1e-12 && abs((trained?.macroF1 ?? 0) - (0.8 / 1.4) / 2) < 1e-12)
        #expect(text.contains("majority class 'law' (the most common training label), always predicted: accuracy 0.4000, "
                              + "macro F1 0.2857"), "\(text)")
        // The fixture classifier's labels include "wisdom": the evaluated data's majority, 3 of 5.
        let (fixture, fixtureText) = try baseline(Fixture.classifier)
        #expect(fixture.map { ($0.label, $0.source) } ?? ("", .training) == ("wisdom", .evaluated))
        #expect(abs((fixture?.accuracy ?? 0) - 0.6) < 1e-12 && abs((fixture?.macroF1 ?? 0) - (1.2 / 1.6) / 2) < 1e-12)
        #expect(fixtureText.contains("majority class 'wisdom' (the most common label in \(eval); the checkpoint records "
                                     + "none of its training data), always predicted"), "\(fixtureText)")
    }

    /// `evaluate` and `predict` share their --batch-size and --threads checks: a usage error (exit 64) on one
    /// line, naming the option and the subcommand's help, before any file is read.
    @Test func inferenceOptionsAreValidated() throws {
        let commands = [["evaluate", "--checkpoint", Fixture.classifier, "--data", "unread.jsonl"],
                        ["predict", "--checkpoint", Fixture.classifier, "--input", "unread.jsonl", "--out", "unwritten.jsonl"]]
        for command in commands {
            for option in ["--batch-size", "--threads"] {
                let output = try FinetuneCommand.run(command + [option, "0"])
                #expect(output.status == 64, "\(command[0]) \(option): exit \(output.status)")
                #expect(output.stderr == "error: \(option) must be at least 1 (got 0) (see 'finetune \(command[0]) --help')\n",
                        "stderr: \(output.stderr)")
            }
        }
    }

    /// The help says what the code does: a run directory gives its best/, else latest/; train's usage shows
    /// the options a new run and a resume need; the top-level help points to train's.
    @Test func helpIsTrue() throws {
        func help(_ arguments: [String]) throws -> String {
            let output = try FinetuneCommand.run(arguments)
            #expect(output.status == 0, "stderr: \(output.stderr)")
            return output.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }
        let train = try help(["help", "train"])
        #expect(train.contains("USAGE: finetune [train] --task classify|complete --data <file> --out <dir>"), "\(train)")
        #expect(train.contains("finetune [train] --resume --out <dir> [--steps <n>]"), "\(train)")
        for command in ["train", "evaluate", "predict"] {
            #expect(try help(["help", command]).contains("run directory (its best/, else latest/)"), "\(command)")
        }
        #expect(try help(["--help"]).contains("'finetune help train' lists the training options"))
        // Every field option says the name it reads when not given.
        for (command, options) in [("train", ["text", "label", "prompt", "completion"]), ("evaluate", ["text", "label", "prompt", "completion"]),
                                   ("predict", ["text"])] {
            let text = try help(["help", command])
            for field in options {
                let option = try #require(text.range(of: "--\(field)-field <\(field)-field>", options: .backwards),
                                          "\(command): --\(field)-field")   // (the OPTIONS entry, not USAGE)
                let description = text[option.upperBound...].prefix(130)
                // evaluate and predict: the checkpoint's field, else the same default.
                let said = command == "train" ? "(default: \(field))" : "else \(field))"
                #expect(description.contains(said), "\(command) --\(field)-field: \(description)")
            }
        }
    }

    @Test func badOptionsAndCheckpoints() throws {
        let scratch = Scratch()
        let data = try scratch.head(of: Fixture.shippedTrain, 16, as: "train.jsonl")
        let base = ["--task", "classify", "--data", data, "--steps", "1", "--out", scratch.path + "/run"] + Self.quick
        expectError(try FinetuneCommand.run(base + ["--checkpoint", scratch.path + "/nowhere"]), startsWith: "\(scratch.path)/nowhere")
        // Without --checkpoint, a missing default is named as --checkpoint's default, looked up where the run is.
        let realScratch = URL(fileURLWithPath: scratch.path).resolvingSymlinksInPath().path
        expectError(try FinetuneCommand.run(base, in: scratch.path), startsWith: "--checkpoint: checkpoints/default: no "
                    + "checkpoint there; the default is looked up in the working directory (\(realScratch)): run `pretrain` there first")
        expectError(try FinetuneCommand.run(base + ["--checkpoint", Fixture.languageModel, "--freeze-layers", "3"]),
                    startsWith: "--freeze-layers: must be between 0 and the model's 2 layers")
        expectUsageError(try FinetuneCommand.run(base + ["--checkpoint", Fixture.languageModel, "--template", "{prompt}"]),
                         "--template: applies to --task complete only")
        expectError(try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.classifier, "--data", scratch.path + "/none.jsonl"]),
                    startsWith: "\(scratch.path)/none.jsonl")
        // A validation fraction that leaves a split empty names the option and the file.
        expectError(try FinetuneCommand.run(base + ["--checkpoint", Fixture.languageModel, "--val-fraction", "0.01"]),
                    startsWith: "--val-fraction: \(data): a validation fraction of 0.01 over 16 examples leaves the validation set empty")
    }
}

extension MetricsLog {
    /// metrics.jsonl as dictionaries (extra keys included).
    static func readLines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
    }
}
