/// Per-class loss weights for imbalanced data.
public enum ClassWeights {
    /// scikit-learn's "balanced": weight_c = n_samples / (n_classes * count_c), with n_classes the size of
    /// the label set. So a class's total weight (count_c * weight_c) is n_samples / n_classes for every class.
    /// A class absent from `labelIDs` gets weight 0 (it contributes no loss terms anyway; scikit-learn
    /// would refuse such a class). Ids outside 0..<labelCount are ignored.
    public static func balanced(labelIDs: [Int], labelCount: Int) -> [Float] {
        guard labelCount > 0 else { return [] }
        var counts = [Int](repeating: 0, count: labelCount)
        var samples = 0
        for id in labelIDs where id >= 0 && id < labelCount {
            counts[id] += 1
            samples += 1
        }
        return counts.map { count in
            count == 0 ? 0 : Float(Double(samples) / (Double(labelCount) * Double(count)))
        }
    }
}
