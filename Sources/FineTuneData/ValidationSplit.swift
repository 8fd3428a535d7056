/// Seeded train/validation splits. Both halves keep the examples' file order; the same seed and data give
/// the same split.
public enum ValidationSplit {
    /// Classification: stratified by label. Each label with n examples sends round(n * valFraction) of them
    /// to validation, chosen at random, but always keeps at least one in training (so a label with a single
    /// example stays in training, and the label set built from training still has every label).
    public static func stratified(_ examples: [ClassificationExample], valFraction: Double, seed: UInt64) throws
        -> (train: [ClassificationExample], validation: [ClassificationExample]) {
        try checkFraction(valFraction)
        var indicesByLabel: [String: [Int]] = [:]
        for (i, example) in examples.enumerated() { indicesByLabel[example.label, default: []].append(i) }
        var rng = SplitMix64(seed: seed)
        var isValidation = [Bool](repeating: false, count: examples.count)
        for label in indicesByLabel.keys.sorted() {  // sorted: the stream of random numbers is seed-determined
            var indices = indicesByLabel[label] ?? []
            let take = min(Int((Double(indices.count) * valFraction).rounded()), indices.count - 1)
            guard take > 0 else { continue }
            rng.shuffle(&indices)
            for i in indices.prefix(take) { isValidation[i] = true }
        }
        return try partition(examples, isValidation, valFraction,
                             largestLabel: indicesByLabel.values.map(\.count).max())
    }

    /// Completions (or anything without labels): round(n * valFraction) examples chosen at random, at least
    /// one on each side.
    public static func shuffled<T>(_ examples: [T], valFraction: Double, seed: UInt64) throws
        -> (train: [T], validation: [T]) {
        try checkFraction(valFraction)
        var indices = Array(examples.indices)
        var rng = SplitMix64(seed: seed)
        rng.shuffle(&indices)
        let take = min(Int((Double(examples.count) * valFraction).rounded()), examples.count - 1)
        var isValidation = [Bool](repeating: false, count: examples.count)
        for i in indices.prefix(max(take, 0)) { isValidation[i] = true }
        return try partition(examples, isValidation, valFraction)
    }

    private static func checkFraction(_ fraction: Double) throws {
        guard fraction > 0, fraction < 1 else { throw LabelledDataError.invalidValidationFraction(fraction) }
    }

    private static func partition<T>(_ examples: [T], _ isValidation: [Bool], _ fraction: Double, largestLabel: Int? = nil) throws
        -> (train: [T], validation: [T]) {
        var train: [T] = [], validation: [T] = []
        for (example, toValidation) in zip(examples, isValidation) {
            if toValidation { validation.append(example) } else { train.append(example) }
        }
        if validation.isEmpty {
            throw LabelledDataError.emptySplit(examples: examples.count, valFraction: fraction, which: "validation",
                                               largestLabel: largestLabel)
        }
        if train.isEmpty {
            throw LabelledDataError.emptySplit(examples: examples.count, valFraction: fraction, which: "training")
        }
        return (train, validation)
    }
}
