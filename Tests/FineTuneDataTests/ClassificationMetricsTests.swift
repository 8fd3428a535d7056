import Foundation
import Testing
@testable import FineTuneData

@Suite struct ClassificationMetricsTests {
    /// Five labels a..e. Hand computation:
    ///   gold = [a, a, a, b, b, c, c], pred = [a, a, b, b, d, a, d]
    ///   confusion [gold][pred]:   a  b  c  d  e
    ///                          a  2  1  0  0  0
    ///                          b  0  1  0  1  0
    ///                          c  1  0  0  1  0
    ///                          d  0  0  0  0  0
    ///                          e  0  0  0  0  0
    ///   accuracy = (2 + 1) / 7 = 3/7
    ///   a: TP 2, predicted 3, gold 3 -> P 2/3, R 2/3, F1 2/3
    ///   b: TP 1, predicted 2, gold 2 -> P 1/2, R 1/2, F1 1/2
    ///   c: never predicted           -> P 0 (zero_division=0), R 0/2 = 0, F1 0
    ///   d: never in gold, predicted 2 -> P 0/2 = 0, R 0 (zero_division=0), F1 = 0/(0+2+0) = 0
    ///   e: in neither                -> all 0, and left out of the macro average
    ///   macro F1 = (2/3 + 1/2 + 0 + 0) / 4 = 7/24 (scikit-learn: f1_score(gold, pred, average="macro"))
    let labels = ["a", "b", "c", "d", "e"]
    let gold = [0, 0, 0, 1, 1, 2, 2]
    let predicted = [0, 0, 1, 1, 3, 0, 3]

    @Test func handComputedExampleWithNeverPredictedAndNeverPresentLabels() throws {
        let m = try ClassificationMetrics(gold: gold, predicted: predicted, labelCount: 5, labelNames: labels)
        #expect(m.confusion == [[2, 1, 0, 0, 0], [0, 1, 0, 1, 0], [1, 0, 0, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
        #expect(abs(m.accuracy - 3.0 / 7.0) < 1e-12)
        let expected: [(Double, Double, Double, Int)] = [
            (2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 3), (0.5, 0.5, 0.5, 2), (0, 0, 0, 2), (0, 0, 0, 0), (0, 0, 0, 0)]
        for (scores, (p, r, f, support)) in zip(m.perLabel, expected) {
            #expect(abs(scores.precision - p) < 1e-12)
            #expect(abs(scores.recall - r) < 1e-12)
            #expect(abs(scores.f1 - f) < 1e-12)
            #expect(scores.support == support)
        }
        #expect(m.averagedLabelIDs == [0, 1, 2, 3])
        #expect(abs(m.macroF1 - 7.0 / 24.0) < 1e-12)
        #expect(m.exampleCount == 7)
    }

    /// F1 is the harmonic mean of precision and recall when both are defined: P = 1/3, R = 1/2 -> F1 = 2/5.
    @Test func f1IsTheHarmonicMean() throws {
        // Label 1: gold at positions 0, 1; predicted at 0, 2, 3 -> TP 1, FP 2, FN 1.
        let m = try ClassificationMetrics(gold: [1, 1, 0, 0], predicted: [1, 0, 1, 1], labelCount: 2)
        #expect(abs(m.perLabel[1].precision - 1.0 / 3.0) < 1e-12)
        #expect(abs(m.perLabel[1].recall - 0.5) < 1e-12)
        #expect(abs(m.perLabel[1].f1 - 0.4) < 1e-12)
        #expect(m.labels == ["0", "1"])
        // Label 0: TP 0, FP 1, FN 2 -> everything 0; macro F1 = (0 + 0.4) / 2.
        #expect(abs(m.macroF1 - 0.2) < 1e-12)
        #expect(m.accuracy == 0.25)
    }

    @Test func perfectPredictions() throws {
        let m = try ClassificationMetrics(gold: [2, 0, 1, 2], predicted: [2, 0, 1, 2], labelCount: 3)
        #expect(m.accuracy == 1)
        #expect(m.macroF1 == 1)
        #expect(m.perLabel.map(\.support) == [1, 1, 2])
    }

    @Test func invalidInputsAreErrors() {
        #expect(errorMessage { _ = try ClassificationMetrics(gold: [], predicted: [], labelCount: 2) } == "no examples to evaluate")
        #expect(errorMessage { _ = try ClassificationMetrics(gold: [0], predicted: [0, 1], labelCount: 2) }
                == "1 gold labels but 2 predictions")
        #expect(errorMessage { _ = try ClassificationMetrics(gold: [0, 2], predicted: [0, 1], labelCount: 2) }
                == "label id 2 is outside 0..<2")
        #expect(errorMessage { _ = try ClassificationMetrics(gold: [0], predicted: [0], labelCount: 2, labelNames: ["x"]) }
                == "1 label names for 2 labels")
    }

    @Test func jsonReportHasTheDocumentedKeys() throws {
        let m = try ClassificationMetrics(gold: gold, predicted: predicted, labelCount: 5, labelNames: labels)
        var report = m.report
        report.unknownLabels = 2
        let json = try report.jsonString()
        #expect(!json.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["accuracy", "macro_f1", "examples", "per_label", "confusion", "unknown_labels"])
        #expect(abs((object["macro_f1"] as? Double ?? -1) - 7.0 / 24.0) < 1e-12)
        let perLabel = try #require(object["per_label"] as? [String: [String: Any]])
        #expect(Set(perLabel.keys) == Set(labels))
        #expect(perLabel["b"]?["precision"] as? Double == 0.5)
        #expect(perLabel["a"]?["support"] as? Int == 3)
        let confusion = try #require(object["confusion"] as? [String: Any])
        #expect(confusion["labels"] as? [String] == labels)
        #expect(confusion["matrix"] as? [[Int]] == m.confusion)
        // Round trip through Codable.
        #expect(try JSONDecoder().decode(ClassificationReport.self, from: Data(json.utf8)) == report)
    }

    @Test func textTable() throws {
        let m = try ClassificationMetrics(gold: gold, predicted: predicted, labelCount: 5, labelNames: labels)
        let lines = MetricsTable.render(m).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "examples 7   accuracy 0.4286   macro F1 0.2917")
        #expect(lines[2] == "label  precision    recall        f1   support")
        #expect(lines[3] == "a         0.6667    0.6667    0.6667         3")
        #expect(lines[5] == "c         0.0000    0.0000    0.0000         2")
        // e is neither in the gold labels nor predicted: no scores, and macro F1 leaves it out.
        #expect(lines[7] == "e              -         -         -         0")
        #expect(lines[8] == "(-: neither in the data nor predicted; macro F1 averages the other 4 labels)")
        #expect(lines[10] == "confusion matrix (rows: gold label, columns: predicted label)")
        #expect(lines[11] == "       a b c d e")
        #expect(lines[12] == "a      2 1 0 0 0")
        #expect(lines[14] == "c      1 0 0 1 0")
        #expect(MetricsTable.fixed(2.0 / 3.0) == "0.6667")
        #expect(MetricsTable.fixed(1) == "1.0000")
        #expect(MetricsTable.fixed(0.00005) == "0.0001")
        // A diverged model's perplexity (e^40) trapped in the Int64 of the four-decimal spelling.
        #expect(MetricsTable.fixed(exp(40)) == "2.35e+17" && MetricsTable.fixed(-1e15) == "-1e+15")
    }

    /// Long names are shortened but never until two distinct labels look the same: their start and end are
    /// kept, and when even those agree every name is shown whole.
    @Test func longLabelsStayDistinct() throws {
        func rows(_ labels: [String]) throws -> [String] {
            let m = try ClassificationMetrics(gold: [0, 1, 2], predicted: [0, 2, 1], labelCount: 3, labelNames: labels)
            return MetricsTable.render(m).split(separator: "\n").map(String.init)
        }
        let numbered = ["a-very-long-label-name-number-1", "a-very-long-label-name-number-2", "short"]
        let shown = ["a-very-long-…me-number-1", "a-very-long-…me-number-2", "short"]
        #expect(shown.allSatisfy { $0.count <= MetricsTable.maxNameWidth })
        let table = try rows(numbered)
        for name in shown {
            #expect(table.filter { $0.hasPrefix(name + " ") }.count == 2, "\(table)")   // its metrics and confusion rows
        }
        #expect(table.contains { $0.hasSuffix(shown.map { String(repeating: " ", count: 24 - $0.count) + $0 }
            .joined(separator: " ")) }, "\(table)")                                      // the matrix's column heads
        // Start and end alike: the middle is all that differs, so nothing is cut.
        let alike = ["the-first-part-A-of-the-label-ends-here", "the-first-part-B-of-the-label-ends-here", "short"]
        let whole = try rows(alike)
        for name in alike { #expect(whole.filter { $0.hasPrefix(name + " ") }.count == 2, "\(whole)") }
    }
}

/// Labels in scripts a terminal draws two columns wide (CJK), with combining marks, or with zero-width characters:
/// the table pads by terminal columns, not by characters, so its columns line up, and shortens a long label to
/// at most `maxNameWidth` columns.
@Suite struct WideLabelTableTests {
    @Test func columnsOfCharacters() {
        #expect(TerminalColumns.of("正面") == 4 && TerminalColumns.of("한국어") == 6 && TerminalColumns.of("ｆｕｌｌ") == 8)
        #expect(TerminalColumns.of("cafe\u{301}") == 4 && TerminalColumns.of("café") == 4)
        #expect(TerminalColumns.of("a\u{200B}b") == 2 && TerminalColumns.of("\u{200D}") == 0)
        #expect(TerminalColumns.of("👍") == 2 && TerminalColumns.of("❤\u{FE0F}") == 2 && TerminalColumns.of("❤") == 1)
        #expect(TerminalColumns.prefix("正面情绪", fitting: 5) == "正面" && TerminalColumns.suffix("ab正面", fitting: 3) == "面")
    }

    @Test func tableColumnsLineUp() throws {
        let long = String(repeating: "非常长的标签", count: 4)   // 24 characters, 48 columns
        let labels = ["正面", "负面情绪", "cafe\u{301}", "zero\u{200B}width", long]
        let m = try ClassificationMetrics(gold: [0, 1, 2, 3, 4, 0], predicted: [0, 1, 3, 2, 4, 1], labelCount: 5,
                                          labelNames: labels)
        let lines = MetricsTable.render(m).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let scores = Array(lines[2...7])                      // the header and one row a label
        #expect(Set(scores.map(TerminalColumns.of)).count == 1, "\(scores)")
        let shortened = MetricsTable.shorten(long)
        #expect(shortened.contains("…") && TerminalColumns.of(shortened) <= MetricsTable.maxNameWidth)
        #expect(lines[7].hasPrefix(shortened + " "))
        let matrix = Array(lines[10...15])                    // the column heads and one row a gold label
        #expect(matrix.allSatisfy { !$0.isEmpty } && Set(matrix.map(TerminalColumns.of)).count == 1, "\(matrix)")
    }
}

@Suite struct CompletionReportTests {
    @Test func lossAndPerplexity() throws {
        // 3 tokens with losses summing to 3 ln 2: mean ln 2, perplexity 2.
        let report = CompletionReport(lossSum: 3 * log(2.0), tokens: 3, examples: 1)
        #expect(abs(report.meanLoss - log(2.0)) < 1e-12)
        #expect(abs(report.perplexity - 2) < 1e-12)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.jsonString().utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["mean_loss", "perplexity", "tokens", "examples"])
        #expect(report.text == "examples 1   completion tokens 3   mean loss 0.6931   perplexity 2.0000")
        let none = try CompletionReport(lossSum: 0, tokens: 0, examples: 0).jsonString()
        #expect(none == #"{"examples":0,"mean_loss":"NaN","perplexity":"NaN","tokens":0}"#)
    }
}
