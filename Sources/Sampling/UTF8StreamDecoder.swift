/// Turns a stream of bytes (token pieces) into printable text without ever splitting a UTF-8 character.
///
/// `decode` returns every complete character received so far; the bytes of a character that is not complete
/// yet (a valid prefix of a multi-byte sequence at the end of the input) are kept for the next call.
/// Every byte that does not belong to a complete, valid character becomes one U+FFFD, as SentencePiece's decoder
/// (and transformers' byte-fallback decoder) repair byte pieces: `<0xE6> <0x97> A` is "\u{FFFD}\u{FFFD}A" (Swift's
/// `String(decoding:as:)` gives one U+FFFD for the two). Never a trap. `finish()` flushes an incomplete tail, a
/// U+FFFD a byte.
public struct UTF8StreamDecoder: Sendable {
    /// At most 3 bytes: the incomplete start of a multi-byte character.
    private var pending: [UInt8] = []

    public init() {}

    public mutating func decode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var buffer = pending
        buffer.append(contentsOf: bytes)
        let tail = UTF8StreamDecoder.incompleteTailLength(buffer)
        pending = Array(buffer[(buffer.count - tail)...])
        return UTF8StreamDecoder.repairing(buffer[0..<(buffer.count - tail)])
    }

    /// The held bytes as U+FFFD, one a byte (empty when nothing is held); resets the decoder.
    public mutating func finish() -> String {
        defer { pending = [] }
        return UTF8StreamDecoder.repairing(pending[...])
    }

    /// `bytes` as text: each complete, valid character as itself, every other byte as one U+FFFD.
    static func repairing(_ bytes: ArraySlice<UInt8>) -> String {
        if let valid = String(validating: bytes, as: UTF8.self) { return valid }   // the usual case
        var text = "", i = bytes.startIndex
        while i < bytes.endIndex {
            let length = validSequenceLength(bytes, at: i)
            if length > 0 {
                text += String(decoding: bytes[i..<(i + length)], as: UTF8.self)
                i += length
            } else {
                text.unicodeScalars.append("\u{FFFD}")
                i += 1
            }
        }
        return text
    }

    /// The length of the valid UTF-8 character that starts at `i` (1...4), or 0 when none does (a stray
    /// continuation byte, an invalid lead, or a sequence cut short or broken).
    static func validSequenceLength(_ bytes: ArraySlice<UInt8>, at i: Int) -> Int {
        let lead = bytes[i]
        let length: Int
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return 0
        }
        guard i + length <= bytes.endIndex else { return 0 }
        for k in 1..<length {
            let range = k == 1 ? secondByteRange(lead: lead) : 0x80...0xBF
            if !range.contains(bytes[i + k]) { return 0 }
        }
        return length
    }

    /// The second byte's allowed range after `lead` (no overlongs, surrogates, or scalars above U+10FFFF).
    static func secondByteRange(lead: UInt8) -> ClosedRange<UInt8> {
        switch lead {
        case 0xE0: return 0xA0...0xBF
        case 0xED: return 0x80...0x9F
        case 0xF0: return 0x90...0xBF
        case 0xF4: return 0x80...0x8F
        default: return 0x80...0xBF
        }
    }

    /// How many bytes at the end of `bytes` form a valid but incomplete UTF-8 sequence (0...3).
    static func incompleteTailLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // The sequence, if any, starts at the last lead byte within the final 3 bytes.
        for back in 1...min(3, max(n, 1)) where n >= back {
            let lead = bytes[n - back]
            if lead & 0xC0 == 0x80 { continue } // a continuation byte: look further back
            let length: Int
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return 0 // ASCII or an invalid lead: nothing to wait for
            }
            guard back < length else { return 0 } // complete (or over-long run of continuations)
            if back >= 2 && !secondByteRange(lead: lead).contains(bytes[n - back + 1]) { return 0 }
            return back
        }
        return 0
    }
}
