import Foundation
import Tokenizer

/// What `prepare` made and from what: written as DIR/manifest.json so that a second run on an unchanged
/// corpus with the same options can reuse the output instead of redoing it.
public struct PreparationManifest: Codable, Equatable, Sendable {
    public struct Corpus: Codable, Equatable, Sendable {
        public var path: String
        public var bytes: Int
        public var modified: Double
        /// 64-bit FNV-1a of the contents.
        public var contentHash: String

        public init(path: String, bytes: Int, modified: Double, contentHash: String) {
            self.path = path
            self.bytes = bytes
            self.modified = modified
            self.contentHash = contentHash
        }

        /// A file as `InputFile.scanCorpus` found it.
        init(_ path: String, _ summary: InputFile.Summary) {
            self.init(path: path, bytes: summary.bytes, modified: summary.modified, contentHash: summary.contentHash)
        }

        /// The same contents (size and hash), wherever the file is.
        public func sameText(as other: Corpus) -> Bool { bytes == other.bytes && contentHash == other.contentHash }
    }

    /// The options that determine the output (threads do not).
    public struct Settings: Codable, Equatable, Sendable {
        public var tokenizer: TokenizerTrainingOptions?
        /// Content hash of a given existing tokenizer (instead of training one).
        public var existingTokenizerHash: String?
        /// The corpus's end kept for validation; nil when held-out files (`valCorpora`) are the validation set
        /// (so that versions before those refuse such a manifest instead of reading it as a fraction of 0).
        public var valFraction: Double?
    }

    public var formatVersion = 1
    public var corpora: [Corpus]
    /// Held-out validation files (`--val-corpus`), when val.npy is made from them rather than from the corpora's
    /// end (nil then, and in manifests of versions before them).
    public var valCorpora: [Corpus]?
    public var settings: Settings
    public var vocabularySize: Int
    public var dtype: TokenDType
    public var trainTokens: Int
    public var valTokens: Int
    public var unknownTokens: Int
    /// What the outputs were when written: `TokenFile.fingerprint` of train.npy and val.npy and the FNV-1a hash
    /// of tokenizer.model, so that edited or damaged outputs are not reused (nil in manifests of older versions).
    public var outputFingerprints: OutputFingerprints?

    public struct OutputFingerprints: Codable, Equatable, Sendable {
        public var train: String
        public var val: String
        public var tokenizer: String

        /// The fingerprints of the outputs in `directory` (nil when one is missing or unreadable).
        public static func of(directory: String) -> OutputFingerprints? {
            guard let train = try? TokenFile(path: directory + "/train.npy"),
                  let val = try? TokenFile(path: directory + "/val.npy"),
                  let tokenizer = try? InputFile.contentHash(of: directory + "/tokenizer.model") else { return nil }
            return OutputFingerprints(train: train.fingerprint, val: val.fingerprint, tokenizer: tokenizer)
        }
    }

    public static let fileName = "manifest.json"

    /// Same corpus contents (size and hash, in order), the same validation files and the same settings.
    public func describesSameInput(as other: PreparationManifest) -> Bool {
        formatVersion == other.formatVersion && settings == other.settings && Self.sameTexts(corpora, other.corpora)
            && Self.sameTexts(valCorpora ?? [], other.valCorpora ?? [])
    }

    static func sameTexts(_ a: [Corpus], _ b: [Corpus]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.sameText(as: $1) }
    }

    /// What differs between this (existing) preparation's input and `other`'s, for the error that refuses to
    /// overwrite it: "the corpus files or their contents", and each setting as "vocabularySize 4096 there, 2000
    /// now" (the manifest's names, nested ones dotted).
    public func inputDifferences(from other: PreparationManifest) -> [String] {
        var differences: [String] = []
        if !Self.sameTexts(corpora, other.corpora) { differences.append("the corpus files or their contents") }
        var there = Self.flattened(settings), now = Self.flattened(other.settings)
        func validation(_ manifest: PreparationManifest) -> String {
            manifest.settings.valFraction.map { "the last \($0) of the corpus" } ?? "held-out files (--val-corpus)"
        }
        if (valCorpora == nil) != (other.valCorpora == nil) {
            // One side split the corpus, the other held files out: that is the difference, not a fraction of nil.
            differences.append("validation on \(validation(self)) there, on \(validation(other)) now")
            there["valFraction"] = nil
            now["valFraction"] = nil
        } else if !Self.sameTexts(valCorpora ?? [], other.valCorpora ?? []) {
            differences.append("the validation files (--val-corpus) or their contents")
        }
        if (settings.tokenizer == nil) != (other.settings.tokenizer == nil) {
            // One side trained its tokenizer, the other was given one: that is the difference, not its many settings.
            differences.append(settings.tokenizer == nil ? "a given tokenizer there, one to train now"
                               : "a trained tokenizer there, a given one (--tokenizer) now")
            for key in Array(there.keys) + Array(now.keys) where key.hasPrefix("tokenizer.") || key == "existingTokenizerHash" {
                there[key] = nil
                now[key] = nil
            }
        }
        for key in Set(there.keys).union(now.keys).sorted() where there[key] != now[key] {
            differences.append("\(key) \(there[key] ?? "none") there, \(now[key] ?? "none") now")
        }
        if formatVersion != other.formatVersion { differences.append("the format version") }
        return differences
    }

    /// Settings as "key.path" -> JSON text of the value.
    private static func flattened(_ settings: Settings) -> [String: String] {
        guard let data = try? JSONEncoder().encode(settings),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        var out: [String: String] = [:]
        func walk(_ value: Any, _ path: String) {
            if let dictionary = value as? [String: Any] {
                for (key, inner) in dictionary { walk(inner, path.isEmpty ? key : path + "." + key) }
            } else if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) {
                out[path] = String(decoding: data, as: UTF8.self)
            }
        }
        walk(object, "")
        return out
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Checks a prepared directory's tokenizer.model, train.npy and val.npy against the manifest.json written
    /// with them, so that a run does not train on files swapped, edited or lost since (a missing file fails to
    /// open). A directory without a manifest (token files made elsewhere), or with one from before fingerprints
    /// were recorded, is taken as it is. `files`: the ones to check (`pretrain evaluate --data` checks only the
    /// tokenizer, whose pieces the ids must stand for, and evaluates edited token files as they are).
    public static func checkOutputs(in directory: String,
                                    files: Set<String> = ["tokenizer.model", "train.npy", "val.npy"]) throws {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return }
        // Only the fingerprints are read: a manifest of another version (other settings) still says what it wrote.
        struct Written: Decodable { var outputFingerprints: OutputFingerprints? }
        guard let data = FileManager.default.contents(atPath: path),
              let written = try? JSONDecoder().decode(Written.self, from: data) else {
            throw PreparationError.unreadableManifest(path: path)
        }
        guard let recorded = written.outputFingerprints else { return }
        for (name, fingerprint) in [("tokenizer.model", recorded.tokenizer), ("train.npy", recorded.train), ("val.npy", recorded.val)]
        where files.contains(name) {
            let file = directory + "/" + name
            guard FileManager.default.fileExists(atPath: file) else { throw PreparationError.missingSincePreparation(path: file) }
            let found = name == "tokenizer.model" ? try InputFile.contentHash(of: file) : try TokenFile(path: file).fingerprint
            if found != fingerprint { throw PreparationError.changedSincePreparation(path: file) }
        }
    }

    public static func read(from path: String) -> PreparationManifest? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(PreparationManifest.self, from: data)
    }
}
