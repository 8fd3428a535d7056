/// One malformed row: where it is and what is wrong. Rendered `FILE:LINE: what is wrong`.
/// A row is reported at its first physical line (a CSV row with quoted line breaks spans several).
public struct RowProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}

/// Errors of the labelled-data readers, split and writer. Each renders as one line naming the file
/// (and the line, for a row) and what is wrong.
public enum LabelledDataError: Error, Equatable, Sendable, CustomStringConvertible {
    case fileNotFound(file: String)
    case isDirectory(file: String)
    case unreadable(file: String, reason: String)
    case emptyFile(file: String)
    /// A CSV/TSV header with no row after it.
    case headerOnly(file: String)
    case unknownFormat(file: String)
    /// A problem with the header row: fatal even with skipBadRows, since no row can be read without it.
    case badHeader(file: String, line: Int, message: String)
    /// The first malformed row (without skipBadRows).
    case badRow(RowProblem)
    /// Every row was malformed and skipped.
    case noUsableRows(file: String, skipped: Int, first: RowProblem?)
    /// An empty set of training examples.
    case noExamples(file: String)
    /// A training set whose rows all carry the same label: there is nothing to learn.
    case singleLabel(file: String, label: String)
    case invalidValidationFraction(Double)
    /// The split left the validation set (or the training set) empty.
    /// `largestLabel`: a stratified split's largest label's example count (it rounds each label's share).
    case emptySplit(examples: Int, valFraction: Double, which: String, largestLabel: Int? = nil)
    /// An existing output file, and no explicit overwrite.
    case outputExists(file: String)
    /// An existing output that is not a regular file (a FIFO, a device): a finished file cannot replace it.
    case outputNotRegularFile(file: String, kind: String)
    /// An output that is the input file itself (or a link to it): writing it would destroy what is read.
    case outputIsInput(file: String, input: String)
    case writeFailed(file: String, reason: String)
    /// A predictions file named as a CSV or TSV file: the writer writes JSON Lines only.
    case predictionsNotJSONLines(file: String)

    public var description: String {
        switch self {
        case .fileNotFound(let file): return "\(file): no such file"
        case .isDirectory(let file): return "\(file): is a directory, expected a data file"
        case .unreadable(let file, let reason): return "\(file): cannot be read: \(reason)"
        case .emptyFile(let file): return "\(file): the file is empty"
        case .headerOnly(let file): return "\(file): the file has a header row but no data rows"
        case .unknownFormat(let file):
            return "\(file): cannot tell the format from the file name; data files must end in \(LabelledDataFormat.extensionList)"
        case .badHeader(let file, let line, let message): return "\(file):\(line): \(message)"
        case .badRow(let problem): return problem.description
        case .noUsableRows(let file, let skipped, let first):
            let example = first.map { " (the first, on line \($0.line): \($0.message))" } ?? ""
            return "\(file): no usable rows: all \(skipped) rows are malformed\(example)"
        case .noExamples(let file): return "\(file): no training examples"
        case .singleLabel(let file, let label):
            return "\(file): every training example has the label '\(label)'; a classifier needs at least two labels"
        case .invalidValidationFraction(let fraction):
            return "validation fraction \(fraction) is out of range; it must be greater than 0 and less than 1"
        case .emptySplit(let examples, let fraction, let which, let largestLabel):
            // A split by label rounds each label's share: many small labels can give no validation example at all.
            let byLabel = largestLabel.map { " (the split is by label, and no label has more than \($0) example\($0 == 1 ? "" : "s"))" } ?? ""
            return "a validation fraction of \(fraction) over \(examples) example\(examples == 1 ? "" : "s") leaves the \(which) set empty\(byLabel); change the fraction or give a validation file"
        case .outputExists(let file):
            return "\(file): the output file already exists; choose another path or pass --overwrite to replace it"
        case .outputNotRegularFile(let file, let kind):
            return "\(file): is \(kind), not a regular file; the output is written to a new file that then "
                + "replaces the old one: choose a file path"
        case .outputIsInput(let file, let input):
            return "\(file): is the input file \(input); writing the output there would destroy the rows being "
                + "read: choose another output path"
        case .writeFailed(let file, let reason): return "\(file): cannot write: \(reason)"
        case .predictionsNotJSONLines(let file):
            return "\(file): predictions are written as JSON Lines, not as CSV or TSV; give --out a .jsonl, .json or .ndjson name"
        }
    }
}
