import Foundation
import Testing
@testable import FineTuneData

/// The project's own labelled corpora (corpora/, built by scripts/build_corpora.py) read with the default
/// field names. Enabled when the corpora are in the checkout.
enum ShippedCorpora {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("corpora").path
    static let present = ["kjv-sections-train.jsonl", "kjv-sections-test.jsonl", "proverbs-completion.jsonl"]
        .allSatisfy { FileManager.default.fileExists(atPath: root + "/" + $0) }
}

@Suite(.enabled(if: ShippedCorpora.present, "corpora/ is not in this checkout"))
struct ShippedCorporaTests {
    @Test func classificationSetReadsAndSplits() throws {
        let reader = LabelledDataReader()
        let train = try reader.readClassification(path: ShippedCorpora.root + "/kjv-sections-train.jsonl")
        let test = try reader.readClassification(path: ShippedCorpora.root + "/kjv-sections-test.jsonl")
        #expect(train.skippedRows == 0 && test.skippedRows == 0)
        let labels = try LabelSet(training: train.examples, file: train.file)
        #expect(labels.labels == ["apocalypse", "gospels", "history", "law", "letters",
                                  "major-prophets", "minor-prophets", "wisdom"])
        #expect(labels.encode(test.examples, file: test.file).unknownCount == 0)
        let split = try ValidationSplit.stratified(train.examples, valFraction: 0.1, seed: 1)
        for label in labels.labels {
            let total = train.examples.filter { $0.label == label }.count
            let held = split.validation.filter { $0.label == label }.count
            #expect(held == Int((Double(total) * 0.1).rounded()))
        }
    }

    @Test func completionSetKeepsLeadingSpaces() throws {
        let data = try LabelledDataReader().readCompletion(path: ShippedCorpora.root + "/proverbs-completion.jsonl")
        #expect(data.skippedRows == 0)
        #expect(data.examples.count > 1000)
        #expect(data.examples.allSatisfy { $0.completion.hasPrefix(" ") })
    }
}
