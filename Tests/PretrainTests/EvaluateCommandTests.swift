import TestSupport
import Foundation
import Testing
import GPT
import Training

/// `pretrain evaluate` end to end on the tiny test model of `TrainCommandTests`.
@Suite struct EvaluateCommandTests {
    /// A run of 8 steps on 20 kB of Shakespeare (characters): the run directory and its prepared data.
    static func trainedRun(in dir: String) throws -> (run: String, data: String) {
        let data = try TrainCommandTests.preparedData(in: dir)
        let result = try PretrainCommand.run(["--data", data, "--out", dir + "/run", "--steps", "8", "--eval-every", "4"]
                                             + TrainCommandTests.tinyModel)
        #expect(result.status == 0, "\(result.stderr)")
        return (dir + "/run", data)
    }

    static func objects(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    static func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).intValue
    }

    @Test func scoresTheRunsValidationTextAPreparedSplitAndCorpusFiles() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (run, data) = try Self.trainedRun(in: dir)
        let valTokens = try TokenFile(path: data + "/val.npy").count
        let trainTokens = try TokenFile(path: data + "/train.npy").count

        // No input: the validation part of the data the run trained on, every token but the first predicted once.
        let json = try PretrainCommand.run(["evaluate", "--checkpoint", run, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stderr.hasPrefix("evaluating \(run)/best: context 16, stride 16, 32 windows a pass"), "\(json.stderr)")
        let val = try #require(try Self.objects(json.stdout).first)
        #expect(val["input"] as? String == data + "/val.npy")
        #expect(val["tokens"] as? Int == valTokens - 1 && val["context"] as? Int == 16 && val["stride"] as? Int == 16)
        // Characters of ASCII text: a byte a token.
        #expect(val["bytes"] as? Int == valTokens)
        let loss = try #require(val["mean_loss"] as? Double)
        #expect(loss.isFinite && loss > 0)
        #expect(abs((val["perplexity"] as! Double) - exp(loss)) < 1e-9 * exp(loss))
        #expect(abs((val["bits_per_byte"] as! Double) - loss * Double(valTokens - 1) / log(2) / Double(valTokens)) < 1e-9)
        // The text line says the same.
        let text = try PretrainCommand.run(["evaluate", "--checkpoint", run])
        #expect(text.status == 0 && text.stdout == "\(data)/val.npy: "
                + String(format: "mean loss %.4f, perplexity %.2f, %.4f bits per byte (%d tokens scored, %d bytes)\n",
                         loss, exp(loss), val["bits_per_byte"] as! Double, valTokens - 1, valTokens), "\(text.stdout)")

        // A prepared directory's training split.
        let train = try PretrainCommand.run(["evaluate", "--checkpoint", run, "--data", data, "--split", "train", "--json"])
        #expect(train.status == 0, "\(train.stderr)")
        let trainObject = try #require(try Self.objects(train.stdout).first)
        #expect(trainObject["tokens"] as? Int == trainTokens - 1 && trainObject["input"] as? String == data + "/train.npy")

        // Corpus files, each on its own, then their total: the bytes are the files' sizes.
        let corpus = dir + "/corpus.txt"
        let other = try Fixtures.slice(of: corpus, bytes: 3_000, to: dir, name: "other.txt")
        let both = try PretrainCommand.run(["evaluate", "--checkpoint", run + "/latest", "--corpus", corpus, "--corpus", other])
        #expect(both.status == 0, "\(both.stderr)")
        let lines = both.stdout.split(separator: "\n").map(String.init)
        let sizes = [try Self.fileSize(corpus), try Self.fileSize(other)]
        #expect(lines.count == 3, "\(both.stdout)")
        #expect(lines[0].hasPrefix(corpus + ": mean loss ") && lines[0].hasSuffix("(\(sizes[0] - 1) tokens scored, \(sizes[0]) bytes)"))
        #expect(lines[1].hasPrefix(other + ": mean loss ") && lines[1].hasSuffix("(\(sizes[1] - 1) tokens scored, \(sizes[1]) bytes)"))
        #expect(lines[2].hasPrefix("all 2 inputs: mean loss ") && lines[2].hasSuffix("(\(sizes[0] + sizes[1] - 2) tokens scored, \(sizes[0] + sizes[1]) bytes)"))
        // In JSON, the total is one more object, marked as such, whose loss is the token-weighted mean of the inputs'.
        let bothJSON = try PretrainCommand.run(["evaluate", "--checkpoint", run + "/latest", "--corpus", corpus, "--corpus", other, "--json"])
        #expect(bothJSON.status == 0, "\(bothJSON.stderr)")
        let objects = try Self.objects(bothJSON.stdout)
        #expect(objects.count == 3 && objects[0]["total"] == nil && objects[1]["total"] == nil)
        let totalObject = try #require(objects.last)
        #expect(totalObject["total"] as? Bool == true && totalObject["input"] as? String == "all 2 inputs")
        #expect(totalObject["tokens"] as? Int == sizes[0] + sizes[1] - 2 && totalObject["bytes"] as? Int == sizes[0] + sizes[1])
        let losses = objects.map { $0["mean_loss"] as! Double }, counts = objects.map { Double($0["tokens"] as! Int) }
        #expect(abs(losses[2] - (losses[0] * counts[0] + losses[1] * counts[1]) / counts[2]) < 1e-9)
        // A smaller stride, in batches that do not divide the windows, scores the same tokens.
        let strided = try PretrainCommand.run(["evaluate", "--checkpoint", run, "--corpus", other, "--stride", "5",
                                               "--batch-size", "7", "--json"])
        #expect(strided.status == 0, "\(strided.stderr)")
        let stridedObject = try #require(try Self.objects(strided.stdout).first)
        #expect(stridedObject["tokens"] as? Int == sizes[1] - 1 && stridedObject["stride"] as? Int == 5)
    }

    /// A run trained on --corpus holds its data (OUT/data); moved elsewhere, it is still evaluated on that data.
    @Test func findsTheDataOfARunMovedWithIt() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 20_000, to: dir, name: "corpus.txt")
        let trained = try PretrainCommand.run(["--corpus", corpus, "--tokenizer-type", "char", "--vocab-size", "100",
                                               "--out", dir + "/run", "--steps", "2"] + TrainCommandTests.tinyModel)
        #expect(trained.status == 0, "\(trained.stderr)")
        try FileManager.default.moveItem(atPath: dir + "/run", toPath: dir + "/moved")
        let result = try PretrainCommand.run(["evaluate", "--checkpoint", dir + "/moved"])
        #expect(result.status == 0 && result.stdout.hasPrefix(dir + "/moved/data/val.npy: mean loss "), "\(result.stdout)\(result.stderr)")
        // The checkpoint named from inside it, or with a trailing "/.": the same run directory around it.
        for (checkpoint, place) in [(".", dir + "/moved/best"), ("best/.", dir + "/moved")] {
            let named = try PretrainCommand.run(["evaluate", "--checkpoint", checkpoint], in: place)
            #expect(named.status == 0 && named.stdout.hasSuffix(result.stdout.split(separator: ":", maxSplits: 1)[1]),
                    "\(checkpoint): \(named.stdout)\(named.stderr)")
        }
        // A copy without its training state finds the data through config.json's note.
        try FileManager.default.copyItem(atPath: dir + "/moved/best", toPath: dir + "/bare")
        try FileManager.default.removeItem(atPath: dir + "/bare/" + Checkpoint.trainingStateFileName)
        let bare = try PretrainCommand.run(["evaluate", "--checkpoint", dir + "/bare"])
        #expect(bare.status == 1 && bare.stderr.contains("was trained on \(dir)/run/data, which no longer exists"), "\(bare.stderr)")
        // Token files changed since the run started (here one id of the validation text) are not its data: refused,
        // naming the --data that evaluates them all the same.
        let val = dir + "/moved/data/val.npy"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: val))
        bytes[bytes.count - 2] = bytes[bytes.count - 2] == 10 ? 11 : 10   // another id below the vocabulary's 100
        bytes[bytes.count - 1] = 0
        try bytes.write(to: URL(fileURLWithPath: val))
        let changed = try PretrainCommand.run(["evaluate", "--checkpoint", dir + "/moved"])
        #expect(changed.status == 1 && changed.stderr == "error: \(val) changed since \(dir)/moved/best's run started, so it is "
            + "not the data the run trained on; to evaluate it all the same, give --data \(dir)/moved/data\n", "\(changed.stderr)")
        let given = try PretrainCommand.run(["evaluate", "--checkpoint", dir + "/moved", "--data", dir + "/moved/data"])
        #expect(given.status == 0, "\(given.stderr)")
    }

    /// The loss of a stored checkpoint (the generation tests' tiny-kjv: context 32, 256-piece BPE) on the first
    /// 3 kB of the King James Bible, as `scripts/torch_text_loss.py` computes it with PyTorch from the same
    /// checkpoint and the same tokens (`pretrain prepare --tokenizer` of that text, train.npy and val.npy joined).
    @Test func equalsPyTorchOnAStoredCheckpoint() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try Fixtures.slice(of: Fixtures.kjv, bytes: 3_000, to: dir, name: "kjv-3k.txt")
        let checkpoint = Fixtures.packageRoot.appendingPathComponent("Tests/GenerationTests/Fixtures/tiny-kjv").path
        for (stride, torch) in [(32, 3.821064969578841), (7, 3.822522450047684)] {
            let result = try PretrainCommand.run(["evaluate", "--checkpoint", checkpoint, "--corpus", text, "--stride", "\(stride)", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try #require(try Self.objects(result.stdout).first)
            #expect(object["tokens"] as? Int == 1322 && object["bytes"] as? Int == 3223)
            let loss = try #require(object["mean_loss"] as? Double)
            #expect(abs(loss - torch) < 1e-6 * torch, "stride \(stride): \(loss) vs PyTorch's \(torch)")
        }
    }

    @Test func refusesWhatItCannotEvaluateWithOneLine() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (run, data) = try Self.trainedRun(in: dir)
        let corpus = dir + "/corpus.txt"
        func refused(_ arguments: [String], status: Int32 = 1, says: String) throws {
            let result = try PretrainCommand.run(["evaluate"] + arguments)
            let lines = result.stderr.split(separator: "\n")
            #expect(result.status == status && lines.count == 1 && lines[0].hasPrefix("error: ") && result.stderr.contains(says),
                    "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        try refused(["--checkpoint", dir + "/missing"], says: dir + "/missing")
        // The default checkpoint is looked up in the working directory, and the error says so.
        let elsewhere = try PretrainCommand.run(["evaluate"], in: dir)
        #expect(elsewhere.status == 1 && elsewhere.stderr.contains("the default --checkpoint is looked up in the working directory"),
                "\(elsewhere.stderr)")
        try refused(["--checkpoint", run, "--data", data, "--corpus", corpus], status: 64, says: "give either --data or --corpus, not both")
        try refused(["--checkpoint", run, "--corpus", corpus, "--split", "train"], status: 64, says: "--split applies to prepared data")
        try refused(["--checkpoint", run, "--stride", "0"], status: 64, says: "--stride must be at least 1 (got 0)")
        try refused(["--checkpoint", run, "--batch-size", "0"], status: 64, says: "--batch-size must be at least 1 (got 0)")
        try refused(["--checkpoint", run, "--stride", "17"], says: "--stride: at most the model's context (16); got 17")

        // A text of one character has nothing to predict; bytes that are not UTF-8 are named.
        try "a".write(toFile: dir + "/one.txt", atomically: true, encoding: .utf8)
        try refused(["--checkpoint", run, "--corpus", dir + "/one.txt"], says: dir + "/one.txt: 1 token; a text needs 2 at least")
        try Data([0x61, 0x0A, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: dir + "/latin1.txt"))
        try refused(["--checkpoint", run, "--corpus", dir + "/latin1.txt"], says: dir + "/latin1.txt")
        // A device that never ends is refused at once (memory grew without bound); a FIFO that no program writes
        // reads as empty instead of waiting for ever (a pipe with a writer, `<(zcat x.gz)`, is read as a file).
        try refused(["--checkpoint", run, "--corpus", "/dev/zero"], says: "/dev/zero: is a device, not a text file")
        #expect(mkfifo(dir + "/fifo", 0o600) == 0)
        try refused(["--checkpoint", run, "--corpus", dir + "/fifo"], says: "\(dir)/fifo: 0 tokens; a text needs 2 at least")

        // Characters outside the vocabulary are scored as <unk> (two in a row as one), with a warning.
        try "To be, or not to be: \u{65E5}\u{672C}\n".write(toFile: dir + "/unknown.txt", atomically: true, encoding: .utf8)
        let unknown = try PretrainCommand.run(["evaluate", "--checkpoint", run, "--corpus", dir + "/unknown.txt"])
        #expect(unknown.status == 0 && unknown.stderr.contains("warning: \(dir)/unknown.txt: 1 of 23 tokens are unknown (<unk>)"),
                "\(unknown.stderr)")
        #expect(unknown.stdout.hasSuffix("(22 tokens scored, 28 bytes)\n"), "\(unknown.stdout)")

        // A checkpoint given as --data; a classifier; a checkpoint whose training data is gone (stored without state).
        try refused(["--checkpoint", run, "--data", run + "/best"], says: "\(run)/best holds no val.npy: it is a checkpoint, not prepared data")
        let fixtures = Fixtures.packageRoot.appendingPathComponent("Tests").path
        try refused(["--checkpoint", fixtures + "/FinetuneTests/Fixtures/tiny-classifier"], says: "a classification checkpoint")
        try refused(["--checkpoint", fixtures + "/GenerationTests/Fixtures/tiny-kjv"], says: "which no longer exists; give --corpus FILE or --data DIR")

        // Data prepared with another tokenizer (other characters): its ids would mean other pieces.
        try "0123456789\n9876543210\n".write(toFile: dir + "/digits.txt", atomically: true, encoding: .utf8)
        let digits = try PretrainCommand.run(["prepare", "--corpus", dir + "/digits.txt", "--tokenizer-type", "char",
                                              "--vocab-size", "100", "--val-fraction", "0.5", "--out", dir + "/digits"])
        #expect(digits.status == 0, "\(digits.stderr)")
        try refused(["--checkpoint", run, "--data", dir + "/digits"], says: "was prepared with another tokenizer than the checkpoint's")
        // ... and with the checkpoint's tokenizer.model put in its place (the same pieces, ids the other one made):
        // manifest.json's fingerprints say it is not the file the preparation wrote (it was evaluated, wrongly).
        try FileManager.default.removeItem(atPath: dir + "/digits/tokenizer.model")
        try FileManager.default.copyItem(atPath: data + "/tokenizer.model", toPath: dir + "/digits/tokenizer.model")
        try refused(["--checkpoint", run, "--data", dir + "/digits"],
                    says: "\(dir)/digits/tokenizer.model: not the file `pretrain prepare` wrote")

        // A stdout that cannot be written (a full disk) is an error, not a lost result and status 0.
        let full = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
        let (process, said) = try PretrainCommand.run(["evaluate", "--checkpoint", run], stdout: full)
        #expect(process.terminationStatus == 1 && said.hasSuffix("error: stdout: cannot be written (No space left on device)\n"), "\(said)")

        // The data the run recorded, moved away.
        try FileManager.default.moveItem(atPath: data, toPath: dir + "/moved")
        try refused(["--checkpoint", run], says: "was trained on \(data), which no longer exists; give --corpus FILE or --data DIR")
    }
}
