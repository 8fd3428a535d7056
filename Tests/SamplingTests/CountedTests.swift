import Testing
@testable import Sampling

@Suite struct CountedTests {
    @Test func oneIsSingularEveryOtherCountPlural() {
        #expect(counted(1, "sample") == "1 sample")
        #expect(counted(0, "sample") == "0 samples")
        #expect(counted(2, "token") == "2 tokens")
        #expect(counted(1, "sample file") == "1 sample file")
        #expect(counted(3, "index", plural: "indices") == "3 indices")
    }
}
