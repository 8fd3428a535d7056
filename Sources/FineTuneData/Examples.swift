import JSON
/// A text with its label, from one row of a data file.
public struct ClassificationExample: Equatable, Sendable {
    public var text: String
    public var label: String
    /// The row's first physical line in its file.
    public var line: Int
    /// Every field of the row in file order (for `predict`, which carries them into its output).
    public var fields: [JSONField]

    public init(text: String, label: String, line: Int, fields: [JSONField] = []) {
        self.text = text
        self.label = label
        self.line = line
        self.fields = fields
    }
}

/// A prompt and the completion to learn for it, from one row of a data file.
public struct CompletionExample: Equatable, Sendable {
    public var prompt: String
    public var completion: String
    public var line: Int

    public init(prompt: String, completion: String, line: Int) {
        self.prompt = prompt
        self.completion = completion
        self.line = line
    }
}

/// A text to classify without a label (the input of `predict`), with the row's fields.
public struct UnlabelledExample: Equatable, Sendable {
    public var text: String
    public var line: Int
    public var fields: [JSONField]

    public init(text: String, line: Int, fields: [JSONField] = []) {
        self.text = text
        self.line = line
        self.fields = fields
    }
}

/// What a reader returns: the good examples in file order, and (with skipBadRows) how many rows were
/// skipped with the first few reasons, for a summary line.
public struct LabelledData<Example: Sendable>: Sendable {
    public var file: String
    public var examples: [Example]
    public var skippedRows: Int
    /// The first problems met (at most `LabelledDataReader.maxReportedProblems`), in file order.
    public var problems: [RowProblem]

    /// What the command line prints after a read with skipped rows (nil when none were skipped):
    /// a count, then the first reasons, one per line.
    public var skipSummary: String? {
        guard skippedRows > 0 else { return nil }
        var lines = ["\(file): skipped \(skippedRows) malformed row\(skippedRows == 1 ? "" : "s"), kept \(examples.count)"]
        lines += problems.map { "  \($0)" }
        if skippedRows > problems.count { lines.append("  ... and \(skippedRows - problems.count) more") }
        return lines.joined(separator: "\n")
    }
}
