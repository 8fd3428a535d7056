import Foundation
import Tokenizer
import Training

/// The corpus `pretrain` and `pretrain prepare` use when no --corpus is given: a path relative to the working
/// directory, so it is there only when the tools run from Swiftlet's own directory.
enum DefaultCorpus {
    static let path = "corpora/kjv.txt"

    /// `corpora`, or the default corpus when empty; a default corpus that is not here is refused with a line that
    /// says where it was looked for and how to give another (instead of a bare "no such file").
    static func resolve(_ corpora: [String]) throws -> [String] {
        guard corpora.isEmpty else { return corpora }
        guard FileManager.default.fileExists(atPath: path) else {
            throw TrainingError.invalidOption(option: "--corpus", message: "\(path): no such file; the default corpus is "
                + "looked up in the working directory (\(FileManager.default.currentDirectoryPath)): run from Swiftlet's "
                + "directory or give --corpus FILE")
        }
        return [path]
    }
}
