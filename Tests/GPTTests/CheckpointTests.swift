import Foundation
import Testing
@testable import GPT

/// A fresh directory under the system temporary directory, removed by the caller.
func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "swiftlet-gpt-tests-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct CheckpointTests {
    static let config = GPTConfig(layers: 2, heads: 2, width: 8, context: 8, vocabSize: 11)

    /// A model with non-trivial moments, saved with a training state and an extra file.
    static func saved(in root: String) throws -> (GPT, TrainingState, String) {
        let model = try GPT(config: config, seed: 5)
        try model.forwardBackward(tokens: [1, 2, 3, 4], targets: [2, 3, 4, 5], batch: 1, time: 4)
        model.update(learningRate: 1e-2, weightDecay: 0.1, step: 1)
        let state = TrainingState(step: 1, generatorState: SeededGenerator(seed: 3).state, dataPosition: 12345,
                                  configuration: #"{"lr": 0.01, "name": "a \"quoted\" run"}"#)
        let directory = root + "/run"
        try Checkpoint.save(model, to: directory, details: SwiftletDetails(preset: "test", notes: ["tokenizer": "char"]),
                            trainingState: state, bosTokenId: 1, eosTokenId: 2,
                            extraFiles: [CheckpointFile(name: "tokenizer.model", contents: .data(Data("spm".utf8)))])
        return (model, state, directory)
    }

    @Test func roundTripRestoresEverything() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (model, state, directory) = try Self.saved(in: root)
        let loaded = try Checkpoint.load(from: directory)
        #expect(loaded.model.config == model.config)
        #expect(loaded.model.parameters.values == model.parameters.values)
        #expect(loaded.model.firstMoment.values == model.firstMoment.values)
        #expect(loaded.model.secondMoment.values == model.secondMoment.values)
        #expect(loaded.trainingState == state)
        #expect(loaded.hfConfig.swiftlet?.notes["tokenizer"] == "char")
        #expect(loaded.hfConfig.bosTokenId == 1 && loaded.hfConfig.eosTokenId == 2)
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/tokenizer.model")) == Data("spm".utf8))
        // No temporary directories are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["run"])
        // Same logits after the round trip.
        let tokens: [Int32] = [3, 1, 4, 1, 5, 9]
        #expect(try loaded.model.forward(tokens: tokens, batch: 2, time: 3) == model.forward(tokens: tokens, batch: 2, time: 3))
    }

    @Test func configJSONHasTheHuggingFaceKeys() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (_, _, directory) = try Self.saved(in: root)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/config.json"))) as! [String: Any]
        #expect(json["model_type"] as? String == "gpt2")
        #expect(json["architectures"] as? [String] == ["GPT2LMHeadModel"])
        #expect(json["n_layer"] as? Int == 2 && json["n_head"] as? Int == 2 && json["n_embd"] as? Int == 8)
        #expect(json["n_positions"] as? Int == 8 && json["n_ctx"] as? Int == 8 && json["vocab_size"] as? Int == 11)
        #expect(json["activation_function"] as? String == "gelu_new")
        #expect(json["tie_word_embeddings"] as? Bool == true)
        #expect((json["layer_norm_epsilon"] as? NSNumber)?.doubleValue == 1e-5)
        #expect(json["resid_pdrop"] != nil && json["embd_pdrop"] != nil && json["attn_pdrop"] != nil)
        #expect((json["swiftlet"] as? [String: Any])?["format_version"] as? Int == 1)
    }

    @Test func safetensorsLayoutIsStandard() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (model, _, directory) = try Self.saved(in: root)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/model.safetensors"))
        let headerLength = Int(bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        #expect((8 + headerLength) % 8 == 0)
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        #expect(header["__metadata__"] as? [String: String] == ["format": "pt"])
        #expect(header.count == model.layout.slots.count + 1)   // tied head stored once, as wte
        #expect(header["lm_head.weight"] == nil)
        let entry = header["transformer.h.1.mlp.c_fc.weight"] as! [String: Any]
        #expect(entry["dtype"] as? String == "F32" && entry["shape"] as? [Int] == [8, 32])
        let offsets = entry["data_offsets"] as! [Int]
        let value = bytes.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[0] + 4))
            .withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
        #expect(value == model.parameterValues(named: "transformer.h.1.mlp.c_fc.weight")![0])
        #expect(bytes.count == 8 + headerLength + ParameterLayout.parameterCount(of: Self.config) * 4)
    }

    @Test func savingReplacesAnExistingCheckpoint() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (model, _, directory) = try Self.saved(in: root)
        model.parameters.pointer[0] += 1
        try Checkpoint.save(model, to: directory)   // no training state this time
        let loaded = try Checkpoint.load(from: directory)
        #expect(loaded.model.parameters.pointer[0] == model.parameters.pointer[0])
        #expect(loaded.trainingState == nil)
        #expect(!FileManager.default.fileExists(atPath: directory + "/tokenizer.model"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["run"])
    }

    /// A save killed mid-write (SIGKILL: no chance to clean up) leaves its temporary copy beside the checkpoint;
    /// the next save of that checkpoint removes it, whatever process id its name holds (in a container every run
    /// may be pid 1, as this one is here), and leaves a copy that a writer still holds locked alone.
    @Test func savingRemovesCopiesOfKilledSaves() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (model, _, directory) = try Self.saved(in: root)
        let killed = [root + "/.run.tmp-4194305-77", root + "/.run.old-1-78", root + "/.run.tmp-\(getpid())-80"]
        let live = root + "/.run.tmp-1-79"
        for path in killed + [live] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            try Data(count: 1000).write(to: URL(fileURLWithPath: path + "/model.safetensors"))
        }
        let writer = AbandonedTemporaries.hold(live)   // a save in progress (its own open file description)
        defer { AbandonedTemporaries.release(writer) }
        try Checkpoint.save(model, to: directory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == [".run.tmp-1-79", "run"])
    }

    @Test func badExtraFilesAreRefusedBeforeWriting() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let model = try GPT(config: Self.config, seed: 1)
        #expect(throws: CheckpointError.invalidFileName(name: "../x", reason: "must be a plain file name")) {
            try Checkpoint.save(model, to: root + "/c", extraFiles: [CheckpointFile(name: "../x", contents: .data(Data()))])
        }
        #expect(throws: CheckpointError.missingFile(path: root + "/nope")) {
            try Checkpoint.save(model, to: root + "/c", extraFiles: [CheckpointFile(name: "t", contents: .copy(fromPath: root + "/nope"))])
        }
        // A classifier's checkpoint goes through the same writer and the same checks (its copy let ".." and a
        // missing source through to the write).
        let classifier = try SequenceClassifier(model: model, labels: ["a", "b"], padTokenId: 0)
        #expect(throws: CheckpointError.invalidFileName(name: "..", reason: "must be a plain file name")) {
            try ClassifierCheckpoint.save(classifier, to: root + "/c", extraFiles: [CheckpointFile(name: "..", contents: .data(Data()))])
        }
        #expect(throws: CheckpointError.missingFile(path: root + "/nope")) {
            try ClassifierCheckpoint.save(classifier, to: root + "/c",
                                          extraFiles: [CheckpointFile(name: "t", contents: .copy(fromPath: root + "/nope"))])
        }
        #expect(!FileManager.default.fileExists(atPath: root + "/c"))
    }

    /// A snapshot holds the file as it was when taken: a run saves the tokenizer it started with, whatever the
    /// file becomes while it trains (a copy at each save took a tokenizer prepared in its place since).
    @Test func aSnapshotKeepsTheFileAsItWas() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try "first".write(toFile: root + "/tokenizer.model", atomically: true, encoding: .utf8)
        let snapshot = try CheckpointFile.snapshot(name: "tokenizer.model", of: root + "/tokenizer.model")
        try "second".write(toFile: root + "/tokenizer.model", atomically: true, encoding: .utf8)
        try Checkpoint.save(try GPT(config: Self.config, seed: 1), to: root + "/c", extraFiles: [snapshot])
        #expect(try String(contentsOfFile: root + "/c/tokenizer.model", encoding: .utf8) == "first")
        #expect(throws: CheckpointError.self) { try CheckpointFile.snapshot(name: "t", of: root + "/nope") }
    }

    // MARK: - Damaged checkpoints

    /// Saves a good checkpoint, lets `damage` change it, and returns the error loading reports.
    func loadError(_ damage: (String) throws -> Void) throws -> CheckpointError? {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (_, _, directory) = try Self.saved(in: root)
        try damage(directory)
        do { _ = try Checkpoint.load(from: directory) } catch let error as CheckpointError { return error }
        return nil
    }

    /// Rewrites model.safetensors (or another safetensors `file`) with `edit` applied to the tensor list (names,
    /// shapes, data).
    static func rewriteWeights(_ directory: String, file name: String = "model.safetensors",
                               metadata: [String: String] = ["format": "pt"],
                               _ edit: (inout [(String, [Int], [Float])]) -> Void) throws {
        let path = directory + "/" + name
        let file = try Safetensors.File(path: path)
        var tensors = try file.entries.keys.sorted().map { ($0, file.entries[$0]!.shape, try file.floats($0)) }
        edit(&tensors)
        let buffers = tensors.map { t in t.2.withUnsafeBufferPointer { Array($0) } }
        var sources: [Safetensors.Source] = []
        var holders: [UnsafeMutablePointer<Float>] = []
        for (i, t) in tensors.enumerated() {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, buffers[i].count))
            p.initialize(from: buffers[i], count: buffers[i].count)
            holders.append(p)
            sources.append(Safetensors.Source(name: t.0, shape: t.1, data: p))
        }
        defer { holders.forEach { $0.deallocate() } }
        try Safetensors.write(sources, metadata: metadata, to: path)
    }

    /// Rewrites the JSON header of model.safetensors in place with `edit` applied to one tensor's entry (the
    /// data section is kept as it is; the header is re-padded to a multiple of 8 bytes).
    static func rewriteHeaderEntry(_ directory: String, tensor: String, _ edit: (inout [String: Any]) -> Void) throws {
        let path = directory + "/model.safetensors"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as! [String: Any]
        var entry = header[tensor] as! [String: Any]
        edit(&entry)
        header[tensor] = entry
        var json = try JSONSerialization.data(withJSONObject: header)
        while (json.count + 8) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(data.subdata(in: (8 + n)..<data.count))
        try out.write(to: URL(fileURLWithPath: path))
    }

    @Test func missingFiles() throws {
        let weights = try loadError { try FileManager.default.removeItem(atPath: $0 + "/model.safetensors") }
        #expect(weights.map { "\($0)" }?.hasSuffix("model.safetensors: file not found") == true)
        let config = try loadError { try FileManager.default.removeItem(atPath: $0 + "/config.json") }
        #expect(config.map { "\($0)" }?.hasSuffix("config.json: file not found") == true)
        #expect(throws: CheckpointError.missingDirectory(path: "/nonexistent/ckpt")) { try Checkpoint.load(from: "/nonexistent/ckpt") }
        // A directory where a file belongs is named as such (it was Foundation's "error 256").
        for name in ["model.safetensors", "config.json"] {
            let error = try loadError { directory in
                try FileManager.default.removeItem(atPath: directory + "/" + name)
                try FileManager.default.createDirectory(atPath: directory + "/" + name, withIntermediateDirectories: false)
            }
            #expect(error.map { "\($0)" }?.hasSuffix(name + ": is a directory, not a file") == true, "\(String(describing: error))")
        }
    }

    @Test func truncatedFile() throws {
        let error = try loadError { directory in
            let path = directory + "/model.safetensors"
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: path))
        }
        guard case let .offsetsOutOfRange(path, _, detail)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path.hasSuffix("model.safetensors") && detail.contains("truncated"))
        let tiny = try loadError { try Data([1, 2, 3]).write(to: URL(fileURLWithPath: $0 + "/model.safetensors")) }
        guard case .truncated? = tiny else { Issue.record("got \(String(describing: tiny))"); return }
        let header = try loadError { directory in
            let path = directory + "/model.safetensors"
            try Data(contentsOf: URL(fileURLWithPath: path)).prefix(50).write(to: URL(fileURLWithPath: path))
        }
        guard case .truncated? = header else { Issue.record("got \(String(describing: header))"); return }
        // Cut right after the header: every tensor is past the end, and the first by name is the one named (the
        // header's dictionary order named a different one on each run).
        var firstName = ""
        let cut = try loadError { directory in
            let path = directory + "/model.safetensors"
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
            let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
            firstName = header.keys.filter { $0 != "__metadata__" }.sorted()[0]
            try data.prefix(8 + length).write(to: URL(fileURLWithPath: path))
        }
        guard case let .offsetsOutOfRange(_, tensor, _)? = cut else { Issue.record("got \(String(describing: cut))"); return }
        #expect(tensor == firstName)
    }

    @Test func corruptHeader() throws {
        let error = try loadError { directory in
            let path = directory + "/model.safetensors"
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            data[8] = UInt8(ascii: "[")   // the JSON no longer parses as an object
            data[9] = UInt8(ascii: "x")
            try data.write(to: URL(fileURLWithPath: path))
        }
        guard case let .invalidHeader(path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path.hasSuffix("model.safetensors"))
    }

    @Test func badConfigJSON() throws {
        let error = try loadError { try Data("{\"n_layer\": 2}".utf8).write(to: URL(fileURLWithPath: $0 + "/config.json")) }
        #expect(error.map { "\($0)" }?.contains("config.json: missing key") == true)
        let heads = try loadError { directory in
            let path = directory + "/config.json"
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            json["n_head"] = 3
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        }
        #expect(heads.map { "\($0)" }?.contains("the number of heads (3) must divide the width (8)") == true)
        // A number that does not fit its key, a top level that is not an object, text that is not JSON.
        for (text, says) in [("4.5", "key 'n_layer' has the wrong type"), ("[]", "not a JSON object"),
                             ("{", "not valid JSON")] {
            let found = try loadError { directory in
                let path = directory + "/config.json"
                var json = try String(contentsOfFile: path, encoding: .utf8)
                if text == "4.5" {
                    let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
                    json = String(decoding: try JSONSerialization.data(withJSONObject: object.merging(["n_layer": 4.5]) { $1 }), as: UTF8.self)
                } else {
                    json = text
                }
                try json.write(toFile: path, atomically: true, encoding: .utf8)
            }
            #expect(found.map { "\($0)" }?.hasSuffix("config.json: " + says) == true, "\(text): \(String(describing: found))")
        }
        // Numbers beyond their field's range are named (they were "not a JSON object"), and a damaged n_embd
        // beside n_inner is refused (4 * n_embd trapped).
        for (changes, says) in [(["layer_norm_epsilon": 1e-300] as [String: Any], "key 'layer_norm_epsilon' holds a number out of its range"),
                                (["n_embd": 1.8446744073709552e19], "key 'n_embd' holds a number out of its range"),
                                (["n_embd": UInt64.max], "key 'n_embd' holds a number out of its range"),
                                (["n_inner": 0, "n_embd": 1 << 62], "n_inner 0 (only 4 * n_embd)")] {   // 4 * 2^62 wraps to 0
            let found = try loadError { directory in
                let path = directory + "/config.json"
                let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
                try JSONSerialization.data(withJSONObject: object.merging(changes) { $1 }).write(to: URL(fileURLWithPath: path))
            }
            #expect(found.map { "\($0)" }?.hasSuffix(says) == true, "\(changes): \(String(describing: found))")
        }
    }

    @Test func wrongDtype() throws {
        let error = try loadError { directory in
            // ln_f.bias claims F16: its 32 bytes hold 16 values of F16 (a shape of [16] keeps the file whole).
            try Self.rewriteHeaderEntry(directory, tensor: "transformer.ln_f.bias") { entry in
                entry["dtype"] = "F16"
                entry["shape"] = [16]
            }
        }
        guard case let .wrongDtype(_, tensor, dtype)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(tensor == "transformer.ln_f.bias" && dtype == "F16")
    }

    @Test func wrongShape() throws {
        let error = try loadError { directory in
            try Self.rewriteWeights(directory) { tensors in
                let i = tensors.firstIndex { $0.0 == "transformer.h.0.attn.c_attn.weight" }!
                tensors[i].1 = [24, 8]   // transposed: same size, wrong layout
            }
        }
        #expect(error == .wrongShape(path: error.map { if case let .wrongShape(p, _, _, _) = $0 { return p }; return "" } ?? "",
                                     tensor: "transformer.h.0.attn.c_attn.weight", expected: [8, 24], found: [24, 8]))
    }

    /// Weights that became NaN or infinite (a run that diverged) are refused when loading, naming the tensor.
    @Test func nonFiniteWeights() throws {
        for bad in [Float.nan, -Float.infinity] {
            let error = try loadError { directory in
                try Self.rewriteWeights(directory) { tensors in
                    let i = tensors.firstIndex { $0.0 == "transformer.ln_f.weight" }!
                    tensors[i].2[3] = bad
                }
            }
            guard case let .nonFiniteWeight(_, tensor, index, value)? = error else {
                Issue.record("loaded weights holding \(bad): \(String(describing: error))")
                continue
            }
            #expect(tensor == "transformer.ln_f.weight" && index == 3 && (value.isNaN == bad.isNaN))
            #expect(error!.description.contains("the weights are not finite"))
        }
    }

    /// AdamW moments that are not finite, or a negative second moment, are the training state's error when it is
    /// loaded (a resume trained a step on them, then blamed training for the NaN loss).
    @Test func damagedMomentsAreRefused() throws {
        for (name, value) in [("m.transformer.wte.weight", Float.nan), ("m.transformer.h.0.ln_1.bias", .infinity),
                              ("v.transformer.wpe.weight", -1)] {
            let error = try loadError { directory in
                let metadata = try Safetensors.File(path: directory + "/training_state.safetensors").metadata
                try Self.rewriteWeights(directory, file: "training_state.safetensors", metadata: metadata) { tensors in
                    let i = tensors.firstIndex { $0.0 == name }!
                    tensors[i].2[2] = value
                }
            }
            guard case let .invalidMoment(path, tensor, index, found)? = error else { Issue.record("got \(String(describing: error))"); return }
            #expect(path.hasSuffix("/training_state.safetensors") && tensor == name && index == 2)
            #expect(found.isNaN ? value.isNaN : found == value)
        }
    }

    @Test func missingAndUnexpectedTensors() throws {
        let missing = try loadError { directory in
            try Self.rewriteWeights(directory) { $0.removeAll { $0.0 == "transformer.h.1.ln_2.weight" } }
        }
        guard case let .missingTensor(_, tensor)? = missing else { Issue.record("got \(String(describing: missing))"); return }
        #expect(tensor == "transformer.h.1.ln_2.weight")
        let unexpected = try loadError { directory in
            try Self.rewriteWeights(directory) { $0.append(("transformer.h.7.ln_1.weight", [8], [Float](repeating: 1, count: 8))) }
        }
        guard case let .unexpectedTensor(_, extra)? = unexpected else { Issue.record("got \(String(describing: unexpected))"); return }
        #expect(extra == "transformer.h.7.ln_1.weight")
        let state = try loadError { directory in
            try FileManager.default.removeItem(atPath: directory + "/training_state.safetensors")
            try Data([0, 0, 0]).write(to: URL(fileURLWithPath: directory + "/training_state.safetensors"))
        }
        #expect(state.map { "\($0)" }?.contains("training_state.safetensors: truncated file") == true)
    }

    @Test func offsetsOutOfRange() throws {
        let error = try loadError { directory in
            try Self.rewriteHeaderEntry(directory, tensor: "transformer.wpe.weight") { entry in
                entry["data_offsets"] = [40, 8]   // begin after end
            }
        }
        guard case let .offsetsOutOfRange(_, tensor, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(tensor == "transformer.wpe.weight")
        // A shape whose element count fits in Int but whose byte count does not (2^61 floats).
        let huge = try loadError { directory in
            try Self.rewriteHeaderEntry(directory, tensor: "transformer.wpe.weight") { entry in
                entry["shape"] = [1 << 52, 1 << 9]
            }
        }
        guard case let .offsetsOutOfRange(_, hugeTensor, detail)? = huge else { Issue.record("got \(String(describing: huge))"); return }
        #expect(hugeTensor == "transformer.wpe.weight")
        #expect(detail.contains("do not hold shape [4503599627370496, 512] of F32"))
    }

    /// The tensors' byte ranges must tile the data exactly: a shifted offset (reading the next tensor's bytes),
    /// two tensors on the same bytes, and bytes appended after the last tensor were loaded as weights.
    @Test func tensorDataMustTileTheFile() throws {
        let shifted = try loadError { directory in
            try Self.rewriteHeaderEntry(directory, tensor: "transformer.wpe.weight") { entry in
                let offsets = entry["data_offsets"] as! [Int]
                entry["data_offsets"] = [offsets[0] + 4, offsets[1] + 4]
            }
        }
        guard case let .offsetsOutOfRange(_, tensor, detail)? = shifted else { Issue.record("got \(String(describing: shifted))"); return }
        #expect(tensor == "transformer.wpe.weight" && detail.hasSuffix("before it belong to no tensor"), "\(detail)")
        let shared = try loadError { directory in
            let path = directory + "/model.safetensors"
            let wpe = try Safetensors.File(path: path).entries["transformer.wpe.weight"]!
            try Self.rewriteHeaderEntry(directory, tensor: "transformer.ln_f.bias") { entry in
                entry["data_offsets"] = [wpe.begin, wpe.begin + 32]   // 8 floats inside wpe's bytes
            }
        }
        guard case let .offsetsOutOfRange(_, _, overlap)? = shared else { Issue.record("got \(String(describing: shared))"); return }
        #expect(overlap.contains("overlaps 'transformer.wpe.weight'") || overlap.contains("overlaps 'transformer.ln_f.bias'"), "\(overlap)")
        let appended = try loadError { directory in
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/model.safetensors"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(count: 64))
            try handle.close()
        }
        #expect(appended.map { "\($0)" }?.hasSuffix("model.safetensors: invalid safetensors header: the last 64 bytes of the data belong to no tensor") == true,
                "\(String(describing: appended))")
    }

    /// transformers-style files: names without "transformer.", a separate (equal) lm_head.weight, mask buffers.
    @Test func readsHuggingFaceNaming() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (model, _, directory) = try Self.saved(in: root)
        try Self.rewriteWeights(directory) { tensors in
            let wte = tensors.first { $0.0 == "transformer.wte.weight" }!
            tensors = tensors.map { (String($0.0.dropFirst("transformer.".count)), $0.1, $0.2) }
            tensors.append(("lm_head.weight", wte.1, wte.2))
            tensors.append(("h.0.attn.bias", [1, 1, 8, 8], [Float](repeating: 1, count: 64)))
        }
        let loaded = try Checkpoint.load(from: directory)
        #expect(loaded.model.parameters.values == model.parameters.values)
        // An lm_head that differs from wte cannot be represented by a tied model.
        try Self.rewriteWeights(directory) { tensors in
            let i = tensors.firstIndex { $0.0 == "lm_head.weight" }!
            tensors[i].2[0] += 1
        }
        #expect(throws: CheckpointError.self) { try Checkpoint.load(from: directory) }
        // The head alone (transformers keeps one name of tied weights, either) is wte.
        try Self.rewriteWeights(directory) { tensors in
            tensors.removeAll { $0.0 == "lm_head.weight" }
            tensors = tensors.map { $0.0 == "wte.weight" ? ("lm_head.weight", $0.1, $0.2) : $0 }
        }
        #expect(try Checkpoint.load(from: directory).model.parameters.values == model.parameters.values)
    }

    /// Edits config.json's object with `edit` and returns what loading says (nil: it loaded) and the config read.
    func loadWithConfig(_ edit: @escaping (inout [String: Any]) -> Void) throws -> (error: String?, config: GPTConfig?) {
        var config: GPTConfig?
        let error = try loadError { directory in
            let path = directory + "/config.json"
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            edit(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            config = try? Checkpoint.readConfig(directory: directory).model
        }
        return (error.map { "\($0)" }, config)
    }

    /// Keys of GPT2Config that transformers writes and Swiftlet reads as it means them: token ids as lists,
    /// reorder_and_upcast_attn (fp16 attention upcast: the same model in fp32), and GPT-2's three dropout
    /// rates when the "swiftlet" object is absent (they were ignored, and fine-tuning ran without dropout).
    @Test func readsTransformersConfigKeys() throws {
        let lists = try loadWithConfig { $0["eos_token_id"] = [2, 7]; $0["bos_token_id"] = [1] }
        #expect(lists.error == nil, "\(lists.error ?? "")")
        let decoded = try JSONDecoder().decode(HFConfig.self, from: Data(#"{"n_layer": 1, "n_head": 1, "n_embd": 4, "n_positions": 4, "vocab_size": 5, "eos_token_id": [9, 3], "bos_token_id": []}"#.utf8))
        #expect(decoded.eosTokenId == 9 && decoded.bosTokenId == nil)
        #expect(try loadWithConfig { $0["eos_token_id"] = "2" }.error?.hasSuffix("key 'eos_token_id' has the wrong type") == true)
        #expect(try loadWithConfig { $0["reorder_and_upcast_attn"] = true }.error == nil)
        let dropout = try loadWithConfig { object in
            object["swiftlet"] = nil
            for key in ["attn_pdrop", "embd_pdrop", "resid_pdrop"] { object[key] = 0.1 }
        }
        #expect(dropout.error == nil && dropout.config?.dropout == 0.1)
        // Unequal rates load (sampling and evaluation ignore dropout) with none; a run that would train with the
        // checkpoint's dropout must choose its own (the tools' tests).
        let mixed = try loadWithConfig { object in
            object["swiftlet"] = nil
            object["attn_pdrop"] = 0.1
        }
        #expect(mixed.error == nil && mixed.config?.dropout == 0, "\(mixed.error ?? "")")
        let rates = try JSONDecoder().decode(HFConfig.self, from: Data(#"{"n_layer": 1, "n_head": 1, "n_embd": 4, "n_positions": 4, "vocab_size": 5, "attn_pdrop": 0.1}"#.utf8))
        #expect(rates.unequalDropoutRates == "attn_pdrop 0.1, embd_pdrop 0.0, resid_pdrop 0.0")
        // Swiftlet's own dropout wins over the three rates.
        let own = try loadWithConfig { $0["attn_pdrop"] = 0.3; $0["swiftlet"] = ["dropout": 0.2, "format_version": 1, "notes": [:]] }
        #expect(own.error == nil && own.config?.dropout == 0.2)
        // Options that change the attention's math are refused, each by its key.
        #expect(try loadWithConfig { $0["scale_attn_weights"] = false }.error?.contains("unsupported: scale_attn_weights false") == true)
        #expect(try loadWithConfig { $0["scale_attn_by_inverse_layer_idx"] = true }.error?
            .contains("unsupported: scale_attn_by_inverse_layer_idx true") == true)
    }

    /// Weights transformers saved in a form Swiftlet does not read are named as such, with what to do (it said
    /// "model.safetensors: file not found"); a model whose weights do not fit in memory is named by its
    /// config.json (it advised a smaller width, as to a new run).
    @Test func unreadableWeightFormsAndTooLargeModelsAreNamed() throws {
        let sharded = try loadError { directory in
            try FileManager.default.removeItem(atPath: directory + "/model.safetensors")
            try Data("{}".utf8).write(to: URL(fileURLWithPath: directory + "/model.safetensors.index.json"))
        }
        #expect(sharded.map { "\($0)" }?.contains("model.safetensors: unsupported: the weights are sharded over several files") == true,
                "\(String(describing: sharded))")
        let pickled = try loadError { directory in
            try FileManager.default.removeItem(atPath: directory + "/model.safetensors")
            try Data().write(to: URL(fileURLWithPath: directory + "/pytorch_model.bin"))
        }
        #expect(pickled.map { "\($0)" }?.contains("model.safetensors: unsupported: the weights are PyTorch pickle files") == true,
                "\(String(describing: pickled))")
        // With a training state to resume from (AdamW's moments, then training), the training buffers count too.
        let enlarge = { (object: inout [String: Any]) in
            object["n_layer"] = 74; object["n_head"] = 64; object["n_embd"] = 8192; object["vocab_size"] = 65
        }
        let toResume = try loadWithConfig(enlarge)
        #expect(toResume.error?.contains("config.json: a model of 59.60 billion parameters, whose weights, gradients and "
                                         + "AdamW moments need 953.") == true, "\(toResume.error ?? "")")
        let toSample = try loadError { directory in
            try FileManager.default.removeItem(atPath: directory + "/training_state.safetensors")
            let path = directory + "/config.json"
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            enlarge(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        }
        #expect(toSample.map { "\($0)" }?.contains("config.json: a model of 59.60 billion parameters, whose weights need "
                                                   + "238.4 GB: more than the ") == true, "\(String(describing: toSample))")
    }
}
