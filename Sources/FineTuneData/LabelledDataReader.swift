import JSON
/// Reads labelled examples from JSONL, CSV or TSV files, with the field names the caller chooses.
///
/// Field values: strings are taken as they are; a JSON number is accepted and kept as its literal text
/// (so numeric labels such as `3` become the label "3"); booleans, null, arrays and objects are malformed.
/// A text, label or completion that is empty or only white space is malformed; a prompt may be empty
/// (an unconditional completion). Empty lines are skipped and never counted as rows, and in JSONL so are
/// lines of only white space; in CSV and TSV a line of spaces is a record (one field: a header of more
/// columns makes it a malformed row, "expected N fields (as in the header), found 1").
///
/// Without `skipBadRows` the first malformed row stops reading with `LabelledDataError.badRow`
/// (`FILE:LINE: what is wrong`). With it, malformed rows are skipped and counted. Problems with the file
/// itself (missing, a directory, empty, a bad CSV/TSV header, a missing column) always stop reading.
///
/// A missing column, or a field missing from a JSONL file's rows before any row was read, is most likely a
/// file whose fields have other names: the message names `finetune`'s option that picks another
/// (`--text-field`, `--label-field`, `--prompt-field`, `--completion-field`).
public struct LabelledDataReader: Sendable {
    public var format: LabelledDataFormat?
    public var skipBadRows: Bool
    /// Where a field's name came from when no option gave it, keyed by the option that names another (for
    /// `evaluate` and `predict`, "--text-field": "the field CHECKPOINT was trained with"): the message that names
    /// the option says it, since the user never typed that name.
    public var fieldOrigins: [String: String] = [:]
    public static let maxReportedProblems = 5

    /// `format` nil: take it from the file's extension.
    public init(format: LabelledDataFormat? = nil, skipBadRows: Bool = false) {
        self.format = format
        self.skipBadRows = skipBadRows
    }

    public func readClassification(path: String, textField: String = "text",
                                   labelField: String = "label") throws -> LabelledData<ClassificationExample> {
        try read(path: path, required: [(textField, "--text-field"), (labelField, "--label-field")]) { row, value in
            let text = try value(textField, false)
            let label = try value(labelField, false)
            return ClassificationExample(text: text, label: label, line: row.line, fields: row.fields)
        }
    }

    public func readCompletion(path: String, promptField: String = "prompt",
                               completionField: String = "completion") throws -> LabelledData<CompletionExample> {
        try read(path: path, required: [(promptField, "--prompt-field"), (completionField, "--completion-field")]) { row, value in
            let prompt = try value(promptField, true)
            let completion = try value(completionField, false)
            return CompletionExample(prompt: prompt, completion: completion, line: row.line)
        }
    }

    /// Texts to classify; any other fields (a label too, if present) are only carried along.
    public func readUnlabelled(path: String, textField: String = "text") throws -> LabelledData<UnlabelledExample> {
        try read(path: path, required: [(textField, "--text-field")]) { row, value in
            UnlabelledExample(text: try value(textField, false), line: row.line, fields: row.fields)
        }
    }

    struct Row {
        let line: Int
        let fields: [JSONField]
    }

    /// Reads the rows, checks that a CSV/TSV header has every required column, and builds one example per
    /// row with `make`, which asks for a field's string value (and whether it may be empty). `required` pairs
    /// each field with the option that names another.
    private func read<Example>(path: String, required given: [(name: String, option: String)],
                               make: (Row, (String, Bool) throws -> String) throws -> Example)
        throws -> LabelledData<Example> {
        let required = given.map { field in
            (name: field.name, option: fieldOrigins[field.option].map { "\(field.option) ('\(field.name)' is \($0))" } ?? field.option)
        }
        let source = try RowReader.read(path: path, format: format)
        if let columns = source.columns {
            for (name, option) in required where !columns.contains(name) {
                let list = columns.map { "'\($0)'" }.joined(separator: ", ")
                throw LabelledDataError.badHeader(file: path, line: source.headerLine,
                                                  message: "no column named '\(name)' (the header has \(list)); pick one with \(option)")
            }
        }
        var examples: [Example] = []
        var skipped = 0
        var problems: [RowProblem] = []
        for raw in source.rows {
            do {
                let fields = try raw.fields.get()
                let row = Row(line: raw.line, fields: fields)
                // Until a row has been read, a missing field more likely has another name than a row lacks it.
                let naming = examples.isEmpty
                examples.append(try make(row) { name, mayBeEmpty in
                    try Self.stringValue(of: name, in: row, file: path, mayBeEmpty: mayBeEmpty,
                                         option: naming ? required.first { $0.name == name }?.option : nil)
                })
            } catch let problem as RowProblem {
                guard skipBadRows else { throw LabelledDataError.badRow(problem) }
                skipped += 1
                if problems.count < Self.maxReportedProblems { problems.append(problem) }
            }
        }
        if examples.isEmpty {
            if skipped > 0 { throw LabelledDataError.noUsableRows(file: path, skipped: skipped, first: problems.first) }
            throw source.columns == nil ? LabelledDataError.emptyFile(file: path) : LabelledDataError.headerOnly(file: path)
        }
        return LabelledData(file: path, examples: examples, skippedRows: skipped, problems: problems)
    }

    /// `option`: the option that names another field, for the message when the row has none of this name.
    static func stringValue(of name: String, in row: Row, file: String, mayBeEmpty: Bool,
                            option: String? = nil) throws(RowProblem) -> String {
        guard let field = row.fields.first(where: { $0.key == name }) else {
            let present = row.fields.map { "'\($0.key)'" }.joined(separator: ", ")
            let pick = option.map { "; pick one with \($0)" } ?? ""
            throw RowProblem(file: file, line: row.line,
                             message: "missing field '\(name)' (the row has \(present.isEmpty ? "no fields" : present))\(pick)")
        }
        let text: String
        switch field.value {
        case .string(let s): text = s
        case .number(let literal): text = literal
        case let other:
            throw RowProblem(file: file, line: row.line,
                             message: "field '\(name)' is \(other.kindDescription), expected a string")
        }
        if !mayBeEmpty, text.isBlankText {
            throw RowProblem(file: file, line: row.line, message: "field '\(name)' is empty")
        }
        return text
    }
}
