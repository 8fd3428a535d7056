import TestSupport
import Foundation
import Testing
@testable import Tokenizer

/// Debian's SentencePiece tools the parity tests run, required with a message saying how to install them.
func requireSentencePieceTools(_ tools: [String]) throws {
    for tool in tools {
        try #require(FileManager.default.isExecutableFile(atPath: tool),
                     "\(tool) is missing: install Debian's `sentencepiece` package (apt-get install sentencepiece)")
    }
}

/// A tokenizer trained on the first 60 KB of tinyshakespeare (`corpus.txt`) in a fresh directory, which the caller
/// removes; the model is `directory/modelName`.
func shakespeareTokenizer(type: TokenizerTrainingOptions.ModelType, vocabulary: Int, modelName: String) throws
    -> (directory: String, corpus: String, options: TokenizerTrainingOptions, tokenizer: SentencePieceTokenizer) {
    let directory = try Fixtures.temporaryDirectory()
    let corpus = try Fixtures.slice(of: Fixtures.shakespeare, bytes: 60_000, to: directory, name: "corpus.txt")
    var options = TokenizerTrainingOptions()
    options.modelType = type
    options.vocabularySize = vocabulary
    let tokenizer = try SentencePieceTokenizer.train(files: [corpus], modelPath: directory + "/" + modelName, options: options)
    return (directory, corpus, options, tokenizer)
}
