import ArgumentParser
import FineTuneData

/// Which columns of a data file hold what, and what to do with malformed rows.
struct FieldOptions: ParsableArguments {
    @Option(help: "Field (JSONL key or CSV/TSV column) holding the text to classify.") var textField: String?
    @Option(help: "Field holding the label.") var labelField: String?
    @Option(help: "Field holding the prompt.") var promptField: String?
    @Option(help: "Field holding the completion.") var completionField: String?
    @Flag(help: "Skip malformed rows (counted and reported) instead of stopping at the first one.")
    var skipBadRows = false

    /// The format comes from the file's extension (.jsonl, .csv, .tsv).
    var reader: LabelledDataReader { LabelledDataReader(skipBadRows: skipBadRows) }
}
