import Testing
@testable import FineTuneData

@Suite struct LabelSetTests {
    func examples(_ labels: [String]) -> [ClassificationExample] {
        labels.enumerated().map { ClassificationExample(text: "t\($0)", label: $1, line: $0 + 1) }
    }

    @Test func sortedStableIDs() throws {
        let a = try LabelSet(training: examples(["pos", "neg", "neutral", "neg", "10", "2"]), file: "train.jsonl")
        let b = try LabelSet(training: examples(["2", "neutral", "10", "pos", "neg"]), file: "train.jsonl")
        #expect(a == b)  // row order and counts do not change the ids
        #expect(a.labels == ["10", "2", "neg", "neutral", "pos"])  // string order, not numeric
        #expect(a.id(of: "neg") == 2)
        #expect(a.id(of: "missing") == nil)
        #expect(a.id2label == ["0": "10", "1": "2", "2": "neg", "3": "neutral", "4": "pos"])
        #expect(a.label2id == ["10": 0, "2": 1, "neg": 2, "neutral": 3, "pos": 4])
        #expect(LabelSet(id2label: a.labels) == a)
        #expect(LabelSet(id2label: ["x", "y", "x"]) == nil)
    }

    /// Canonically equivalent spellings are one label (as LabelSet's documentation says), kept in the first
    /// training row's spelling; the order is that of the NFC scalars.
    @Test func canonicallyEquivalentLabelsAreOne() throws {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        let set = try LabelSet(training: examples([nfd, "cafe", nfc, "caff", "Z"]), file: "train.jsonl")
        #expect(set.labels.map { Array($0.unicodeScalars) } == ["Z", "cafe", "caff", nfd].map { Array($0.unicodeScalars) })
        #expect(set.id(of: nfc) == 3 && set.id(of: nfd) == 3)
        let other = try LabelSet(training: examples([nfc, "Z", nfd]), file: "train.jsonl")
        #expect(other.labels.last.map { Array($0.unicodeScalars) } == Array(nfc.unicodeScalars))
        #expect(set.encode(examples([nfc]), file: "test.jsonl").ids == [3])
    }

    @Test func singleLabelTrainingSetIsAnError() {
        #expect(errorMessage { _ = try LabelSet(training: examples(["spam", "spam", "spam"]), file: "train.csv") }
                == "train.csv: every training example has the label 'spam'; a classifier needs at least two labels")
        #expect(errorMessage { _ = try LabelSet(training: [], file: "train.csv") } == "train.csv: no training examples")
    }

    @Test func unknownLabelsAtEvaluationAreCountedNotFatal() throws {
        let set = try LabelSet(training: examples(["a", "b"]), file: "train.jsonl")
        let evaluation = examples(["a", "c", "b", "c", "d", "a"])
        let encoded = set.encode(evaluation, file: "test.jsonl")
        #expect(encoded.ids == [0, 1, 0])
        #expect(encoded.examples.map(\.line) == [1, 3, 6])
        #expect(encoded.unknownCounts == ["c": 2, "d": 1])
        #expect(encoded.unknownCount == 3)
        #expect(encoded.unknownProblems.map(\.description) == [
            "test.jsonl:2: label 'c' is not one the model was trained on",
            "test.jsonl:4: label 'c' is not one the model was trained on",
            "test.jsonl:5: label 'd' is not one the model was trained on",
        ])
    }
}

@Suite struct ClassWeightTests {
    /// weight_c = n_samples / (n_classes * count_c), computed by hand.
    @Test func balancedMatchesHandComputation() {
        // 4 samples, 2 classes, counts 3 and 1: 4/(2*3) = 0.6667, 4/(2*1) = 2.
        let two = ClassWeights.balanced(labelIDs: [0, 1, 0, 0], labelCount: 2)
        #expect(abs(two[0] - 2.0 / 3.0) < 1e-6)
        #expect(two[1] == 2)
        // 7 samples, 3 classes, counts 4, 2, 1: 7/12 = 0.58333, 7/6 = 1.16667, 7/3 = 2.33333.
        let three = ClassWeights.balanced(labelIDs: [0, 0, 1, 2, 0, 1, 0], labelCount: 3)
        #expect(abs(three[0] - 7.0 / 12.0) < 1e-6)
        #expect(abs(three[1] - 7.0 / 6.0) < 1e-6)
        #expect(abs(three[2] - 7.0 / 3.0) < 1e-6)
        // Every class then carries the same total weight n/k = 7/3.
        #expect(abs(4 * three[0] - 2 * three[1]) < 1e-6)
        // Balanced data gives weight 1 everywhere.
        #expect(ClassWeights.balanced(labelIDs: [0, 1, 2, 2, 1, 0], labelCount: 3) == [1, 1, 1])
        // An absent class gets 0, and n_classes is still the label set's size: 3/(3*2) = 0.5, 3/(3*1) = 1.
        #expect(ClassWeights.balanced(labelIDs: [0, 0, 1], labelCount: 3) == [0.5, 1, 0])
    }
}

@Suite struct MajorityBaselineTests {
    @Test func predictsTheMostFrequentTrainingLabel() throws {
        let baseline = try #require(MajorityBaseline(trainingLabelIDs: [1, 1, 0, 2, 1], labelCount: 3))
        #expect(baseline.labelID == 1)
        #expect(baseline.predictions(count: 3) == [1, 1, 1])
        // Ties go to the smallest id.
        #expect(MajorityBaseline(trainingLabelIDs: [2, 0, 2, 0], labelCount: 3)?.labelID == 0)
        #expect(MajorityBaseline(trainingLabelIDs: [], labelCount: 3) == nil)
        // On gold [1, 0, 1, 2]: accuracy 2/4; F1 of label 1 = 2*2/(2*2+2+0) = 2/3; labels 0 and 2 get 0;
        // macro F1 = (0 + 2/3 + 0) / 3 = 2/9.
        let metrics = try baseline.metrics(gold: [1, 0, 1, 2], labelCount: 3)
        #expect(metrics.accuracy == 0.5)
        #expect(abs(metrics.macroF1 - 2.0 / 9.0) < 1e-12)
    }
}
