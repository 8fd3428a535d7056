import Testing
@testable import Sampling

@Suite struct UTF8StreamDecoderTests {
    @Test func emojiSplitOverTwoToFourFeeds() {
        let emoji = Array("😀".utf8) // F0 9F 98 80
        for split in [[2, 2], [1, 3], [3, 1], [1, 1, 2], [2, 1, 1], [1, 1, 1, 1]] {
            var d = UTF8StreamDecoder()
            var offset = 0
            var outputs: [String] = []
            for n in split {
                outputs.append(d.decode(emoji[offset..<(offset + n)]))
                offset += n
            }
            #expect(outputs.dropLast().allSatisfy { $0.isEmpty }, "\(split)")
            #expect(outputs.last == "😀")
            #expect(d.finish() == "")
        }
    }

    @Test func everySplitOfMixedTextReassembles() {
        let text = "aé€😀z"
        let bytes = Array(text.utf8)
        for cut in 0...bytes.count {
            var d = UTF8StreamDecoder()
            let out = d.decode(bytes[..<cut]) + d.decode(bytes[cut...]) + d.finish()
            #expect(out == text)
        }
        var d = UTF8StreamDecoder()
        let pieces = bytes.map { d.decode([$0]) }
        #expect(pieces.joined() == text)
        #expect(!pieces.joined().contains("\u{FFFD}"))
    }

    @Test func invalidBytesBecomeReplacementCharacters() {
        var d = UTF8StreamDecoder()
        #expect(d.decode([0x61, 0xFF, 0x62]) == "a\u{FFFD}b")
        #expect(d.decode([0xE0, 0x80]) == "\u{FFFD}\u{FFFD}") // overlong start: not held back
        #expect(d.decode([0xED, 0xA0]) == "\u{FFFD}\u{FFFD}") // a surrogate: not held back
        #expect(d.decode([0xE2, 0x82]) == "")               // valid start of "€": held
        #expect(d.finish() == "\u{FFFD}\u{FFFD}")           // generation ended mid-character: a U+FFFD a byte
        #expect(d.decode([0x80, 0x41]) == "\u{FFFD}A")      // a lone continuation byte
        // A broken sequence is a U+FFFD a byte, as SentencePiece decodes <0xE6> <0x97> A (and transformers'
        // byte-fallback decoder); Swift's String(decoding:) gives one for the two.
        #expect(d.decode([0xE6, 0x97, 0x41]) == "\u{FFFD}\u{FFFD}A")
        #expect(d.decode([0xF0, 0x9F, 0x98]) == "" && d.finish() == "\u{FFFD}\u{FFFD}\u{FFFD}")
    }

    /// SentencePiece's repair, written independently: at each byte, the one character (1 to 4 bytes) that
    /// starts there if Swift validates one, else a U+FFFD and the next byte.
    static func repairedBySentencePiecesRule(_ bytes: [UInt8]) -> String {
        var text = "", i = 0
        scan: while i < bytes.count {
            for length in 1...4 where i + length <= bytes.count {
                if let character = String(validating: bytes[i..<(i + length)], as: UTF8.self),
                   character.unicodeScalars.count == 1 {
                    text += character
                    i += length
                    continue scan
                }
            }
            text += "\u{FFFD}"
            i += 1
        }
        return text
    }

    /// Property: streaming in random pieces gives the same text as decoding all bytes at once, by SentencePiece's
    /// rule (a U+FFFD for each byte outside a valid character).
    @Test func randomBytesStreamLikeOneShotDecoding() {
        var g = Xoshiro256StarStar(seed: 5)
        let alphabet: [UInt8] = [0x41, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        for _ in 0..<2000 {
            let bytes = (0..<Int(g.next() % 12)).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] }
            var d = UTF8StreamDecoder()
            var out = ""
            var i = 0
            while i < bytes.count {
                let n = min(bytes.count - i, 1 + Int(g.next() % 3))
                out += d.decode(bytes[i..<(i + n)])
                i += n
            }
            out += d.finish()
            #expect(out == Self.repairedBySentencePiecesRule(bytes), "\(bytes)")
        }
    }
}
