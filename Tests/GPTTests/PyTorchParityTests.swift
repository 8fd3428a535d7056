import Foundation
import Testing
@testable import GPT
import Kernels

/// Swiftlet against Hugging Face transformers (GPT2LMHeadModel) on the committed fixture: the checkpoint that
/// Swift wrote, and the logits, loss, gradients and 10 AdamW-step losses PyTorch computed from it
/// (see ParityFixture for how to regenerate). With `todaysSaveWritesTheFilesTransformersLoaded`, this proves that
/// the checkpoints Swiftlet writes load in transformers.
@Suite struct PyTorchParityTests {
    struct Reference: Decodable {
        let loss: Double
        let step_losses: [Double]
    }

    static func load() throws -> (GPT, ParityFixture.Batch, Reference, Safetensors.File) {
        let model = try Checkpoint.load(from: ParityFixture.checkpoint).model
        let batch = try JSONDecoder().decode(ParityFixture.Batch.self,
                                             from: Data(contentsOf: URL(fileURLWithPath: ParityFixture.directory + "/batch.json")))
        let reference = try JSONDecoder().decode(Reference.self,
                                                 from: Data(contentsOf: URL(fileURLWithPath: ParityFixture.directory + "/torch_reference.json")))
        let tensors = try Safetensors.File(path: ParityFixture.directory + "/torch_reference.safetensors")
        return (model, batch, reference, tensors)
    }

    /// The committed checkpoint is the one the fixture code makes (so the fixture stays reproducible).
    @Test func fixtureCheckpointIsReproducible() throws {
        let (model, batch, _, _) = try Self.load()
        #expect(model.config == ParityFixture.config)
        let expected = try ParityFixture.makeModel()
        #expect(model.parameters.values == expected.parameters.values)
        #expect(batch.tokens == ParityFixture.makeBatch().tokens)
    }

    /// Today's `Checkpoint.save` writes the committed checkpoint byte for byte: the files transformers loaded
    /// to make the reference (`scripts/torch_reference.py`) are the files Swiftlet writes now, so the format
    /// cannot drift from what transformers accepts without this test noticing.
    @Test func todaysSaveWritesTheFilesTransformersLoaded() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Checkpoint.save(ParityFixture.makeModel(), to: root + "/checkpoint")
        // config.json as JSON (the committed one escapes its slashes, as the encoder did then), the tensors as bytes.
        let config = try [root + "/checkpoint/", ParityFixture.checkpoint + "/"].map {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: $0 + "config.json"))) as! NSDictionary
        }
        #expect(config[0] == config[1], "written: \(config[0])")
        let tensors = try [root + "/checkpoint/", ParityFixture.checkpoint + "/"].map {
            try Data(contentsOf: URL(fileURLWithPath: $0 + Checkpoint.modelFileName))
        }
        #expect(tensors[0] == tensors[1], "\(tensors[0].count) bytes written, \(tensors[1].count) committed")
    }

    @Test func logitsLossAndGradientsMatchPyTorch() throws {
        let (model, batch, reference, tensors) = try Self.load()
        let logits = try model.forward(tokens: batch.tokens, batch: batch.batch, time: batch.time)
        let expectedLogits = try tensors.floats("logits")
        #expect(logits.count == expectedLogits.count)
        // Relative to the logits' scale (1e-4 of max |logit|): single logits can sit near 0.
        let logitScale = expectedLogits.map { abs($0) }.max()!
        let logitError = zip(logits, expectedLogits).map { abs($0 - $1) }.max()!
        #expect(logitError <= 1e-4 * logitScale, "max logit error \(logitError), scale \(logitScale)")

        model.zeroGradients()
        let loss = try model.forwardBackward(tokens: batch.tokens, targets: batch.targets, batch: batch.batch, time: batch.time)
        #expect(abs(loss - reference.loss) <= 1e-4 * abs(reference.loss), "loss \(loss) vs \(reference.loss)")

        // Every parameter's gradient, per tensor relative to its largest entry (1e-3).
        var worst = 0.0
        for slot in model.layout.slots {
            let expected = try tensors.floats("grad." + slot.name)
            let actual = model.gradientValues(named: slot.name)!
            #expect(expected.count == actual.count)
            let scale = Double(expected.map { abs($0) }.max()!)
            let error = Double(zip(actual, expected).map { abs($0 - $1) }.max()!)
            worst = max(worst, error / scale)
            #expect(scale > 0 && error <= 1e-3 * scale, "\(slot.name): max error \(error), scale \(scale)")
        }
        print("parity: logit error \(logitError / logitScale) (relative), loss \(loss) vs \(reference.loss), worst gradient \(worst)")
    }

    @Test func adamWStepLossesMatchPyTorch() throws {
        let (model, batch, reference, _) = try Self.load()
        var losses: [Double] = []
        for step in 1...batch.steps {
            model.zeroGradients()
            losses.append(try model.forwardBackward(tokens: batch.tokens, targets: batch.targets,
                                                    batch: batch.batch, time: batch.time))
            let clip = GradientClipping.scale(norm: model.gradientNorm(), maxNorm: batch.gradientClip)
            model.update(learningRate: batch.learningRate, beta1: batch.beta1, beta2: batch.beta2,
                         epsilon: batch.epsilon, weightDecay: batch.weightDecay, step: step, gradientScale: clip)
        }
        #expect(reference.step_losses.count == batch.steps)
        for (i, (a, b)) in zip(losses, reference.step_losses).enumerated() {
            #expect(abs(a - b) <= 1e-4 * abs(b), "step \(i + 1): \(a) vs \(b)")
        }
        print("step losses: swift \(losses)\n              torch \(reference.step_losses)")
    }

    /// A directory written by transformers' save_pretrained (its own config.json keys and tensor order) loads
    /// with the same weights.
    @Test func readsACheckpointSavedByTransformers() throws {
        let (model, _, _, _) = try Self.load()
        let saved = try Checkpoint.load(from: ParityFixture.directory + "/hf_saved")
        #expect(saved.model.config == model.config)
        #expect(saved.model.parameters.values == model.parameters.values)
        #expect(saved.trainingState == nil)
    }
}
