import Foundation
import Generation
import GPT
import Tokenizer

/// The committed tiny checkpoint (scripts/make-generation-fixture.sh).
enum TinyCheckpoint {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tiny-kjv").path
    static func generator(maxBatch: Int = 1) throws -> TextGenerator {
        let checkpoint = try Checkpoint.load(from: directory, includeTrainingState: false)
        let tokenizer = try SentencePieceTokenizer(contentsOf: directory + "/tokenizer.model")
        return try TextGenerator(model: checkpoint.model, tokenizer: tokenizer, maxBatch: maxBatch)
    }
}
