import Foundation
import Testing
import JSON
@testable import Sampling

/// A batch output records the run that wrote it (checkpoint, weights, base seed, sampling settings), and a
/// resume with another one is refused by the option's name instead of mixing samples.
@Suite struct BatchRunSettingsTests {
    let scratch = ScratchDirectories()
    static let run = BatchRunSettings(checkpoint: "/models/a/best", checkpointModified: 1_700_000_000.5, weights: "fp32", baseSeed: 5,
                                      sampling: SamplingSettings(temperature: 0.7, maxNewTokens: 20, stopStrings: ["\n"]))

    func sample(_ p: Int, _ s: Int, base: UInt64 = 5, extra: [JSONField] = []) -> BatchSample {
        let seed = SeedDerivation.seed(base: base, promptIndex: p, sampleIndex: s)
        var settings = Self.run.sampling
        settings.seed = seed
        return BatchSample(key: SampleKey(promptIndex: p, sampleIndex: s), prompt: "Once", completion: " upon",
                           tokenCount: 1, settings: settings, seed: seed, finishReason: "length", extraFields: extra)
    }

    func failure(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    /// An output written by `run`, resumed: the writer after `init(existing: .resume)`.
    func resumed(_ path: String) throws -> BatchOutputWriter {
        do {
            let writer = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .refuse)
            try writer.begin(Self.run)
            try writer.write(sample(0, 0, extra: [JSONField(key: "checkpoint", value: .string("theirs"))]))
        }
        return try BatchOutputWriter(destination: .jsonLines(path: path), existing: .resume)
    }

    @Test func linesRecordTheRun() throws {
        let path = scratch.make() + "/out.jsonl"
        _ = try resumed(path)
        let line = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        #expect(line["checkpoint"] as? String == "/models/a/best" && line["weights"] as? String == "fp32")
        #expect(line["base_seed"] as? Int == 5 && line["input_checkpoint"] as? String == "theirs")
    }

    @Test func resumeWithTheSameRunGoesOnAndKnowsItsSeed() throws {
        let writer = try resumed(scratch.make() + "/out.jsonl")
        #expect(writer.recordedBaseSeed == 5)
        try writer.begin(Self.run)
        try writer.write(sample(0, 1))
    }

    @Test func resumeWithAnotherRunIsRefusedByName() throws {
        let path = scratch.make() + "/out.jsonl"
        var changes: [(BatchRunSettings, String)] = []
        func change(_ says: String, _ edit: (inout BatchRunSettings) -> Void) {
            var run = Self.run
            edit(&run)
            changes.append((run, says))
        }
        change("--checkpoint /models/a/best, not /models/b/best") { $0.checkpoint = "/models/b/best" }
        change("other weights in /models/a/best (its model.safetensors was written again since)") {
            $0.checkpointModified = 1_700_000_100
        }
        change("--weights fp32, not bf16") { $0.weights = "bf16" }
        change("--seed 5, not 6") { $0.baseSeed = 6 }
        change("--temperature 0.7, not 1") { $0.sampling.temperature = 1 }
        change("--top-k 0, not 40") { $0.sampling.topK = 40 }
        change("--top-p 0.9, not 0.95") { $0.sampling.topP = 0.95 }
        change("--min-p 0, not 0.1") { $0.sampling.minP = 0.1 }
        change("--repetition-penalty 1, not 1.2") { $0.sampling.repetitionPenalty = 1.2 }
        change("--max-tokens 20, not 21") { $0.sampling.maxNewTokens = 21 }
        change(#"--stop ["\n"], not []"#) { $0.sampling.stopStrings = [] }
        _ = try resumed(path)
        let before = try String(contentsOfFile: path, encoding: .utf8)
        for (run, says) in changes {
            let writer = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .resume)
            #expect(failure { try writer.begin(run) }
                    == "\(path):1: written with \(says); --resume continues an output only with the settings that wrote it (--overwrite starts over)")
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
    }

    /// Lines written before the run was recorded stay readable: their seeds are checked against --seed, and
    /// what they do not record is not compared.
    @Test func olderLinesAreCheckedByTheirSeeds() throws {
        let path = scratch.make() + "/old.jsonl"
        // Before these keys were reserved, a prompt's own "checkpoint" field was carried under its name.
        let line = BatchOutputWriter.jsonLine(for: sample(0, 0)).dropLast() + #", "checkpoint": "theirs"}"#
        try (line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(!(try String(contentsOfFile: path, encoding: .utf8)).contains("base_seed"))
        let writer = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .resume)
        #expect(writer.recordedBaseSeed == nil && writer.completed.count == 1)
        var other = Self.run
        other.baseSeed = 6
        #expect(failure { try writer.begin(other) }?.contains("written with another --seed than 6") == true)
        other = Self.run
        other.checkpoint = "/anywhere"
        try writer.begin(other)
    }

    @Test func directoryOutputRecordsTheRunInItsSettingsFile() throws {
        let directory = scratch.make() + "/samples"
        do {
            let writer = try BatchOutputWriter(destination: .directory(path: directory), existing: .refuse)
            try writer.begin(Self.run)
            try writer.write(sample(0, 0))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["prompt-0000-sample-0.txt", "settings.json"])
        let writer = try BatchOutputWriter(destination: .directory(path: directory), existing: .resume)
        #expect(writer.recordedBaseSeed == 5)
        var other = Self.run
        other.sampling.temperature = 0.8
        #expect(failure { try writer.begin(other) }?.hasPrefix("\(directory)/settings.json: written with --temperature 0.7, not 0.8") == true)
        try writer.begin(Self.run)
    }
}
