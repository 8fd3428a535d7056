import Foundation
import JSON

/// One prompt of a batch: its position among the prompts and in the file, and the fields to carry along.
public struct PromptRecord: Sendable, Equatable {
    /// 0-based position among the prompts of the file (blank lines are not counted).
    public let index: Int
    /// 1-based line number in the file.
    public let line: Int
    public let prompt: String
    /// JSONL only: the other members of the line's object, in order (numbers keep their literal text).
    public let extraFields: [JSONField]

    public init(index: Int, line: Int, prompt: String, extraFields: [JSONField] = []) {
        self.index = index
        self.line = line
        self.prompt = prompt
        self.extraFields = extraFields
    }
}

/// How a prompts file is read.
/// - `plainText`: one prompt a line, exactly as written (leading and trailing spaces kept) except the line
///   ending (LF or CRLF); lines that are empty or only whitespace are skipped. A prompt cannot span lines:
///   use JSONL for that.
/// - `jsonLines`: one JSON object a line with a string member "prompt"; every other member is carried into
///   the output (same values, written compactly; numbers keep their literal text). Blank lines are skipped.
public enum PromptFileFormat: Sendable, Equatable {
    case plainText
    case jsonLines

    /// `.jsonl`, `.ndjson` and `.json` files are JSON Lines (as finetune reads its data), anything else plain text.
    public static func inferred(fromPath path: String) -> PromptFileFormat {
        let lower = path.lowercased()
        return [".jsonl", ".ndjson", ".json"].contains { lower.hasSuffix($0) } ? .jsonLines : .plainText
    }
}

/// A problem with a prompts file: `description` is "path:line: message" (or "path: message").
public struct PromptFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let line: Int?
    public let message: String
    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}

public enum PromptFileReader {
    /// Reads every prompt of the file at `path` (format from the extension unless given).
    public static func read(path: String, format: PromptFileFormat? = nil) throws -> [PromptRecord] {
        try parse(Array(readBytes(path: path, kind: "prompts file")), path: path, format: format ?? .inferred(fromPath: path))
    }

    /// The most bytes a prompt or prompts file may hold: millions of prompts, and a bound on what a device
    /// such as /dev/zero given by mistake can make the reader take.
    public static let maximumBytes = 256 << 20

    /// The bytes of the file at `path` (`kind` names it in errors: "prompts file", "prompt file"). A device or
    /// a pipe reads like a file (/dev/null is empty); a missing, directory or unreadable path, or one longer
    /// than `maximumBytes`, is a `PromptFileError`.
    public static func readBytes(path: String, kind: String, maximumBytes: Int = maximumBytes) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PromptFileError(path: path, line: nil, message: "no such file")
        }
        if isDirectory.boolValue { throw PromptFileError(path: path, line: nil, message: "is a directory, not a \(kind)") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PromptFileError(path: path, line: nil, message: "cannot be read (permission denied?)")
        }
        defer { try? handle.close() }
        do {
            var data = Data()
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                data.append(chunk)
                if data.count > maximumBytes {
                    throw PromptFileError(path: path, line: nil,
                                          message: "holds more than \(maximumBytes >> 20) MiB, more than a \(kind) may")
                }
            }
            return data
        } catch let error as PromptFileError {
            throw error
        } catch {
            throw PromptFileError(path: path, line: nil, message: "could not be read (\(error.localizedDescription))")
        }
    }

    /// Parses the bytes of a prompts file; `path` only names it in errors.
    public static func parse(_ bytes: [UInt8], path: String, format: PromptFileFormat) throws -> [PromptRecord] {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) } // UTF-8 byte order mark
        if body.isEmpty { throw PromptFileError(path: path, line: nil, message: "is empty: no prompts to generate from") }

        var records: [PromptRecord] = []
        var lineNumber = 0
        for rawLine in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var lineBytes = rawLine
            if lineBytes.last == UInt8(ascii: "\r") { lineBytes = lineBytes.dropLast() }
            guard let line = String(validating: lineBytes, as: UTF8.self) else {
                throw PromptFileError(path: path, line: lineNumber, message: "is not valid UTF-8 text")
            }
            if line.allSatisfy({ $0.isWhitespace }) { continue }
            switch format {
            case .plainText:
                records.append(PromptRecord(index: records.count, line: lineNumber, prompt: line))
            case .jsonLines:
                records.append(try jsonRecord(line, index: records.count, lineNumber: lineNumber, path: path))
            }
        }
        if records.isEmpty {
            throw PromptFileError(path: path, line: nil, message: "holds only blank lines: no prompts to generate from")
        }
        return records
    }

    private static func jsonRecord(_ line: String, index: Int, lineNumber: Int, path: String) throws -> PromptRecord {
        func fail(_ message: String) -> PromptFileError { PromptFileError(path: path, line: lineNumber, message: message) }
        let value: JSONValue
        do {
            value = try JSONLineParser.parse(ArraySlice(line.utf8))
        } catch {
            throw fail("\(error.message) (each line must be one JSON object, like {\"prompt\": \"...\"})")
        }
        guard case .object(let fields) = value else {
            throw fail("expected a JSON object like {\"prompt\": \"...\"}, found \(value.kindDescription)")
        }
        guard let promptField = fields.last(where: { $0.key == "prompt" }) else {
            throw fail("missing \"prompt\" (each line needs {\"prompt\": \"...\"})")
        }
        guard case .string(let prompt) = promptField.value else {
            throw fail("\"prompt\" must be a string, found \(promptField.value.kindDescription)")
        }
        return PromptRecord(index: index, line: lineNumber, prompt: prompt, extraFields: fields.filter { $0.key != "prompt" })
    }
}
