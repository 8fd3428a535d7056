/// Finds stop strings in streamed text, across token boundaries, and says what is safe to print.
///
/// Feed it the decoded text as it arrives (`feed`); it returns the text that can be emitted now and whether
/// a stop string has completed. Text is held back while its end could still be the beginning of a stop
/// string, and released as soon as it cannot. No part of a stop string is ever emitted: on a match,
/// everything before the earliest occurrence (of any stop string) is emitted and the rest is dropped.
/// After a stop, further input is ignored. At the end of generation without a stop, `finish()` returns the
/// text still held back.
///
/// Matching is on Unicode scalars (exact, no canonical equivalence), so a stop string matches the same
/// bytes the model produced.
public struct StopStringMatcher: Sendable {
    private let stops: [[Unicode.Scalar]]
    /// Scalars received but not yet emitted: always a proper prefix of some stop string (between calls).
    private var held: [Unicode.Scalar] = []
    public private(set) var stopped = false
    /// The stop string that matched, if any.
    public private(set) var matchedStop: String?

    /// Empty stop strings are ignored (`SamplingSettings.validate` refuses them).
    public init(stopStrings: [String]) {
        stops = stopStrings.filter { !$0.isEmpty }.map { Array($0.unicodeScalars) }
    }

    /// Appends `text`; returns what may be printed now and whether a stop string completed.
    public mutating func feed(_ text: String) -> (emit: String, stopped: Bool) {
        if stopped { return ("", true) }
        if stops.isEmpty { return (text, false) }
        held.append(contentsOf: text.unicodeScalars)

        // The earliest complete occurrence of any stop string ends the text there.
        var earliest: (position: Int, stop: Int)?
        for (s, stop) in stops.enumerated() {
            if let p = firstOccurrence(of: stop, in: held), p < (earliest?.position ?? Int.max) {
                earliest = (p, s)
            }
        }
        if let earliest {
            let emit = string(held[0..<earliest.position])
            held.removeAll()
            stopped = true
            matchedStop = string(stops[earliest.stop][...])
            return (emit, true)
        }

        // Hold back the longest suffix that is a proper prefix of a stop string: any future match must
        // start inside it (a match starting earlier would need a longer such suffix).
        var keep = 0
        for stop in stops {
            let longest = min(stop.count - 1, held.count)
            var length = longest
            while length > keep {
                if held[(held.count - length)...].elementsEqual(stop[0..<length]) { break }
                length -= 1
            }
            keep = max(keep, length)
        }
        let emit = string(held[0..<(held.count - keep)])
        held.removeFirst(held.count - keep)
        return (emit, false)
    }

    /// End of generation: the text held back (it never became a stop string). Empty after a stop.
    public mutating func finish() -> String {
        if stopped { return "" }
        let rest = string(held[...])
        held.removeAll()
        return rest
    }

    private func firstOccurrence(of needle: [Unicode.Scalar], in haystack: [Unicode.Scalar]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count)
        where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }

    private func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars)
        return String(s)
    }
}
