import Foundation
import Kernels

/// A file the caller adds to a checkpoint directory (for example `tokenizer.model`), written inside the
/// temporary directory before the atomic swap.
public struct CheckpointFile {
    public enum Contents {
        case data(Data)
        case copy(fromPath: String)
    }
    public let name: String
    public let contents: Contents
    public init(name: String, contents: Contents) {
        self.name = name
        self.contents = contents
    }

    /// `path`'s contents as they are now, read once, saved under `name`. A run gives every checkpoint it saves
    /// the tokenizer it started with: a copy made at each save took whatever the file had become (its data
    /// prepared again in place while it trained), pairing another tokenizer with the run's model.
    public static func snapshot(name: String, of path: String) throws -> CheckpointFile {
        CheckpointFile(name: name, contents: .data(try read(path)))
    }

    /// The file's bytes: its data, or a copy's source read now.
    func bytes() throws -> Data {
        switch contents {
        case let .data(data): return data
        case let .copy(source):
            if !FileManager.default.fileExists(atPath: source) { throw CheckpointError.missingFile(path: source) }
            return try CheckpointFile.read(source)
        }
    }

    /// The file with its contents in memory: a copy is read now, once, so that what is fingerprinted and what is
    /// written are the same bytes (`save` resolves its extra files before anything else).
    func resolved() throws -> CheckpointFile { CheckpointFile(name: name, contents: .data(try bytes())) }

    static func read(_ source: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: source)) } catch {
            throw CheckpointError.unreadable(path: source, reason: error.localizedDescription)
        }
    }
}

/// A checkpoint read back: the model (AdamW moments restored when a training state was present), the
/// config.json it came with, and the training state.
public struct LoadedCheckpoint {
    public let model: GPT
    public let hfConfig: HFConfig
    public let trainingState: TrainingState?
}

/// One directory that Hugging Face transformers can load (GPT2LMHeadModel.from_pretrained):
///   config.json                  GPT-2 keys + "swiftlet"
///   model.safetensors            GPT-2 names and shapes, F32, the tied LM head stored once as wte
///   training_state.safetensors   optional: AdamW moments "m.<name>", "v.<name>"; TrainingState as JSON in
///                                the metadata key "swiftlet_training_state"
///   extra files                  given by the caller (tokenizer.model, ...)
public enum Checkpoint {
    public static let configFileName = "config.json"
    public static let modelFileName = "model.safetensors"
    public static let trainingStateFileName = "training_state.safetensors"
    static let stateMetadataKey = "swiftlet_training_state"
    static let reservedNames: Set<String> = [configFileName, modelFileName, trainingStateFileName]

    /// Whether `directory` holds a checkpoint (its config.json): how every tool tells a checkpoint from a run
    /// directory or prepared data.
    public static func isCheckpoint(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: directory + "/" + configFileName)
    }

    /// Writes the checkpoint atomically: everything goes into a temporary sibling directory that then replaces
    /// `directory` (a crash leaves the previous checkpoint intact).
    public static func save(_ model: GPT, to directory: String, details: SwiftletDetails = SwiftletDetails(),
                            trainingState: TrainingState? = nil, bosTokenId: Int? = nil, eosTokenId: Int? = nil,
                            extraFiles: [CheckpointFile] = []) throws {
        let files = try extraFiles.map { try $0.resolved() }
        let config = HFConfig(config: model.config, details: fingerprinting(details, files), bosTokenId: bosTokenId,
                              eosTokenId: eosTokenId)
        try write(model, to: directory, configData: try config.encoded(), trainingState: trainingState, extraFiles: files)
    }

    /// The tokenizer a checkpoint is saved with, among its extra files.
    public static let tokenizerFileName = "tokenizer.model"

    /// `details` with the fingerprint of the tokenizer.model among `extraFiles` (none without one; the files
    /// `resolved`, so the bytes fingerprinted are those written).
    static func fingerprinting(_ details: SwiftletDetails, _ extraFiles: [CheckpointFile]) -> SwiftletDetails {
        var details = details
        details.tokenizerFingerprint = extraFiles.first { $0.name == tokenizerFileName }.flatMap { file in
            if case let .data(data) = file.contents { return FNV1a.hex(of: data) }
            return nil
        }
        return details
    }

    /// A tensor a task head adds to the model's (`score.weight`), with its AdamW moments.
    struct HeadTensor {
        let name: String
        let shape: [Int]
        let values: UnsafePointer<Float>, firstMoment: UnsafePointer<Float>, secondMoment: UnsafePointer<Float>
    }

    /// The directory of a language model's or a classifier's checkpoint: config.json as given, model.safetensors
    /// (the model's tensors, then `heads`), training_state.safetensors with the state and the moments (every m.
    /// tensor, then every v.), and `extraFiles` (which the saves resolved first); atomically (`save`).
    static func write(_ model: GPT, heads: [HeadTensor] = [], to directory: String, configData: Data,
                      trainingState: TrainingState?, extraFiles: [CheckpointFile]) throws {
        for file in extraFiles {
            if file.name.isEmpty || file.name.contains("/") || file.name == "." || file.name == ".." {
                throw CheckpointError.invalidFileName(name: file.name, reason: "must be a plain file name")
            }
            if reservedNames.contains(file.name) {
                throw CheckpointError.invalidFileName(name: file.name, reason: "Swiftlet writes that file itself")
            }
        }
        try AtomicFiles.writeDirectory(at: directory) { temporary in
            try AtomicFiles.writeFile(at: temporary + "/" + configFileName, data: configData)
            try Safetensors.write(model.layout.slots.map {
                Safetensors.Source(name: $0.name, shape: $0.shape, data: model.parameters.pointer + $0.offset)
            } + heads.map { .init(name: $0.name, shape: $0.shape, data: $0.values) },
                metadata: ["format": "pt"], to: temporary + "/" + modelFileName)
            if let trainingState {
                let stateJSON = String(decoding: try JSONEncoder.keepingSlashes().encode(trainingState), as: UTF8.self)
                var moments: [Safetensors.Source] = []
                for (prefix, buffer) in [("m.", model.firstMoment), ("v.", model.secondMoment)] {
                    for slot in model.layout.slots {
                        moments.append(.init(name: prefix + slot.name, shape: slot.shape, data: buffer.pointer + slot.offset))
                    }
                    for head in heads {
                        moments.append(.init(name: prefix + head.name, shape: head.shape,
                                             data: prefix == "m." ? head.firstMoment : head.secondMoment))
                    }
                }
                try Safetensors.write(moments, metadata: ["format": "pt", stateMetadataKey: stateJSON],
                                      to: temporary + "/" + trainingStateFileName)
            }
            for file in extraFiles { try AtomicFiles.writeFile(at: temporary + "/" + file.name, data: try file.bytes()) }
        }
    }

    /// Reads config.json of a checkpoint directory and the model configuration it implies.
    public static func readConfig(directory: String) throws -> (hf: HFConfig, model: GPTConfig) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw CheckpointError.missingDirectory(path: directory)
        }
        guard isDirectory.boolValue else { throw CheckpointError.notADirectory(path: directory) }
        let path = directory + "/" + configFileName
        let hf = try HFConfig.read(path: path)
        return (hf, try hf.modelConfig(path: path))
    }

    /// Loads a checkpoint, validating every file against config.json. Also reads model.safetensors files
    /// written by transformers: names with or without the "transformer." prefix, a separate lm_head.weight
    /// (accepted only when it equals wte: the head is tied; alone, it is wte), and the attention-mask buffers
    /// (ignored). The training state is read when present and `includeTrainingState` is true.
    public static func load(from directory: String, includeTrainingState: Bool = true,
                            pool: ThreadPool = .shared) throws -> LoadedCheckpoint {
        let (hf, config) = try readConfig(directory: directory)
        let statePath = trainingStateToLoad(directory: directory, include: includeTrainingState)
        let model = try makeModel(config: config, configPath: directory + "/" + configFileName,
                                  training: statePath != nil, pool: pool)
        try readWeights(into: model, path: directory + "/" + modelFileName)
        let state = try statePath.map { try loadTrainingState(into: model, path: $0) }
        return LoadedCheckpoint(model: model, hfConfig: hf, trainingState: state)
    }

    /// The training state file a load reads: the directory's, when `include` and it is there (a checkpoint saved
    /// for inference has none); else nil.
    static func trainingStateToLoad(directory: String, include: Bool) -> String? {
        let path = directory + "/" + trainingStateFileName
        return include && FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// A model of the checkpoint's `config` (weights zero), or the error naming its config.json when they would
    /// not fit in memory here; with `training` (a training state to load: AdamW's moments, then training), its
    /// weights, gradients and moments must fit.
    static func makeModel(config: GPTConfig, configPath: String, training: Bool, pool: ThreadPool) throws -> GPT {
        do {
            if training { try GPT.checkModelMemory(config: config, training: true) }
            return try GPT(config: config, pool: pool)
        } catch let GPTError.modelDoesNotFitInMemory(parameters, bytes, available, training) {
            throw CheckpointError.tooLarge(path: configPath, detail: String(
                format: "a model of %.2f billion parameters, whose %@ need %.1f GB: more than the %.1f GB a run may "
                    + "take of the memory here", Double(parameters) / 1e9,
                training ? "weights, gradients and AdamW moments" : "weights", bytes / 1e9, available / 1e9))
        }
    }

    /// `ignoring`: tensor names a caller reads itself (a task head such as score.weight).
    static func readWeights(into model: GPT, path: String, ignoring: Set<String> = []) throws {
        try refuseOtherWeightFiles(path)
        let file = try Safetensors.File(path: path)
        var nameInFile: [String: String] = [:]   // canonical name -> name in the file
        var lmHead: String?
        for name in file.entries.keys.sorted() {
            if name == "lm_head.weight" { lmHead = name; continue }
            if ignoring.contains(name) { continue }
            let canonical = name.hasPrefix("transformer.") ? name : "transformer." + name
            if isAttentionBuffer(canonical) { continue }
            guard model.layout.slot(named: canonical) != nil, nameInFile[canonical] == nil else {
                throw CheckpointError.unexpectedTensor(path: path, tensor: name)
            }
            nameInFile[canonical] = name
        }
        // A file with the head alone (transformers may keep either name of tied weights) holds wte under its name.
        if nameInFile[tokenEmbedding] == nil, let head = lmHead {
            nameInFile[tokenEmbedding] = head
            lmHead = nil
        }
        defer { model.parametersChanged() }
        for slot in model.layout.slots {
            guard let name = nameInFile[slot.name] else { throw CheckpointError.missingTensor(path: path, tensor: slot.name) }
            let values = model.parameters.pointer + slot.offset
            try file.read(name, shape: slot.shape, into: values)
            try checkFinite(values, count: slot.count, path: path, tensor: name)
        }
        if let lmHead {
            let wte = model.layout.slot(named: tokenEmbedding)!   // every layout has it
            let head = FloatBuffer(count: wte.count)
            try file.read(lmHead, shape: wte.shape, into: head.pointer)
            for i in 0..<wte.count where head.pointer[i] != model.parameters.pointer[wte.offset + i] {
                throw CheckpointError.unsupported(path: path, detail: "lm_head.weight differs from transformer.wte.weight (an untied LM head)")
            }
        }
    }

    /// Weights read from `path` must be finite: a model trained into NaN or infinity would sample only <unk>s and
    /// evaluate to NaN without a word.
    static func checkFinite(_ values: UnsafePointer<Float>, count: Int, path: String, tensor: String) throws {
        if let bad = (0..<count).first(where: { !values[$0].isFinite }) {
            throw CheckpointError.nonFiniteWeight(path: path, tensor: tensor, index: bad, value: values[bad])
        }
    }

    static let tokenEmbedding = "transformer.wte.weight"

    /// A missing model.safetensors beside weights in a form Swiftlet does not read (transformers' sharded
    /// safetensors, or PyTorch's pickle files) is refused with what to do, not as a missing file.
    static func refuseOtherWeightFiles(_ path: String) throws {
        let manager = FileManager.default
        guard !manager.fileExists(atPath: path) else { return }
        let directory = (path as NSString).deletingLastPathComponent
        let sibling = { (name: String) in manager.fileExists(atPath: directory + "/" + name) }
        if sibling("model.safetensors.index.json") {
            throw CheckpointError.unsupported(path: path, detail: "the weights are sharded over several files "
                + "(model.safetensors.index.json); save them as one model.safetensors (transformers: save_pretrained "
                + "with a max_shard_size above the model's size)")
        }
        if sibling("pytorch_model.bin") || sibling("pytorch_model.bin.index.json") {
            throw CheckpointError.unsupported(path: path, detail: "the weights are PyTorch pickle files "
                + "(pytorch_model.bin); save them as model.safetensors (transformers: save_pretrained with "
                + "safe_serialization=True)")
        }
    }

    /// GPT-2's causal-mask buffers `h.N.attn.bias` / `h.N.attn.masked_bias` (not parameters).
    static func isAttentionBuffer(_ canonical: String) -> Bool {
        guard canonical.hasPrefix("transformer.h.") else { return false }
        return canonical.hasSuffix(".attn.bias") || canonical.hasSuffix(".attn.masked_bias")
    }

    /// The training state of the checkpoint in `directory` (step, generator, the run's configuration) without its
    /// AdamW moments, or nil when it has none (a checkpoint saved for inference only).
    public static func readTrainingState(directory: String) throws -> TrainingState? {
        let path = directory + "/" + trainingStateFileName
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try trainingState(of: Safetensors.File(path: path))
    }

    /// The training state at `path` with its AdamW moments loaded into `model` (tensors named in `ignoring`, a
    /// task head's, may be there too; any other tensor is refused).
    static func loadTrainingState(into model: GPT, path: String, ignoring: Set<String> = []) throws -> TrainingState {
        let file = try Safetensors.File(path: path)
        let state = try trainingState(of: file)
        let expected = Set(model.layout.slots.flatMap { ["m." + $0.name, "v." + $0.name] }).union(ignoring)
        if let extra = file.entries.keys.sorted().first(where: { !expected.contains($0) }) {
            throw CheckpointError.unexpectedTensor(path: path, tensor: extra)
        }
        for slot in model.layout.slots {
            try readMoments(file, name: slot.name, shape: slot.shape, first: model.firstMoment.pointer + slot.offset,
                            second: model.secondMoment.pointer + slot.offset)
        }
        return state
    }

    /// Reads the AdamW moments "m.<name>" and "v.<name>" of one tensor and checks them: both finite, the second
    /// (a running mean of squares) not negative. A damaged value would otherwise surface steps later as a NaN
    /// loss blamed on training.
    static func readMoments(_ file: Safetensors.File, name: String, shape: [Int], first: UnsafeMutablePointer<Float>,
                            second: UnsafeMutablePointer<Float>) throws {
        let count = shape.reduce(1, *)
        for (prefix, values, nonNegative) in [("m.", first, false), ("v.", second, true)] {
            try file.read(prefix + name, shape: shape, into: values)
            if let bad = (0..<count).first(where: { !values[$0].isFinite || (nonNegative && values[$0] < 0) }) {
                throw CheckpointError.invalidMoment(path: file.path, tensor: prefix + name, index: bad, value: values[bad])
            }
        }
    }

    /// The state JSON in a training-state file's header, validated.
    private static func trainingState(of file: Safetensors.File) throws -> TrainingState {
        let path = file.path
        guard let json = file.metadata[stateMetadataKey] else {
            throw CheckpointError.invalidHeader(path: path, detail: "no \(stateMetadataKey) in __metadata__")
        }
        let state: TrainingState
        do { state = try JSONDecoder().decode(TrainingState.self, from: Data(json.utf8)) } catch {
            throw CheckpointError.invalidHeader(path: path, detail: "\(stateMetadataKey) is not a valid training state")
        }
        guard SeededGenerator(state: state.generatorState) != nil, state.step >= 0 else {
            throw CheckpointError.invalidHeader(path: path, detail: "invalid step or generator state")
        }
        return state
    }
}
