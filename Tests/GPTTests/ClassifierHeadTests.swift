import Foundation
import Testing
@testable import GPT

/// The sequence-classification head (score.weight on the last real token's final hidden state), with class
/// weights and the auxiliary LM loss, against central finite differences of a Double reference
/// (ReferenceGPT's hidden state, then a naive head and cross-entropy). Tolerance as in GradientCheckTests.
@Suite struct ClassifierHeadTests {
    static let config = GradientCheckTests.config          // 2 layers, width 8, context 8, vocabulary 11
    static let labels = ["a", "b", "c"]
    static let time = 6
    static let lengths = [6, 3, 1]                         // right-padded: full, padded, a single token
    static let targets = [2, 0, 2]
    static let classWeights: [Float] = [0.5, 1.0, 2.0]
    static let pad: Int32 = 10

    static func tokens() -> [Int32] {
        var generator = SeededGenerator(seed: 11)
        var t = [Int32](repeating: pad, count: lengths.count * time)
        for (b, n) in lengths.enumerated() { for i in 0..<n { t[b * time + i] = Int32(generator.next() % 10) } }
        return t
    }

    static func classifier() throws -> SequenceClassifier {
        let c = try SequenceClassifier(model: try GradientCheckTests.model(), labels: labels, padTokenId: pad)
        var generator = SeededGenerator(seed: 5)
        for i in 0..<c.score.count { c.score.pointer[i] = Float(generator.nextNormal() * 0.5) }
        return c
    }

    /// The loss `SequenceClassifier.forwardBackward` differentiates, in Double from the reference model.
    static func referenceLoss(_ ref: ReferenceGPT, score: [Double], lmWeight: Double) -> Double {
        let t = tokens(), C = config.width, V = config.vocabSize, K = labels.count
        let h = ref.hidden(tokens: t, batch: lengths.count, time: time)
        var total = 0.0, weightSum = 0.0
        for b in 0..<lengths.count {
            let row = b * time + lengths[b] - 1
            let z = (0..<K).map { k in (0..<C).reduce(0.0) { $0 + score[k * C + $1] * h[row * C + $1] } }
            let m = z.max()!
            let lse = log(z.reduce(0) { $0 + exp($1 - m) }) + m
            let w = Double(classWeights[targets[b]])
            total += w * (lse - z[targets[b]])
            weightSum += w
        }
        var loss = total / weightSum
        if lmWeight > 0 {
            let logits = ref.logits(tokens: t, batch: lengths.count, time: time)
            var lm = 0.0, count = 0.0
            for b in 0..<lengths.count where lengths[b] > 1 {
                for i in 0..<(lengths[b] - 1) {
                    let r = b * time + i
                    let row = logits[(r * V)..<(r * V + V)]
                    let m = row.max()!
                    let lse = log(row.reduce(0) { $0 + exp($1 - m) }) + m
                    lm += lse - logits[r * V + Int(t[r + 1])]
                    count += 1
                }
            }
            loss += lmWeight * lm / count
        }
        return loss
    }

    @Test(arguments: [0.0, 0.7])
    func gradientsMatchFiniteDifferences(lmWeight: Double) throws {
        let c = try Self.classifier()
        let t = Self.tokens()
        c.zeroGradients()
        let losses = try c.forwardBackward(tokens: t, lengths: Self.lengths, labels: Self.targets, batch: 3, time: Self.time,
                                           classWeights: Self.classWeights, lmLossWeight: Float(lmWeight))
        var ref = ReferenceGPT(model: c.model)
        var score = c.score.values.map(Double.init)
        let expected = Self.referenceLoss(ref, score: score, lmWeight: lmWeight)
        #expect(abs(losses.total - expected) <= 1e-5 * abs(expected))

        let h = 1e-4
        var worst = 0.0
        func check(_ analytic: Double, _ numeric: Double, _ what: String) {
            let error = abs(analytic - numeric) / max(abs(numeric), 1e-2)
            worst = max(worst, error)
            #expect(error < 1e-4, "\(what): analytic \(analytic), numeric \(numeric)")
        }
        for i in 0..<score.count {
            let original = score[i]
            score[i] = original + h
            let plus = Self.referenceLoss(ref, score: score, lmWeight: lmWeight)
            score[i] = original - h
            let minus = Self.referenceLoss(ref, score: score, lmWeight: lmWeight)
            score[i] = original
            check(Double(c.scoreGradient.pointer[i]), (plus - minus) / (2 * h), "score.weight[\(i)]")
        }
        for slot in c.model.layout.slots {
            for index in Set([0, slot.count - 1, slot.count / 2]).sorted() {
                let original = ref.tensors[slot.name]![index]
                ref.tensors[slot.name]![index] = original + h
                let plus = Self.referenceLoss(ref, score: score, lmWeight: lmWeight)
                ref.tensors[slot.name]![index] = original - h
                let minus = Self.referenceLoss(ref, score: score, lmWeight: lmWeight)
                ref.tensors[slot.name]![index] = original
                check(Double(c.model.gradients.pointer[slot.offset + index]), (plus - minus) / (2 * h), "\(slot.name)[\(index)]")
            }
        }
        print("classifier gradient check (lm weight \(lmWeight)): worst relative error \(worst)")
    }

    /// Micro-batches given the totals of all their texts add up to one batch of them: losses and gradients
    /// (class weights that differ, the LM loss on texts of different lengths); without totals, a batch divides
    /// by its own, bit for bit as totals of its own texts.
    @Test(arguments: [0.0, 0.7])
    func microBatchesWithTheStepsTotalsAddUpToOneBatch(lmWeight: Double) throws {
        let c = try Self.classifier()
        let t = Self.tokens(), T = Self.time
        func gradients() -> [Float] { c.model.gradients.values + c.scoreGradient.values }
        c.zeroGradients()
        let whole = try c.forwardBackward(tokens: t, lengths: Self.lengths, labels: Self.targets, batch: 3, time: T,
                                          classWeights: Self.classWeights, lmLossWeight: Float(lmWeight))
        let wholeGradients = gradients()
        let totals = SequenceClassifier.LossTotals(labels: Self.targets, lengths: Self.lengths,
                                                   classWeights: Self.classWeights)
        c.zeroGradients()
        let same = try c.forwardBackward(tokens: t, lengths: Self.lengths, labels: Self.targets, batch: 3, time: T,
                                         classWeights: Self.classWeights, lmLossWeight: Float(lmWeight), totals: totals)
        #expect(same == whole && gradients() == wholeGradients)

        // Texts 0 and 1, then text 2 (each micro-batch padded to its own longest text).
        c.zeroGradients()
        let first = try c.forwardBackward(tokens: Array(t[0..<(2 * T)]), lengths: [6, 3], labels: [2, 0], batch: 2,
                                          time: T, classWeights: Self.classWeights, lmLossWeight: Float(lmWeight),
                                          totals: totals)
        let second = try c.forwardBackward(tokens: [t[2 * T]], lengths: [1], labels: [2], batch: 1, time: 1,
                                           classWeights: Self.classWeights, lmLossWeight: Float(lmWeight), totals: totals)
        #expect(abs(first.total + second.total - whole.total) <= 1e-6 * whole.total)
        #expect(abs(first.languageModel + second.languageModel - whole.languageModel) <= 1e-6 * whole.languageModel)
        let largest = wholeGradients.map(abs).max() ?? 0
        let worst = zip(gradients(), wholeGradients).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-6 * largest, "gradients differ by up to \(worst) (largest \(largest))")
    }

    /// Padding after a text never changes its logits (causal attention; the last real token is pooled).
    @Test func paddingDoesNotChangeLogits() throws {
        let c = try Self.classifier()
        let t = Self.tokens()
        let batched = try c.logits(tokens: t, lengths: Self.lengths, batch: 3, time: Self.time)
        for b in 0..<3 {
            let alone = Array(t[(b * Self.time)..<(b * Self.time + Self.lengths[b])])
            let single = try c.logits(tokens: alone, lengths: [alone.count], batch: 1, time: alone.count)
            for k in 0..<3 { #expect(abs(single[k] - batched[b * 3 + k]) <= 1e-5 * max(1, abs(single[k]))) }
        }
    }

    @Test func badBatchesAreRefused() throws {
        let c = try Self.classifier()
        let t = Self.tokens()
        #expect(throws: ClassifierError.badLength(row: 1, length: 0, time: 6)) {
            try c.logits(tokens: t, lengths: [6, 0, 1], batch: 3, time: 6)
        }
        #expect(throws: ClassifierError.labelOutOfRange(row: 0, label: 3, labelCount: 3)) {
            try c.forwardBackward(tokens: t, lengths: Self.lengths, labels: [3, 0, 0], batch: 3, time: 6)
        }
        #expect(throws: ClassifierError.tooFewLabels(count: 1)) {
            try SequenceClassifier(model: c.model, labels: ["only"], padTokenId: 0)
        }
    }

    /// Frozen tensors (embeddings and the lowest blocks) do not move; the others and the head do.
    @Test func frozenLayersStayFixed() throws {
        let c = try Self.classifier()
        let before = c.model.parameters.values, headBefore = c.score.values
        c.zeroGradients()
        try c.forwardBackward(tokens: Self.tokens(), lengths: Self.lengths, labels: Self.targets, batch: 3, time: Self.time)
        c.model.zeroFrozenGradients(frozenLayers: 1)
        c.update(learningRate: 1e-2, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1, step: 1, frozenLayers: 1)
        let after = c.model.parameters.values
        for slot in c.model.layout.slots {
            let changed = (0..<slot.count).contains { before[slot.offset + $0] != after[slot.offset + $0] }
            let frozen = slot.name.hasPrefix("transformer.wte") || slot.name.hasPrefix("transformer.wpe")
                || slot.name.hasPrefix("transformer.h.0.")
            #expect(changed == !frozen, "\(slot.name) changed: \(changed)")
        }
        #expect(c.score.values != headBefore)
    }

    @Test func checkpointRoundTrip() throws {
        let c = try Self.classifier()
        let directory = NSTemporaryDirectory() + "classifier-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ClassifierCheckpoint.save(c, to: directory)
        let loaded = try ClassifierCheckpoint.load(from: directory).classifier
        #expect(loaded.labels == Self.labels && loaded.padTokenId == Self.pad)
        let t = Self.tokens()
        #expect(try loaded.logits(tokens: t, lengths: Self.lengths, batch: 3, time: 6)
                == c.logits(tokens: t, lengths: Self.lengths, batch: 3, time: 6))
        // A language-model checkpoint is not a classifier; a classifier is not a plain language model.
        let lm = directory + "-lm"
        defer { try? FileManager.default.removeItem(atPath: lm) }
        try Checkpoint.save(c.model, to: lm)
        #expect(try ClassifierCheckpoint.readClassifierConfig(directory: lm) == nil)
        #expect(throws: ClassifierCheckpointError.notAClassifier(path: lm)) { try ClassifierCheckpoint.load(from: lm) }
        #expect(throws: CheckpointError.unexpectedTensor(path: directory + "/model.safetensors", tensor: "score.weight")) {
            try Checkpoint.load(from: directory)
        }
        // The body alone (the start of another fine-tune) loads from either.
        #expect(try ClassifierCheckpoint.loadBody(from: directory).model.parameters.values == c.model.parameters.values)
        // A head that became NaN is refused by name, as the body's tensors are.
        c.score.pointer[1] = .nan
        try ClassifierCheckpoint.save(c, to: directory)
        do {
            _ = try ClassifierCheckpoint.load(from: directory)
            Issue.record("loaded a NaN score.weight")
        } catch let CheckpointError.nonFiniteWeight(_, tensor, index, _) {
            #expect(tensor == "score.weight" && index == 1)
        }
    }

    /// A classifier saved in a fresh directory (the caller removes it), and the path of its config.json.
    static func savedClassifier() throws -> (SequenceClassifier, directory: String, configPath: String) {
        let c = try classifier()
        let directory = NSTemporaryDirectory() + "classifier-" + UUID().uuidString
        try ClassifierCheckpoint.save(c, to: directory)
        return (c, directory, directory + "/config.json")
    }

    @Test func inconsistentClassifierConfigIsRefused() throws {
        let (_, directory, path) = try Self.savedClassifier()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "\"num_labels\" : 3", with: "\"num_labels\" : 4")
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: CheckpointError.invalidConfig(path: path, detail: "num_labels 4 disagrees with id2label (3 labels)")) {
            try ClassifierCheckpoint.load(from: directory)
        }
    }

    /// A head of another kind (transformers' multi-label head, a sigmoid a label; a regression) is refused: it
    /// was read as a softmax over the labels, and predicted other probabilities.
    @Test func otherProblemTypesAreRefused() throws {
        let (c, directory, path) = try Self.savedClassifier()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for problem in ["multi_label_classification", "regression"] {
            try text.replacingOccurrences(of: "\"single_label_classification\"", with: "\"\(problem)\"")
                .write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: CheckpointError.unsupported(path: path, detail: "problem_type \(problem) (only "
                + "single_label_classification: one label a text, a softmax over the labels)")) {
                try ClassifierCheckpoint.load(from: directory)
            }
        }
        // Absent or null (transformers then infers a single label from the labels' type), it reads.
        try text.replacingOccurrences(of: "\"single_label_classification\"", with: "null")
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ClassifierCheckpoint.load(from: directory).classifier.labels == c.labels)
    }

    /// A label named twice is named, with both ids (it was called "needs at least 2 distinct labels").
    @Test func aLabelNamedTwiceIsNamed() throws {
        let (_, directory, path) = try Self.savedClassifier()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        var id2label = config["id2label"] as! [String: String]
        id2label["2"] = id2label["0"]
        config["id2label"] = id2label
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        #expect(throws: CheckpointError.invalidConfig(path: path, detail: "'id2label' names '\(id2label["0"]!)' twice (ids 0 and 2)")) {
            try ClassifierCheckpoint.load(from: directory)
        }
    }
}
