/// Renders classification metrics as plain-text tables for the terminal.
public enum MetricsTable {
    /// Names wider than this many terminal columns are cut (with "…") so the table stays readable.
    public static let maxNameWidth = 24

    /// A label neither in the gold labels nor in the predictions has no scores ("-"): macro F1 leaves it out, as
    /// scikit-learn's does, and a line under the table says so.
    public static func render(_ metrics: ClassificationMetrics) -> String {
        let names = displayNames(metrics.labels)
        let nameWidth = max(5, names.map(TerminalColumns.of).max() ?? 0)
        let averaged = Set(metrics.averagedLabelIDs)
        var out = "examples \(metrics.exampleCount)   accuracy \(fixed(metrics.accuracy))   macro F1 \(fixed(metrics.macroF1))\n\n"
        out += pad("label", nameWidth) + "  " + ["precision", "recall", "f1", "support"].map { leftPad($0, 9) }.joined(separator: " ") + "\n"
        for (id, (name, s)) in zip(names, metrics.perLabel).enumerated() {
            let scores = averaged.contains(id) ? [s.precision, s.recall, s.f1].map(fixed) : ["-", "-", "-"]
            out += pad(name, nameWidth) + "  " + (scores + [String(s.support)]).map { leftPad($0, 9) }.joined(separator: " ") + "\n"
        }
        if averaged.count < names.count {
            out += "(-: neither in the data nor predicted; macro F1 averages the other \(averaged.count) labels)\n"
        }
        out += "\nconfusion matrix (rows: gold label, columns: predicted label)\n"
        let cellWidth = max(names.map(TerminalColumns.of).max() ?? 1,
                            metrics.confusion.flatMap { $0 }.map { String($0).count }.max() ?? 1)
        out += pad("", nameWidth) + "  " + names.map { leftPad($0, cellWidth) }.joined(separator: " ") + "\n"
        for (name, row) in zip(names, metrics.confusion) {
            out += pad(name, nameWidth) + "  " + row.map { leftPad(String($0), cellWidth) }.joined(separator: " ") + "\n"
        }
        return out
    }

    /// The labels as the table names them: shortened, unless two would then look the same (then all whole).
    static func displayNames(_ labels: [String]) -> [String] {
        let short = labels.map(shorten)
        return Set(short).count == labels.count ? short : labels
    }

    /// A name wider than `maxNameWidth` columns keeps its start and its end around a "…" (labels that share a
    /// long start often differ only at the end: "...-number-1", "...-number-2").
    static func shorten(_ name: String) -> String {
        guard TerminalColumns.of(name) > maxNameWidth else { return name }
        let tail = (maxNameWidth - 1) / 2, head = maxNameWidth - 1 - tail
        return TerminalColumns.prefix(name, fitting: head) + "…" + TerminalColumns.suffix(name, fitting: tail)
    }

    /// Four decimals, rounded half away from zero (no Foundation formatting needed); from 1e12 on (a diverged
    /// model's perplexity, which overflowed the Int64 below and trapped), three significant digits.
    static func fixed(_ x: Double) -> String {
        guard x.isFinite else { return String(x) }
        if abs(x) >= 1e12 { return String(format: "%.3g", x) }
        let scaled = Int64((abs(x) * 10_000).rounded())
        let fraction = String(scaled % 10_000)
        return (x < 0 && scaled != 0 ? "-" : "") + "\(scaled / 10_000)." + String(repeating: "0", count: 4 - fraction.count) + fraction
    }

    /// `s` and spaces up to `width` terminal columns (`TerminalColumns`: CJK labels take two a character).
    static func pad(_ s: String, _ width: Int) -> String {
        s + String(repeating: " ", count: max(0, width - TerminalColumns.of(s)))
    }

    static func leftPad(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - TerminalColumns.of(s))) + s
    }
}
