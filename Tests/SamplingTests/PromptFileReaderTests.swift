import Foundation
import Testing
import JSON
@testable import Sampling

@Suite struct PromptFileReaderTests {
    let scratch = ScratchDirectories()

    func write(_ bytes: [UInt8], _ name: String) -> String {
        let path = scratch.make() + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
    func write(_ text: String, _ name: String) -> String { write(Array(text.utf8), name) }

    func error(_ path: String, _ format: PromptFileFormat? = nil) -> PromptFileError? {
        do { _ = try PromptFileReader.read(path: path, format: format); return nil } catch let e as PromptFileError {
            return e
        } catch { return nil }
    }

    @Test func plainTextOnePromptPerLineBlankLinesSkipped() throws {
        let path = write("Once upon a time\r\n\n   \n  two spaces kept \nlast", "prompts.txt")
        let records = try PromptFileReader.read(path: path)
        #expect(records.map(\.prompt) == ["Once upon a time", "  two spaces kept ", "last"])
        #expect(records.map(\.index) == [0, 1, 2])
        #expect(records.map(\.line) == [1, 4, 5])
        // A prompt that looks like JSON stays text in a .txt file.
        #expect(try PromptFileReader.read(path: write("{\"prompt\": 1}\n", "p.txt")).first?.prompt == "{\"prompt\": 1}")
    }

    /// Carried values keep their JSON types, member order and number literals (1.50 stays 1.50).
    @Test func jsonLinesCarryTheOtherFields() throws {
        let text = """
        {"prompt": "Q: 2+2?\\nA:", "answer": 4, "score": 1.50, "meta": {"tags": ["a", "b"]}, "id": "x1"}

        {"id": 7, "prompt": "caf\\u00e9 ✓"}
        """
        let records = try PromptFileReader.read(path: write(text, "prompts.jsonl"))
        #expect(records.count == 2)
        #expect(records[0].prompt == "Q: 2+2?\nA:")
        #expect(records[0].extraFields == [JSONField(key: "answer", value: .number("4")),
                                            JSONField(key: "score", value: .number("1.50")),
                                            JSONField(key: "meta", value: .object([JSONField(key: "tags", value: .array([.string("a"), .string("b")]))])),
                                            JSONField(key: "id", value: .string("x1"))])
        #expect(records[1].prompt == "café ✓" && records[1].line == 3 && records[1].index == 1)
        #expect(records[1].extraFields == [JSONField(key: "id", value: .number("7"))])
    }

    @Test func jsonErrorsNameTheFileAndLine() {
        let ok = "{\"prompt\": \"fine\"}\n"
        let malformed = write(ok + ok + "{\"prompt\": \"broken\"\n", "a.jsonl")
        #expect(error(malformed)?.description == "\(malformed):3: invalid JSON at column 20: unterminated object (each line must be one JSON object, like {\"prompt\": \"...\"})")
        let missing = write(ok + "{\"question\": \"where?\"}\n", "b.jsonl")
        #expect(error(missing)?.description == "\(missing):2: missing \"prompt\" (each line needs {\"prompt\": \"...\"})")
        let number = write("{\"prompt\": 12}\n", "c.jsonl")
        #expect(error(number)?.description == "\(number):1: \"prompt\" must be a string, found a number")
        let array = write(ok + "\n[\"prompt\"]\n", "d.jsonl")
        #expect(error(array)?.line == 3)
        #expect(error(array)?.message.contains("expected a JSON object") == true)
        let nullPrompt = write("{\"prompt\": null}", "e.jsonl")
        #expect(error(nullPrompt)?.message == "\"prompt\" must be a string, found null")
    }

    @Test func fileLevelErrors() throws {
        let empty = write("", "empty.txt")
        #expect(error(empty)?.description == "\(empty): is empty: no prompts to generate from")
        let blank = write("\n  \n\r\n", "blank.jsonl")
        #expect(error(blank)?.message.contains("only blank lines") == true)
        let binary = write(Array("fine\n".utf8) + [0x66, 0xFF, 0xFE, 0x0A], "binary.txt")
        #expect(error(binary)?.description == "\(binary):2: is not valid UTF-8 text")
        let missing = scratch.make() + "/nope.txt"
        #expect(error(missing)?.description == "\(missing): no such file")
        let directory = scratch.make()
        #expect(error(directory)?.message.contains("is a directory") == true)
        // A file or device longer than the bound is refused once the bound is passed (/dev/zero took all memory).
        #expect(throws: PromptFileError(path: "/dev/zero", line: nil, message: "holds more than 3 MiB, more than a prompt file may")) {
            try PromptFileReader.readBytes(path: "/dev/zero", kind: "prompt file", maximumBytes: 3 << 20)
        }
        let atTheBound = write(String(repeating: "a", count: 3 << 20), "bound.txt")
        #expect(try PromptFileReader.readBytes(path: atTheBound, kind: "prompt file", maximumBytes: 3 << 20).count == 3 << 20)
    }

    @Test func formatFollowsTheExtensionUnlessGiven() throws {
        #expect(PromptFileFormat.inferred(fromPath: "a/b.JSONL") == .jsonLines)
        #expect(PromptFileFormat.inferred(fromPath: "x.ndjson") == .jsonLines)
        // .json holds JSON lines too, as in finetune's data: its lines are not read as literal prompts.
        #expect(PromptFileFormat.inferred(fromPath: "x.json") == .jsonLines)
        #expect(try PromptFileReader.read(path: write("{\"prompt\": \"a\"}\n", "p.json")).map(\.prompt) == ["a"])
        #expect(PromptFileFormat.inferred(fromPath: "x.json.txt") == .plainText)
        #expect(PromptFileFormat.inferred(fromPath: "x.txt") == .plainText)
        let path = write("{\"prompt\": \"p\"}\n", "prompts.data")
        #expect(try PromptFileReader.read(path: path, format: .jsonLines).first?.prompt == "p")
        // A UTF-8 byte order mark is ignored.
        let bom = write([0xEF, 0xBB, 0xBF] + Array("hello\n".utf8), "bom.txt")
        #expect(try PromptFileReader.read(path: bom).first?.prompt == "hello")
    }
}
