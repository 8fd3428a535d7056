import Foundation
import Glibc
import Testing
import TestSupport

/// Where `finetune predict` writes: through a symlink to its target, never over a FIFO, a device or the input
/// file; a Ctrl-C leaves the old output and no partial file.
@Suite(.serialized) struct PredictOutputTests {
    static func predict(_ input: String, _ out: String, _ extra: [String] = []) throws -> BuiltExecutable.Output {
        try FinetuneCommand.run(["predict", "--checkpoint", Fixture.classifier, "--input", input, "--out", out,
                                 "--overwrite", "--threads", "1"] + extra)
    }

    @Test func aSymlinkedOutputIsWrittenThrough() throws {
        let scratch = Scratch()
        let input = try scratch.head(of: Fixture.shippedTrain, 3, as: "in.jsonl")
        let target = scratch.write("target.jsonl", "old\n"), link = scratch.path + "/link.jsonl"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.jsonl")
        let output = try Self.predict(input, link)
        #expect(output.status == 0, "\(output.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "target.jsonl")
        #expect(try String(contentsOfFile: target, encoding: .utf8).split(separator: "\n").count == 3)
        #expect(output.stdout == "wrote 3 predictions to \(link)\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted() == ["in.jsonl", "link.jsonl", "target.jsonl"])
    }

    @Test func aFifoADeviceOrTheInputIsRefused() throws {
        let scratch = Scratch()
        let input = try scratch.head(of: Fixture.shippedTrain, 3, as: "in.jsonl")
        let before = try String(contentsOfFile: input, encoding: .utf8)
        let fifo = scratch.path + "/fifo.jsonl"
        #expect(mkfifo(fifo, 0o600) == 0)
        expectError(try Self.predict(input, fifo), startsWith: "\(fifo): is a named pipe (FIFO), not a regular file")
        var status = stat()
        #expect(lstat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
        let device = scratch.path + "/null.jsonl"
        try FileManager.default.createSymbolicLink(atPath: device, withDestinationPath: "/dev/null")
        expectError(try Self.predict(input, device), startsWith: "\(device): is a device, not a regular file")
        expectError(try Self.predict(input, input), startsWith: "\(input): is the input file \(input); writing the output there would destroy")
        let link = scratch.path + "/link.jsonl", hardLink = scratch.path + "/hard.jsonl"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: input)
        try FileManager.default.linkItem(atPath: input, toPath: hardLink)
        expectError(try Self.predict(link, input), startsWith: "\(input): is the input file \(link)")
        expectError(try Self.predict(input, hardLink), startsWith: "\(hardLink): is the input file \(input)")
        #expect(try String(contentsOfFile: input, encoding: .utf8) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted()
                == ["fifo.jsonl", "hard.jsonl", "in.jsonl", "link.jsonl", "null.jsonl"])
    }

    /// Predictions are JSON Lines: an output named .csv, .tsv or .tab (which the readers would take as such) is
    /// refused before anything is written, even with --overwrite; other names are written.
    @Test func aCSVOrTSVNameIsRefused() throws {
        let scratch = Scratch()
        let input = try scratch.head(of: Fixture.shippedTrain, 3, as: "in.jsonl")
        for name in ["pred.csv", "pred.TSV", "pred.tab"] {
            expectUsageError(try Self.predict(input, scratch.path + "/" + name),
                             "--out: \(scratch.path)/\(name): predictions are written as JSON Lines, not as CSV or TSV; "
                                + "give --out a .jsonl, .json or .ndjson name", command: "predict")
        }
        let old = scratch.write("old.csv", "text,label\n")
        let refused = try Self.predict(input, old)
        #expect(refused.status == 64 && refused.stderr.hasPrefix("error: --out: \(old): predictions are written as JSON Lines"))
        #expect(try String(contentsOfFile: old, encoding: .utf8) == "text,label\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted() == ["in.jsonl", "old.csv"])
        for name in ["pred.ndjson", "pred.txt"] {
            let output = try Self.predict(input, scratch.path + "/" + name)
            #expect(output.status == 0, "\(name): \(output.stderr)")
        }
    }

    /// Ctrl-C during the predictions    /// Ctrl-C during the predictions: exit 130, the old output as it was, no hidden partial file.
    @Test func ctrlCRemovesThePartialOutput() throws {
        let scratch = Scratch()
        let input = try scratch.head(of: Fixture.shippedTrain, 2000, as: "in.jsonl")
        let out = scratch.write("out.jsonl", "old\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(FinetuneCommand.path))
        process.arguments = ["predict", "--checkpoint", Fixture.classifier, "--input", input, "--out", out,
                             "--overwrite", "--threads", "1", "--batch-size", "1"]
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        func partials() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? []).filter { $0.contains(".partial-") }
        }
        let deadline = Date().addingTimeInterval(120)
        while partials().isEmpty && process.isRunning && Date() < deadline { usleep(20_000) }
        #expect(process.isRunning, "predict ended before it could be interrupted")
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(partials().isEmpty)
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "old\n")
        // What the first Ctrl-C does, and what a second one would (it leaves the partial file).
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("Ctrl-C: stopping; \(out) is left as it was (Ctrl-C again to quit at once leaving a "
                                + "partial file beside \(out), removed by the next predict)"), "\(stderr)")
    }
}
