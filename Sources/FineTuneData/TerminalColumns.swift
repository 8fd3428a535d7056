/// How many columns a terminal gives text (what `wcwidth` answers, without depending on the locale): two for an
/// East Asian wide or fullwidth character and for an emoji shown as a picture, none for a character made only of
/// format or control scalars (a zero-width space or joiner alone), one for the rest. A Swift `Character` is a
/// whole grapheme cluster, so a base letter with its combining marks counts once.
enum TerminalColumns {
    static func of(_ text: String) -> Int { text.reduce(0) { $0 + of($1) } }

    static func of(_ character: Character) -> Int {
        let scalars = character.unicodeScalars
        if scalars.allSatisfy({ [.format, .control].contains($0.properties.generalCategory) }) { return 0 }
        let first = scalars.first!
        if first.properties.isEmojiPresentation || (first.properties.isEmoji && scalars.contains("\u{FE0F}")) { return 2 }
        return isWide(first.value) ? 2 : 1
    }

    /// Unicode's East Asian Width W and F ranges (UAX #11), the blocks terminals draw two columns wide.
    private static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60,
             0xFFE0...0xFFE6, 0x1B000...0x1B2FF, 0x1F200...0x1F2FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// The longest start of `text` that fits in `columns`.
    static func prefix(_ text: String, fitting columns: Int) -> Substring {
        var used = 0
        var end = text.startIndex
        for index in text.indices {
            let width = of(text[index])
            if used + width > columns { break }
            used += width
            end = text.index(after: index)
        }
        return text[..<end]
    }

    /// The longest end of `text` that fits in `columns`.
    static func suffix(_ text: String, fitting columns: Int) -> Substring {
        var used = 0
        var start = text.endIndex
        for index in text.indices.reversed() {
            let width = of(text[index])
            if used + width > columns { break }
            used += width
            start = index
        }
        return text[start...]
    }
}
