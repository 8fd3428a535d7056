import Foundation
import Testing
import FineTuneData
import FineTuning
import GPT
import Tokenizer
import Training

/// `--grad-accum` keeps the effective batch: a step of k micro-batches has the loss and the gradient of one
/// batch k times larger over the same texts, with balanced class weights (a micro-batch's own weight sum is
/// not the step's) and the auxiliary LM loss on texts of different lengths (nor are its LM positions).
@Suite struct GradAccumTests {
    static let tokenizer = { try! SentencePieceTokenizer(contentsOf: Fixture.languageModel + "/tokenizer.model") }()

    /// Eight texts of 1 to 24 tokens, labels 0, 0, 0, 0, 0, 1, 1, 2: imbalanced, so the balanced weights differ.
    static func texts() throws -> [EncodedText] {
        let verses = ["Jesus wept.", "In the beginning God created the heaven and the earth.", "Amen.",
                      "And God said, Let there be light: and there was light.", "Selah.",
                      String(repeating: "and the king said unto them ", count: 3), "Blessed are the meek.", "Woe."]
        let labels = [0, 0, 0, 0, 0, 1, 1, 2]
        return try TaskEncoding.texts(zip(verses, labels).enumerated().map { ($1.0, $1.1, $0 + 1) }, file: "texts",
                                      tokenizer: tokenizer, context: 24)
    }

    /// One step of `batchSize` x `gradAccum` texts: its loss and the gradients it leaves (body, then head).
    static func step(batchSize: Int, gradAccum: Int, classWeights: String,
                     lmLossWeight: Double) throws -> (loss: Double, gradients: [Float]) {
        let model = try Checkpoint.load(from: Fixture.languageModel, includeTrainingState: false).model
        let classifier = try SequenceClassifier(model: model, labels: ["a", "b", "c"], padTokenId: 0)
        var generator = SeededGenerator(seed: 3)
        for i in 0..<classifier.score.count { classifier.score.pointer[i] = Float(generator.nextNormal() * 0.5) }
        let options = TrainingOptions.forTaskTest(context: model.config.context, batchSize: batchSize, gradAccum: gradAccum)
        var settings = TaskSettings(task: .classify)
        settings.labels = classifier.labels
        settings.classWeights = classWeights
        settings.lmLossWeight = lmLossWeight
        // The data's order is a shuffle of its 8 texts: every split of a step of 8 takes all of them.
        let texts = try texts()
        let task = try ClassificationTask(classifier: classifier, train: texts, validation: [], options: options,
                                          settings: settings)
        let result = try task.runStep()
        return (result.loss, model.gradients.values + classifier.scoreGradient.values)
    }

    /// Balanced weights alone, the LM loss alone (equal micro-batches of unequal texts), and both.
    @Test(arguments: [("balanced", 0.0), ("none", 0.5), ("balanced", 0.5)])
    func microBatchesAddUpToOneBatch(classWeights: String, lmLossWeight: Double) throws {
        let texts = try Self.texts()
        #expect(Set(texts.map(\.tokens.count)).count >= 5)
        let whole = try Self.step(batchSize: 8, gradAccum: 1, classWeights: classWeights, lmLossWeight: lmLossWeight)
        let largest = whole.gradients.map(abs).max() ?? 0
        try #require(largest > 0)
        for (batchSize, gradAccum) in [(4, 2), (2, 4), (1, 8)] {
            let split = try Self.step(batchSize: batchSize, gradAccum: gradAccum, classWeights: classWeights,
                                      lmLossWeight: lmLossWeight)
            #expect(abs(split.loss - whole.loss) <= 1e-6 * whole.loss,
                    "\(batchSize) x \(gradAccum): loss \(split.loss), one batch \(whole.loss)")
            let worst = zip(split.gradients, whole.gradients).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * largest, "\(batchSize) x \(gradAccum): gradients differ by up to \(worst) (largest \(largest))")
        }
    }
}
