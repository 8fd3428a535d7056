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

    public func predictions(count: Int) -> [Int] { [Int](repeating: labelID, count: count) }

    /// The baseline's metrics on evaluation ids.
    public func metrics(gold: [Int], labelCount: Int, labelNames: [String]? = nil) throws -> ClassificationMetrics {
        try ClassificationMetrics(gold: gold, predicted: predictions(count: gold.count),
                                  labelCount: labelCount, labelNames: labelNames)
    }
}
