import Testing
@testable import FineTuneData

@Suite struct ValidationSplitTests {
    /// 50 "a", 20 "b", 1 "c", interleaved.
    func dataset() -> [ClassificationExample] {
        var labels: [String] = []
        for i in 0..<50 {
            labels.append("a")
            if i < 20 { labels.append("b") }
            if i == 7 { labels.append("c") }
        }
        return labels.enumerated().map { ClassificationExample(text: "t\($0)", label: $1, line: $0 + 1) }
    }

    @Test func stratifiedKeepsEachLabelsFraction() throws {
        let data = dataset()
        let (train, validation) = try ValidationSplit.stratified(data, valFraction: 0.2, seed: 42)
        func count(_ set: [ClassificationExample], _ label: String) -> Int { set.filter { $0.label == label }.count }
        // round(50 * 0.2) = 10 and round(20 * 0.2) = 4 go to validation; the single "c" stays in training.
        #expect(count(validation, "a") == 10)
        #expect(count(validation, "b") == 4)
        #expect(count(validation, "c") == 0)
        #expect(count(train, "c") == 1)
        #expect(train.count + validation.count == data.count)
        // Nothing lost or duplicated, and both halves keep file order.
        #expect(Set((train + validation).map(\.line)) == Set(data.map(\.line)))
        #expect(train.map(\.line) == train.map(\.line).sorted())
        #expect(validation.map(\.line) == validation.map(\.line).sorted())
    }

    @Test func deterministicForASeed() throws {
        let data = dataset()
        let first = try ValidationSplit.stratified(data, valFraction: 0.3, seed: 7)
        let again = try ValidationSplit.stratified(data, valFraction: 0.3, seed: 7)
        let other = try ValidationSplit.stratified(data, valFraction: 0.3, seed: 8)
        #expect(first.validation == again.validation)
        #expect(first.validation.map(\.line) != other.validation.map(\.line))
    }

    @Test func shuffledSplitForCompletions() throws {
        let pairs = (1...10).map { CompletionExample(prompt: "p\($0)", completion: "c\($0)", line: $0) }
        let (train, validation) = try ValidationSplit.shuffled(pairs, valFraction: 0.25, seed: 1)
        #expect(validation.count == 3)  // round(2.5) = 3 (ties away from zero)
        #expect(train.count == 7)
        #expect(Set((train + validation).map(\.line)) == Set(1...10))
        #expect(try ValidationSplit.shuffled(pairs, valFraction: 0.25, seed: 1).validation == validation)
        #expect(try ValidationSplit.shuffled(pairs, valFraction: 0.25, seed: 2).validation != validation)
    }

    @Test func impossibleFractions() {
        let data = dataset()
        #expect(errorMessage { _ = try ValidationSplit.stratified(data, valFraction: 0, seed: 1) }
                == "validation fraction 0.0 is out of range; it must be greater than 0 and less than 1")
        #expect(errorMessage { _ = try ValidationSplit.shuffled(data, valFraction: 1, seed: 1) }
                == "validation fraction 1.0 is out of range; it must be greater than 0 and less than 1")
        let tiny = Array(data.prefix(4))  // a, b, a, b: round(2 * 0.1) = 0 per label
        #expect(errorMessage { _ = try ValidationSplit.stratified(tiny, valFraction: 0.1, seed: 1) }
                == "a validation fraction of 0.1 over 4 examples leaves the validation set empty (the split is by label, and no label has more than 2 examples); change the fraction or give a validation file")
        // Many labels of one example each: enough examples, none of them for validation (it said only "0.1 over 5000").
        let singles = (0..<50).map { ClassificationExample(text: "text \($0)", label: "label \($0)", line: $0 + 1) }
        #expect(errorMessage { _ = try ValidationSplit.stratified(singles, valFraction: 0.1, seed: 1) }
                == "a validation fraction of 0.1 over 50 examples leaves the validation set empty (the split is by label, and no label has more than 1 example); change the fraction or give a validation file")
    }

    @Test func shuffleIsAPermutationAndSeeded() {
        var a = Array(0..<100), b = Array(0..<100)
        var r1 = SplitMix64(seed: 3), r2 = SplitMix64(seed: 3)
        r1.shuffle(&a)
        r2.shuffle(&b)
        #expect(a == b)
        #expect(a != Array(0..<100))
        #expect(a.sorted() == Array(0..<100))
        // SplitMix64's first output for seed 0 (the reference value from Vigna's splitmix64.c).
        var zero = SplitMix64(seed: 0)
        #expect(zero.next() == 0xE220_A839_7B1D_CDAF)
    }
}
