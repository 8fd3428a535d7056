import Foundation
import Testing
import FineTuneData
import FineTuning
import GPT
import Training

/// A stop request between two `--grad-accum` micro-batches drops the step (as `pretrain`'s does): the task is left
/// as it was before it (step and data position), so the step taken again gives the uninterrupted run's loss,
/// gradient norm and weights.
@Suite struct StepInterruptTests {
    /// Runs one step on both tasks, then a step of `interrupted` stopped after its second micro-batch, then the
    /// next step on both; `parameters` reads a task's weights.
    static func check<Task: TrainingTask>(_ interrupted: Task, _ straight: Task, position: (Task) -> Int,
                                          parameters: (Task) -> [Float]) throws {
        _ = (try interrupted.runStep(), try straight.runStep())
        var asked = 0
        #expect(throws: StepInterrupted.self) {
            _ = try interrupted.runStep(shouldStop: { asked += 1; return asked == 2 })   // after two micro-batches
        }
        #expect(asked == 2 && interrupted.step == 1 && position(interrupted) == position(straight))
        let a = try interrupted.runStep(), b = try straight.runStep()
        #expect(a.loss == b.loss && a.gradientNorm == b.gradientNorm)
        let sameWeights = parameters(interrupted) == parameters(straight)
        #expect(sameWeights)
    }

    @Test func aClassificationStepIsAbandonedBetweenMicroBatchesAndTakenAgainWhole() throws {
        let texts = try GradAccumTests.texts()
        func task() throws -> ClassificationTask {
            let model = try Checkpoint.load(from: Fixture.languageModel, includeTrainingState: false).model
            let classifier = try SequenceClassifier(model: model, labels: ["a", "b", "c"], padTokenId: 0)
            var settings = TaskSettings(task: .classify)
            settings.labels = classifier.labels
            settings.lmLossWeight = 0.5
            return try ClassificationTask(classifier: classifier, train: texts, validation: [],
                                          options: .forTaskTest(context: model.config.context, batchSize: 2, gradAccum: 3, steps: 3), settings: settings)
        }
        try Self.check(try task(), try task(), position: \.position,
                       parameters: { $0.classifier.model.parameters.values + $0.classifier.score.values })
    }

    @Test func aCompletionStepIsAbandonedBetweenMicroBatchesAndTakenAgainWhole() throws {
        // Five pairs of different lengths, each verse's first words completed by the rest.
        let verses = ["Jesus wept.", "In the beginning God created the heaven and the earth.", "Blessed are the meek.",
                      "And God said, Let there be light: and there was light.", "Woe unto them."]
        let pairs = try verses.map { verse in
            let words = verse.split(separator: " ", maxSplits: 1).map(String.init)
            return try TaskEncoding.completion(prompt: words[0], completion: " " + words[1], template: "{prompt}",
                                               tokenizer: GradAccumTests.tokenizer, eos: 2, context: 24)
        }
        func task() throws -> CompletionTask {
            let model = try Checkpoint.load(from: Fixture.languageModel, includeTrainingState: false).model
            return try CompletionTask(model: model, train: pairs, validation: [], padTokenId: 0,
                                      options: .forTaskTest(context: model.config.context, batchSize: 2, gradAccum: 3, steps: 3),
                                      settings: TaskSettings(task: .complete))
        }
        try Self.check(try task(), try task(), position: \.position, parameters: { $0.model.parameters.values })
    }
}
