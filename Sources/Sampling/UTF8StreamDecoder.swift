/// Turns a stream of bytes (token pieces) into printable text without ever splitting a UTF-8 character.
///
/// `decode` returns every complete character received so far; the bytes of a character that is not complete
/// yet (a valid prefix of a multi-byte sequence at the end of the input) are kept for the next call.
/// Invalid bytes become U+FFFD (one per maximal invalid subpart, as Swift's `String(decoding:as:)` repairs),
/// never a trap. `finish()` flushes an incomplete tail as U+FFFD.
public struct UTF8StreamDecoder: Sendable {
    /// At most 3 bytes: the incomplete start of a multi-byte character.
    private var pending: [UInt8] = []

    public init() {}

    public mutating func decode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var buffer = pending
        buffer.append(contentsOf: bytes)
        let tail = UTF8StreamDecoder.incompleteTailLength(buffer)
        pending = Array(buffer[(buffer.count - tail)...])
        return String(decoding: buffer[0..<(buffer.count - tail)], as: UTF8.self)
    }

    /// The held bytes as U+FFFD (empty when nothing is held); resets the decoder.
    public mutating func finish() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
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
            // The second byte's allowed range depends on the lead (no overlongs, surrogates, > U+10FFFF).
            if back >= 2 {
                let second = bytes[n - back + 1]
                let range: ClosedRange<UInt8>
                switch lead {
                case 0xE0: range = 0xA0...0xBF
                case 0xED: range = 0x80...0x9F
                case 0xF0: range = 0x90...0xBF
                case 0xF4: range = 0x80...0x8F
                default: range = 0x80...0xBF
                }
                if !range.contains(second) { return 0 }
            }
            return back
        }
        return 0
    }
}
