/// The label vocabulary of a classifier: label names sorted, id = position. The same training labels always
/// give the same ids, whatever the row order.
///
/// Labels are Swift Strings, compared by Unicode canonical equivalence: "café" written precomposed (NFC,
/// U+00E9) and decomposed (NFD, "e" + U+0301) are one label, kept (and stored in config.json's id2label and
/// label2id) in the spelling of the first training row that has it, and an evaluation or validation row in
/// the other spelling has that label. Code-point comparisons (Python's `==`, a label2id lookup) tell the two
/// apart. The order compares the labels' NFC forms by Unicode scalar value: "10" before "2", "Z" before "a"
/// (for labels already in NFC, the order of Python's `sorted`).
public struct LabelSet: Equatable, Sendable {
    /// id2label: labels[id].
    public let labels: [String]
    private let ids: [String: Int]

    /// Builds the set from the training examples; fewer than two distinct labels is an error (nothing to learn).
    public init(training examples: [ClassificationExample], file: String) throws {
        let distinct = Set(examples.map(\.label))
        guard !distinct.isEmpty else { throw LabelledDataError.noExamples(file: file) }
        guard distinct.count >= 2 else {
            throw LabelledDataError.singleLabel(file: file, label: distinct.first ?? "")
        }
        self.init(uncheckedSorted: distinct.sorted())
    }

    /// A set stored with a checkpoint (id2label in id order); the names must be distinct.
    public init?(id2label: [String]) {
        guard Set(id2label).count == id2label.count else { return nil }
        labels = id2label
        ids = Dictionary(uniqueKeysWithValues: id2label.enumerated().map { ($1, $0) })
    }

    private init(uncheckedSorted labels: [String]) {
        self.labels = labels
        ids = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
    }

    public var count: Int { labels.count }

    public func id(of label: String) -> Int? { ids[label] }

    /// As config.json stores them (GPT2ForSequenceClassification: string keys for id2label).
    public var id2label: [String: String] {
        Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0), $1) })
    }

    public var label2id: [String: Int] { ids }

    /// Maps examples to ids for evaluation. Examples whose label is not in the set are not an error: they
    /// are left out of `ids`/`examples`, counted per label, and the first few listed for the report.
    public func encode(_ examples: [ClassificationExample], file: String) -> EncodedLabels {
        var encoded = EncodedLabels()
        for example in examples {
            if let id = ids[example.label] {
                encoded.ids.append(id)
                encoded.examples.append(example)
            } else {
                encoded.unknownCounts[example.label, default: 0] += 1
                if encoded.unknownProblems.count < LabelledDataReader.maxReportedProblems {
                    encoded.unknownProblems.append(RowProblem(file: file, line: example.line,
                        message: "label '\(example.label)' is not one the model was trained on"))
                }
            }
        }
        return encoded
    }
}

/// Examples with known labels and their ids, plus the unknown labels that were left out.
public struct EncodedLabels: Equatable, Sendable {
    public var ids: [Int] = []
    public var examples: [ClassificationExample] = []
    /// Unknown label -> number of examples that carry it.
    public var unknownCounts: [String: Int] = [:]
    public var unknownProblems: [RowProblem] = []

    public var unknownCount: Int { unknownCounts.values.reduce(0, +) }
}
