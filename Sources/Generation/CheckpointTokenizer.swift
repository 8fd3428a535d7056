import Foundation
import GPT
import Tokenizer

/// The tokenizer.model stored beside a checkpoint's weights, checked against the model it belongs to. `sample`
/// and `finetune` (train, evaluate, predict) open checkpoints' tokenizers through it, so both refuse a mismatch
/// with the same line.
public enum CheckpointTokenizer {
    public static let fileName = Checkpoint.tokenizerFileName

    /// Opens `directory`/tokenizer.model. Errors name the file, or the checkpoint when the tokenizer's vocabulary
    /// is not the model's `modelVocabularySize`: its token ids would then mean other pieces, or lie outside the
    /// model, depending on the text. A tokenizer whose bytes are not those config.json's fingerprint records (one
    /// put in the place of the checkpoint's own, of the same size) is refused as well.
    public static func open(checkpoint directory: String, modelVocabularySize: Int) throws -> SentencePieceTokenizer {
        let path = directory + "/" + fileName
        try CheckpointError.requireFile(path)
        if let recorded = (try? Checkpoint.readConfig(directory: directory))?.hf.swiftlet?.tokenizerFingerprint,
           try InputFile.contentHash(of: path) != recorded {
            throw CheckpointError.invalidConfig(path: path, detail: "not the tokenizer this model was saved with "
                + "(config.json's swiftlet.tokenizer_fingerprint records another file): its ids would mean other "
                + "pieces; put the checkpoint's own tokenizer.model back (or, if this one holds the same pieces, remove "
                + "the fingerprint)")
        }
        let tokenizer = try SentencePieceTokenizer(contentsOf: path)
        if let mismatch = GenerationError.vocabularyMismatch(tokenizer, modelVocabularySize: modelVocabularySize) {
            throw CheckpointTokenizerError(checkpoint: directory, problem: mismatch)
        }
        return tokenizer
    }
}

/// A checkpoint whose tokenizer does not belong to its model: "<checkpoint>: the tokenizer has ...".
public struct CheckpointTokenizerError: Error, CustomStringConvertible, Equatable {
    public let checkpoint: String
    public let problem: GenerationError
    public var description: String { "\(checkpoint): \(problem)" }
}
