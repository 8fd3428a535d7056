import ArgumentParser
import FineTuneData
import FineTuning
import Foundation
import GPT
import Kernels
import Tokenizer
import Training

/// `bench finetune`: does pretraining pay off? On the shipped classification set (KJV verse -> part of the
/// Bible, 8 labels), fine-tunes the pretrained checkpoint and the same architecture from random
/// initialisation for the same number of steps (same data order, head initialisation and hyperparameters),
/// and compares their test macro F1 with the majority-class baseline. Also reports fine-tuning throughput
/// (examples/s, tokens/s) next to language-model pretraining steps (tokens/s) of the same model, in the same run.
struct BenchFinetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tuned vs from-scratch vs majority class on the shipped classification set; throughput.")

    @Option(help: "Pretrained checkpoint (a checkpoint or run directory).") var checkpoint: String = "checkpoints/default"
    @Option(help: "Training data.") var train: String = "corpora/kjv-sections-train.jsonl"
    @Option(help: "Test data.") var test: String = "corpora/kjv-sections-test.jsonl"
    @Option(help: "Optimizer steps of each fine-tuning run.") var steps: Int = 480
    @Option(help: "Examples per step.") var batchSize: Int = 16
    @Option(help: "Peak learning rate.") var lr: Double = 3e-4
    @Option(help: "Seed (data order, head initialisation, random initialisation).") var seed: UInt64 = 0
    @Option(help: "Worker threads.") var threads: Int = ThreadPool.availableCores

    func validate() throws {
        try OptionCheck.threads(threads)
        try OptionCheck.atLeastOne(["steps": steps, "batch-size": batchSize])
        // The bounds finetune itself sets (a typo here meant a run that never ends, or an Int overflow).
        let maxSteps = RunSizeLimits.maximumSteps, maxBatch = RunSizeLimits.maximumExamplesPerStep
        guard steps <= maxSteps else { throw ValidationError("--steps must be 1 to \(maxSteps) (got \(steps))") }
        guard batchSize <= maxBatch else { throw ValidationError("--batch-size must be 1 to \(maxBatch) (got \(batchSize))") }
        guard lr.isFinite && lr > 0 else { throw ValidationError("--lr must be a positive number (got \(lr))") }
    }

    func run() throws {
        ThreadPool.shared = ThreadPool(threads: threads)
        let start = try RunDirectory.resolveCheckpoint(checkpoint, prefer: .best)
        let tokenizer = try SentencePieceTokenizer(contentsOf: start + "/tokenizer.model")
        let reader = LabelledDataReader()
        let trainExamples = try reader.readClassification(path: train).examples
        let testExamples = try reader.readClassification(path: test).examples
        let labels = try LabelSet(training: trainExamples, file: train)
        let context = try ClassifierCheckpoint.loadBody(from: start).model.config.context
        func encode(_ examples: [ClassificationExample], _ file: String) throws -> [EncodedText] {
            let e = labels.encode(examples, file: file)
            return try TaskEncoding.texts(zip(e.examples, e.ids).map { ($0.text, $1, $0.line) }, file: file,
                                          tokenizer: tokenizer, context: context)
        }
        let trainSet = try encode(trainExamples, train), testSet = try encode(testExamples, test)
        print("fine-tuning benchmark: \(trainSet.count) training / \(testSet.count) test verses, \(labels.count) labels; "
              + "\(steps) steps of \(batchSize) (\(String(format: "%.1f", Double(steps * batchSize) / Double(trainSet.count))) epochs), lr \(lr), \(threads) thread(s); start \(start)")

        let pad = tokenizer.padId ?? tokenizer.eosId ?? 0
        let pretrained = try fineTune(start: start, fromScratch: false, pad: pad, labels: labels, train: trainSet, test: testSet)
        let scratch = try fineTune(start: start, fromScratch: true, pad: pad, labels: labels, train: trainSet, test: testSet)
        let baseline = try require(MajorityBaseline(trainingLabelIDs: trainSet.map(\.label), labelCount: labels.count))
        let majority = try baseline.metrics(gold: testSet.map(\.label), labelCount: labels.count, labelNames: labels.labels)
        let lmTokensPerSecond = try pretrainingThroughput(start: start)

        for (name, m) in [("fine-tuned from pretrained", (pretrained.macroF1, pretrained.accuracy)),
                          ("same model from random init", (scratch.macroF1, scratch.accuracy)),
                          ("majority class", (majority.macroF1, majority.accuracy))] {
            print("  " + name.padding(toLength: 28, withPad: " ", startingAt: 0)
                  + String(format: " macro F1 %.4f   accuracy %.4f", m.0, m.1))
        }
        // Differences, signed: pretraining need not win (a short run, an unlucky seed).
        print(String(format: "  pretrained minus random init: %+.4f macro F1; random init minus the majority class: %+.4f",
                     pretrained.macroF1 - scratch.macroF1, scratch.macroF1 - majority.macroF1))
        print(String(format: "  throughput: fine-tuning %.1f examples/s (%.0f tokens/s, mean %.1f tokens a verse); "
                     + "pretraining steps of the same model %.0f tokens/s (batch %d x %d)",
                     pretrained.examplesPerSecond, pretrained.tokensPerSecond,
                     pretrained.tokensPerSecond / pretrained.examplesPerSecond, lmTokensPerSecond, batchSize, context))
    }

    struct Result {
        var macroF1: Double, accuracy: Double, examplesPerSecond: Double, tokensPerSecond: Double
    }

    private func fineTune(start: String, fromScratch: Bool, pad: Int32, labels: LabelSet, train: [EncodedText],
                          test: [EncodedText]) throws -> Result {
        let (model, _) = try ClassifierCheckpoint.loadBody(from: start)
        if fromScratch {
            var generator = SeededGenerator(seed: seed ^ 0x5C2A_7C4E)
            model.initializeParameters(using: &generator)
        }
        let classifier = try SequenceClassifier(model: model, labels: labels.labels, padTokenId: pad)
        var generator = SeededGenerator(seed: seed ^ 0x4EAD)
        classifier.initializeHead(using: &generator)
        var options = TrainingOptions()
        options.batchSize = batchSize
        options.steps = steps
        options.learningRate = lr
        options.minLearningRate = lr / 10
        options.warmupSteps = steps / 20
        options.weightDecay = 0.01
        options.context = model.config.context
        options.seed = seed
        let task = try ClassificationTask(classifier: classifier, train: train, validation: test, options: options,
                                          settings: TaskSettings(task: .classify))
        let clock = ContinuousClock()
        let began = clock.now
        var tokens = 0
        while !task.isFinished {
            _ = try task.runStep()
            tokens += task.tokensInLastStep
        }
        let (s, atto) = (clock.now - began).components
        let seconds = Double(s) + Double(atto) * 1e-18
        let metrics = try ClassifierInference.evaluate(classifier, texts: test, batchSize: 64).metrics
        return Result(macroF1: metrics.macroF1, accuracy: metrics.accuracy,
                      examplesPerSecond: Double(steps * batchSize) / seconds, tokensPerSecond: Double(tokens) / seconds)
    }

    /// Tokens/s of language-model training steps (forward, backward, AdamW) of the same model on full windows.
    private func pretrainingThroughput(start: String) throws -> Double {
        let (model, _) = try ClassifierCheckpoint.loadBody(from: start)
        let T = model.config.context, n = batchSize * T
        var generator = SeededGenerator(seed: 3)
        let tokens = (0..<n).map { _ in Int32(generator.next() % UInt64(model.config.vocabSize)) }
        let targets = (0..<n).map { _ in Int32(generator.next() % UInt64(model.config.vocabSize)) }
        let clock = ContinuousClock()
        var began = clock.now
        let timed = 20
        for step in 0..<(timed + 3) {
            if step == 3 { began = clock.now }
            model.zeroGradients()
            try model.forwardBackward(tokens: tokens, targets: targets, batch: batchSize, time: T)
            model.update(learningRate: 1e-4, weightDecay: 0.1, step: step + 1,
                         gradientScale: GradientClipping.scale(norm: model.gradientNorm(), maxNorm: 1))
        }
        let (s, atto) = (clock.now - began).components
        return Double(timed * n) / (Double(s) + Double(atto) * 1e-18)
    }
}

private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw ValidationError("the training set has no labels") }
    return value
}
