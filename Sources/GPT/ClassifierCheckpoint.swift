import Foundation
import Kernels

/// A classifier read back: the classifier (AdamW moments restored when a training state was present), the
/// config.json it came with, and the training state.
public struct LoadedClassifier {
    public let classifier: SequenceClassifier
    public let hfConfig: HFConfig
    public let trainingState: TrainingState?
}

/// What config.json says about a classification head (keys transformers' GPT2ForSequenceClassification reads).
public struct ClassifierConfig: Equatable, Sendable {
    /// id2label in id order.
    public var labels: [String]
    public var padTokenId: Int
}

/// A sequence-classifier checkpoint: the same directory as `Checkpoint` writes, plus
///   model.safetensors            `score.weight` [num_labels, n_embd]
///   config.json                  architectures ["GPT2ForSequenceClassification"], id2label ({"0": name}),
///                                label2id, num_labels, pad_token_id, problem_type "single_label_classification"
///   training_state.safetensors   the head's moments as m.score.weight / v.score.weight
/// so `GPT2ForSequenceClassification.from_pretrained(dir)` loads it and gives the same logits.
public enum ClassifierCheckpoint {
    public static let architecture = "GPT2ForSequenceClassification"

    public static func save(_ classifier: SequenceClassifier, to directory: String,
                            details: SwiftletDetails = SwiftletDetails(), trainingState: TrainingState? = nil,
                            bosTokenId: Int? = nil, eosTokenId: Int? = nil, extraFiles: [CheckpointFile] = []) throws {
        let files = try extraFiles.map { try $0.resolved() }
        var hf = HFConfig(config: classifier.model.config, details: Checkpoint.fingerprinting(details, files),
                          bosTokenId: bosTokenId, eosTokenId: eosTokenId)
        hf.architectures = [architecture]
        let head = Checkpoint.HeadTensor(name: SequenceClassifier.scoreTensorName, shape: [classifier.labelCount, classifier.width],
                                         values: classifier.score.pointer, firstMoment: classifier.scoreFirstMoment.pointer,
                                         secondMoment: classifier.scoreSecondMoment.pointer)
        try Checkpoint.write(classifier.model, heads: [head], to: directory, configData: try configJSON(hf, classifier: classifier),
                             trainingState: trainingState, extraFiles: files)
    }

    /// config.json: Swiftlet's HFConfig plus the classification keys.
    static func configJSON(_ hf: HFConfig, classifier: SequenceClassifier) throws -> Data {
        guard var object = try JSONSerialization.jsonObject(with: try hf.encoded()) as? [String: Any] else {
            throw CheckpointError.invalidConfig(path: Checkpoint.configFileName, detail: "cannot encode")
        }
        var id2label: [String: String] = [:], label2id: [String: Int] = [:]
        for (id, label) in classifier.labels.enumerated() {
            id2label[String(id)] = label
            label2id[label] = id
        }
        object["id2label"] = id2label
        object["label2id"] = label2id
        object["num_labels"] = classifier.labelCount
        object["pad_token_id"] = Int(classifier.padTokenId)
        object["problem_type"] = "single_label_classification"
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// The classification keys of a checkpoint's config.json, or nil when it describes no classifier
    /// (no "GPT2ForSequenceClassification" in architectures). A classifier config with missing or
    /// inconsistent keys is an error naming the file.
    public static func readClassifierConfig(directory: String) throws -> ClassifierConfig? {
        let path = directory + "/" + Checkpoint.configFileName
        _ = try Checkpoint.readConfig(directory: directory)
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] else {
                throw CheckpointError.invalidConfig(path: path, detail: "not a JSON object")
            }
            object = o
        } catch let error as CheckpointError { throw error } catch {
            throw CheckpointError.invalidConfig(path: path, detail: "not valid JSON")
        }
        guard let architectures = object["architectures"] as? [String], architectures.contains(architecture) else {
            return nil
        }
        // Multi-label (a sigmoid a label) and regression heads compute other probabilities and losses.
        if let problem = object["problem_type"], !(problem is NSNull), problem as? String != "single_label_classification" {
            throw CheckpointError.unsupported(path: path, detail: "problem_type \(problem as? String ?? "\(problem)") (only "
                + "single_label_classification: one label a text, a softmax over the labels)")
        }
        guard let id2label = object["id2label"] as? [String: String] else {
            throw CheckpointError.invalidConfig(path: path, detail: "a \(architecture) config needs 'id2label' ({\"0\": label, ...})")
        }
        var labels = [String](repeating: "", count: id2label.count)
        for (key, label) in id2label {
            guard let id = Int(key), id >= 0, id < id2label.count, labels[id].isEmpty, !label.isEmpty else {
                throw CheckpointError.invalidConfig(path: path, detail: "'id2label' must map the ids 0..<\(id2label.count) to non-empty names (bad key '\(key)')")
            }
            labels[id] = label
        }
        guard labels.count >= 2 else {
            throw CheckpointError.invalidConfig(path: path, detail: "'id2label' needs at least 2 labels")
        }
        // One pass with a dictionary (a search per label was quadratic: 100,000 labels took minutes).
        var firstId: [String: Int] = [:]
        for (id, label) in labels.enumerated() {
            if let first = firstId.updateValue(id, forKey: label) {
                throw CheckpointError.invalidConfig(path: path, detail: "'id2label' names '\(label)' twice (ids \(first) and \(id))")
            }
        }
        if let numLabels = object["num_labels"] as? Int, numLabels != labels.count {
            throw CheckpointError.invalidConfig(path: path, detail: "num_labels \(numLabels) disagrees with id2label (\(labels.count) labels)")
        }
        if let label2id = object["label2id"] as? [String: Int] {
            for (id, label) in labels.enumerated() where label2id[label] != id {
                throw CheckpointError.invalidConfig(path: path, detail: "label2id disagrees with id2label for '\(label)'")
            }
        }
        guard let pad = object["pad_token_id"] as? Int else {
            throw CheckpointError.invalidConfig(path: path, detail: "a \(architecture) config needs 'pad_token_id'")
        }
        return ClassifierConfig(labels: labels, padTokenId: pad)
    }

    /// Loads a classifier checkpoint; a checkpoint without a classification head is `notAClassifier`.
    public static func load(from directory: String, includeTrainingState: Bool = true,
                            pool: ThreadPool = .shared) throws -> LoadedClassifier {
        guard let head = try readClassifierConfig(directory: directory) else {
            throw ClassifierCheckpointError.notAClassifier(path: directory)
        }
        let (hf, config) = try Checkpoint.readConfig(directory: directory)
        let configPath = directory + "/" + Checkpoint.configFileName
        let statePath = Checkpoint.trainingStateToLoad(directory: directory, include: includeTrainingState)
        let model = try Checkpoint.makeModel(config: config, configPath: configPath, training: statePath != nil,
                                             pool: pool)
        guard head.padTokenId >= 0, head.padTokenId < config.vocabSize else {
            throw CheckpointError.invalidConfig(path: configPath, detail: "pad_token_id \(head.padTokenId) is outside the vocabulary")
        }
        let classifier = try SequenceClassifier(model: model, labels: head.labels, padTokenId: Int32(head.padTokenId))
        let modelPath = directory + "/" + Checkpoint.modelFileName
        let scoreName = SequenceClassifier.scoreTensorName
        try Checkpoint.readWeights(into: model, path: modelPath, ignoring: [scoreName])
        let file = try Safetensors.File(path: modelPath)
        guard file.entries[scoreName] != nil else { throw CheckpointError.missingTensor(path: modelPath, tensor: scoreName) }
        try file.read(scoreName, shape: [classifier.labelCount, classifier.width], into: classifier.score.pointer)
        try Checkpoint.checkFinite(classifier.score.pointer, count: classifier.labelCount * classifier.width, path: modelPath,
                                   tensor: scoreName)
        var state: TrainingState?
        if let statePath {
            state = try Checkpoint.loadTrainingState(into: model, path: statePath, ignoring: ["m." + scoreName, "v." + scoreName])
            let moments = try Safetensors.File(path: statePath)
            try Checkpoint.readMoments(moments, name: scoreName, shape: [classifier.labelCount, classifier.width],
                                       first: classifier.scoreFirstMoment.pointer, second: classifier.scoreSecondMoment.pointer)
        }
        return LoadedClassifier(classifier: classifier, hfConfig: hf, trainingState: state)
    }

    /// The transformer of any checkpoint, classifier or language model (a classifier's head is left out):
    /// the starting point of fine-tuning. No training state.
    public static func loadBody(from directory: String, pool: ThreadPool = .shared) throws -> (model: GPT, hfConfig: HFConfig) {
        let (hf, config) = try Checkpoint.readConfig(directory: directory)
        let model = try Checkpoint.makeModel(config: config, configPath: directory + "/" + Checkpoint.configFileName,
                                             training: false, pool: pool)
        try Checkpoint.readWeights(into: model, path: directory + "/" + Checkpoint.modelFileName,
                                   ignoring: [SequenceClassifier.scoreTensorName])
        return (model, hf)
    }
}

public enum ClassifierCheckpointError: Error, Equatable, CustomStringConvertible {
    case notAClassifier(path: String)
    public var description: String {
        switch self {
        case let .notAClassifier(path):
            return "\(path): not a classifier checkpoint (config.json has no GPT2ForSequenceClassification head); fine-tune one with `finetune --task classify`"
        }
    }
}
