import Foundation
import Testing
import GPT
import Kernels
import Training

/// A whole-text evaluation against the plain definition: -ln softmax(logits)[target], summed in Double from the
/// logits of one window at a time, over the targets each window scores.
@Suite struct TextEvaluationTests {
    static let config = GPTConfig(layers: 2, heads: 2, width: 16, context: 8, vocabSize: 11)

    static func stream(_ count: Int) -> [Int32] {
        var generator = SeededGenerator(seed: 5)
        return (0..<count).map { _ in Int32(generator.next() % 11) }
    }

    /// The reference: each window run alone (batch 1), the loss of each scored position from its logits.
    static func reference(_ model: GPT, _ tokens: [Int32], stride: Int) throws -> (targets: Int, total: Double) {
        let windows = EvaluationWindows(tokenCount: tokens.count, context: config.context, stride: stride)
        let t = windows.length, v = config.vocabSize
        var total = 0.0, targets = 0
        for index in 0..<windows.count {
            let w = windows[index]
            let logits: [Float] = try model.forward(tokens: Array(tokens[w.start..<(w.start + t)]), batch: 1, time: t)
            for position in w.firstScored..<t {
                let row = logits[(position * v)..<((position + 1) * v)].map(Double.init)
                let largest = row.max()!
                let logSum = largest + log(row.map { exp($0 - largest) }.reduce(0, +))
                total += logSum - row[Int(tokens[w.start + position + 1])]
                targets += 1
            }
        }
        return (targets, total)
    }

    /// Strides from the context down to 1, on a stream that is not a whole number of windows, in batches that do
    /// not divide the windows, on one and two threads (the two-thread passes are split into shards).
    @Test(arguments: [1, 2])
    func equalsThePlainDefinition(threads: Int) throws {
        let model = try GPT(config: Self.config, seed: 3, pool: ThreadPool(threads: threads))
        let tokens = Self.stream(61)
        for stride in [8, 5, 3, 1] {
            let expected = try Self.reference(model, tokens, stride: stride)
            for batch in [1, 3, 64] {
                let score = try tokens.withUnsafeBufferPointer {
                    try TextEvaluation.score(model: model, tokens: $0, stride: stride, batchSize: batch)
                }
                #expect(score.targets == 60 && expected.targets == 60)
                #expect(abs(score.totalLoss - expected.total) <= 1e-4 * expected.total,
                        "stride \(stride) batch \(batch): \(score.totalLoss) vs \(expected.total)")
            }
        }
    }

    /// `progress` reports each batch of windows as it is done; perplexity and bits per byte follow the total loss.
    @Test func progressCountsWindowsAndTheFiguresFollowTheLoss() throws {
        let model = try GPT(config: Self.config, seed: 3, pool: ThreadPool(threads: 1))
        let tokens = Self.stream(61)
        var calls: [(Int, Int)] = []
        let score = try tokens.withUnsafeBufferPointer {
            try TextEvaluation.score(model: model, tokens: $0, stride: 3, batchSize: 4) { calls.append(($0, $1)) }
        }
        let windows = EvaluationWindows(tokenCount: 61, context: 8, stride: 3).count
        #expect(calls.map(\.0) == Array(stride(from: 4, to: windows, by: 4)) + [windows])
        #expect(calls.allSatisfy { $0.1 == windows })
        #expect(abs(score.perplexity - exp(score.totalLoss / 60)) < 1e-9)
        #expect(abs(score.bitsPerByte(bytes: 120) - score.totalLoss / log(2) / 120) < 1e-12)
    }

    @Test func aTokenOutsideTheVocabularyIsRefused() throws {
        let model = try GPT(config: Self.config, seed: 3, pool: ThreadPool(threads: 1))
        let tokens: [Int32] = [1, 2, 3, 11, 4]
        #expect(throws: GPTError.self) {
            try tokens.withUnsafeBufferPointer { try TextEvaluation.score(model: model, tokens: $0, stride: 8, batchSize: 2) }
        }
    }

    @Test func fewerThanTwoTokensScoreNothing() throws {
        let model = try GPT(config: Self.config, seed: 3, pool: ThreadPool(threads: 1))
        let score = try [Int32(4)].withUnsafeBufferPointer { try TextEvaluation.score(model: model, tokens: $0, stride: 8, batchSize: 2) }
        #expect(score.targets == 0 && score.meanLoss.isNaN)
    }
}
