import Testing
@testable import Sampling

@Suite struct StopStringMatcherTests {
    /// Feeds the pieces; returns everything emitted (including `finish()`) and whether it stopped.
    func run(_ stops: [String], _ pieces: [String]) -> (text: String, stopped: Bool, emits: [String]) {
        var m = StopStringMatcher(stopStrings: stops)
        var emits: [String] = []
        for piece in pieces { emits.append(m.feed(piece).emit) }
        let rest = m.finish()
        return (emits.joined() + rest, m.stopped, emits)
    }

    @Test func stopStringSplitOverTwoAndThreePieces() {
        let two = run(["<|end|>"], ["Hello <|e", "nd|> more"])
        #expect(two.text == "Hello " && two.stopped)
        #expect(two.emits == ["Hello ", ""])
        let three = run(["bcd"], ["ab", "c", "def"])
        #expect(three.text == "a" && three.stopped)
        #expect(three.emits == ["a", "", ""])
        let many = run(["\n\nQ:"], ["answer", "\n", "\n", "Q", ":", " next"])
        #expect(many.text == "answer" && many.stopped)
    }

    @Test func overlappingPrefixes() {
        // "abab" inside "ababab", one character at a time: stops at the first occurrence, nothing emitted.
        let r = run(["abab"], "ababab".map(String.init))
        #expect(r.text == "" && r.stopped)
        #expect(run(["abab"], ["xab", "abab"]).text == "x")
        // "abac" in "ababac": after "abab" only the last "ab" can still start it.
        let m = run(["abac"], ["abab", "ac"])
        #expect(m.emits == ["ab", ""] && m.stopped)
    }

    @Test func falseStartIsReleased() {
        let r = run(["STOP"], ["ST", "ART", " now"])
        #expect(r.emits == ["", "START", " now"])
        #expect(!r.stopped && r.text == "START now")
        // Held text at the end of generation comes out of finish().
        var m = StopStringMatcher(stopStrings: ["STOP"])
        #expect(m.feed("abc ST").emit == "abc ")
        #expect(m.finish() == "ST")
    }

    @Test func earliestOccurrenceOfAnyStopStringWins() {
        var m = StopStringMatcher(stopStrings: ["world", "lo w"])
        let r = m.feed("hello world")
        #expect(r.emit == "hel" && r.stopped && m.matchedStop == "lo w")
        #expect(m.feed("more").emit == "")
        let unicode = run(["é!"], ["caf", "é", "!", "x"])
        #expect(unicode.text == "caf" && unicode.stopped)
        #expect(run([], ["a", "b"]).text == "ab")
    }

    /// Property: for random text and random split points, the emitted text is exactly the text before the
    /// earliest stop string, and nothing is emitted beyond what could not be a stop string's start.
    @Test func randomSplitsMatchOneShotSearch() {
        var g = Xoshiro256StarStar(seed: 11)
        let stops = ["abc", "cab", "bb"]
        for _ in 0..<500 {
            let length = Int(g.next() % 20)
            let text = String((0..<length).map { _ in ["a", "b", "c", "d"][Int(g.next() % 4)] as Character })
            var pieces: [String] = []
            var rest = Substring(text)
            while !rest.isEmpty {
                let n = 1 + Int(g.next() % 4)
                pieces.append(String(rest.prefix(n)))
                rest = rest.dropFirst(n)
            }
            let starts = stops.compactMap { s in text.range(of: s).map { text.distance(from: text.startIndex, to: $0.lowerBound) } }
            let expected = starts.min().map { String(text.prefix($0)) } ?? text
            let r = run(stops, pieces)
            #expect(r.text == expected, "\(pieces)")
            #expect(r.stopped == !starts.isEmpty)
        }
    }
}
