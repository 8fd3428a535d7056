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
    }

    /// The options that determine the output (threads do not).
    public struct Settings: Codable, Equatable, Sendable {
        public var tokenizer: TokenizerTrainingOptions?
        /// Content hash of a given existing tokenizer (instead of training one).
        public var existingTokenizerHash: String?
        public var valFraction: Double
    }

    public var formatVersion = 1
    public var corpora: [Corpus]
    public var settings: Settings
    public var vocabularySize: Int
    public var dtype: TokenDType
    public var trainTokens: Int
    public var valTokens: Int
    public var unknownTokens: Int

    public static let fileName = "manifest.json"

    /// Same corpus contents (size and hash, in order) and the same settings.
    public func describesSameInput(as other: PreparationManifest) -> Bool {
        formatVersion == other.formatVersion && settings == other.settings
            && corpora.map { [String($0.bytes), $0.contentHash] } == other.corpora.map { [String($0.bytes), $0.contentHash] }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    public static func read(from path: String) -> PreparationManifest? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(PreparationManifest.self, from: data)
    }
}
