import Foundation
import Testing
import GPT

/// A classifier checkpoint written by `finetune` loads in transformers as GPT2ForSequenceClassification and
/// gives the same logits: scripts/classifier_parity.py ran the committed checkpoint in PyTorch and stored
/// logits for right-padded batches; here Swiftlet loads the same files and compares (no torch at run time).
@Suite struct ClassifierParityTests {
    struct Batch: Decodable { var tokens: [[Int32]]; var lengths: [Int]; var logits: [[Double]] }
    struct Golden: Decodable { var labels: [String]; var pad_token_id: Int; var batches: [Batch] }

    @Test func logitsMatchTransformers() throws {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: Fixture.parityLogits)))
        let classifier = try ClassifierCheckpoint.load(from: Fixture.classifier).classifier
        #expect(classifier.labels == golden.labels)
        #expect(Int(classifier.padTokenId) == golden.pad_token_id)
        var compared = 0
        for batch in golden.batches {
            let time = batch.tokens[0].count
            let logits = try classifier.logits(tokens: batch.tokens.flatMap { $0 }, lengths: batch.lengths,
                                               batch: batch.tokens.count, time: time)
            for (b, row) in batch.logits.enumerated() {
                for (k, expected) in row.enumerated() {
                    let actual = Double(logits[b * classifier.labelCount + k])
                    #expect(abs(actual - expected) <= 1e-4 * max(1, abs(expected)), "batch row \(b) label \(k)")
                    compared += 1
                }
            }
        }
        #expect(compared == 6 * golden.labels.count)
    }

    /// Today's `ClassifierCheckpoint.save`, given what the committed checkpoint holds, writes its config.json and
    /// model.safetensors byte for byte: the writer still makes the files transformers loaded above.
    @Test func todaysSaveWritesTheFilesTransformersLoaded() throws {
        let loaded = try ClassifierCheckpoint.load(from: Fixture.classifier, includeTrainingState: false)
        let swiftlet = try #require(loaded.hfConfig.swiftlet)
        let scratch = Scratch()
        try ClassifierCheckpoint.save(loaded.classifier, to: scratch.path + "/saved", details: swiftlet,
                                      bosTokenId: loaded.hfConfig.bosTokenId, eosTokenId: loaded.hfConfig.eosTokenId)
        // config.json as JSON (the committed one escapes its slashes, as the encoder did then), the tensors as bytes.
        let config = try [scratch.path + "/saved/", Fixture.classifier + "/"].map {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: $0 + "config.json"))) as! NSDictionary
        }
        #expect(config[0] == config[1], "written: \(config[0])")
        let tensors = try [scratch.path + "/saved/", Fixture.classifier + "/"].map {
            try Data(contentsOf: URL(fileURLWithPath: $0 + Checkpoint.modelFileName))
        }
        #expect(tensors[0] == tensors[1], "\(tensors[0].count) bytes written, \(tensors[1].count) committed")
    }
}
