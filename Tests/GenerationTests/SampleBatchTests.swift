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
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: out, encoding: .utf8), text.contains("\n") { break }
            usleep(2_000)
        }
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let stderr = try String(contentsOfFile: log, encoding: .utf8)
        #expect(stderr.contains("stopped: ") && stderr.contains("samples written to \(out); --resume continues"), "\(stderr)")
        let written = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").count
        #expect(written >= 1 && written < 300)
    }
}
