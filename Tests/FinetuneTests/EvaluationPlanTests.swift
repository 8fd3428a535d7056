import Foundation
import Testing
import FineTuneData
import FineTuning
import GPT
import Training

/// A task plans (and checks against memory) its activations when it is made, for its validation examples too:
/// an evaluation runs in the training plan, and validation texts longer than every training text grew it at the
/// first evaluation, past the memory checked at the start (a `gpt2` run at --batch-size 200 trained a step, then
/// failed at its evaluation with a batch of 40.6 GB, its step lost).
@Suite struct EvaluationPlanTests {
    static let short = ["Jesus wept.", "Amen.", "Woe.", "Selah."]
    static let long = [String(repeating: "and the king said unto them ", count: 3),
                       "In the beginning God created the heaven and the earth."]

    @Test func aClassifierPlansForItsLongerValidationTexts() throws {
        let model = try Checkpoint.load(from: Fixture.languageModel, includeTrainingState: false).model
        let classifier = try SequenceClassifier(model: model, labels: ["a", "b"], padTokenId: 0)
        func encode(_ texts: [String]) throws -> [EncodedText] {
            try TaskEncoding.texts(texts.enumerated().map { ($1, $0 % 2, $0 + 1) }, file: "texts",
                                   tokenizer: GradAccumTests.tokenizer, context: model.config.context)
        }
        let train = try encode(Self.short), validation = try encode(Self.long)
        try #require(validation.map(\.tokens.count).min()! > train.map(\.tokens.count).max()!)
        var settings = TaskSettings(task: .classify)
        settings.labels = classifier.labels
        let task = try ClassificationTask(classifier: classifier, train: train, validation: validation,
                                          options: .forTaskTest(context: model.config.context, batchSize: 2), settings: settings)
        let planned = model.memory.activationBytes
        _ = try task.runStep()
        _ = try task.evaluateTask(shouldStop: { false })
        #expect(model.memory.activationBytes == planned)
    }

    @Test func aCompletionTaskPlansForItsLongerValidationPairs() throws {
        let model = try Checkpoint.load(from: Fixture.languageModel, includeTrainingState: false).model
        func encode(_ texts: [String]) throws -> [EncodedCompletion] {
            try texts.map { text in
                let words = text.split(separator: " ", maxSplits: 1).map(String.init)
                return try TaskEncoding.completion(prompt: words[0], completion: " " + (words.count > 1 ? words[1] : "."),
                                                   template: "{prompt}", tokenizer: GradAccumTests.tokenizer, eos: 2,
                                                   context: model.config.context)
            }
        }
        let train = try encode(Self.short), validation = try encode(Self.long)
        try #require(validation.map(\.sequence.count).min()! > train.map(\.sequence.count).max()!)
        let task = try CompletionTask(model: model, train: train, validation: validation, padTokenId: 0,
                                      options: .forTaskTest(context: model.config.context, batchSize: 2),
                                      settings: TaskSettings(task: .complete))
        let planned = model.memory.activationBytes
        _ = try task.runStep()
        _ = try task.evaluateTask(shouldStop: { false })
        #expect(model.memory.activationBytes == planned)
    }
}
