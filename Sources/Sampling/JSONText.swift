import Foundation
import JSONLiteral

/// One member of a JSON object, its value kept as the exact JSON text it had in the input, so that fields
/// carried from a prompts file into the output are copied byte for byte (numbers keep their digits).
public struct JSONField: Sendable, Equatable {
    public let name: String
    /// Valid JSON text of the value, e.g. `42`, `"text"`, `{"a": [1, 2]}`.
    public let rawValue: String

    public init(name: String, rawValue: String) {
        self.name = name
        self.rawValue = rawValue
    }
}

enum JSONText {
    /// The top-level members of a JSON object text, in order, values as raw text. The text must already be
    /// known to be a valid JSON object (parse it with JSONSerialization first); returns nil otherwise.
    static func members(ofObject text: String) -> [JSONField]? {
        let bytes = Array(text.utf8)
        var i = 0
        func skipSpace() { while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }
        /// Moves past the string literal starting at i (which must be a quote).
        func skipString() -> Bool {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return false }
            i += 1
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\\"): i += 2
                case UInt8(ascii: "\""): i += 1; return true
                default: i += 1
                }
            }
            return false
        }
        func skipValue() -> Bool {
            guard i < bytes.count else { return false }
            switch bytes[i] {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while i < bytes.count {
                    switch bytes[i] {
                    case UInt8(ascii: "\""): if !skipString() { return false }; continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 { i += 1; return true }
                    default: break
                    }
                    i += 1
                }
                return false
            default: // number, true, false, null
                while i < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"),
                                         0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
                return true
            }
        }

        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        var fields: [JSONField] = []
        while true {
            skipSpace()
            guard i < bytes.count else { return nil }
            if bytes[i] == UInt8(ascii: "}") { return fields }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            let keyStart = i
            guard skipString() else { return nil }
            let keyText = String(decoding: bytes[keyStart..<i], as: UTF8.self)
            guard let name = try? JSONDecoder().decode(String.self, from: Data(keyText.utf8)) else { return nil }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skipSpace()
            let valueStart = i
            guard skipValue() else { return nil }
            fields.append(JSONField(name: name, rawValue: String(decoding: bytes[valueStart..<i], as: UTF8.self)))
        }
    }

    /// A short name for the JSON type of a raw value (for error messages).
    static func typeName(ofRaw raw: String) -> String {
        switch raw.first {
        case "\"": return "a string"
        case "{": return "an object"
        case "[": return "an array"
        case "t", "f": return "a boolean"
        case "n": return "null"
        default: return "a number"
        }
    }
}
