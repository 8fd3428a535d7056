import Foundation

extension ClassificationReport {
    /// One JSON object on one line, keys sorted (stable output for scripts and diffs).
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
