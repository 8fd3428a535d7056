/// The majority-class baseline: always predict the most frequent training label (ties: the smallest id).
/// Any classifier worth training must beat it.
public struct MajorityBaseline: Equatable, Sendable {
    public let labelID: Int

    /// nil when there are no valid training ids.
    public init?(trainingLabelIDs: [Int], labelCount: Int) {
        guard labelCount > 0 else { return nil }
        var counts = [Int](repeating: 0, count: labelCount)
        for id in trainingLabelIDs where id >= 0 && id < labelCount { counts[id] += 1 }
        guard let best = counts.indices.max(by: { counts[$0] < counts[$1] || (counts[$0] == counts[$1] && $0 > $1) }),
              counts[best] > 0 else { return nil }
        labelID = best
    }

    /// The note (`config.json` -> `swiftlet.notes`) in which a fine-tuned classifier records its training data's
    /// majority label, so that `finetune evaluate` can score the baseline on other data.
    public static let noteKey = "majority_label"

    public init(labelID: Int) { self.labelID = labelID }

    public func predictions(count: Int) -> [Int] { [Int](repeating: labelID, count: count) }

    /// The baseline's metrics on evaluation ids.
    public func metrics(gold: [Int], labelCount: Int, labelNames: [String]? = nil) throws -> ClassificationMetrics {
        try ClassificationMetrics(gold: gold, predicted: predictions(count: gold.count),
                                  labelCount: labelCount, labelNames: labelNames)
    }
}

/// The majority-class baseline as reports show it: the label it always predicts, whether that label is the
/// training data's most common (`training`) or, when the checkpoint does not record that, the evaluated data's
/// own (`evaluated`), and its accuracy and macro F1 on the evaluated examples.
public struct BaselineScores: Codable, Equatable, Sendable {
    public enum Source: String, Codable, Sendable { case training, evaluated }
    public var label: String
    public var source: Source
    public var accuracy: Double
    public var macroF1: Double

    public init(label: String, source: Source, metrics: ClassificationMetrics) {
        self.label = label
        self.source = source
        accuracy = metrics.accuracy
        macroF1 = metrics.macroF1
    }

    enum CodingKeys: String, CodingKey {
        case label, source, accuracy
        case macroF1 = "macro_f1"
    }
}
