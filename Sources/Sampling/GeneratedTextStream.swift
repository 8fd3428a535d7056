/// The text side of generation: token pieces arrive as bytes, printable text leaves. Combines
/// `UTF8StreamDecoder` (never a split character) and `StopStringMatcher` (never any part of a stop string).
/// The emitted pieces concatenate to the completion; after a stop, everything is ignored.
public struct GeneratedTextStream: Sendable {
    private var decoder = UTF8StreamDecoder()
    private var matcher: StopStringMatcher

    public init(stopStrings: [String]) {
        matcher = StopStringMatcher(stopStrings: stopStrings)
    }

    /// A stop string has been generated: stop generating.
    public var stopped: Bool { matcher.stopped }
    /// The stop string that ended the text, if any.
    public var matchedStop: String? { matcher.matchedStop }

    /// Appends the bytes of one token; returns the text that can be printed now.
    public mutating func append<S: Sequence>(_ bytes: S) -> (text: String, stopped: Bool) where S.Element == UInt8 {
        if matcher.stopped { return ("", true) }
        let text = decoder.decode(bytes)
        if text.isEmpty { return ("", false) }
        let result = matcher.feed(text)
        return (result.emit, result.stopped)
    }

    /// End of generation (EOS, token limit, Ctrl-C): the text still held back, an unfinished character as
    /// U+FFFD. Empty after a stop.
    public mutating func finish() -> String {
        if matcher.stopped { return "" }
        let tail = decoder.finish()
        let emitted = tail.isEmpty ? "" : matcher.feed(tail).emit
        return emitted + matcher.finish()
    }
}
