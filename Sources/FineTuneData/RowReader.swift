import JSON
/// One row of a data file as named fields in file order, or the problem that makes it unreadable.
struct RawRow {
    let line: Int
    let fields: Result<[JSONField], RowProblem>
}

/// The rows of a data file in any format, plus the column names when the format has a header.
struct RowSource {
    let file: String
    /// CSV/TSV header names (nil for JSONL, whose rows name their own fields).
    let columns: [String]?
    /// Line of the header row (CSV/TSV).
    let headerLine: Int
    let rows: [RawRow]
}

enum RowReader {
    /// The file is read first, so a missing or unreadable one is reported as such before its extension is judged.
    static func read(path: String, format explicit: LabelledDataFormat?) throws -> RowSource {
        let file = try SourceFile.load(path: path)
        switch try LabelledDataFormat.resolve(path: path, explicit: explicit) {
        case .jsonl: return jsonlRows(file)
        case .csv: return try withHeader(file, DelimitedParser.csvRecords(file))
        case .tsv: return try withHeader(file, DelimitedParser.tsvRecords(file))
        }
    }

    /// Each non-blank line must hold one JSON object.
    static func jsonlRows(_ file: SourceFile) -> RowSource {
        var rows: [RawRow] = []
        for number in stride(from: 1, through: file.lines.count, by: 1) {
            if file.isBlank(line: number) { continue }
            guard file.isValidUTF8(line: number) else {
                rows.append(RawRow(line: number, fields: .failure(DelimitedParser.invalidUTF8(file, number, number))))
                continue
            }
            let result: Result<[JSONField], RowProblem>
            do {
                switch try JSONLineParser.parse(file.line(number)) {
                case .object(let fields): result = .success(fields)
                case let other:
                    result = .failure(RowProblem(file: file.path, line: number,
                        message: "expected a JSON object, found \(other.kindDescription)"))
                }
            } catch {
                // A pretty-printed JSON document (an array of objects, or one object over several lines)
                // fails on its first line; say what the format expects.
                let opening = Array(file.line(number).filter { $0 != 0x20 && $0 != 0x09 }.prefix(2))
                let looksLikeDocument = rows.isEmpty && (opening == [0x5B] || opening == [0x7B] || opening == [0x5B, 0x7B])
                let hint = looksLikeDocument ? " (expected JSON Lines: one complete JSON object per line)" : ""
                result = .failure(RowProblem(file: file.path, line: number, message: error.message + hint))
            }
            rows.append(RawRow(line: number, fields: result))
        }
        return RowSource(file: file.path, columns: nil, headerLine: 0, rows: rows)
    }

    /// The first record names the columns (names trimmed of surrounding spaces; a blank one, as a trailing
    /// delimiter makes, is named by its position: `column_3` for the third, with `_` added while another column
    /// has that name); every later record must have as many fields.
    static func withHeader(_ file: SourceFile, _ records: [DelimitedRecord]) throws -> RowSource {
        guard let header = records.first else { throw LabelledDataError.emptyFile(file: file.path) }
        var columns: [String]
        switch header.fields {
        case .failure(let problem):
            throw LabelledDataError.badHeader(file: file.path, line: header.line, message: "header row: \(problem.message)")
        case .success(let names):
            columns = names.map { $0.trimmingSpaces }
        }
        var seen = Set<String>()
        for name in columns where !name.isEmpty {
            guard seen.insert(name).inserted else {
                throw LabelledDataError.badHeader(file: file.path, line: header.line,
                                                  message: "the header names the column '\(name)' twice")
            }
        }
        // Blank names get their own, so that no two fields of a row (nor of `predict`'s output lines) share one.
        for i in columns.indices where columns[i].isEmpty {
            var name = "column_\(i + 1)"
            while seen.contains(name) { name += "_" }
            seen.insert(name)
            columns[i] = name
        }
        guard records.count > 1 else { throw LabelledDataError.headerOnly(file: file.path) }
        let rows = records.dropFirst().map { record -> RawRow in
            switch record.fields {
            case .failure(let problem): return RawRow(line: record.line, fields: .failure(problem))
            case .success(let values):
                guard values.count == columns.count else {
                    return RawRow(line: record.line, fields: .failure(RowProblem(file: file.path, line: record.line,
                        message: "expected \(columns.count) fields (as in the header), found \(values.count)")))
                }
                return RawRow(line: record.line, fields: .success(zip(columns, values).map {
                    JSONField(key: $0, value: .string($1))
                }))
            }
        }
        return RowSource(file: file.path, columns: columns, headerLine: header.line, rows: rows)
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    /// True when the string holds nothing but white space.
    var isBlankText: Bool { unicodeScalars.allSatisfy { $0.properties.isWhitespace } }
}
