import Foundation
import Testing
import JSON
@testable import FineTuneData

@Suite struct PredictionWriterTests {
    @Test func keepsTheRowsFieldsAndAddsPredictions() throws {
        let dir = TemporaryDirectory()
        let input = dir.write("new.csv", "id,text\nr1,\"said \"\"hi\"\"\nthen left\"\nr2,plain\n")
        let rows = try LabelledDataReader().readUnlabelled(path: input).examples
        let out = dir.path + "/predictions.jsonl"
        let writer = try PredictionWriter(path: out, overwrite: false)
        let doubles: [(label: String, probability: Double)] = [("neg", 0.25), ("pos", 0.75)]
        try writer.write(fields: rows[0].fields, predictedLabel: "pos", probabilities: doubles)
        let floats: [(label: String, probability: Float)] = [("neg", 0.9), ("pos", 0.1)]
        try writer.write(fields: rows[1].fields, predictedLabel: "neg", probabilities: floats)
        #expect(!FileManager.default.fileExists(atPath: out))  // nothing under the output name before finish()
        try writer.finish()
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text == """
            {"id":"r1","text":"said \\"hi\\"\\nthen left","predicted_label":"pos","probabilities":{"neg":0.25,"pos":0.75}}
            {"id":"r2","text":"plain","predicted_label":"neg","probabilities":{"neg":0.9,"pos":0.1}}

            """)
        // Each line is valid JSON for any JSON reader.
        for line in text.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["predicted_label"] is String)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["new.csv", "predictions.jsonl"])
    }

    @Test func neverOverwritesWithoutTheFlag() throws {
        let dir = TemporaryDirectory()
        let out = dir.write("out.jsonl", "precious\n")
        #expect(errorMessage { _ = try PredictionWriter(path: out, overwrite: false) }
                == "\(out): the output file already exists; choose another path or pass --overwrite to replace it")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "precious\n")
        let writer = try PredictionWriter(path: out, overwrite: true)
        try writer.write(fields: [JSONField(key: "text", value: .string("x")),
                                  JSONField(key: "predicted_label", value: .string("old"))],
                         predictedLabel: "new", probabilities: [(label: "new", probability: 1.0)])
        try writer.finish()
        // An input field with the output's name is kept under input_<name>, in its place.
        #expect(try String(contentsOfFile: out, encoding: .utf8)
                == "{\"text\":\"x\",\"input_predicted_label\":\"old\",\"predicted_label\":\"new\",\"probabilities\":{\"new\":1}}\n")
    }

    /// Input fields named as the output's own are all kept, each under a name no other field has.
    @Test func inputFieldsWithTheOutputsNamesAreKept() throws {
        let dir = TemporaryDirectory()
        let out = dir.path + "/out.jsonl"
        let writer = try PredictionWriter(path: out, overwrite: false)
        try writer.write(fields: [JSONField(key: "probabilities", value: .number("1")),
                                  JSONField(key: "input_probabilities", value: .number("2")),
                                  JSONField(key: "predicted_label", value: .string("mine"))],
                         predictedLabel: "a", probabilities: [(label: "a", probability: 1.0)])
        try writer.finish()
        #expect(try String(contentsOfFile: out, encoding: .utf8) == #"""
            {"input_input_probabilities":1,"input_probabilities":2,"input_predicted_label":"mine","predicted_label":"a","probabilities":{"a":1}}

            """#)
    }

    /// A replaced output keeps its permissions (a private file stayed private; it became 0644); a new one gets
    /// the usual ones, and a directory that does not exist is named as the reason.
    @Test func aReplacedOutputKeepsItsPermissions() throws {
        let dir = TemporaryDirectory()
        let out = dir.write("private.jsonl", "old\n")
        #expect(chmod(out, 0o600) == 0)
        let writer = try PredictionWriter(path: out, overwrite: true)
        try writer.write(fields: [], predictedLabel: "a", probabilities: [(label: "a", probability: Float(1))])
        try writer.finish()
        let mode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("{\"predicted_label\":\"a\""))
        let missing = dir.path + "/no/such/dir/p.jsonl"
        #expect(errorMessage { _ = try PredictionWriter(path: missing, overwrite: false) }
                == "\(missing): cannot write: cannot create a file in its directory (No such file or directory)")
    }

    @Test func aCSVOrTSVNameIsRefused() throws {
        let dir = TemporaryDirectory()
        #expect(errorMessage { _ = try PredictionWriter(path: dir.path + "/p.csv", overwrite: true) }
                == "\(dir.path)/p.csv: predictions are written as JSON Lines, not as CSV or TSV; give --out a .jsonl, .json or .ndjson name")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [])
    }

    @Test func abandonedWriterLeavesNoFiles() throws {
        let dir = TemporaryDirectory()
        do {
            let writer = try PredictionWriter(path: dir.path + "/out.jsonl", overwrite: false)
            try writer.write(fields: [], predictedLabel: "a", probabilities: [(label: "a", probability: Float(1))])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [])
        #expect(errorMessage { _ = try PredictionWriter(path: dir.path, overwrite: true) }
                == "\(dir.path): is a directory, expected a data file")
    }
}

@Suite struct JSONValueTests {
    @Test func serialisationEscapesAndNumbers() throws {
        let value = JSONValue.object([
            JSONField(key: "s", value: .string("tab\tquote\"back\\slash\u{01}é😀")),
            JSONField(key: "n", value: .number("1.50e3")),
            JSONField(key: "b", value: .bool(false)),
            JSONField(key: "z", value: .null),
        ])
        #expect(value.serialized == #"{"s":"tab\tquote\"back\\slash\u0001é😀","n":1.50e3,"b":false,"z":null}"#)
        #expect(try JSONLineParser.parse(Array(value.serialized.utf8)[...]) == value)
        #expect(JSONValue.number(Double(0.1)) == .number("0.1"))
        #expect(JSONValue.number(Double(3)) == .number("3"))
        #expect(JSONValue.number(Double.nan) == .null)
        #expect(JSONValue.number(Float(0.1)) == .number("0.1"))
        #expect(JSONValue.number(Float(2)) == .number("2"))
        #expect(JSONValue.number(Float.infinity) == .null)
    }

    @Test func parserDecodesEscapesAndRejectsDeepNesting() throws {
        let parsed = try JSONLineParser.parse(Array(#" {"k": "\u00e9\ud83d\ude00\/", "n": -0.5E+2} "#.utf8)[...])
        #expect(parsed == .object([JSONField(key: "k", value: .string("é😀/")), JSONField(key: "n", value: .number("-0.5E+2"))]))
        // A repeated member name is refused (readers disagree on which value counts).
        let repeated = #expect(throws: JSONLineParser.Failure.self) {
            try JSONLineParser.parse(Array(#" {"k": "\u00e9\ud83d\ude00\/", "k": -0.5E+2} "#.utf8)[...])
        }
        #expect(repeated?.message == "invalid JSON at column 32: member 'k' appears twice in the object")
        #expect(try JSONLineParser.parse(Array(#"["\u00e9\ud83d\ude00\/"]"#.utf8)[...]) == .array([.string("é😀/")]))
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONLineParser.Failure.self) { try JSONLineParser.parse(Array(deep.utf8)[...]) }
        #expect(throws: JSONLineParser.Failure.self) { try JSONLineParser.parse(Array(#"["\ud83d"]"#.utf8)[...]) }
        #expect(throws: JSONLineParser.Failure.self) { try JSONLineParser.parse(Array("[1.]".utf8)[...]) }
    }
}
