import Testing
@testable import Sampling

@Suite struct GeneratedTextStreamTests {
    @Test func bytesInTextOutStopStringNeverPrinted() {
        let bytes = Array("Hello 😀 wörld<END>tail".utf8)
        var stream = GeneratedTextStream(stopStrings: ["<END>"])
        var printed: [String] = []
        for b in bytes {
            let r = stream.append([b])
            printed.append(r.text)
            if r.stopped { break }
        }
        #expect(printed.joined() == "Hello 😀 wörld")
        #expect(printed.allSatisfy { !$0.contains("\u{FFFD}") && !$0.contains("<") })
        #expect(stream.stopped && stream.matchedStop == "<END>")
        #expect(stream.append(Array("more".utf8)) == ("", true))
        #expect(stream.finish() == "")
    }

    @Test func stopStringWithAMultiByteCharacterSplitAcrossTokens() {
        var stream = GeneratedTextStream(stopStrings: ["✓\n"])
        let bytes = Array("done ✓\nnext".utf8) // ✓ is E2 9C 93
        var out = ""
        for piece in [bytes[0..<6], bytes[6..<8], bytes[8..<9], bytes[9...]] {
            out += stream.append(piece).text
        }
        #expect(out == "done " && stream.stopped)
    }

    @Test func finishFlushesHeldTextAndUnfinishedCharacters() {
        var stream = GeneratedTextStream(stopStrings: ["STOP"])
        #expect(stream.append(Array("go ST".utf8)).text == "go ")
        #expect(stream.append([0xF0, 0x9F]).text == "")
        #expect(stream.finish() == "ST\u{FFFD}\u{FFFD}")   // a U+FFFD for each byte of the unfinished character
        #expect(!stream.stopped)
    }
}
