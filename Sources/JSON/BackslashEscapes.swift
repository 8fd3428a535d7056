/// Backslash escapes in text a user types on one line (a command-line option, an interactive command), where a
/// line break or a tab cannot be typed: `\n`, `\t` and `\\` always, plus the `extra` ones a caller allows (`\s`
/// for a space at the end of a trimmed line, say). What an unknown escape means is the caller's choice: `unknown`
/// gets its character (nil for a backslash that ends the text) and returns the text to put in its place, or throws.
public enum BackslashEscapes {
    public static func decode(_ text: String, extra: [Character: Character] = [:],
                              unknown: (Character?) throws -> String) rethrows -> String {
        var result = "", characters = text.makeIterator()
        while let c = characters.next() {
            guard c == "\\" else { result.append(c); continue }
            switch characters.next() {
            case "n": result.append("\n")
            case "t": result.append("\t")
            case "\\": result.append("\\")
            case let other?: if let meant = extra[other] { result.append(meant) } else { result += try unknown(other) }
            case nil: result += try unknown(nil)
            }
        }
        return result
    }
}
