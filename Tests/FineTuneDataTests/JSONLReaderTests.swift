import Foundation
import Testing
import JSON
@testable import FineTuneData

@Suite struct JSONLReaderTests {
    @Test func readsRowsWithLineNumbersAndKeepsFields() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("train.jsonl", """
            {"id": 1, "text": "good film", "label": "pos"}

            {"text": "bad \\"film\\"\\n", "label": "neg", "extra": [1, {"a": null}]}
            {"label": 3, "text": "numeric label"}
            """)
        let data = try LabelledDataReader().readClassification(path: path)
        #expect(data.examples.map(\.line) == [1, 3, 4])  // the blank line 2 is skipped, not counted
        #expect(data.examples.map(\.text) == ["good film", "bad \"film\"\n", "numeric label"])
        #expect(data.examples.map(\.label) == ["pos", "neg", "3"])  // a JSON number becomes its literal text
        #expect(data.examples[0].fields.map(\.key) == ["id", "text", "label"])
        #expect(data.examples[0].fields[0].value == .number("1"))
        #expect(data.examples[1].fields[2].value == .array([.number("1"), .object([JSONField(key: "a", value: .null)])]))
        #expect(data.skippedRows == 0)
    }

    @Test func customFieldNamesAndCompletions() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("qa.jsonl", """
            {"question": "2+2?", "answer": "4"}
            {"question": "", "answer": "an unconditional sample"}
            """)
        let data = try LabelledDataReader().readCompletion(path: path, promptField: "question", completionField: "answer")
        #expect(data.examples == [CompletionExample(prompt: "2+2?", completion: "4", line: 1),
                                  CompletionExample(prompt: "", completion: "an unconditional sample", line: 2)])
        let empty = dir.write("empty-completion.jsonl", "{\"prompt\": \"p\", \"completion\": \"  \"}\n")
        #expect(errorMessage { _ = try LabelledDataReader().readCompletion(path: empty) }
                == "\(empty):1: field 'completion' is empty")
    }

    /// Each malformed case stops reading at its own line with `FILE:LINE: what is wrong`.
    @Test(arguments: [
        ("{\"text\": \"x\", \"label\": \"a\",}", "invalid JSON at column 28: expected a quoted member name"),
        ("{\"text\": \"x\"}", "missing field 'label' (the row has 'text')"),
        ("{\"text\": \"x\", \"label\": true}", "field 'label' is a boolean, expected a string"),
        ("{\"text\": null, \"label\": \"a\"}", "field 'text' is null, expected a string"),
        ("{\"text\": [\"x\"], \"label\": \"a\"}", "field 'text' is an array, expected a string"),
        ("{\"text\": \"  \", \"label\": \"a\"}", "field 'text' is empty"),
        ("[\"x\", \"a\"]", "expected a JSON object, found an array"),
        ("{\"text\": \"x\", \"label\": \"a\"} trailing", "invalid JSON at column 29: unexpected text after the JSON value"),
        ("{\"text\": \"x", "invalid JSON at column 12: unterminated string"),
        ("{\"text\": 01, \"label\": \"a\"}", "invalid JSON at column 11: expected ',' or '}' in object"),
        ("{\"text\": \"x\", \"label\": \"a\", \"label\": \"b\"}",
         "invalid JSON at column 29: member 'label' appears twice in the object"),
    ])
    func malformedRowStopsWithFileAndLine(row: String, message: String) throws {
        let dir = TemporaryDirectory()
        let path = dir.write("bad.jsonl", "{\"text\": \"fine\", \"label\": \"a\"}\n\n" + row + "\n{\"text\": \"y\", \"label\": \"b\"}\n")
        #expect(errorMessage { _ = try LabelledDataReader().readClassification(path: path) } == "\(path):3: \(message)")
    }

    @Test func invalidUTF8IsReportedAtItsLine() throws {
        let dir = TemporaryDirectory()
        var bytes = Array("{\"text\": \"ok\", \"label\": \"a\"}\n{\"text\": \"".utf8)
        bytes += [0xC3, 0x28]  // an invalid two-byte sequence
        bytes += Array("\", \"label\": \"b\"}\n".utf8)
        let path = dir.write("latin.jsonl", bytes: bytes)
        #expect(errorMessage { _ = try LabelledDataReader().readClassification(path: path) }
                == "\(path):2: the row is not valid UTF-8 text")
    }

    @Test func prettyPrintedJSONGetsAHint() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("data.json", "[\n  {\"text\": \"a\", \"label\": \"b\"}\n]\n")
        #expect(errorMessage { _ = try LabelledDataReader().readClassification(path: path) }
                == "\(path):1: invalid JSON at column 2: unexpected end of line (expected JSON Lines: one complete JSON object per line)")
    }

    @Test func skipBadRowsCountsAndKeepsTheFirstReasons() throws {
        let dir = TemporaryDirectory()
        var lines: [String] = []
        for i in 1...12 {
            // Rows 2, 4, ..., 12 are bad: six bad rows, six good.
            lines.append(i % 2 == 0 ? "{\"text\": \"t\(i)\"}" : "{\"text\": \"t\(i)\", \"label\": \"l\(i % 3)\"}")
        }
        let path = dir.write("mixed.jsonl", lines.joined(separator: "\n"))
        let data = try LabelledDataReader(skipBadRows: true).readClassification(path: path)
        #expect(data.examples.map(\.line) == [1, 3, 5, 7, 9, 11])
        #expect(data.skippedRows == 6)
        #expect(data.problems.map(\.line) == [2, 4, 6, 8, 10])  // only the first five reasons are kept
        #expect(data.problems[0].description == "\(path):2: missing field 'label' (the row has 'text')")
        let summary = try #require(data.skipSummary).split(separator: "\n").map(String.init)
        #expect(summary.first == "\(path): skipped 6 malformed rows, kept 6")
        #expect(summary.count == 7)
        #expect(summary.last == "  ... and 1 more")
    }

    /// A field missing from the first row most likely has another name: the message names the option that picks
    /// it. In a later row, after rows that had it, the row is just malformed.
    @Test func aFieldMissingFromTheFirstRowNamesItsOption() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("qa.jsonl", "{\"q\": \"why\", \"a\": \"because\"}\n")
        #expect(errorMessage { _ = try LabelledDataReader().readCompletion(path: path) }
                == "\(path):1: missing field 'prompt' (the row has 'q', 'a'); pick one with --prompt-field")
        #expect(errorMessage { _ = try LabelledDataReader().readCompletion(path: path, promptField: "q") }
                == "\(path):1: missing field 'completion' (the row has 'q', 'a'); pick one with --completion-field")
        #expect(errorMessage { _ = try LabelledDataReader().readUnlabelled(path: path) }
                == "\(path):1: missing field 'text' (the row has 'q', 'a'); pick one with --text-field")
    }

    @Test func everyRowBadWithSkipIsAnError() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("allbad.jsonl", "{\"text\": \"a\"}\nnot json\n")
        #expect(errorMessage { _ = try LabelledDataReader(skipBadRows: true).readClassification(path: path) }
                == "\(path): no usable rows: all 2 rows are malformed (the first, on line 1: missing field 'label' (the row has 'text'); pick one with --label-field)")
    }

    @Test func fileLevelErrors() throws {
        let dir = TemporaryDirectory()
        let reader = LabelledDataReader()
        let missing = dir.path + "/nope.jsonl"
        #expect(errorMessage { _ = try reader.readClassification(path: missing) } == "\(missing): no such file")
        // A missing file is reported as missing, whatever its extension says.
        #expect(errorMessage { _ = try reader.readClassification(path: dir.path + "/nope.txt") } == "\(dir.path)/nope.txt: no such file")
        let folder = dir.path + "/folder.jsonl"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        #expect(errorMessage { _ = try reader.readClassification(path: folder) } == "\(folder): is a directory, expected a data file")
        let empty = dir.write("empty.jsonl", "")
        #expect(errorMessage { _ = try reader.readClassification(path: empty) } == "\(empty): the file is empty")
        let blank = dir.write("blank.jsonl", "\n  \n\r\n")
        #expect(errorMessage { _ = try reader.readClassification(path: blank) } == "\(blank): the file is empty")
        let unknown = dir.write("data.txt", "{\"text\": \"a\", \"label\": \"b\"}")
        #expect(errorMessage { _ = try reader.readClassification(path: unknown) }
                == "\(unknown): cannot tell the format from the file name; data files must end in .jsonl, .ndjson, .json, .csv, .tsv or .tab")
        // An explicit format overrides the extension.
        let data = try LabelledDataReader(format: .jsonl).readClassification(path: unknown)
        #expect(data.examples.map(\.label) == ["b"])
    }

    @Test func formatFromExtension() {
        #expect(LabelledDataFormat(fileExtensionOf: "a/b.JSONL") == .jsonl)
        #expect(LabelledDataFormat(fileExtensionOf: "x.json") == .jsonl)
        #expect(LabelledDataFormat(fileExtensionOf: "x.csv") == .csv)
        #expect(LabelledDataFormat(fileExtensionOf: "x.tsv") == .tsv)
        #expect(LabelledDataFormat(fileExtensionOf: "dir.csv/file") == nil)
        #expect(LabelledDataFormat(fileExtensionOf: "x.txt") == nil)
    }

    @Test func unlabelledRowsNeedOnlyText() throws {
        let dir = TemporaryDirectory()
        let path = dir.write("new.jsonl", "{\"id\": \"r1\", \"text\": \"hello\"}\n{\"id\": \"r2\"}\n")
        #expect(errorMessage { _ = try LabelledDataReader().readUnlabelled(path: path) }
                == "\(path):2: missing field 'text' (the row has 'id')")
        let data = try LabelledDataReader(skipBadRows: true).readUnlabelled(path: path)
        #expect(data.examples == [UnlabelledExample(text: "hello", line: 1, fields: [
            JSONField(key: "id", value: .string("r1")), JSONField(key: "text", value: .string("hello"))])])
    }
}
