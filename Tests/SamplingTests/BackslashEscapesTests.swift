import Testing
import JSON

/// The escapes of typed text, with the two callers' rules written here as parameters: `sample`'s /stop keeps an
/// unknown escape and takes `\s`; `finetune --template` refuses an unknown one. (The callers themselves are tested
/// through their commands: TemplateOptionTests and the /stop lines of SampleCommandTests.)
@Suite struct BackslashEscapesTests {
    @Test func knownEscapesAndRulesForUnknownOnes() throws {
        let keep = { (c: Character?) in "\\" + (c.map(String.init) ?? "") }
        #expect(BackslashEscapes.decode(#"a\nb\tc\\d"#, unknown: keep) == "a\nb\tc\\d")
        #expect(BackslashEscapes.decode(#"end\s"#, extra: ["s": " "], unknown: keep) == "end ")
        #expect(BackslashEscapes.decode(#"\q and \"#, unknown: keep) == #"\q and \"#)
        struct Refused: Error, Equatable { let escape: Character? }
        #expect(throws: Refused(escape: "s")) { try BackslashEscapes.decode(#"\s"#) { throw Refused(escape: $0) } }
        #expect(throws: Refused(escape: nil)) { try BackslashEscapes.decode(#"x\"#) { throw Refused(escape: $0) } }
        #expect(try BackslashEscapes.decode("plain") { _ in throw Refused(escape: nil) } == "plain")
    }
}
