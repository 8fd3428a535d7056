import Foundation
import Testing
import TestSupport
import FineTuning
import GPT
import Tokenizer

/// `finetune evaluate`'s mean loss (and the validation loss of classifier training) is the cross-entropy of the
/// gold labels computed from the logits: taking the log of a Float probability capped each text's loss at 87.3
/// (the log of the smallest normal float), so a confidently wrong classifier reported half its real loss.
@Suite struct ClassifierLossTests {
    @Test func aConfidentMistakeCountsInFull() throws {
        let classifier = try ClassifierCheckpoint.load(from: Fixture.classifier, includeTrainingState: false).classifier
        let tokenizer = try SentencePieceTokenizer(contentsOf: Fixture.languageModel + "/tokenizer.model")
        // A head 1000 times as sure: logits hundreds apart.
        for i in 0..<classifier.score.count { classifier.score.pointer[i] *= 1000 }
        let K = classifier.labelCount
        let sentences = ["Jesus wept", "In the beginning God created the heaven and the earth", "and the king said"]
        let rows = sentences.flatMap { text in (0..<K).map { (text, $0, 1) } }   // every label for every text
        let texts = try TaskEncoding.texts(rows, file: "x.jsonl", tokenizer: tokenizer, context: 16)
        let result = try ClassifierInference.evaluate(classifier, texts: texts, batchSize: 4)

        // The reference, in Double from each text's logits: log sum exp - the gold label's logit.
        var losses: [Double] = []
        for text in texts {
            let logits = try text.tokens.withUnsafeBufferPointer {
                try classifier.logits(tokens: $0.baseAddress!, lengths: [text.tokens.count], batch: 1,
                                      time: text.tokens.count).map(Double.init)
            }
            let top = logits.max()!
            losses.append(top + log(logits.map { exp($0 - top) }.reduce(0, +)) - logits[text.label])
        }
        #expect(losses.max()! > 100, "the test needs losses past the old cap: \(losses)")
        let mean = losses.reduce(0, +) / Double(losses.count)
        #expect(abs(result.meanLoss - mean) <= 1e-6 * mean, "\(result.meanLoss) against \(mean)")
        // The probabilities are the softmax the classifier gives.
        for (text, p) in zip(texts, result.probabilities) {
            let expected = try text.tokens.withUnsafeBufferPointer {
                try classifier.probabilities(tokens: $0.baseAddress!, lengths: [text.tokens.count], batch: 1,
                                             time: text.tokens.count)
            }
            #expect(p == expected)
        }
    }
}
