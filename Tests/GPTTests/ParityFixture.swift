import Foundation
import Testing
@testable import GPT

/// The PyTorch parity fixture: a tiny model saved by Swiftlet, a fixed batch, and what transformers computed
/// from them (scripts/torch_reference.py). Regenerate (only when the format or the model changes):
///   SWIFTLET_WRITE_PARITY_FIXTURE=1 swift test --filter writeParityFixture
///   python3 scripts/torch_reference.py Tests/GPTTests/Fixtures/parity
enum ParityFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/parity").path
    static let checkpoint = directory + "/checkpoint"
    static let config = GPTConfig(layers: 2, heads: 2, width: 32, context: 16, vocabSize: 64)
    static let batch = 2, time = 16
    /// AdamW settings shared with the script (written to batch.json so the script reads the same values).
    static let learningRate: Float = 1e-2, beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8
    static let weightDecay: Float = 0.1, gradientClip = 1.0, steps = 10

    struct Batch: Codable {
        var batch: Int, time: Int
        var tokens: [Int32], targets: [Int32]
        var learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
        var gradientClip: Double, steps: Int
        enum CodingKeys: String, CodingKey {
            case batch, time, tokens, targets, learningRate = "learning_rate", beta1, beta2, epsilon
            case weightDecay = "weight_decay", gradientClip = "gradient_clip", steps
        }
    }

    static func makeBatch() -> Batch {
        var generator = SeededGenerator(seed: 2024)
        let n = batch * time
        let stream = (0...n).map { _ in Int32(generator.next() % UInt64(config.vocabSize)) }
        return Batch(batch: batch, time: time, tokens: Array(stream[0..<n]), targets: Array(stream[1...n]),
                     learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                     weightDecay: weightDecay, gradientClip: gradientClip, steps: steps)
    }

    /// GPT-2 init from seed 11, with biases and layer norms perturbed and weights widened (std 0.1) so that
    /// every gradient is far from zero and the logits are not nearly uniform.
    static func makeModel() throws -> GPT {
        let model = try GPT(config: config, seed: 11)
        var generator = SeededGenerator(seed: 12)
        for slot in model.layout.slots {
            for i in 0..<slot.count {
                if slot.decayed { model.parameters.pointer[slot.offset + i] *= 5 }
                else { model.parameters.pointer[slot.offset + i] += Float(generator.nextNormal() * 0.1) }
            }
        }
        return model
    }
}

@Suite struct ParityFixtureWriter {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SWIFTLET_WRITE_PARITY_FIXTURE"] != nil))
    func writeParityFixture() throws {
        try FileManager.default.createDirectory(atPath: ParityFixture.directory, withIntermediateDirectories: true)
        try Checkpoint.save(ParityFixture.makeModel(), to: ParityFixture.checkpoint)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(ParityFixture.makeBatch())
            .write(to: URL(fileURLWithPath: ParityFixture.directory + "/batch.json"))
    }
}
