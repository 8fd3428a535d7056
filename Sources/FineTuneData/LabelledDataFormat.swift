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

    /// The file extensions (lower case, without the dot) that imply a format.
    public static let extensions: KeyValuePairs<String, LabelledDataFormat> = [
        "jsonl": .jsonl, "ndjson": .jsonl, "json": .jsonl, "csv": .csv, "tsv": .tsv, "tab": .tsv,
    ]

    /// The extensions for a message: ".jsonl, .ndjson, .json, .csv, .tsv or .tab".
    public static var extensionList: String {
        let names = extensions.map { "." + $0.key }
        return names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
    }

    /// The format a file name implies by its extension (case-insensitive), or nil when it implies none.
    public init?(fileExtensionOf path: String) {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: ".") else { return nil }
        let suffix = name[name.index(after: dot)...].lowercased()
        guard let format = Self.extensions.first(where: { $0.key == suffix })?.value else { return nil }
        self = format
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
