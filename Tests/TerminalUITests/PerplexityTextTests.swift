import Foundation
import Testing
import TerminalUI

@Suite struct PerplexityTextTests {
    /// Two decimals while readable; a diverged run's huge perplexity in three significant digits, not 184 of them.
    @Test func largePerplexitiesStayShort() {
        #expect(perplexityText(exp(1.9168)) == "6.80")
        #expect(perplexityText(999_999.994) == "999999.99")
        #expect(perplexityText(exp(25.3749)) == "1.05e+11")
        #expect(perplexityText(exp(428.1)).count < 12)
        #expect(perplexityText(.infinity) == "inf")
    }

    /// Paths in printed commands: as they are when the shell takes them so, else single-quoted.
    @Test func shellQuoting() {
        #expect(shellQuoted("checkpoints/default") == "checkpoints/default")
        #expect(shellQuoted("/tmp/run-1_a.b") == "/tmp/run-1_a.b")
        #expect(shellQuoted("sp dir/run 1") == "'sp dir/run 1'")
        #expect(shellQuoted("it's") == "'it'\\''s'")
        #expect(shellQuoted("") == "''")
        #expect(shellQuoted("a$b") == "'a$b'")
    }
}
