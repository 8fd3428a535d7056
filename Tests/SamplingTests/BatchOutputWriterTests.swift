import Foundation
import Testing
import JSON
import Glibc
@testable import Sampling

@Suite struct BatchOutputWriterTests {
    let scratch = ScratchDirectories()

    func sample(_ p: Int, _ s: Int, prompt: String = "Once", completion: String = " upon a \"time\"\n\tend",
                extra: [JSONField] = []) -> BatchSample {
        BatchSample(key: SampleKey(promptIndex: p, sampleIndex: s), prompt: prompt, completion: completion,
                    tokenCount: 5, settings: SamplingSettings(topK: 40, seed: 3), seed: 99 + UInt64(s),
                    finishReason: "length", extraFields: extra)
    }

    func lines(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:]
        }
    }

    func failure(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    @Test func writesOneParsableLinePerSampleWithCarriedFields() throws {
        let path = scratch.make() + "/out.jsonl"
        let writer = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .refuse)
        try writer.write(sample(0, 0, extra: [JSONField(key: "answer", value: .number("1.50")),
                                              JSONField(key: "index", value: .string("theirs"))]))
        try writer.write(sample(0, 1, completion: "é\u{1}"))
        // Appended and flushed: readable while the writer is still open.
        let objects = lines(path)
        #expect(objects.count == 2)
        #expect(objects[0]["index"] as? Int == 0 && objects[0]["sample"] as? Int == 0)
        #expect(objects[0]["prompt"] as? String == "Once")
        #expect(objects[0]["completion"] as? String == " upon a \"time\"\n\tend")
        #expect(objects[0]["tokens"] as? Int == 5 && objects[0]["seed"] as? Int == 99)
        #expect(objects[0]["finish_reason"] as? String == "length")
        #expect((objects[0]["settings"] as? [String: Any])?["top_k"] as? Int == 40)
        #expect(objects[0]["input_index"] as? String == "theirs")
        #expect(objects[1]["completion"] as? String == "é\u{1}")
        let raw = try String(contentsOfFile: path, encoding: .utf8)
        #expect(raw.contains("\"answer\": 1.50"))
        #expect(raw.contains("\"top_p\":0.9}")) // Floats written as typed, not 0.899999976
    }

    /// A carried field named like an output key is renamed with "input_" in front until the name is free: the line
    /// never holds a key twice (an input with "index" and "input_index" wrote "input_index" twice).
    @Test func renamedCarriedFieldsNeverCollide() throws {
        let extra = [JSONField(key: "index", value: .string("mine")), JSONField(key: "input_index", value: .string("x")),
                     JSONField(key: "input_input_index", value: .string("y")), JSONField(key: "seed", value: .number("5"))]
        let line = BatchOutputWriter.jsonLine(for: sample(0, 0, extra: extra))
        guard case .object(let fields)? = try? JSONLineParser.parse(ArraySlice(line.utf8)) else {
            Issue.record("not a JSON object: \(line)")
            return
        }
        #expect(Set(fields.map(\.key)).count == fields.count, "\(line)")
        let carried = Dictionary(uniqueKeysWithValues: fields.suffix(4).map { ($0.key, $0.value) })
        #expect(carried == ["input_input_input_index": .string("mine"), "input_index": .string("x"),
                            "input_input_index": .string("y"), "input_seed": .number("5")])
        #expect(BatchOutputWriter.carriedNames(["index", "index"]) == ["input_index", "input_input_index"])
    }

    @Test func existingOutputIsNeverClobberedSilently() throws {
        let path = scratch.make() + "/out.jsonl"
        try "precious\n".write(toFile: path, atomically: true, encoding: .utf8)
        let message = failure { _ = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .refuse) }
        #expect(message == "\(path): already exists; pass --overwrite to replace it or --resume to continue it")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious\n")
        // Resuming into a file that is not ours is refused too, naming the line.
        let resume = failure { _ = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .resume) }
        #expect(resume?.hasPrefix("\(path):1: not an output line of this program") == true)
        // Overwrite replaces it.
        let writer = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .overwrite)
        try writer.write(sample(2, 0))
        #expect(lines(path).count == 1 && lines(path)[0]["index"] as? Int == 2)
    }

    let run = BatchRunSettings(checkpoint: "/checkpoints/tiny", weights: "fp32", baseSeed: 7, sampling: SamplingSettings(topK: 40))

    /// An output directory that cannot be made says why, as the system words it (the reason was left out).
    @Test func anOutputDirectoryThatCannotBeMadeSaysWhy() throws {
        let file = scratch.make() + "/a-file"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        let message = failure { _ = try BatchOutputWriter(destination: .directory(path: file + "/out"), existing: .refuse) }
        #expect(message == "\(file)/out: cannot create the output directory (Not a directory)")
    }

    @Test func resumeReportsDoneSamplesAndCutsAnUnfinishedLine() throws {
        let path = scratch.make() + "/out.jsonl"
        do {
            let writer = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .refuse)
            try writer.begin(run)
            try writer.write(sample(0, 0))
            try writer.write(sample(0, 1))
            try writer.write(sample(1, 0, prompt: "Second"))
        }
        // A crash in the middle of a write leaves half a line.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"index\": 1, \"sam".utf8))
        handle.closeFile()

        let damaged = try Data(contentsOf: URL(fileURLWithPath: path))
        let writer = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .resume)
        #expect(writer.completed == [SampleKey(promptIndex: 0, sampleIndex: 0), SampleKey(promptIndex: 0, sampleIndex: 1),
                                     SampleKey(promptIndex: 1, sampleIndex: 0)])
        // The unfinished line goes only once the run begins: a resume refused before that changes nothing.
        #expect(!writer.droppedPartialLine)
        var other = run
        other.baseSeed = 8
        #expect(failure { try writer.begin(other) }?.contains("written with --seed 7, not 8") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == damaged)
        try writer.begin(run)
        #expect(writer.droppedPartialLine)
        try writer.checkMatches([PromptRecord(index: 0, line: 1, prompt: "Once"), PromptRecord(index: 1, line: 2, prompt: "Second")])
        let mismatch = failure { try writer.checkMatches([PromptRecord(index: 0, line: 1, prompt: "Once"),
                                                          PromptRecord(index: 1, line: 3, prompt: "Other")]) }
        #expect(mismatch?.contains("the prompt of index 1 differs from line 3") == true)
        let fewer = failure { try writer.checkMatches([PromptRecord(index: 0, line: 1, prompt: "Once")]) }
        #expect(fewer?.contains("there is only 1 prompt;") == true)
        try writer.write(sample(1, 1, prompt: "Second"))
        let objects = lines(path)
        #expect(objects.count == 4 && objects.allSatisfy { $0["index"] is Int })
        #expect(objects[3]["sample"] as? Int == 1)
        // Resuming a missing file just starts it.
        let fresh = try BatchOutputWriter(destination: .jsonLines(path: path + ".new"), existing: .resume)
        #expect(fresh.completed.isEmpty)
    }

    /// --resume into a file that is not an output of this program (a typo: notes, the prompts file) is refused
    /// before anything changes: an unfinished last line is cut off only when it starts like an output line and
    /// every complete line is one.
    @Test func resumeNeverChangesAFileThatIsNotOurs() throws {
        let directory = scratch.make()
        let ourLine = BatchOutputWriter.jsonLine(for: sample(0, 0), run: run)
        let cases: [(contents: String, says: String)] = [
            ("my precious notes\nsecond line without newline", ":1: not an output line of this program"),
            ("single line no newline", ":1: an unfinished last line that is not the start of an output line of this program"),
            (ourLine + "\n" + "notes typed after it", ":2: an unfinished last line that is not the start"),
            (ourLine + "\n{\"index\": 1}\n{\"ind", ":2: not an output line of this program"),
        ]
        for (number, (contents, says)) in cases.enumerated() {
            let path = directory + "/notes-\(number).txt"
            try contents.write(toFile: path, atomically: true, encoding: .utf8)
            let message = failure { _ = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .resume) }
            #expect(message?.hasPrefix(path + says) == true, "\(contents): \(message ?? "accepted")")
            #expect(message?.hasSuffix("refusing to resume into it") == true, "\(message ?? "accepted")")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == contents)
        }
        // Any start of an output line is taken for one cut short, down to its first byte.
        for partial in ["{", "{\"index\": 1, \"sam"] {
            let path = directory + "/ours.jsonl"
            try (ourLine + "\n" + partial).write(toFile: path, atomically: true, encoding: .utf8)
            let writer = try BatchOutputWriter(destination: .jsonLines(path: path), existing: .resume)
            try writer.begin(run)
            #expect(writer.droppedPartialLine)
            #expect(try String(contentsOfFile: path, encoding: .utf8) == ourLine + "\n")
        }
    }

    /// --out-dir --resume with another prompts file is refused, naming the file, as --out FILE.jsonl is: each sample
    /// file must start with its prompt, and settings.json records the prompts (count and hash), which also tells a
    /// prompt cut short. Prompts added at the end may be resumed, as in JSONL.
    @Test func directoryResumeRefusesOtherPrompts() throws {
        let directory = scratch.make() + "/out"
        let first = [PromptRecord(index: 0, line: 1, prompt: "And God said"), PromptRecord(index: 1, line: 2, prompt: "Blessed")]
        do {
            let writer = try BatchOutputWriter(destination: .directory(path: directory), existing: .refuse)
            try writer.checkMatches(first)
            try writer.begin(run)
            try writer.write(sample(0, 0, prompt: "And God said", completion: " unto"))
            try writer.write(sample(1, 0, prompt: "Blessed", completion: " are"))
        }
        func resume(_ prompts: [PromptRecord]) -> String? {
            failure {
                let writer = try BatchOutputWriter(destination: .directory(path: directory), existing: .resume)
                try writer.checkMatches(prompts)
            }
        }
        let again = "; it was made from another prompts file (use --overwrite to start over)"
        #expect(resume(first) == nil)
        #expect(resume(first + [PromptRecord(index: 2, line: 4, prompt: "Woe")]) == nil)
        let woe = (0..<3).map { PromptRecord(index: $0, line: $0 + 1, prompt: "Woe") }
        #expect(resume(woe) == "\(directory)/prompt-0000-sample-0.txt: does not start with the prompt of line 1 of the prompts file" + again)
        #expect(resume([first[0]]) == "\(directory)/prompt-0001-sample-0.txt: a sample of prompt index 1, but there is only 1 prompt" + again)
        let cutShort = [PromptRecord(index: 0, line: 1, prompt: "And God"), first[1]]
        #expect(resume(cutShort) == "\(directory)/settings.json: records samples of other prompts than the first 2 of the prompts file" + again)
        // A directory whose settings.json records no prompts (written before it did) is still checked file by file.
        let settings = directory + "/settings.json"
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: settings))) as? [String: Any])
        #expect((object["prompts"] as? [String: Any])?["count"] as? Int == 2)
        try JSONSerialization.data(withJSONObject: object.filter { $0.key != "prompts" }).write(to: URL(fileURLWithPath: settings))
        #expect(resume(woe)?.hasPrefix("\(directory)/prompt-0000-sample-0.txt: does not start with the prompt") == true)
        #expect(resume(first) == nil)
        // Without its "settings" object, or with a FIFO in its place, the file is not taken as no settings (a resume
        // then ran without checking them, mixing samples of other settings into the directory).
        for damaged in [object.filter { $0.key != "settings" }, object.merging(["settings": NSNull()]) { $1 },
                        object.filter { $0.key != "base_seed" }] {
            try JSONSerialization.data(withJSONObject: damaged).write(to: URL(fileURLWithPath: settings))
            #expect(resume(first) == "\(settings): not the run settings this program writes; refusing to resume into \(directory)")
        }
        try FileManager.default.removeItem(atPath: settings)
        #expect(mkfifo(settings, 0o600) == 0)
        #expect(resume(first) == "\(settings): cannot be read as the run's settings; refusing to resume into \(directory)")
    }

    /// A run killed while it wrote settings.json leaves that write's temporary in the directory: `settings.json.partial`,
    /// or Foundation's `.dat.nosync...` of earlier versions (an atomic `Data.write`). Either is removed when the directory
    /// is opened again, as a sample's `.partial` is: every later run (--resume, --overwrite, or none) had refused the
    /// directory for holding "other files", naming a hidden file the user never made.
    @Test func aKilledSettingsWriteLeavesNothingThatBlocksTheDirectory() throws {
        let prompts = [PromptRecord(index: 0, line: 1, prompt: "And God said")]
        for leftover in ["settings.json.partial", ".dat.nosync58E.4va3Tr"] {
            for policy in [ExistingOutputPolicy.resume, .overwrite, .refuse] {
                let directory = scratch.make() + "/out"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try "{\"base_seed\": 7, \"sett".write(toFile: directory + "/" + leftover, atomically: false, encoding: .utf8)
                #expect(failure {
                    let writer = try BatchOutputWriter(destination: .directory(path: directory), existing: policy)
                    try writer.checkMatches(prompts)
                    try writer.begin(run)
                    try writer.write(sample(0, 0, prompt: "And God said", completion: " unto"))
                } == nil, "\(leftover) \(policy)")
                let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
                #expect(names == ["prompt-0000-sample-0.txt", "settings.json"], "\(leftover) \(policy)")
            }
        }
    }

    /// The prompts file is never the output, whatever the policy: not by its own name, a symlink or a hard link to
    /// it, nor as a file of --out-dir (--overwrite would have replaced it with the samples).
    @Test func thePromptsFileIsNeverTheOutput() throws {
        let directory = scratch.make()
        let prompts = directory + "/prompts.txt"
        try "And God said\nBlessed\n".write(toFile: prompts, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: directory + "/link.jsonl", withDestinationPath: prompts)
        #expect(link(prompts, directory + "/hard.jsonl") == 0)
        for out in [prompts, directory + "/link.jsonl", directory + "/hard.jsonl"] {
            for policy in [ExistingOutputPolicy.overwrite, .resume, .refuse] {
                let message = failure { _ = try BatchOutputWriter(destination: .jsonLines(path: out), existing: policy, prompts: prompts) }
                #expect(message == "\(out): is the prompts file \(prompts) itself; give another --out", "\(out) \(policy)")
            }
        }
        let outDir = directory + "/out"
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        #expect(link(prompts, outDir + "/prompt-0000-sample-0.txt") == 0)
        let message = failure { _ = try BatchOutputWriter(destination: .directory(path: outDir), existing: .overwrite, prompts: prompts) }
        #expect(message == "\(outDir)/prompt-0000-sample-0.txt: is the prompts file \(prompts) itself; give another --out-dir")
        #expect(link(prompts, outDir + "/settings.json") == 0)
        #expect(failure { _ = try BatchOutputWriter(destination: .directory(path: outDir), existing: .resume, prompts: outDir + "/settings.json") }?
            .hasSuffix(": is the prompts file \(outDir)/settings.json itself; give another --out-dir") == true)
        #expect(try String(contentsOfFile: prompts, encoding: .utf8) == "And God said\nBlessed\n")
        #expect(FileManager.default.fileExists(atPath: outDir + "/prompt-0000-sample-0.txt"))
    }

    /// A FIFO as --out is refused (writing through it blocked until something read it); so is a device.
    @Test func onlyARegularFileIsAnOutput() throws {
        let directory = scratch.make()
        let fifo = directory + "/fifo.jsonl"
        #expect(mkfifo(fifo, 0o644) == 0)
        for out in [fifo, "/dev/null"] {
            for policy in [ExistingOutputPolicy.overwrite, .resume, .refuse] {
                let message = failure { _ = try BatchOutputWriter(destination: .jsonLines(path: out), existing: policy) }
                #expect(message == "\(out): not a regular file (a named pipe or a device); give a file for --out",
                        "\(out) \(policy)")
            }
        }
    }

    @Test func directoryModeOneFilePerSample() throws {
        #expect(BatchOutputWriter.fileName(for: SampleKey(promptIndex: 3, sampleIndex: 1)) == "prompt-0003-sample-1.txt")
        #expect(BatchOutputWriter.fileName(for: SampleKey(promptIndex: 12345, sampleIndex: 0)) == "prompt-12345-sample-0.txt")
        // Only the names written are read back: other spellings of a key are not its file (a resume named a file
        // that did not exist, or counted one sample twice).
        #expect(BatchOutputWriter.parseFileName("prompt-0003-sample-1.txt") == SampleKey(promptIndex: 3, sampleIndex: 1))
        #expect(BatchOutputWriter.parseFileName("prompt-12345-sample-0.txt") == SampleKey(promptIndex: 12345, sampleIndex: 0))
        for other in ["prompt-3-sample-1.txt", "prompt-0003-sample-01.txt", "prompt-00003-sample-1.txt"] {
            #expect(BatchOutputWriter.parseFileName(other) == nil, "\(other)")
        }
        let directory = scratch.make() + "/samples/nested"
        do {
            let writer = try BatchOutputWriter(destination: .directory(path: directory), existing: .refuse)
            try writer.write(sample(3, 1, prompt: "Hi", completion: " there"))
            try writer.write(sample(0, 0))
        }
        let file = directory + "/prompt-0003-sample-1.txt"
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "Hi there")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names == ["prompt-0000-sample-0.txt", "prompt-0003-sample-1.txt"])

        let refused = failure { _ = try BatchOutputWriter(destination: .directory(path: directory), existing: .refuse) }
        #expect(refused == "\(directory): already holds 2 sample files; pass --overwrite to replace them or --resume to continue")
        let resumed = try BatchOutputWriter(destination: .directory(path: directory), existing: .resume)
        #expect(resumed.completed == [SampleKey(promptIndex: 3, sampleIndex: 1), SampleKey(promptIndex: 0, sampleIndex: 0)])
        _ = try BatchOutputWriter(destination: .directory(path: directory), existing: .overwrite)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)

        let notADirectory = scratch.make() + "/file"
        try "x".write(toFile: notADirectory, atomically: true, encoding: .utf8)
        #expect(failure { _ = try BatchOutputWriter(destination: .directory(path: notADirectory), existing: .refuse) }
            == "\(notADirectory): exists and is not a directory")
    }
}
