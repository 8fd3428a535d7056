/// The file formats the labelled-data readers understand. Every format has named fields:
/// JSONL rows are JSON objects; CSV and TSV files start with a header row that names the columns.
public enum LabelledDataFormat: String, CaseIterable, Sendable {
    /// One JSON object per line (`.jsonl`, `.ndjson`, or `.json` holding JSON lines).
    case jsonl
    /// Comma-separated values per RFC 4180 (quoted fields, doubled quotes, line breaks inside quotes, CRLF).
    case csv
    /// Tab-separated values: no quoting; the escapes `\t`, `\n`, `\r` and `\\` stand for a tab, a line feed,
    /// a carriage return and a backslash (the "linear TSV" convention); any other backslash is kept as is.
    case tsv

    /// The format a file name implies by its extension (case-insensitive), or nil when it implies none.
    public init?(fileExtensionOf path: String) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: ".") else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "jsonl", "ndjson", "json": self = .jsonl
        case "csv": self = .csv
        case "tsv", "tab": self = .tsv
        default: return nil
        }
    }

    /// The explicit format if given, else the one the extension implies; a clear error otherwise.
    public static func resolve(path: String, explicit: LabelledDataFormat?) throws -> LabelledDataFormat {
        if let explicit { return explicit }
        guard let format = LabelledDataFormat(fileExtensionOf: path) else {
            throw LabelledDataError.unknownFormat(file: path)
        }
        return format
    }
}
