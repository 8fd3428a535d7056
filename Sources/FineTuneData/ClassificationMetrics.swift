/// Precision, recall, F1 and support of one label.
public struct LabelScores: Codable, Equatable, Sendable {
    public var precision: Double
    public var recall: Double
    public var f1: Double
    /// Number of gold examples with this label.
    public var support: Int
}

public enum MetricsError: Error, Equatable, Sendable, CustomStringConvertible {
    case noExamples
    case lengthMismatch(gold: Int, predicted: Int)
    case idOutOfRange(id: Int, labelCount: Int)
    case namesMismatch(names: Int, labelCount: Int)

    public var description: String {
        switch self {
        case .noExamples: return "no examples to evaluate"
        case .lengthMismatch(let g, let p): return "\(g) gold labels but \(p) predictions"
        case .idOutOfRange(let id, let n): return "label id \(id) is outside 0..<\(n)"
        case .namesMismatch(let names, let n): return "\(names) label names for \(n) labels"
        }
    }
}

/// Classification metrics from gold and predicted label ids.
///
/// Conventions (scikit-learn's defaults with `zero_division=0`):
/// - precision_c = TP / (TP + FP), 0 when the label is never predicted;
///   recall_c = TP / (TP + FN), 0 when the label never occurs in gold;
///   F1_c = 2 TP / (2 TP + FP + FN) (the harmonic mean of the two), 0 when the label is in neither.
/// - macro F1 is the unweighted mean of F1_c over the labels that occur in gold OR in the predictions,
///   as `f1_score(y_true, y_pred, average="macro")` does without `labels=`: a label the evaluation data never
///   mentions and the model never predicts does not drag the average down. A label present in gold but
///   never predicted counts with F1 0, and so does one predicted but never present.
/// - Per-label scores and the confusion matrix cover every label in the set.
public struct ClassificationMetrics: Equatable, Sendable {
    public let labels: [String]
    /// confusion[gold][predicted] = number of examples.
    public let confusion: [[Int]]
    public let accuracy: Double
    public let perLabel: [LabelScores]
    public let macroF1: Double
    /// Ids of the labels that entered the macro average.
    public let averagedLabelIDs: [Int]
    public let exampleCount: Int

    /// `labelNames` nil: the labels are named by their ids ("0", "1", ...).
    public init(gold: [Int], predicted: [Int], labelCount: Int, labelNames: [String]? = nil) throws {
        guard gold.count == predicted.count else {
            throw MetricsError.lengthMismatch(gold: gold.count, predicted: predicted.count)
        }
        guard !gold.isEmpty else { throw MetricsError.noExamples }
        let names = labelNames ?? (0..<max(0, labelCount)).map(String.init)
        guard names.count == labelCount else { throw MetricsError.namesMismatch(names: names.count, labelCount: labelCount) }
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: labelCount), count: labelCount)
        for (g, p) in zip(gold, predicted) {
            for id in [g, p] where id < 0 || id >= labelCount {
                throw MetricsError.idOutOfRange(id: id, labelCount: labelCount)
            }
            matrix[g][p] += 1
        }
        var correct = 0
        var scores: [LabelScores] = []
        var averaged: [Int] = []
        for c in 0..<labelCount {
            let tp = matrix[c][c]
            correct += tp
            let goldCount = matrix[c].reduce(0, +)            // TP + FN (row sum)
            let predictedCount = matrix.reduce(0) { $0 + $1[c] }  // TP + FP (column sum)
            let fp = predictedCount - tp, fn = goldCount - tp
            let precision = predictedCount == 0 ? 0 : Double(tp) / Double(predictedCount)
            let recall = goldCount == 0 ? 0 : Double(tp) / Double(goldCount)
            let f1Denominator = 2 * tp + fp + fn
            let f1 = f1Denominator == 0 ? 0 : Double(2 * tp) / Double(f1Denominator)
            scores.append(LabelScores(precision: precision, recall: recall, f1: f1, support: goldCount))
            if goldCount > 0 || predictedCount > 0 { averaged.append(c) }
        }
        labels = names
        confusion = matrix
        accuracy = Double(correct) / Double(gold.count)
        perLabel = scores
        averagedLabelIDs = averaged
        macroF1 = averaged.map { scores[$0].f1 }.reduce(0, +) / Double(averaged.count)
        exampleCount = gold.count
    }

    /// The JSON form printed by `finetune evaluate --json`.
    public var report: ClassificationReport {
        ClassificationReport(
            accuracy: accuracy, macroF1: macroF1, examples: exampleCount,
            perLabel: Dictionary(uniqueKeysWithValues: zip(labels, perLabel).map { ($0, $1) }),
            confusion: ClassificationReport.Confusion(labels: labels, matrix: confusion))
    }
}

/// Metrics as JSON: `accuracy`, `macro_f1`, `examples`, `per_label` (label -> precision, recall, f1, support),
/// `confusion` (`labels`: the row and column order; `matrix`: rows are gold, columns predicted), and
/// `unknown_labels` (examples left out because their label is not in the model's set; set by the caller),
/// `mean_loss` and `majority_baseline` (`BaselineScores`; both set by `finetune evaluate`).
public struct ClassificationReport: Codable, Equatable, Sendable {
    public struct Confusion: Codable, Equatable, Sendable {
        public var labels: [String]
        public var matrix: [[Int]]
    }

    public var accuracy: Double
    public var macroF1: Double
    public var examples: Int
    public var perLabel: [String: LabelScores]
    public var confusion: Confusion
    public var unknownLabels: Int?
    /// Mean cross-entropy over the scored examples (set by `finetune evaluate`, which computes it).
    public var meanLoss: Double?
    /// The majority-class baseline on the same examples (set by `finetune evaluate`).
    public var majorityBaseline: BaselineScores?

    public init(accuracy: Double, macroF1: Double, examples: Int, perLabel: [String: LabelScores],
                confusion: Confusion, unknownLabels: Int? = nil) {
        self.accuracy = accuracy
        self.macroF1 = macroF1
        self.examples = examples
        self.perLabel = perLabel
        self.confusion = confusion
        self.unknownLabels = unknownLabels
    }

    enum CodingKeys: String, CodingKey {
        case accuracy, examples, confusion
        case macroF1 = "macro_f1"
        case perLabel = "per_label"
        case unknownLabels = "unknown_labels"
        case meanLoss = "mean_loss"
        case majorityBaseline = "majority_baseline"
    }
}
