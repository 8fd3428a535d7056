/// Splits a CSV or TSV file into records of fields. A record is either its fields or the problem that
/// makes it unreadable; each is reported at its first physical line.
struct DelimitedRecord {
    let line: Int
    let fields: Result<[String], RowProblem>
}

enum DelimitedParser {
    /// Records of a CSV file per RFC 4180: fields separated by commas; a field in double quotes may hold
    /// commas, line breaks (read as "\n", whatever the file used) and doubled quotes ("" is one quote).
    /// A quote inside an unquoted field is kept as a character (lenient, as most readers are).
    /// Empty lines between records are skipped (a line of spaces is a record).
    static func csvRecords(_ file: SourceFile) -> [DelimitedRecord] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        var records: [DelimitedRecord] = []
        var lineNumber = 1
        let lineCount = file.lines.count
        nextRecord: while lineNumber <= lineCount {
            let first = lineNumber
            if file.line(first).isEmpty { lineNumber += 1; continue }
            var fields: [String] = []
            var field: [UInt8] = []
            var invalidLine: Int? = nil
            // Field states: at its start, inside an unquoted field, inside quotes, just after a closing quote.
            enum State { case start, unquoted, quoted, afterQuote }
            var state = State.start
            while true {
                if invalidLine == nil, !file.isValidUTF8(line: lineNumber) { invalidLine = lineNumber }
                let bytes = file.line(lineNumber)
                var i = bytes.startIndex
                while i < bytes.endIndex {
                    let byte = bytes[i]
                    switch state {
                    case .start:
                        if byte == quote { state = .quoted }
                        else if byte == comma { fields.append(decode(field)); field.removeAll() }
                        else { field.append(byte); state = .unquoted }
                    case .unquoted:
                        if byte == comma { fields.append(decode(field)); field.removeAll(); state = .start }
                        else { field.append(byte) }
                    case .quoted:
                        if byte == quote { state = .afterQuote } else { field.append(byte) }
                    case .afterQuote:
                        if byte == quote { field.append(quote); state = .quoted }
                        else if byte == comma { fields.append(decode(field)); field.removeAll(); state = .start }
                        else {
                            let problem = RowProblem(file: file.path, line: first,
                                message: "unexpected character after the closing quote of field \(fields.count + 1)")
                            records.append(DelimitedRecord(line: first, fields: .failure(problem)))
                            lineNumber += 1
                            continue nextRecord
                        }
                    }
                    i += 1
                }
                if state == .quoted {
                    // The line break belongs to the quoted field; the record continues on the next line.
                    guard lineNumber < lineCount else {
                        let problem = RowProblem(file: file.path, line: first,
                            message: "unterminated quoted field: the quote opened on line \(first) never closes")
                        records.append(DelimitedRecord(line: first, fields: .failure(problem)))
                        return records
                    }
                    field.append(0x0A)
                    lineNumber += 1
                    continue
                }
                fields.append(decode(field))
                break
            }
            lineNumber += 1
            if let invalidLine {
                records.append(DelimitedRecord(line: first, fields: .failure(invalidUTF8(file, first, invalidLine))))
            } else {
                records.append(DelimitedRecord(line: first, fields: .success(fields)))
            }
        }
        return records
    }

    /// Records of a TSV file: one line per record, fields separated by tabs, no quoting; the escapes
    /// `\t`, `\n`, `\r` and `\\` are decoded and any other backslash is kept. Empty lines are skipped (a line
    /// of spaces is a record).
    static func tsvRecords(_ file: SourceFile) -> [DelimitedRecord] {
        var records: [DelimitedRecord] = []
        for number in stride(from: 1, through: file.lines.count, by: 1) {
            let bytes = file.line(number)
            if bytes.isEmpty { continue }
            guard file.isValidUTF8(line: number) else {
                records.append(DelimitedRecord(line: number, fields: .failure(invalidUTF8(file, number, number))))
                continue
            }
            let fields = bytes.split(separator: 0x09, omittingEmptySubsequences: false).map(unescapeTSV)
            records.append(DelimitedRecord(line: number, fields: .success(fields)))
        }
        return records
    }

    static func unescapeTSV(_ bytes: ArraySlice<UInt8>) -> String {
        guard bytes.contains(UInt8(ascii: "\\")) else { return decode(bytes) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\\"), i + 1 < bytes.endIndex {
                switch bytes[i + 1] {
                case UInt8(ascii: "t"): out.append(0x09); i += 2; continue
                case UInt8(ascii: "n"): out.append(0x0A); i += 2; continue
                case UInt8(ascii: "r"): out.append(0x0D); i += 2; continue
                case UInt8(ascii: "\\"): out.append(0x5C); i += 2; continue
                default: break
                }
            }
            out.append(byte)
            i += 1
        }
        return decode(out[...])
    }

    private static func decode(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
    private static func decode(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    static func invalidUTF8(_ file: SourceFile, _ first: Int, _ bad: Int) -> RowProblem {
        let at = bad == first ? "" : " (on line \(bad), inside this row)"
        return RowProblem(file: file.path, line: first, message: "the row is not valid UTF-8 text\(at)")
    }
}
