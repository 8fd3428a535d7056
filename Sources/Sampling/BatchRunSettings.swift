import Foundation
import JSON

/// What every sample of one batch output shares: the checkpoint, how its weights were read, the base seed of the
/// samples' seeds and the sampling settings. The output records it (JSONL: on every line; a directory: in
/// `settings.json`), so `--resume` adds only samples that belong with those already there.
public struct BatchRunSettings: Equatable, Sendable {
    /// The checkpoint directory, as an absolute path.
    public var checkpoint: String
    /// When its weights (model.safetensors) were last written, as seconds since 1970: a checkpoint trained further
    /// in place keeps its path but not this. Nil when unknown.
    public var checkpointModified: Double?
    /// How the decoding steps read the weights ("fp32", "bf16").
    public var weights: String
    /// Sample s of prompt i has the seed `SeedDerivation.seed(base: baseSeed, promptIndex: i, sampleIndex: s)`.
    public var baseSeed: UInt64
    /// The sampling settings; their seed is not compared (each sample records its own).
    public var sampling: SamplingSettings

    public init(checkpoint: String, checkpointModified: Double? = nil, weights: String, baseSeed: UInt64,
                sampling: SamplingSettings) {
        self.checkpoint = checkpoint
        self.checkpointModified = checkpointModified
        self.weights = weights
        self.baseSeed = baseSeed
        self.sampling = sampling
    }

    /// The members it adds to an output line (and makes up settings.json without "settings").
    var fields: [JSONField] {
        [JSONField(key: "base_seed", value: .number(String(baseSeed))),
         JSONField(key: "checkpoint", value: .string(checkpoint))]
            + (checkpointModified.map { [JSONField(key: "checkpoint_modified", value: .number(String($0)))] } ?? [])
            + [JSONField(key: "weights", value: .string(weights))]
    }

    /// The "settings" object of a line, as written (keys sorted, Floats in their shortest form).
    static func settingsJSON(_ settings: SamplingSettings) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(settings)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// What an existing output says about the run that wrote it: one JSONL line, or a directory's settings.json.
/// Lines written before the checkpoint, weights and base seed were recorded lack them; what is missing is not
/// compared.
struct RecordedRun {
    /// "FILE:LINE" or the settings.json path, for messages.
    let place: String
    var key: SampleKey?
    var seed: UInt64?
    var baseSeed: UInt64?
    var checkpoint: String?
    var checkpointModified: Double?
    var weights: String?
    var settings: [JSONField]?

    /// The run members of a parsed JSON object (`index`, `sample` and `seed` only in a line).
    init(place: String, fields: [JSONField]) {
        self.place = place
        func member(_ key: String) -> JSONValue? { fields.last { $0.key == key }?.value }
        func string(_ key: String) -> String? { if case .string(let s)? = member(key) { return s }; return nil }
        func number<T: FixedWidthInteger>(_ key: String) -> T? { if case .number(let n)? = member(key) { return T(n) }; return nil }
        if let index: Int = number("index"), let sample: Int = number("sample") {
            key = SampleKey(promptIndex: index, sampleIndex: sample)
        }
        seed = number("seed")
        baseSeed = number("base_seed")
        // The three are written together; in an older line a "checkpoint" or "weights" is a carried prompt field.
        if baseSeed != nil {
            checkpoint = string("checkpoint")
            weights = string("weights")
            if case .number(let n)? = member("checkpoint_modified") { checkpointModified = Double(n) }
        }
        if case .object(let object)? = member("settings") { settings = object }
    }

    /// The first way `run` differs from the recorded one, as "--option recorded, not given", or nil.
    func difference(from run: BatchRunSettings) -> String? {
        if let checkpoint, checkpoint != run.checkpoint { return "--checkpoint \(checkpoint), not \(run.checkpoint)" }
        if let was = checkpointModified, let now = run.checkpointModified, was != now {
            return "other weights in \(run.checkpoint) (its model.safetensors was written again since)"
        }
        if let weights, weights != run.weights { return "--weights \(weights), not \(run.weights)" }
        if let baseSeed, baseSeed != run.baseSeed { return "--seed \(baseSeed), not \(run.baseSeed)" }
        if baseSeed == nil, let seed, let key,
           seed != SeedDerivation.seed(base: run.baseSeed, promptIndex: key.promptIndex, sampleIndex: key.sampleIndex) {
            return "another --seed than \(run.baseSeed)"
        }
        guard let settings, case .object(let given)? = try? JSONLineParser.parse(
            ArraySlice(BatchRunSettings.settingsJSON(run.sampling).utf8)) else { return nil }
        let options = ["temperature": "--temperature", "top_k": "--top-k", "top_p": "--top-p", "min_p": "--min-p",
                       "repetition_penalty": "--repetition-penalty", "max_new_tokens": "--max-tokens", "stop": "--stop"]
        for key in Set(settings.map(\.key) + given.map(\.key)).sorted() where key != "seed" {
            let was = settings.last { $0.key == key }?.value.serialized ?? "(none)"
            let now = given.last { $0.key == key }?.value.serialized ?? "(none)"
            if was != now { return "\(options[key] ?? key) \(was), not \(now)" }
        }
        return nil
    }
}
