/// A JSON value that keeps what the readers need to carry a row through unchanged: object members stay in
/// their order, and numbers keep their literal text (so the label `7` stays "7" and `1.50` stays "1.50").
public indirect enum JSONValue: Equatable, Sendable {
    case string(String)
    /// The number's literal text as it appeared in the input (already checked against JSON's grammar).
    case number(String)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([JSONField])

    /// "a string", "a number", ... (for error messages).
    public var kindDescription: String {
        switch self {
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The value serialised as compact JSON.
    public var serialized: String {
        var out = ""
        write(to: &out)
        return out
    }

    func write(to out: inout String) {
        switch self {
        case .string(let s): out += jsonStringLiteral(s)
        case .number(let literal): out += literal
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, field) in fields.enumerated() {
                if i > 0 { out += "," }
                out += jsonStringLiteral(field.key)
                out += ":"
                field.value.write(to: &out)
            }
            out += "}"
        }
    }


    /// A JSON number for a Double (shortest round-trip form); null for NaN and infinities, which JSON lacks.
    public static func number(_ x: Double) -> JSONValue {
        guard x.isFinite else { return .null }
        if x == x.rounded(), abs(x) < 1e15 { return .number(String(Int64(x))) }
        return .number("\(x)")
    }

    /// A JSON number for a Float, in Float's own shortest form (0.1 stays "0.1", not 0.10000000149011612).
    public static func number(_ x: Float) -> JSONValue {
        guard x.isFinite else { return .null }
        if x == x.rounded(), abs(x) < 1e7 { return .number(String(Int32(x))) }
        return .number("\(x)")
    }
}

/// One member of a JSON object (or one column of a CSV/TSV row), in input order.
public struct JSONField: Equatable, Sendable {
    public var key: String
    public var value: JSONValue

    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}
