import Foundation
import Testing
import JSON
@testable import FineTuneData

@Suite struct CSVReaderTests {
    /// Quoted commas, doubled quotes, a quoted CRLF line break, CRLF line ends and a byte order mark.
    /// A row that spans lines is reported at its first line, and later rows keep their physical line numbers.
    @Test func rfc4180RowsWithPhysicalLineNumbers() throws {
        let dir = TemporaryDirectory()
        let csv = "\u{FEFF}id, text ,label\r\n"              // line 1 (header names are trimmed)
            + "1,plain text,pos\r\n"                         // line 2
            + "2,\"multi\r\nline, with comma\",neg\r\n"       // lines 3-4
            + "\r\n"                                          // line 5: empty, skipped
            + "3,\"say \"\"hi\"\"\",pos\r\n"                  // line 6
            + "4,\"\",pos\r\n"                                // line 7: empty text
            + "5,\"a\n\nb\",7"                                // lines 8-10, no final line break
        let path = dir.write("train.csv", csv)
        let data = try LabelledDataReader(skipBadRows: true).readClassification(path: path)
        #expect(data.examples.map(\.line) == [2, 3, 6, 8])
        #expect(data.examples.map(\.text) == ["plain text", "multi\nline, with comma", "say \"hi\"", "a\n\nb"])
        #expect(data.examples.map(\.label) == ["pos", "neg", "pos", "7"])
        #expect(data.examples[0].fields == [JSONField(key: "id", value: .string("1")),
                                            JSONField(key: "text", value: .string("plain text")),
                                            JSONField(key: "label", value: .string("pos"))])
        #expect(data.skippedRows == 1)
        #expect(data.problems == [RowProblem(file: path, line: 7, message: "field 'text' is empty")])
    }

    @Test(arguments: [
        // (rows after the header, the line reported, the message)
        ("a,b\n\"x\ny\",b,extra\n", 3, "expected 2 fields (as in the header), found 3"),
        ("a,b\n\"x\ny\",b\nonly-one\n", 5, "expected 2 fields (as in the header), found 1"),
        ("a,b\n\"x\"y,b\n", 3, "unexpected character after the closing quote of field 1"),
        ("a,b\nc,\"never\nclosed\n", 3, "unterminated quoted field: the quote opened on line 3 never closes"),
        ("a,b\nc,\n", 3, "field 'label' is empty"),
    ])
    func malformedRows(rows: String, line: Int, message: String) throws {
        let dir = TemporaryDirectory()
        let path = dir.write("bad.csv", "text,label\n" + rows)
        #expect(errorMessage { _ = try LabelledDataReader().readClassification(path: path) } == "\(path):\(line): \(message)")
    }

    @Test func skippingABadRowResumesAtTheNextRecord() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("skip.csv", "text,label\n\"x\"y,a\nok,b\n\"tail\nnever closed,c\n")
        let data = try LabelledDataReader(skipBadRows: true).readClassification(path: path)
        #expect(data.examples.map(\.line) == [3])
        #expect(data.skippedRows == 2)
        #expect(data.problems.map(\.line) == [2, 4])
    }

    @Test func invalidUTF8InsideAMultiLineRowIsReportedAtItsFirstLine() throws {
        let dir = TemporaryDirectory()
        var bytes = Array("text,label\n\"first line\nsecond ".utf8)
        bytes += [0xFF]
        bytes += Array(" line\",a\nfine,b\n".utf8)
        let path = dir.write("binary.csv", bytes: bytes)
        #expect(errorMessage { _ = try LabelledDataReader().readClassification(path: path) }
                == "\(path):2: the row is not valid UTF-8 text (on line 3, inside this row)")
    }

    @Test func headerProblems() throws {
        let dir = TemporaryDirectory()
        let reader = LabelledDataReader()
        let headerOnly = dir.write("header.csv", "text,label\r\n")
        #expect(errorMessage { _ = try reader.readClassification(path: headerOnly) }
                == "\(headerOnly): the file has a header row but no data rows")
        let noColumn = dir.write("nocol.csv", "sentence,label\nhi,a\n")
        #expect(errorMessage { _ = try reader.readClassification(path: noColumn) }
                == "\(noColumn):1: no column named 'text' (the header has 'sentence', 'label'); pick one with --text-field")
        // With the right field name the same file reads.
        #expect(try reader.readClassification(path: noColumn, textField: "sentence").examples.count == 1)
        let duplicate = dir.write("dup.csv", "text,label,text\nhi,a,b\n")
        #expect(errorMessage { _ = try reader.readClassification(path: duplicate) }
                == "\(duplicate):1: the header names the column 'text' twice")
        // Blank column names (trailing commas) are named by position, so a row's fields (and predict's output
        // keys) stay distinct; they were all '', written twice in one JSON object.
        let blanks = dir.write("blanks.csv", "text,,label,column_2,\nhi,a,b,c,d\n")
        let row = try #require(try reader.readUnlabelled(path: blanks).examples.first)
        #expect(row.fields.map(\.key) == ["text", "column_2_", "label", "column_2", "column_5"])
        #expect(row.fields.map(\.value) == ["hi", "a", "b", "c", "d"].map { .string($0) })
        let unterminatedHeader = dir.write("quote.csv", "\"text,label\nhi,a\n")
        #expect(errorMessage { _ = try LabelledDataReader(skipBadRows: true).readClassification(path: unterminatedHeader) }
                == "\(unterminatedHeader):1: header row: unterminated quoted field: the quote opened on line 1 never closes")
        // Blank lines before the header: the header's line is the physical one.
        let late = dir.write("late.csv", "\n\ntext\nhi\n")
        #expect(errorMessage { _ = try reader.readClassification(path: late) }
                == "\(late):3: no column named 'label' (the header has 'text'); pick one with --label-field")
    }
}

@Suite struct TSVReaderTests {
    @Test func tabsEscapesAndLiteralQuotes() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("train.tsv", "text\tlabel\r\n"
            + "a \"quoted\" word\tpos\r\n"           // line 2: quotes are ordinary characters
            + "two\\nlines\\tand tab\tneg\n"          // line 3: \n and \t escapes
            + "\n"                                   // line 4: skipped
            + "C:\\\\dir\\x\tpos\n")                 // line 5: \\ is one backslash, \x stays as is
        let data = try LabelledDataReader().readClassification(path: path)
        #expect(data.examples.map(\.line) == [2, 3, 5])
        #expect(data.examples.map(\.text) == ["a \"quoted\" word", "two\nlines\tand tab", "C:\\dir\\x"])
        #expect(data.examples.map(\.label) == ["pos", "neg", "pos"])
    }

    @Test func wrongColumnCountAndEmptyLabel() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("bad.tsv", "text\tlabel\nok\tpos\nno tab here\nx\t\n")
        #expect(errorMessage { _ = try LabelledDataReader().readClassification(path: path) }
                == "\(path):3: expected 2 fields (as in the header), found 1")
        let data = try LabelledDataReader(skipBadRows: true).readClassification(path: path)
        #expect(data.examples.map(\.line) == [2])
        #expect(data.problems.map(\.description) == ["\(path):3: expected 2 fields (as in the header), found 1",
                                                     "\(path):4: field 'label' is empty"])
    }

    /// As LabelledDataReader documents: CSV and TSV skip empty lines only (a line of spaces is a record of one
    /// field), while JSONL skips lines of only white space too.
    @Test func onlyEmptyLinesAreSkippedInCSVAndTSV() throws {
        let dir = TemporaryDirectory()
        for (name, header, row) in [("spaces.csv", "text,label", "ok,pos"), ("spaces.tsv", "text\tlabel", "ok\tpos")] {
            let path = dir.write(name, header + "\n" + row + "\n\n   \n" + row + "\n")
            #expect(errorMessage { _ = try LabelledDataReader().readClassification(path: path) }
                    == "\(path):4: expected 2 fields (as in the header), found 1")
            let skipped = try LabelledDataReader(skipBadRows: true).readClassification(path: path)
            #expect(skipped.examples.map(\.line) == [2, 5] && skipped.skippedRows == 1)
        }
        let jsonl = dir.write("spaces.jsonl", #"{"text": "ok", "label": "pos"}"# + "\n\n   \n\t\n"
                              + #"{"text": "ok", "label": "neg"}"# + "\n")
        let data = try LabelledDataReader().readClassification(path: jsonl)
        #expect(data.examples.map(\.line) == [1, 5] && data.skippedRows == 0)
    }

    @Test func completionsFromTSV() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("pairs.tsv", "prompt\tcompletion\nQ: hi\\n\tA: hello\n")
        let data = try LabelledDataReader().readCompletion(path: path)
        #expect(data.examples == [CompletionExample(prompt: "Q: hi\n", completion: "A: hello", line: 2)])
    }
}
